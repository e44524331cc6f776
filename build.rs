//! Tells the crate which OCaml it is built against: `cfg(ocaml5)` for OCaml 5 and later.
//! It asks the compiler ocaml-sys asks (`$OCAMLOPT`, default `ocamlopt`, or `$OCAML_VERSION`
//! when set), so both agree. Only the bridge (the `ocaml` feature) needs to know; the
//! executor core builds without any OCaml installed.

fn main() {
    println!("cargo:rustc-check-cfg=cfg(ocaml5)");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=OCAMLOPT");
    println!("cargo:rerun-if-env-changed=OCAML_VERSION");
    if std::env::var_os("CARGO_FEATURE_OCAML").is_none() {
        return;
    }
    let version = match std::env::var("OCAML_VERSION") {
        Ok(v) => v,
        Err(_) => {
            let ocamlopt = std::env::var("OCAMLOPT").unwrap_or_else(|_| "ocamlopt".to_owned());
            let out = std::process::Command::new(&ocamlopt)
                .arg("-version")
                .output()
                .unwrap_or_else(|e| panic!("lwt_rust: cannot run `{ocamlopt} -version`: {e}"));
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        }
    };
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("lwt_rust: cannot read the OCaml version {version:?}"));
    if major >= 5 {
        println!("cargo:rustc-cfg=ocaml5");
    }
}
