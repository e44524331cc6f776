//! An enum as an OCaml variant: fieldless variants are the constant constructors
//! (immediates numbered in declaration order among themselves), the others blocks tagged in
//! declaration order among themselves, one field per argument (a struct variant is an inline
//! record: the same block).

use quote::{format_ident, quote};
use syn::{Fields, ItemEnum};

use super::layout;
use super::{field_lines, fields_of, Field};
use crate::record::{text, Lines};

/// OCaml's limit: the tags of non-constant constructors are below `No_scan_tag`'s range
/// (246 of them).
const MAX_BLOCK_CONSTRUCTORS: usize = 246;

pub(crate) fn impls(
    krate: &syn::Path,
    ident: &syn::Ident,
    ocaml_name: &str,
    item: &ItemEnum,
    lines: &mut Lines,
) -> syn::Result<proc_macro2::TokenStream> {
    let mut constants = 0usize;
    let mut blocks = 0usize;
    let mut check_arms = Vec::new();
    let mut fits_arms = Vec::new();
    let mut to_arms = Vec::new();
    let mut const_reads = Vec::new();
    let mut block_reads = Vec::new();
    for variant in &item.variants {
        let name = &variant.ident;
        let fields = fields_of(&variant.fields);
        let kind = match (&variant.fields, fields.is_empty()) {
            (_, true) => "unit",
            (Fields::Named(_), false) => "record",
            _ => "tuple",
        };
        lines.push(text(
            "constructor",
            format!("{} {kind}", crate::naming::unraw(name)),
        ));
        for doc in crate::model::doc_lines(&variant.attrs) {
            lines.push(text("member_doc", doc));
        }
        for field in &fields {
            field_lines(krate, field, lines)?;
        }
        // The pattern binding every field: `Self::A { x: f0, y: f1 }` or `Self::B(f0, f1)`.
        let bindings: Vec<_> = (0..fields.len()).map(|i| format_ident!("f{}", i)).collect();
        let pattern = match &variant.fields {
            Fields::Unit => quote! { #ident::#name },
            Fields::Unnamed(_) => quote! { #ident::#name(#(#bindings),*) },
            Fields::Named(_) => {
                let members = fields.iter().map(|f| &f.member);
                quote! { #ident::#name { #(#members: #bindings),* } }
            }
        };
        let bound = |i: usize, _: &Field| {
            let b = &bindings[i];
            quote! { #b }
        };
        let fits = layout::fits(krate, &fields, bound);
        fits_arms.push(quote! { #pattern => { #fits } });
        if fields.is_empty() {
            let n = constants;
            constants += 1;
            to_arms.push(quote! { #pattern => #krate::__private::constant_value(cr, #n), });
            const_reads.push(quote! { ::core::option::Option::Some(#n) => #pattern });
            continue;
        }
        if blocks == MAX_BLOCK_CONSTRUCTORS {
            return Err(syn::Error::new_spanned(
                variant,
                "OCaml allows at most 246 constructors with arguments in one type",
            ));
        }
        let tag = blocks as u8;
        blocks += 1;
        let size = fields.len();
        let checks = layout::checks(krate, &fields);
        check_arms.push(quote! {
            ::core::option::Option::Some(#tag) => #krate::__private::is_block(value, #tag, #size) #checks
        });
        let stores = layout::stores(&fields, bound);
        to_arms.push(quote! {
            #pattern => {
                let block = #krate::__private::Block::<#ident>::new(cr, #tag, #size);
                #stores
                block.finish(cr)
            }
        });
        let reads = layout::reads(krate, &fields);
        let build = match &variant.fields {
            Fields::Named(_) => quote! { #ident::#name { #reads } },
            _ => {
                let args = fields.iter().enumerate().map(|(i, f)| {
                    let ty = &f.ty;
                    quote! { #krate::__private::field::<#ty>(raw, #i) }
                });
                quote! { #ident::#name(#(#args),*) }
            }
        };
        block_reads.push(quote! { ::core::option::Option::Some(#tag) => #build });
    }
    let check = quote! {
        match #krate::__private::block_tag(value) {
            ::core::option::Option::None => #krate::__private::constant(value, #constants).is_some(),
            #(#check_arms,)*
            _ => false,
        }
    };
    let fits = quote! {
        #[allow(unused_variables)]
        match self { #(#fits_arms)* }
    };
    let to_ocaml = quote! {
        match self { #(#to_arms)* }
    };
    let from_ocaml = quote! {
        match #krate::__private::block_tag(raw) {
            ::core::option::Option::None => match #krate::__private::constant(raw, #constants) {
                #(#const_reads,)*
                _ => #krate::__private::unexpected(#ocaml_name),
            },
            #(#block_reads,)*
            _ => #krate::__private::unexpected(#ocaml_name),
        }
    };
    Ok(layout::impls(
        krate, ident, ocaml_name, check, fits, to_ocaml, from_ocaml,
    ))
}
