//! What each attribute expands to: the item, unchanged (an object's `impl` less the
//! attributes the compiler does not know), its stubs, and its binding records.
//!
//! Every function here takes the attribute's tokens, the parsed item and the name of the crate
//! being compiled, so that it runs outside a compiler too (the crate's own tests).

mod object;
mod stub;

use proc_macro2::TokenStream;
use quote::quote;
use syn::{FnArg, Item, ItemFn, LitStr};

use crate::model::{doc_lines, Export};
use crate::naming::{c_symbol, function_item, symbol_part, unraw};
use crate::options::{Kind, Options, EXTERNAL_KEYS, FUNC_KEYS};
use crate::record::record;
use crate::record_lines::{export_lines, external_lines};

pub(crate) use object::{object_impl, object_type};

/// `#[lwt_rust::func]`.
pub(crate) fn func(
    attr: TokenStream,
    function: ItemFn,
    crate_name: &str,
) -> syn::Result<TokenStream> {
    let options = Options::parse(attr, FUNC_KEYS)?;
    let sig = &function.sig;
    if options.kind == Some(Kind::Blocking) && sig.asyncness.is_some() {
        return Err(syn::Error::new_spanned(
            sig.asyncness,
            "#[lwt_rust::func(blocking)] goes on a plain `fn` (its body runs on the blocking \
             pool); an `async fn` is awaited on the OCaml thread already",
        ));
    }
    if let Some(FnArg::Receiver(receiver)) = sig.inputs.first() {
        return Err(syn::Error::new_spanned(
            receiver,
            "#[lwt_rust::func] functions cannot take `self` (methods go in an \
             #[lwt_rust::object] impl)",
        ));
    }
    let part = match &options.name {
        Some(name) => symbol_part(&name.value(), name.span())?,
        None => unraw(&sig.ident),
    };
    let export = Export {
        krate: &options.krate,
        crate_name,
        symbol: c_symbol(crate_name, &function_item(&part)),
        display: unraw(&sig.ident),
        kind: Kind::of(options.kind, sig.asyncness.is_some()),
        sig,
        owner: None,
        receiver: false,
        docs: doc_lines(&function.attrs),
        result: options.result,
    };
    let stub = export.stub()?;
    let record = record(&options.krate, &export.symbol, &export_lines(&export)?);
    Ok(quote! {
        #function
        #stub
        #record
    })
}

/// `#[lwt_rust::external]`.
pub(crate) fn external(
    attr: TokenStream,
    function: ItemFn,
    crate_name: &str,
) -> syn::Result<TokenStream> {
    let options = Options::parse(attr, EXTERNAL_KEYS)?;
    let Some(ocaml) = options.ocaml else {
        return Err(syn::Error::new(
            proc_macro2::Span::call_site(),
            "#[lwt_rust::external] needs `ocaml = \"<the OCaml type>\"`",
        ));
    };
    let symbol = export_name(&function).unwrap_or_else(|| unraw(&function.sig.ident));
    let lines = external_lines(
        crate_name,
        &function.sig.ident,
        &symbol,
        &ocaml,
        &doc_lines(&function.attrs),
    )?;
    let record = record(&options.krate, &symbol, &lines);
    Ok(quote! {
        #function
        #record
    })
}

/// The symbol a function's (last) `#[export_name = "..."]` gives it.
fn export_name(function: &ItemFn) -> Option<String> {
    let mut symbol = None;
    for attr in &function.attrs {
        if attr.path().is_ident("export_name") {
            if let syn::Meta::NameValue(nv) = &attr.meta {
                if let syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(name),
                    ..
                }) = &nv.value
                {
                    symbol = Some(name.value());
                }
            }
        }
    }
    symbol
}

/// `#[lwt_rust::ocaml_type("...")]` (or `("...", crate = "path")`).
pub(crate) fn ocaml_type(attr: TokenStream, item: Item) -> syn::Result<TokenStream> {
    let (ocaml, rest) = syn::parse::Parser::parse2(
        |input: syn::parse::ParseStream<'_>| {
            let ocaml: LitStr = input.parse()?;
            if !input.is_empty() {
                input.parse::<syn::Token![,]>()?;
            }
            Ok((ocaml, input.parse::<TokenStream>()?))
        },
        attr,
    )?;
    let options = Options::parse(rest, &["crate"])?;
    let ocaml = &ocaml;
    let ident = match &item {
        Item::Struct(s) => &s.ident,
        Item::Enum(e) => &e.ident,
        Item::Type(t) => &t.ident,
        other => {
            return Err(syn::Error::new_spanned(
                other,
                "#[lwt_rust::ocaml_type] goes on a struct, an enum or a type alias",
            ))
        }
    };
    // The type's OCaml type is its `OCamlRepr::OCAML_TYPE`, which every binding naming the
    // type prints: the attribute checks, at compile time, that it is the one written here.
    let krate = &options.krate;
    let message = format!(
        "#[lwt_rust::ocaml_type({:?})]: the OCaml type of {ident} (its OCamlRepr::OCAML_TYPE) \
         is another one",
        ocaml.value()
    )
    .replace('{', "{{")
    .replace('}', "}}");
    Ok(quote! {
        #item
        const _: () = ::core::assert!(
            #krate::__private::TypeText::same(
                &<#ident as #krate::__private::OCamlRepr>::OCAML_TYPE,
                &#krate::__private::TypeText::new(#ocaml),
            ),
            #message
        );
    })
}
