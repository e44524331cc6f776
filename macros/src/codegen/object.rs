//! `#[lwt_rust::object]`: on a type, its `Object` impl and its `close` stub; on its `impl`
//! block, a stub per exported function.

use proc_macro2::TokenStream;
use quote::quote;
use syn::visit_mut::VisitMut;
use syn::{FnArg, ImplItem, ImplItemFn, Item, ItemImpl, LitByteStr, Type};

use crate::model::{doc_lines, Export};
use crate::naming::{
    c_symbol, checked_object_module, close_item, close_stub_ident, method_item, symbol_part,
    type_name, unraw, RESERVED,
};
use crate::options::{Kind, Options, OBJECT_KEYS};
use crate::record::record;
use crate::record_lines::{export_lines, object_lines};
use crate::types::ReplaceSelf;

/// `#[lwt_rust::object]` on a struct or an enum.
pub(crate) fn object_type(
    attr: TokenStream,
    item: Item,
    crate_name: &str,
) -> syn::Result<TokenStream> {
    let options = Options::parse(attr, OBJECT_KEYS)?;
    let krate = &options.krate;
    let (ident, generics, attrs) = match &item {
        Item::Struct(s) => (&s.ident, &s.generics, &s.attrs),
        Item::Enum(e) => (&e.ident, &e.generics, &e.attrs),
        other => {
            return Err(syn::Error::new_spanned(
                other,
                "#[lwt_rust::object] goes on a struct or enum, and on its `impl` block",
            ))
        }
    };
    if !generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            generics,
            "#[lwt_rust::object] types cannot be generic: OCaml sees one abstract type",
        ));
    }
    let module = checked_object_module(ident)?;
    let ocaml_type = type_name(ident, "#[lwt_rust::object]")?;
    let identifier = LitByteStr::new(
        format!("lwt_rust/{crate_name}/{ident}\0").as_bytes(),
        proc_macro2::Span::call_site(),
    );
    let close_symbol = c_symbol(crate_name, &close_item(&unraw(ident)));
    let close_stub = close_stub_ident(ident);
    let lines = object_lines(
        crate_name,
        ident,
        &close_symbol,
        &ocaml_type,
        &doc_lines(attrs),
    );
    let record = record(krate, &close_symbol, &lines);
    Ok(quote! {
        #item

        // SAFETY: `operations` returns this type's own static, made here and nowhere else.
        unsafe impl #krate::__private::Object for #ident {
            const OCAML_MODULE: &'static str = #module;
            fn operations() -> &'static #krate::__private::ObjectOps {
                static OPERATIONS: #krate::__private::ObjectOps =
                    #krate::__private::ObjectOps::new(#identifier);
                &OPERATIONS
            }
        }

        // SAFETY (of the `unsafe`): `close_stub` is the whole body of this stub, which OCaml
        // calls as an `external`; the closure is moved into it, so nothing else is alive here
        // when it raises.
        #[doc(hidden)]
        #[allow(non_snake_case)]
        #[export_name = #close_symbol]
        pub extern "C" fn #close_stub(value: #krate::__private::ocaml::Raw) -> #krate::__private::ocaml::Raw {
            unsafe { #krate::__private::close_stub::<#ident>(value) }
        }

        #record
    })
}

/// `#[lwt_rust::object]` on the type's `impl` block.
pub(crate) fn object_impl(
    attr: TokenStream,
    mut block: ItemImpl,
    crate_name: &str,
) -> syn::Result<TokenStream> {
    let options = Options::parse(attr, OBJECT_KEYS)?;
    if !block.generics.params.is_empty() || block.trait_.is_some() {
        return Err(syn::Error::new_spanned(
            &block.self_ty,
            "#[lwt_rust::object] goes on the type's own `impl` block (not generic, not a trait \
             impl)",
        ));
    }
    let owner = match block.self_ty.as_ref() {
        Type::Path(path) if path.qself.is_none() => {
            path.path.get_ident().cloned().ok_or_else(|| {
                syn::Error::new_spanned(&block.self_ty, "expected the type's name")
            })?
        }
        other => return Err(syn::Error::new_spanned(other, "expected the type's name")),
    };
    let mut generated = Vec::new();
    for item in &mut block.items {
        let ImplItem::Fn(method) = item else { continue };
        generated.extend(method_stub(&options, &owner, method, crate_name)?);
    }
    Ok(quote! {
        #block
        #(#generated)*
    })
}

