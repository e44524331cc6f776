//! `#[lwt_rust::func]`: exposes a Rust `async fn` to OCaml as an external returning a promise.
//!
//! ```ignore
//! #[lwt_rust::func]
//! pub async fn fetch(url: String, retries: i64) -> Result<String, MyError> { ... }
//! ```
//! ```ocaml
//! external fetch : string -> int -> string Lwt.t = "fetch"
//! ```
//!
//! The function stays callable from Rust. Next to it the macro emits a C stub (exported under
//! the function's name, or `#[lwt_rust::func(name = "...")]`) that, on the OCaml thread:
//! 1. checks and converts every argument to Rust (`lwt_rust::conv::OCamlRepr`) before the
//!    future exists, so the future owns Rust values only; an argument of the wrong OCaml type
//!    gives a promise rejected with `Invalid_argument`;
//! 2. calls the function and hands its future to `lwt_rust::export_future::spawn_result` (return
//!    type written `Result<..>` or `...::Result<..>`: `Err` rejects the promise) or
//!    `spawn_value` (any other return type);
//! 3. runs inside `lwt_stub`, so a panic anywhere gives a promise rejected with
//!    `Lwt_rust.Rust_panic`.
//!
//! The generated code names the `lwt_rust` crate as `::lwt_rust`. A crate that depends on it
//! under another name (`my_lwt = { package = "lwt_rust", ... }` in Cargo.toml) says so:
//! `#[my_lwt::func(crate = "my_lwt")]` (any path: `crate = "::my_lwt"`, or
//! `crate = "crate::reexported"` for a re-export).
//!
//! An `async fn` with no parameter is an OCaml `unit -> _ Lwt.t`. At most 5 parameters (the
//! native calling convention of OCaml externals without a bytecode variant).
//!
//! Streams: with `#[lwt_rust::func(stream)]` the function (an `async fn` or a plain `fn`)
//! returns a `futures::Stream`, or a `Result` of one, and the external returns
//! `'a Lwt_stream.t` (`lwt_rust::export_stream`). `stream`: every item is a value (a
//! `Result` item becomes an OCaml `result`); `try_stream`: items are `Result<T, E>` and the
//! first `Err` fails its read and ends the stream. An `Err` from the function itself fails
//! the first read. An argument of the wrong OCaml type fails the first read with
//! `Invalid_argument`.
//!
//! ```ignore
//! #[lwt_rust::func(stream)]
//! pub fn countdown(from: i64) -> impl futures::Stream<Item = i64> {
//!     futures::stream::iter((0..=from).rev())
//! }
//! ```
//! ```ocaml
//! external countdown : int -> int Lwt_stream.t = "countdown"
//! ```

use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::parse::Parser;
use syn::{parse_macro_input, FnArg, ItemFn, LitStr, Pat, ReturnType, Type};

/// See the crate documentation.
#[proc_macro_attribute]
pub fn func(attr: TokenStream, item: TokenStream) -> TokenStream {
    let function = parse_macro_input!(item as ItemFn);
    match expand(attr.into(), function) {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}

/// What the function returns to OCaml.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `'a Lwt.t` (the default).
    Promise,
    /// `'a Lwt_stream.t` of the items of a `Stream` (`stream`).
    Stream,
    /// `'a Lwt_stream.t` of the `Ok` items of a `Stream` of `Result`s; an `Err` ends it
    /// (`try_stream`).
    TryStream,
}

struct Options {
    name: String,
    kind: Kind,
    /// The path of the `lwt_rust` crate in the generated code.
    krate: syn::Path,
}

fn options(attr: proc_macro2::TokenStream, default: String) -> syn::Result<Options> {
    let mut options = Options {
        name: default,
        kind: Kind::Promise,
        krate: syn::parse_quote!(::lwt_rust),
    };
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("name") {
            options.name = meta.value()?.parse::<LitStr>()?.value();
            Ok(())
        } else if meta.path.is_ident("crate") {
            options.krate = meta.value()?.parse::<LitStr>()?.parse()?;
            Ok(())
        } else if meta.path.is_ident("stream") || meta.path.is_ident("try_stream") {
            if options.kind != Kind::Promise {
                return Err(meta.error("give one of `stream` or `try_stream`, once"));
            }
            options.kind = if meta.path.is_ident("stream") {
                Kind::Stream
            } else {
                Kind::TryStream
            };
            Ok(())
        } else {
            Err(meta
                .error("expected `name = \"...\"`, `crate = \"...\"`, `stream` or `try_stream`"))
        }
    });
    parser.parse2(attr)?;
    Ok(options)
}

fn returns_result(output: &ReturnType) -> bool {
    match output {
        ReturnType::Type(_, ty) => match ty.as_ref() {
            Type::Path(path) => path
                .path
                .segments
                .last()
                .is_some_and(|segment| segment.ident == "Result"),
            _ => false,
        },
        ReturnType::Default => false,
    }
}

