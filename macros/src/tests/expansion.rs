//! Whole expansions of representative items, pretty-printed (`prettyplease`) and compared with
//! the committed snapshots in `snapshots/`. After a deliberate change to the generated code,
//! `LWT_RUST_BLESS=1 cargo test -p lwt_rust_macros` rewrites them; review the diff.

use std::path::PathBuf;

use proc_macro2::{TokenStream, TokenTree};
use quote::quote;
use syn::parse_quote;

use super::message;
use crate::codegen;

/// The crate the items are expanded in.
const CRATE: &str = "my_crate";

fn func(attr: TokenStream, item: TokenStream) -> TokenStream {
    codegen::func(attr, syn::parse2(item).unwrap(), CRATE).unwrap()
}

/// The expansions the snapshots hold, by name.
pub(super) fn expansions() -> Vec<(&'static str, TokenStream)> {
    vec![
        (
            "async_fn",
            func(
                quote!(),
                quote! {
                    /// Fetches a page.
                    pub async fn fetch(url: String, retries: i64) -> Result<String, MyError> {
                        get(url, retries).await
                    }
                },
            ),
        ),
        (
            "sync_fn",
            func(
                quote!(name = "plus"),
                quote! { pub fn add(a: i64, b: i64) -> i64 { a + b } },
            ),
        ),
        (
            "stream_fn",
            func(
                quote!(stream),
                quote! { pub fn count(n: i64) -> impl Stream<Item = i64> { numbers(n) } },
            ),
        ),
        (
            "try_stream_fn",
            func(
                quote!(try_stream),
                quote! {
                    pub async fn lines(path: String)
                        -> Result<BoxStream<'static, Result<String, Error>>, Error>
                    {
                        open(path).await
                    }
                },
            ),
        ),
        (
            "blocking_fn",
            func(
                quote!(blocking, crate = "my_lwt"),
                quote! { pub fn digest(data: Vec<u8>) -> Result<String, Error> { hash(data) } },
            ),
        ),
        (
            "no_param_fn",
            func(quote!(), quote! { pub async fn tick() {} }),
        ),
        ("object", object()),
        (
            "external",
            codegen::external(
                quote!(ocaml = "'a Lwt.t -> 'a Lwt.t"),
                parse_quote! {
                    /// Hand-written.
                    #[export_name = "my_identity"]
                    pub extern "C" fn identity(v: ocaml::Raw) -> ocaml::Raw { v }
                },
                CRATE,
            )
            .unwrap(),
        ),
        (
            "ocaml_type",
            codegen::ocaml_type(
                quote!("int", crate = "lwt"),
                parse_quote! { pub struct Celsius(i64); },
            )
            .unwrap(),
        ),
        (
            "error_variant",
            crate::data_types::expand(
                crate::data_types::Want::Error,
                quote!(),
                parse_quote! {
                    /// Why a lookup failed.
                    pub enum LookupError {
                        /// No such key.
                        NotFound(i64, (String, Vec<u8>)),
                        Closed,
                        Conflict { r#type: String, attempts: Option<i64> },
                    }
                },
            )
            .unwrap(),
        ),
    ]
}

/// An object type and its `impl`: a constructor, a fallible constructor, a sync and an async
/// method, a stream method named by hand, and functions left out.
fn object() -> TokenStream {
    let ty = codegen::object_type(
        quote!(),
        parse_quote! {
            /// A counter.
            pub struct KvStore { n: Cell<i64> }
        },
        CRATE,
    )
    .unwrap();
    let block = codegen::object_impl(
        quote!(),
        parse_quote! {
            impl KvStore {
                pub fn new(start: i64) -> Self { KvStore { n: start.into() } }
                pub fn open(path: String) -> Result<Self, Error> { load(path) }
                /// The count.
                pub fn get(&self) -> i64 { self.n.get() }
                pub async fn add_later(&self, k: i64) -> i64 { self.n.get() + k }
                #[lwt_rust(name = "keys_v2", stream)]
                pub fn keys(&self) -> impl Stream<Item = String> { keys(self) }
                #[lwt_rust(skip)]
                pub fn skipped(&self) {}
                fn private(&self) {}
            }
        },
        CRATE,
    )
    .unwrap();
    quote! { #ty #block }
}

fn snapshot(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/tests/snapshots")
        .join(format!("{name}.expected"))
}

#[test]
fn expansions_match_snapshots() {
    let bless = std::env::var_os("LWT_RUST_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, tokens) in expansions() {
        let file: syn::File = syn::parse2(tokens).expect("the expansion parses as items");
        let pretty = prettyplease::unparse(&file);
        let path = snapshot(name);
        if bless {
            std::fs::write(&path, &pretty).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(pretty.as_str()) {
            stale.push(format!("{name}:\n{pretty}"));
        }
    }
    assert!(
        stale.is_empty(),
        "expansions differ from src/tests/snapshots/ (LWT_RUST_BLESS=1 to rewrite):\n{}",
        stale.join("\n")
    );
}

/// The paths of `lwt_rust` items in `tokens`: what follows `lwt_rust ::` (or `my_lwt ::`).
fn crate_paths(tokens: TokenStream, out: &mut Vec<String>) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Group(group) => crate_paths(group.stream(), out),
            TokenTree::Ident(ident) if ident == "lwt_rust" || ident == "my_lwt" => {
                if let (Some(TokenTree::Punct(colon)), Some(TokenTree::Ident(next))) =
                    (trees.get(i + 2), trees.get(i + 3))
                {
                    if colon.as_char() == ':' {
                        out.push(next.to_string());
                    }
                }
            }
            _ => {}
        }
    }
}

