//! The pure phases: options, types, the model's checks, the records' text (the naming rules:
//! `naming`).

use quote::quote;
use syn::{parse_quote, Signature, Type};

use super::message;
use crate::model::{Export, Wrap};
use crate::options::{Kind, Options, EXTERNAL_KEYS, FUNC_KEYS, OBJECT_KEYS};
use crate::record::{record_text, text};
use crate::record_lines::{export_lines, external_lines, object_lines};
use crate::types::{is_result, ok_type, stream_item, ReplaceSelf};

#[test]
fn options_default_once() {
    let options = Options::parse(quote!(), FUNC_KEYS).unwrap();
    assert!(options.name.is_none() && options.kind.is_none() && options.ocaml.is_none());
    assert!(!options.skip);
    let krate = &options.krate;
    assert_eq!(quote!(#krate).to_string(), ":: lwt_rust");
}

#[test]
fn options_read_every_key() {
    let options = Options::parse(
        quote!(name = "get_v2", crate = "my_lwt", blocking),
        FUNC_KEYS,
    )
    .unwrap();
    assert_eq!(options.name.unwrap().value(), "get_v2");
    assert_eq!(options.kind, Some(Kind::Blocking));
    let krate = &options.krate;
    assert_eq!(quote!(#krate).to_string(), "my_lwt");
    let options = Options::parse(quote!(ocaml = "int -> int"), EXTERNAL_KEYS).unwrap();
    assert_eq!(options.ocaml.as_deref(), Some("int -> int"));
    for (key, kind) in [
        (quote!(stream), Kind::Stream),
        (quote!(try_stream), Kind::TryStream),
    ] {
        assert_eq!(Options::parse(key, FUNC_KEYS).unwrap().kind, Some(kind));
    }
}

#[test]
fn options_refuse_unknown_keys_and_two_kinds() {
    assert_eq!(
        message(Options::parse(quote!(blocking), OBJECT_KEYS)),
        "expected one of: `crate`"
    );
    assert_eq!(
        message(Options::parse(quote!(skip), FUNC_KEYS)),
        "expected one of: `name`, `crate`, `stream`, `try_stream`, `blocking`, `result`"
    );
    assert_eq!(
        message(Options::parse(quote!(stream, blocking), FUNC_KEYS)),
        "give one of `stream`, `try_stream` or `blocking`, once"
    );
    assert!(Options::parse(quote!(name = 3), FUNC_KEYS).is_err());
    assert!(Options::parse(quote!(crate = "not a path"), FUNC_KEYS).is_err());
}

#[test]
fn method_options_layer_on_the_impl() {
    let block = Options::parse(quote!(crate = "my_lwt"), OBJECT_KEYS).unwrap();
    let attrs: Vec<syn::Attribute> = vec![
        parse_quote!(#[lwt_rust(name = "first", stream)]),
        parse_quote!(#[lwt_rust(name = "second", try_stream)]),
    ];
    let method = block.for_method(&attrs).unwrap();
    assert_eq!(method.name.unwrap().value(), "second");
    assert_eq!(method.kind, Some(Kind::TryStream));
    assert!(!method.skip);
    let krate = &method.krate;
    assert_eq!(quote!(#krate).to_string(), "my_lwt");
    let skip: Vec<syn::Attribute> = vec![parse_quote!(#[lwt_rust(skip)])];
    assert!(block.for_method(&skip).unwrap().skip);
    let crate_on_method: Vec<syn::Attribute> = vec![parse_quote!(#[lwt_rust(crate = "x")])];
    assert_eq!(
        message(block.for_method(&crate_on_method)),
        "expected one of: `name`, `stream`, `try_stream`, `skip`, `result`"
    );
    let bare: Vec<syn::Attribute> = vec![parse_quote!(#[lwt_rust])];
    assert!(block.for_method(&bare).is_err());
}

#[test]
fn kind_by_asyncness_unless_asked() {
    assert_eq!(Kind::of(None, true), Kind::Promise);
    assert_eq!(Kind::of(None, false), Kind::Sync);
    assert_eq!(Kind::of(Some(Kind::Stream), false), Kind::Stream);
    let records: Vec<_> = [
        Kind::Promise,
        Kind::Stream,
        Kind::TryStream,
        Kind::Sync,
        Kind::Blocking,
    ]
    .map(Kind::record)
    .into();
    assert_eq!(records, ["async", "stream", "try_stream", "sync", "async"]);
}

/// A type's tokens, as text.
fn type_text(ty: &Type) -> String {
    quote!(#ty).to_string()
}

#[test]
fn types_read_from_signatures() {
    for fallible in [
        parse_quote!(Result<i64, E>),
        parse_quote!(std::io::Result<i64>),
    ] {
        assert!(is_result(&fallible));
        assert_eq!(type_text(ok_type(&fallible).unwrap()), "i64");
    }
    let plain: Type = parse_quote!(Option<i64>);
    assert!(!is_result(&plain));
    assert_eq!(message(ok_type(&plain)), "expected `Result<T, E>`");
    for stream in [
        parse_quote!(impl Stream<Item = i64> + Send),
        parse_quote!(impl futures::Stream<Item = i64>),
        parse_quote!(BoxStream<'static, i64>),
        parse_quote!(LocalBoxStream<'_, i64>),
        parse_quote!(Pin<Box<dyn Stream<Item = i64> + Send>>),
    ] {
        let stream: Type = stream;
        assert_eq!(stream_item(&stream).map(type_text).as_deref(), Some("i64"));
    }
    assert!(stream_item(&parse_quote!(Vec<i64>)).is_none());
    let mut sig: Signature = parse_quote!(fn f(a: Vec<Self>) -> Result<Self, E>);
    syn::visit_mut::VisitMut::visit_signature_mut(
        &mut ReplaceSelf(&parse_quote!(Counter)),
        &mut sig,
    );
    assert_eq!(
        quote!(#sig).to_string(),
        "fn f (a : Vec < Counter >) -> Result < Counter , E >"
    );
}

/// A free function's model, in the crate `c`.
fn export<'a>(krate: &'a syn::Path, sig: &'a Signature, kind: Kind) -> Export<'a> {
    Export {
        krate,
        crate_name: "c",
        symbol: "lwt_rust_1_c_fn_f".to_owned(),
        display: "f".to_owned(),
        kind,
        sig,
        owner: None,
        receiver: false,
        docs: vec!["One line.".to_owned(), "Two.".to_owned()],
        result: false,
    }
}

#[test]
fn model_checks_what_ocaml_cannot_call() {
    let krate: syn::Path = parse_quote!(::lwt_rust);
    let cases: [(Signature, &str); 3] = [
        (
            parse_quote!(fn f<T>(a: T)),
            "#[lwt_rust::func] functions cannot be generic: OCaml calls one concrete stub",
        ),
        (
            parse_quote!(fn f(a: i64, b: i64, c: i64, d: i64, e: i64, f: i64)),
            "#[lwt_rust::func] supports at most 5 parameters",
        ),
        (
            parse_quote!(fn f((a, b): (i64, i64))),
            "#[lwt_rust::func] parameters must be plain names",
        ),
    ];
    for (sig, expected) in &cases {
        assert_eq!(message(export(&krate, sig, Kind::Sync).check()), *expected);
    }
    let five: Signature = parse_quote!(fn f(a: i64, b: i64, c: i64, d: i64, e: i64));
    assert!(export(&krate, &five, Kind::Sync).check().is_ok());
}

#[test]
fn model_reads_the_result_ocaml_sees() {
    let krate: syn::Path = parse_quote!(::lwt_rust);
    let cases: [(Signature, Kind, &str); 5] = [
        (parse_quote!(fn f()), Kind::Sync, "()"),
        (
            parse_quote!(async fn f() -> Result<Vec<u8>, E>),
            Kind::Promise,
            "Vec < u8 >",
        ),
        (
            parse_quote!(fn f() -> impl Stream<Item = Result<i64, E>>),
            Kind::Stream,
            "Result < i64 , E >",
        ),
        (
            parse_quote!(async fn f() -> Result<BoxStream<'static, Result<i64, E>>, E>),
            Kind::TryStream,
            "i64",
        ),
        (
            parse_quote!(fn f() -> Option<String>),
            Kind::Blocking,
            "Option < String >",
        ),
    ];
    let result = |export: &Export<'_>| {
        let ty = export.result_type().unwrap();
        quote!(#ty).to_string()
    };
    for (sig, kind, expected) in &cases {
        assert_eq!(result(&export(&krate, sig, *kind)), *expected);
    }
    let unreadable: Signature = parse_quote!(fn f() -> MyStream);
    assert!(
        message(export(&krate, &unreadable, Kind::Stream).result_type())
            .starts_with("cannot read the stream's item type")
    );

    let owner: syn::Ident = parse_quote!(Counter);
    for (sig, wrap) in [
        (parse_quote!(fn new() -> Counter), Wrap::SelfValue),
        (
            parse_quote!(fn open() -> Result<Counter, E>),
            Wrap::SelfInResult,
        ),
        (parse_quote!(fn get() -> i64), Wrap::None),
    ] {
        let sig: Signature = sig;
        let mut method = export(&krate, &sig, Kind::Sync);
        method.owner = Some(&owner);
        assert_eq!(method.wrap().unwrap(), wrap);
        if wrap != Wrap::None {
            assert_eq!(
                result(&method),
                ":: lwt_rust :: __private :: Obj < Counter >"
            );
        }
    }
}

#[test]
fn record_text_is_the_format() {
    let lines = vec![text("crate", "c"), text("doc", "a\nb\0c\rd")];
    assert_eq!(
        record_text(&lines),
        "\0LWT_RUST_BINDINGS_3\ncrate c\ndoc a b c d\n\0"
    );
}

#[test]
fn record_lines_of_each_item() {
    let krate: syn::Path = parse_quote!(::lwt_rust);
    let sig: Signature = parse_quote!(async fn new(&self, k: i64, r#type: (i64, Self)) -> i64);
    let owner: syn::Ident = parse_quote!(HTTPCounter);
    let mut method = export(&krate, &sig, Kind::Promise);
    method.owner = Some(&owner);
    method.receiver = true;
    method.symbol = "lwt_rust_1_c_method_11_HTTPCounter_new".to_owned();
    // The names are decided here (`new` → `create`, `type` → `type_`); the types are the
    // compiler's: `OCamlRepr::OCAML_TYPE`, parenthesised if a tuple, the object itself `t`.
    let repr = |ty: &str| {
        format!(
            "{{< {ty} as :: lwt_rust :: __private :: OCamlRepr > :: OCAML_TYPE . atom () . \
             replace_word (\"http_counter\" , \"t\")}}"
        )
    };
    assert_eq!(
        record_text(&export_lines(&method).unwrap()),
        format!(
            "\0LWT_RUST_BINDINGS_3\ncrate c\nitem method\nrust new\n\
             symbol lwt_rust_1_c_method_11_HTTPCounter_new\nowner HTTPCounter\ncall async\n\
             ocaml_name create\nocaml_param self t\nocaml_param k {}\nocaml_param type_ {}\n\
             ocaml_result {{:: lwt_rust :: __private :: TypeText :: apply ({} , \"Lwt.t\")}}\n\
             doc One line.\ndoc Two.\n\0",
            repr("i64"),
            repr("(i64 , Self)"),
            repr("i64").trim_matches(['{', '}']),
        )
    );
    let sig: Signature = parse_quote!(fn r#match());
    assert_eq!(
        record_text(&export_lines(&export(&krate, &sig, Kind::Sync)).unwrap()),
        "\0LWT_RUST_BINDINGS_3\ncrate c\nitem function\nrust r#match\n\
         symbol lwt_rust_1_c_fn_f\ncall sync\nocaml_name match_\n\
         ocaml_result {< () as :: lwt_rust :: __private :: OCamlRepr > :: OCAML_TYPE . atom ()}\n\
         doc One line.\ndoc Two.\n\0"
    );
    let ident: syn::Ident = parse_quote!(Counter);
    assert_eq!(
        record_text(&object_lines(
            "c",
            &ident,
            "sym",
            "counter",
            &["D.".to_owned()]
        )),
        "\0LWT_RUST_BINDINGS_3\ncrate c\nitem object\nrust Counter\nsymbol sym\n\
         ocaml_module Counter\nocaml_type counter\ndoc D.\n\0"
    );
    let raw: syn::Ident = parse_quote!(r#type);
    assert_eq!(
        record_text(&external_lines("c", &raw, "sym", "int -> int", &[]).unwrap()),
        "\0LWT_RUST_BINDINGS_3\ncrate c\nitem function\nrust r#type\nsymbol sym\ncall raw\n\
         ocaml_name type_\nocaml int -> int\n\0"
    );
}
