//! `#[lwt_rust::record]`, `#[lwt_rust::variant]` and `#[lwt_rust::error]`: a Rust struct or
//! enum made an OCaml record or variant type, converted both ways with a shape check on the
//! way in, and described in a binding record (`item data`, `tools/BINDGEN_SPEC.md`) from which
//! `lwt-rust-bindgen` writes its OCaml declaration.
//!
//! The conversions are the `lwt_rust::conv::OCamlRepr`, `ToOCaml` and `FromOCaml` impls of
//! the type (its own ocaml-interop marker), so the type goes wherever a value goes: arguments,
//! results, inside options, lists, arrays, tuples, results, stream items, closures' and
//! promises' values.

mod errors;
mod layout;
mod record;
mod variant;

pub(crate) use errors::{error_mapper, map_typed_errors};

use quote::quote;
use syn::{Fields, Item, LitByteStr, Type};

use crate::model::doc_lines;
use crate::naming::{crate_name, field_name, module_name, type_name, unraw};
use crate::options::Options;
use crate::record::{ocaml_type_of, record as binding_record, text, typed, Lines};

/// Which attribute.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// `#[lwt_rust::record]`: a struct with named fields.
    Record,
    /// `#[lwt_rust::variant]`: an enum.
    Variant,
    /// `#[lwt_rust::error]`: either, plus an exception.
    Error,
}

impl Want {
    fn attribute(self) -> &'static str {
        match self {
            Want::Record => "#[lwt_rust::record]",
            Want::Variant => "#[lwt_rust::variant]",
            Want::Error => "#[lwt_rust::error]",
        }
    }
}

/// One field: its OCaml name (unraw'd Rust name; empty for a tuple variant's argument), its
/// Rust type, its doc lines.
pub(crate) struct Field {
    pub(crate) member: syn::Member,
    pub(crate) name: String,
    pub(crate) ty: Type,
    pub(crate) docs: Vec<String>,
}

pub(crate) fn fields_of(fields: &Fields) -> Vec<Field> {
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| Field {
            member: match &f.ident {
                Some(ident) => syn::Member::Named(ident.clone()),
                None => syn::Member::Unnamed(i.into()),
            },
            name: f.ident.as_ref().map(unraw).unwrap_or_default(),
            ty: f.ty.clone(),
            docs: doc_lines(&f.attrs),
        })
        .collect()
}

/// The record line of a field: `field <OCaml name> <OCaml type>` or `arg <OCaml type>` (an
/// argument's type parenthesised if it is a tuple: one argument of the constructor, as the
/// layout has it). `Err`: a field name that makes no OCaml field name.
pub(crate) fn field_lines(krate: &syn::Path, field: &Field, lines: &mut Lines) -> syn::Result<()> {
    let ty = ocaml_type_of(krate, &field.ty);
    if field.name.is_empty() {
        lines.push(typed("arg", "", quote! { #ty.atom() }));
    } else {
        let Some(name) = field_name(&field.name) else {
            return Err(syn::Error::new_spanned(
                &field.member,
                format!("the field `{}` makes no OCaml field name", field.name),
            ));
        };
        lines.push(typed("field", format!("{name} "), ty));
    }
    for doc in &field.docs {
        lines.push(text("member_doc", doc.clone()));
    }
    Ok(())
}

pub(crate) fn expand(
    want: Want,
    attr: proc_macro2::TokenStream,
    item: Item,
) -> syn::Result<proc_macro2::TokenStream> {
    let options = Options::parse(attr, &["crate"])?;
    let krate = &options.krate;
    let what = want.attribute();
    let (ident, generics, attrs) = match (&item, want) {
        (Item::Struct(s), Want::Record | Want::Error) => (&s.ident, &s.generics, &s.attrs),
        (Item::Enum(e), Want::Variant | Want::Error) => (&e.ident, &e.generics, &e.attrs),
        (other, Want::Record) => {
            return Err(syn::Error::new_spanned(
                other,
                "#[lwt_rust::record] goes on a struct with named fields (an enum takes \
                 #[lwt_rust::variant])",
            ))
        }
        (other, _) => {
            return Err(syn::Error::new_spanned(
                other,
                format!(
                    "{what} goes on an enum (a struct with named fields takes #[lwt_rust::record])"
                ),
            ))
        }
    };
    if !generics.params.is_empty() || generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(
            generics,
            format!(
                "{what} types cannot be generic or carry lifetimes: OCaml sees one concrete \
                 type, and its values own their data"
            ),
        ));
    }
    let rust_name = unraw(ident);
    let ocaml_name = type_name(ident, what)?;
    let mut lines = vec![
        text("crate", crate_name()),
        text("item", "data"),
        text("rust", rust_name.clone()),
        text("symbol", format!("type_{rust_name}")),
        text("ocaml_type", ocaml_name.clone()),
    ];
    let registered = format!("lwt_rust/{}/{rust_name}", crate_name());
    if want == Want::Error {
        lines.push(text(
            "exception",
            format!("{} {registered}", module_name(&ocaml_name)),
        ));
    }
    for doc in doc_lines(attrs) {
        lines.push(text("doc", doc));
    }
    let impls = match &item {
        Item::Struct(s) => {
            let Fields::Named(_) = &s.fields else {
                return Err(syn::Error::new_spanned(
                    &s.fields,
                    format!("{what} needs a struct with named fields (OCaml records have names)"),
                ));
            };
            let fields = fields_of(&s.fields);
            if fields.is_empty() {
                return Err(syn::Error::new_spanned(
                    &s.fields,
                    format!("{what} needs at least one field (OCaml has no empty record)"),
                ));
            }
            lines.push(text("shape", "record"));
            for field in &fields {
                field_lines(krate, field, &mut lines)?;
            }
            record::impls(krate, ident, &ocaml_name, &fields)
        }
        Item::Enum(e) => {
            if e.variants.is_empty() {
                return Err(syn::Error::new_spanned(
                    e,
                    format!("{what} needs at least one variant (no OCaml value has an empty type)"),
                ));
            }
            lines.push(text("shape", "variant"));
            variant::impls(krate, ident, &ocaml_name, e, &mut lines)?
        }
        _ => unreachable!("checked above"),
    };
    let typed = if want == Want::Error {
        let exception = module_name(&ocaml_name);
        let registered = LitByteStr::new(
            format!("{registered}\0").as_bytes(),
            proc_macro2::Span::call_site(),
        );
        quote! {
            impl #krate::__private::TypedError for #ident {
                const REGISTERED: &'static ::core::ffi::CStr =
                    match ::core::ffi::CStr::from_bytes_with_nul(#registered) {
                        ::core::result::Result::Ok(name) => name,
                        ::core::result::Result::Err(_) => panic!("a NUL inside a type name"),
                    };
                const EXCEPTION: &'static str = #exception;
            }
        }
    } else {
        quote! {}
    };
    let record = binding_record(krate, &format!("{}_data_{rust_name}", crate_name()), &lines);
    Ok(quote! {
        #item
        #impls
        #typed
        #record
    })
}
