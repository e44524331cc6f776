//! A struct with named fields as an OCaml record: a block of tag 0, or a flat block of
//! doubles when every field is a float.

use quote::quote;

use super::layout::{self, is_f64};
use super::Field;

pub(crate) fn impls(
    krate: &syn::Path,
    ident: &syn::Ident,
    ocaml_name: &str,
    fields: &[Field],
) -> proc_macro2::TokenStream {
    let size = fields.len();
    let own = |_: usize, f: &Field| {
        let member = &f.member;
        quote! { &self.#member }
    };
    let fits = layout::fits(krate, fields, own);
    if fields.iter().all(|f| is_f64(&f.ty)) {
        let members: Vec<_> = fields.iter().map(|f| &f.member).collect();
        let indices = 0..size;
        return layout::impls(
            krate,
            ident,
            ocaml_name,
            quote! { #krate::__private::is_float_record(value, #size) },
            fits,
            quote! { #krate::__private::float_record(cr, &[#(self.#members),*]) },
            quote! { #ident { #(#members: #krate::__private::float_field(raw, #indices)),* } },
        );
    }
    let checks = layout::checks(krate, fields);
    let stores = layout::stores(fields, own);
    let reads = layout::reads(krate, fields);
    layout::impls(
        krate,
        ident,
        ocaml_name,
        quote! { #krate::__private::is_block(value, 0, #size) #checks },
        fits,
        quote! {
            let block = #krate::__private::Block::<#ident>::new(cr, 0, #size);
            #stores
            block.finish(cr)
        },
        quote! { #ident { #reads } },
    )
}