fn expand(
    attr: proc_macro2::TokenStream,
    function: ItemFn,
) -> syn::Result<proc_macro2::TokenStream> {
    let sig = &function.sig;
    let Options {
        name: symbol,
        kind,
        krate,
    } = options(attr, sig.ident.to_string())?;
    if sig.asyncness.is_none() && kind == Kind::Promise {
        return Err(syn::Error::new_spanned(
            sig.fn_token,
            "#[lwt_rust::func] needs an `async fn` (or `stream` / `try_stream` for a function \
             returning a stream)",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            "#[lwt_rust::func] functions cannot be generic: OCaml calls one concrete stub",
        ));
    }
    if sig.inputs.len() > 5 {
        return Err(syn::Error::new_spanned(
            &sig.inputs,
            "#[lwt_rust::func] supports at most 5 parameters",
        ));
    }
    let name = &sig.ident;
    let stub = format_ident!("__lwt_rust_stub_{}", name);

    let mut raw_params = Vec::new();
    let mut conversions = Vec::new();
    let mut call_args = Vec::new();
    for (position, input) in sig.inputs.iter().enumerate() {
        let FnArg::Typed(typed) = input else {
            return Err(syn::Error::new_spanned(
                input,
                "#[lwt_rust::func] functions cannot take `self`",
            ));
        };
        let Pat::Ident(_) = typed.pat.as_ref() else {
            return Err(syn::Error::new_spanned(
                &typed.pat,
                "#[lwt_rust::func] parameters must be plain names",
            ));
        };
        let ty = &typed.ty;
        let raw = format_ident!("raw_{}", position);
        let value = format_ident!("arg_{}", position);
        let message = format!("{symbol}: argument {}: ", position + 1);
        raw_params.push(quote! { #raw: #krate::ocaml::Raw });
        conversions.push(quote! {
            // SAFETY: the stub runs in the OCaml context; every argument is converted before
            // anything allocates on the OCaml heap (conversions only read).
            let #value: #ty = match unsafe {
                #krate::conv::from_ocaml_checked::<#ty>(cr, #raw.0)
            } {
                ::core::result::Result::Ok(value) => value,
                ::core::result::Result::Err(err) => {
                    return ::core::result::Result::Err(::std::format!("{}{}", #message, err));
                }
            };
        });
        call_args.push(value);
    }
    if raw_params.is_empty() {
        raw_params.push(quote! { _unit: #krate::ocaml::Raw });
    }
    let call = quote! { #name(#(#call_args),*) };
    // The function's future (a plain `fn` returning a stream is wrapped in a ready one).
    let future = if sig.asyncness.is_some() {
        call
    } else {
        quote! { #krate::futures::future::ready(#call) }
    };
    let fallible = returns_result(&sig.output);
    let (stub_wrapper, invalid, start) = match kind {
        Kind::Promise => {
            let spawn = if fallible {
                quote! { #krate::export_future::spawn_result }
            } else {
                quote! { #krate::export_future::spawn_value }
            };
            (
                quote! { #krate::boundary::lwt_stub },
                quote! { #krate::boundary::invalid_argument },
                quote! { #spawn(#future) },
            )
        }
        Kind::Stream | Kind::TryStream => {
            // The items, as a stream of `Result`s: the future's error (if it returns
            // `Result<stream, E>`) and, for `try_stream`, the items' errors end it.
            let items = match (fallible, kind) {
                (false, Kind::Stream) => quote! {
                    #krate::futures::StreamExt::map(
                        #krate::futures::FutureExt::flatten_stream(#future),
                        ::core::result::Result::Ok::<_, ::std::convert::Infallible>,
                    )
                },
                (false, _) => quote! { #krate::futures::FutureExt::flatten_stream(#future) },
                (true, Kind::Stream) => quote! {
                    #krate::futures::TryFutureExt::try_flatten_stream(
                        #krate::futures::TryFutureExt::map_ok(#future, |items| {
                            #krate::futures::StreamExt::map(
                                items,
                                ::core::result::Result::Ok,
                            )
                        }),
                    )
                },
                // The function's error and the items' errors may be different types: both
                // become `lwt_rust::error::Error` first.
                (true, _) => quote! {
                    #krate::futures::TryFutureExt::try_flatten_stream(
                        #krate::futures::TryFutureExt::map_ok(
                            #krate::futures::TryFutureExt::map_err(
                                #future,
                                #krate::boundary::into_error,
                            ),
                            |items| {
                                #krate::futures::StreamExt::map(items, |item| {
                                    item.map_err(#krate::boundary::into_error)
                                })
                            },
                        ),
                    )
                },
            };
            (
                quote! { #krate::boundary::stream_stub },
                quote! { #krate::boundary::invalid_argument_stream },
                quote! { #krate::export_stream::stream_result(#items) },
            )
        }
    };

    Ok(quote! {
        #function

        #[doc(hidden)]
        #[export_name = #symbol]
        pub extern "C" fn #stub(#(#raw_params),*) -> #krate::ocaml::Raw {
            #stub_wrapper(|| {
                let args: ::core::result::Result<_, ::std::string::String> =
                    #krate::runtime::with_runtime(|cr| {
                    #(#conversions)*
                    ::core::result::Result::Ok((#(#call_args,)*))
                });
                match args {
                    ::core::result::Result::Ok((#(#call_args,)*)) => #start,
                    ::core::result::Result::Err(message) => #invalid(&message),
                }
            })
        }
    })
}
