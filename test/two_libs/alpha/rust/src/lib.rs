//! The Rust side of the OCaml library `alpha`, whose module `Alpha` lwt-rust-bindgen generates
//! from this crate (../dune).

/// Twice `x`.
#[lwt_rust::func]
pub async fn double(x: i64) -> i64 {
    x * 2
}

/// `"hello, "` followed by `name`.
#[lwt_rust::func]
pub async fn greet(name: String) -> String {
    format!("hello, {name}")
}

/// `"alpha"`. beta has a function of the same name: each crate's C symbols are its own
/// (`lwt_rust_8_alpha_rs_fn_which`), so both link into one program.
#[lwt_rust::func]
pub fn which() -> String {
    "alpha".to_owned()
}
