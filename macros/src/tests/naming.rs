//! The naming rules, which only the macros apply: OCaml names (keywords escaped, `new` as
//! `create`, snake case), modules and types, parameters, and the C symbols in the crate's
//! namespace.

use syn::parse_quote;

use super::message;
use crate::naming::{
    c_symbol, checked_object_module, close_item, field_name, function_item, method_item,
    module_name, object_module, param_names, snake_case, stub_ident, symbol_part, type_name,
    unkeyword, unraw, value_name, OCAML_KEYWORDS,
};

#[test]
fn snake_case_and_modules() {
    for (rust, snake) in [
        ("KvStore", "kv_store"),
        ("HTTPClient", "http_client"),
        ("Counter", "counter"),
        ("V2Store", "v2_store"),
        ("ABC", "abc"),
        ("already_snake", "already_snake"),
        ("", ""),
    ] {
        assert_eq!(snake_case(rust), snake, "{rust}");
    }
    assert_eq!(module_name("kv_store"), "Kv_store");
    assert_eq!(module_name(""), "");
    assert_eq!(object_module(&parse_quote!(HTTPClient)), "Http_client");
}

#[test]
fn c_symbols_in_the_crate_namespace() {
    assert_eq!(
        c_symbol("my_crate", &function_item("fetch")),
        "lwt_rust_8_my_crate_fn_fetch"
    );
    assert_eq!(
        c_symbol("t", &method_item("KvStore", "get")),
        "lwt_rust_1_t_method_7_KvStore_get"
    );
    assert_eq!(
        c_symbol("lwt_rust_testlib", &close_item("Counter")),
        "lwt_rust_16_lwt_rust_testlib_close_Counter"
    );
    let span = proc_macro2::Span::call_site();
    assert_eq!(symbol_part("get_v2", span).unwrap(), "get_v2");
    for bad in ["", "a-b", "é", "a b"] {
        assert!(message(symbol_part(bad, span)).contains("letters, digits and `_` only"));
    }
    assert_eq!(unraw(&parse_quote!(r#type)), "type");
    assert_eq!(
        stub_ident(Some(&parse_quote!(KvStore)), &parse_quote!(get)).to_string(),
        "__lwt_rust_stub_kv_store_get"
    );
    assert_eq!(
        stub_ident(None, &parse_quote!(_fetch)).to_string(),
        "__lwt_rust_stub__fetch"
    );
}

#[test]
fn ocaml_value_names() {
    let name = |ident: syn::Ident, is_method: bool| value_name(&ident, is_method);
    assert_eq!(name(parse_quote!(get), false).unwrap(), "get");
    assert_eq!(name(parse_quote!(method), false).unwrap(), "method_");
    assert_eq!(name(parse_quote!(r#type), true).unwrap(), "type_");
    assert_eq!(name(parse_quote!(effect), false).unwrap(), "effect_");
    // `new` is OCaml's keyword; a constructor method is `create`, a free function `new_`.
    assert_eq!(name(parse_quote!(new), true).unwrap(), "create");
    assert_eq!(name(parse_quote!(new), false).unwrap(), "new_");
    assert_eq!(name(parse_quote!(_private), false).unwrap(), "_private");
    assert_eq!(
        message(name(parse_quote!(Shout), false)),
        "the Rust name `Shout` makes no OCaml value name (`Shout`)"
    );
    assert_eq!(unkeyword("val"), "val_");
    assert_eq!(unkeyword("value"), "value");
    assert_eq!(field_name("type").as_deref(), Some("type_"));
    assert_eq!(field_name("Big"), None);
}

#[test]
fn ocaml_parameter_names() {
    let names = |raw: &str, receiver: bool, params: &[&str]| {
        param_names(
            raw,
            receiver,
            &params.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        names("f__raw", true, &["n", "type"]),
        ["self", "n", "type_"]
    );
    // Names the wrapper cannot use (two alike, the external's own) give x1, x2, ...
    assert_eq!(names("f__raw", false, &["a", "a"]), ["x1", "x2"]);
    assert_eq!(names("f__raw", false, &["f__raw", "b"]), ["x1", "x2"]);
    assert_eq!(names("f__raw", false, &["_"]), ["x1"]);
}

#[test]
fn ocaml_type_and_module_names() {
    let ty = |ident: syn::Ident| type_name(&ident, "#[lwt_rust::record]");
    assert_eq!(ty(parse_quote!(KvStore)).unwrap(), "kv_store");
    assert_eq!(ty(parse_quote!(HTTPClient)).unwrap(), "http_client");
    assert_eq!(ty(parse_quote!(Utf8Decoder)).unwrap(), "utf8_decoder");
    assert_eq!(
        message(ty(parse_quote!(Int))),
        "#[lwt_rust::record]: the OCaml type `int` of the Rust type Int would hide a type the \
         bindings use: rename the type"
    );
    assert_eq!(
        message(checked_object_module(&parse_quote!(Lwt))),
        "#[lwt_rust::object]: the OCaml module `Lwt` of the Rust type Lwt would hide a module \
         the bindings use: rename the type"
    );
    assert_eq!(
        checked_object_module(&parse_quote!(KvStore)).unwrap(),
        "Kv_store"
    );
}

/// The keywords escaped here are the tools' (`tools/tool_keywords.ml`, read from the
/// repository; skipped outside it).
#[test]
fn ocaml_keywords_are_the_tools() {
    let path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/tool_keywords.ml");
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let ocaml = text.split("let ocaml =").nth(1).expect("the OCaml list");
    let words: Vec<&str> = ocaml.split('"').skip(1).step_by(2).collect();
    assert_eq!(words, OCAML_KEYWORDS);
}