#[test]
fn generated_code_calls_only_the_private_module() {
    let mut paths = Vec::new();
    for (_, tokens) in expansions() {
        crate_paths(tokens, &mut paths);
    }
    assert!(paths.len() > 50, "{paths:?}");
    assert!(paths.iter().all(|p| p == "__private"), "{paths:?}");
}

#[test]
fn expansion_errors() {
    let cases = [
        (
            codegen::func(
                quote!(blocking),
                parse_quote!(
                    async fn f() {}
                ),
                CRATE,
            ),
            "#[lwt_rust::func(blocking)] goes on a plain `fn`",
        ),
        (
            codegen::func(
                quote!(),
                parse_quote!(
                    fn f(self) {}
                ),
                CRATE,
            ),
            "#[lwt_rust::func] functions cannot take `self`",
        ),
        (
            codegen::func(
                quote!(name = "a.b"),
                parse_quote!(
                    fn f() {}
                ),
                CRATE,
            ),
            "`name = \"a.b\"`: the name is part of a C symbol",
        ),
        (
            codegen::external(
                quote!(),
                parse_quote!(
                    fn f() {}
                ),
                CRATE,
            ),
            "#[lwt_rust::external] needs `ocaml = \"<the OCaml type>\"`",
        ),
        (
            codegen::object_type(
                quote!(),
                parse_quote!(
                    struct S<T>(T);
                ),
                CRATE,
            ),
            "#[lwt_rust::object] types cannot be generic",
        ),
        (
            codegen::object_impl(quote!(), parse_quote!(impl Tr for S {}), CRATE),
            "#[lwt_rust::object] goes on the type's own `impl` block",
        ),
        (
            codegen::object_impl(quote!(), parse_quote!(impl S { pub fn f(self) {} }), CRATE),
            "#[lwt_rust::object] methods take `&self`",
        ),
        (
            codegen::object_impl(
                quote!(),
                parse_quote!(impl S { pub fn f(&mut self) {} }),
                CRATE,
            ),
            "#[lwt_rust::object] methods cannot take `&mut self`",
        ),
        (
            codegen::object_impl(
                quote!(),
                parse_quote!(impl S { pub fn hash(&self) {} }),
                CRATE,
            ),
            "every object module has its own `hash` already",
        ),
        (
            codegen::ocaml_type(
                quote!("int"),
                parse_quote!(
                    fn f() {}
                ),
            ),
            "#[lwt_rust::ocaml_type] goes on a struct, an enum or a type alias",
        ),
    ];
    for (result, expected) in cases {
        let got = message(result);
        assert!(
            got.starts_with(expected),
            "{got:?} should start with {expected:?}"
        );
    }
}
