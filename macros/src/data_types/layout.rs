//! The pieces every block layout shares: the shape check, the reads and the stores of a
//! block's fields, one per Rust field, in declaration order.

use quote::quote;
use syn::Type;

use super::Field;

/// Whether `ty` is written `f64` (a field OCaml stores flat in an all-float record).
pub(crate) fn is_f64(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none()
        && p.path.segments.last().is_some_and(|s| s.ident == "f64" && s.arguments.is_empty()))
}

/// `&& check_field::<T0>(v, 0) && ...`: the fields' shapes (the block's own checked first).
pub(crate) fn checks(krate: &syn::Path, fields: &[Field]) -> proc_macro2::TokenStream {
    let checks = fields.iter().enumerate().map(|(i, f)| {
        let ty = &f.ty;
        quote! { && #krate::__private::check_field::<#ty>(value, #i) }
    });
    quote! { #(#checks)* }
}

/// `member: field::<T>(raw, i), ...`: the fields read from the block `raw`.
pub(crate) fn reads(krate: &syn::Path, fields: &[Field]) -> proc_macro2::TokenStream {
    let reads = fields.iter().enumerate().map(|(i, f)| {
        let ty = &f.ty;
        let member = &f.member;
        quote! { #member: #krate::__private::field::<#ty>(raw, #i) }
    });
    quote! { #(#reads),* }
}

/// `block.set(cr, i, binding_i); ...`: the fields stored into `block`, each from the binding
/// named by `binding`.
pub(crate) fn stores(
    fields: &[Field],
    binding: impl Fn(usize, &Field) -> proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let stores = fields.iter().enumerate().map(|(i, f)| {
        let value = binding(i, f);
        quote! { block.set(cr, #i, #value); }
    });
    quote! { #(#stores)* }
}

/// `check_fits` of every field, from the binding named by `binding`.
pub(crate) fn fits(
    krate: &syn::Path,
    fields: &[Field],
    binding: impl Fn(usize, &Field) -> proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let fits = fields.iter().enumerate().map(|(i, f)| {
        let value = binding(i, f);
        quote! { #krate::__private::OCamlRepr::check_fits(#value)?; }
    });
    quote! { #(#fits)* }
}

/// The three impls of a type, around the bodies the shape gives.
pub(crate) fn impls(
    krate: &syn::Path,
    ident: &syn::Ident,
    ocaml_name: &str,
    check: proc_macro2::TokenStream,
    fits: proc_macro2::TokenStream,
    to_ocaml: proc_macro2::TokenStream,
    from_ocaml: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let interop = quote! { #krate::__private::ocaml_interop };
    quote! {
        // The type is its own marker: its OCaml type is the declaration the bindings print.
        impl #krate::__private::OCamlTypeText for #ident {
            const OCAML_TYPE: #krate::__private::TypeText =
                #krate::__private::TypeText::new(#ocaml_name);
        }

        impl #krate::__private::OCamlRepr for #ident {
            type Marker = #ident;
            #[allow(unused_unsafe)]
            unsafe fn check(value: #krate::__private::ocaml::sys::Value) -> bool {
                // SAFETY: every read of a field follows the check of the block's tag and size.
                unsafe { #check }
            }
            fn check_fits(&self) -> ::core::result::Result<(), ::std::string::String> {
                #fits
                ::core::result::Result::Ok(())
            }
        }

        // SAFETY: builds the block OCaml lays out for this type (see
        // `lwt_rust::__private::Block`).
        unsafe impl #interop::ToOCaml<#ident> for #ident {
            fn to_ocaml<'a>(
                &self,
                cr: &'a mut #interop::OCamlRuntime,
            ) -> #interop::OCaml<'a, #ident> {
                #to_ocaml
            }
        }

        // SAFETY: reads a value whose shape was checked (`OCamlRepr::check`).
        unsafe impl #interop::FromOCaml<#ident> for #ident {
            #[allow(unused_unsafe)]
            fn from_ocaml(value: #interop::OCaml<#ident>) -> Self {
                let raw = #krate::__private::raw_of(&value);
                unsafe { #from_ocaml }
            }
        }
    }
}
