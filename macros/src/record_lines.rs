//! What the record of each kind of item says (`tools/BINDGEN_SPEC.md`, "Keys"): its names and
//! OCaml types, decided here once, in the order of `tools/bindgen/record_schema.txt`.

use quote::quote;
use syn::{Pat, ReturnType, Type};

use crate::model::{Export, Wrap};
use crate::naming::{object_module, param_names, snake_case, unraw, value_name};
use crate::options::Kind;
use crate::record::{docs, ocaml_type_of, text, typed, Lines};
use crate::types::{is_result, ok_type, stream_item};

impl Export<'_> {
    /// The Rust type whose OCaml type OCaml sees as the result's value: the `Ok` type of a
    /// failing `Result`, a stream's item type (a `try_stream`'s item's `Ok` type), `Obj<T>`
    /// for a constructor's `Self`, `()` for no result.
    pub(crate) fn result_type(&self) -> syn::Result<Type> {
        let krate = self.krate;
        if let (Wrap::SelfValue | Wrap::SelfInResult, Some(owner)) = (self.wrap()?, self.owner) {
            return Ok(syn::parse_quote!(#krate::__private::Obj<#owner>));
        }
        let ReturnType::Type(_, ty) = &self.sig.output else {
            return Ok(syn::parse_quote!(()));
        };
        let fallible = is_result(ty) && !self.result;
        let value = if fallible { ok_type(ty)? } else { ty.as_ref() };
        let value = match self.kind {
            Kind::Promise | Kind::Sync | Kind::Blocking => value,
            Kind::Stream | Kind::TryStream => {
                let item = stream_item(value).ok_or_else(|| {
                    syn::Error::new_spanned(
                        value,
                        "cannot read the stream's item type for the OCaml binding: write \
                         `impl Stream<Item = T>` (or `BoxStream<'_, T>`)",
                    )
                })?;
                if self.kind == Kind::TryStream {
                    ok_type(item)?
                } else {
                    item
                }
            }
        };
        Ok(value.clone())
    }

    /// The OCaml type of `ty` as a parameter or a result's value shows it: a tuple
    /// parenthesised, and inside an object's own module the object's type written `t`.
    fn atom_of(&self, ty: &Type) -> proc_macro2::TokenStream {
        let text = ocaml_type_of(self.krate, ty);
        match self.owner {
            Some(owner) => {
                let own = snake_case(&unraw(owner));
                quote! { #text.atom().replace_word(#own, "t") }
            }
            None => quote! { #text.atom() },
        }
    }
}

/// The lines of a function's or method's record.
pub(crate) fn export_lines(export: &Export<'_>) -> syn::Result<Lines> {
    let krate = export.krate;
    let is_method = export.owner.is_some();
    let mut lines = vec![
        text("crate", export.crate_name),
        text("item", if is_method { "method" } else { "function" }),
        text("rust", export.sig.ident.to_string()),
        text("symbol", export.symbol.clone()),
    ];
    if let Some(owner) = export.owner {
        lines.push(text("owner", owner.to_string()));
    }
    lines.push(text("call", export.kind.record()));
    let name = value_name(&export.sig.ident, is_method)?;
    lines.push(text("ocaml_name", name.clone()));
    let rust_params: Vec<String> = export
        .params()
        .filter_map(|(_, typed)| match typed.pat.as_ref() {
            Pat::Ident(ident) => Some(unraw(&ident.ident)),
            _ => None,
        })
        .collect();
    let names = param_names(&format!("{name}__raw"), export.receiver, &rust_params);
    let mut names = names.into_iter();
    if export.receiver {
        let self_name = names.next().expect("a name per parameter");
        lines.push(text("ocaml_param", format!("{self_name} t")));
    }
    for ((_, param), name) in export.params().zip(names) {
        lines.push(typed(
            "ocaml_param",
            format!("{name} "),
            export.atom_of(&param.ty),
        ));
    }
    let value = export.atom_of(&export.result_type()?);
    let result = match export.kind {
        Kind::Sync => value,
        Kind::Promise | Kind::Blocking => {
            quote! { #krate::__private::TypeText::apply(#value, "Lwt.t") }
        }
        Kind::Stream | Kind::TryStream => {
            quote! { #krate::__private::TypeText::apply(#value, "Lwt_stream.t") }
        }
    };
    lines.push(typed("ocaml_result", "", result));
    docs(&mut lines, &export.docs);
    Ok(lines)
}

/// The lines of an object type's record (its symbol is its `close`'s): its OCaml module and
/// type (checked by the caller).
pub(crate) fn object_lines(
    crate_name: &str,
    rust: &syn::Ident,
    symbol: &str,
    ocaml_type: &str,
    doc: &[String],
) -> Lines {
    let mut lines = vec![
        text("crate", crate_name),
        text("item", "object"),
        text("rust", rust.to_string()),
        text("symbol", symbol),
        text("ocaml_module", object_module(rust)),
        text("ocaml_type", ocaml_type),
    ];
    docs(&mut lines, doc);
    lines
}

/// The lines of a hand-written stub's record (`#[lwt_rust::external]`): its whole OCaml type,
/// trusted.
pub(crate) fn external_lines(
    crate_name: &str,
    rust: &syn::Ident,
    symbol: &str,
    ocaml: &str,
    doc: &[String],
) -> syn::Result<Lines> {
    let mut lines = vec![
        text("crate", crate_name),
        text("item", "function"),
        text("rust", rust.to_string()),
        text("symbol", symbol),
        text("call", "raw"),
        text("ocaml_name", value_name(rust, false)?),
        text("ocaml", ocaml),
    ];
    docs(&mut lines, doc);
    Ok(lines)
}