/// The stub and record of one function of an object's `impl`, if it is exported (public and
/// not `skip`); its `#[lwt_rust(...)]` attributes are taken off it (the compiler does not know
/// them).
fn method_stub(
    options: &Options,
    owner: &syn::Ident,
    method: &mut ImplItemFn,
    crate_name: &str,
) -> syn::Result<Option<TokenStream>> {
    let mut attr_tokens = Vec::new();
    method.attrs.retain(|attr| {
        if attr.path().is_ident("lwt_rust") {
            attr_tokens.push(attr.clone());
            false
        } else {
            true
        }
    });
    let method_options = options.for_method(&attr_tokens)?;
    if method_options.skip || !matches!(method.vis, syn::Visibility::Public(_)) {
        return Ok(None);
    }
    let receiver = takes_self(method)?;
    let name = unraw(&method.sig.ident);
    if RESERVED.contains(&name.as_str()) {
        return Err(syn::Error::new_spanned(
            &method.sig.ident,
            format!(
                "every object module has its own `{name}` already (close, equal, compare, \
                 hash): rename this method, or add #[lwt_rust(skip)]"
            ),
        ));
    }
    let mut sig = method.sig.clone();
    ReplaceSelf(owner).visit_signature_mut(&mut sig);
    let part = match &method_options.name {
        Some(symbol) => symbol_part(&symbol.value(), symbol.span())?,
        None => name.clone(),
    };
    let owner_name = unraw(owner);
    let export = Export {
        krate: &options.krate,
        crate_name,
        symbol: c_symbol(crate_name, &method_item(&owner_name, &part)),
        display: format!("{owner_name}::{name}"),
        kind: Kind::of(method_options.kind, sig.asyncness.is_some()),
        sig: &sig,
        owner: Some(owner),
        receiver,
        docs: doc_lines(&method.attrs),
        result: method_options.result,
    };
    let stub = export.stub()?;
    let record = record(&options.krate, &export.symbol, &export_lines(&export)?);
    Ok(Some(quote! { #stub #record }))
}

/// Whether a method takes `&self` (a method, not an associated function); `self`, `&mut self`
/// and a typed `self` are refused.
fn takes_self(method: &ImplItemFn) -> syn::Result<bool> {
    let Some(FnArg::Receiver(receiver)) = method.sig.inputs.first() else {
        return Ok(false);
    };
    if receiver.reference.is_none() || receiver.colon_token.is_some() {
        return Err(syn::Error::new_spanned(
            receiver,
            "#[lwt_rust::object] methods take `&self` (the OCaml value keeps the object; \
             `close` drops it)",
        ));
    }
    if receiver.lifetime().is_some() {
        return Err(syn::Error::new_spanned(
            receiver,
            "#[lwt_rust::object] methods take `&self` with no named lifetime: the object lives \
             as long as its OCaml value or until `close`, so a method may not keep a reference \
             to it beyond its own future (`&'static self` would outlive the object)",
        ));
    }
    if receiver.mutability.is_some() {
        return Err(syn::Error::new_spanned(
            receiver,
            "#[lwt_rust::object] methods cannot take `&mut self`: OCaml may call a method \
             while another one is running. Keep the mutable state in a `Cell`, `RefCell` or \
             an async mutex (`tokio::sync::Mutex`) and take `&self`",
        ));
    }
    Ok(true)
}
