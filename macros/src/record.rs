//! The binding records: a few lines of text per exported item (`crate`, `item`, `symbol`, the
//! parameters' and result's Rust types, the doc comment) between a marker and a NUL, left in
//! the compiled crate as a `#[used] static` for `lwt-rust-bindgen` (format:
//! `tools/BINDGEN_SPEC.md`).

use quote::{format_ident, quote};
use syn::{LitByteStr, Pat};

use crate::model::Export;
use crate::types::type_text;

/// The version of the record format these macros write: the `version` of
/// `tools/bindgen/record_schema.txt`, which the generator checks (a test of this crate fails
/// when the two differ).
pub(crate) const RECORD_VERSION: u32 = 2;

/// The marker that opens every record, carrying [`RECORD_VERSION`].
pub(crate) fn marker() -> String {
    format!("\0LWT_RUST_BINDINGS_{RECORD_VERSION}\n")
}

/// The lines of a record, key and value, in order.
pub(crate) type Lines = Vec<(&'static str, String)>;

/// The text of a record: the marker, `key value` lines, a NUL.
pub(crate) fn record_text(lines: &Lines) -> String {
    let mut text = marker();
    for (key, value) in lines {
        // A value never holds a newline or a NUL: the format is line-based.
        let value = value.replace(['\n', '\r', '\0'], " ");
        text.push_str(key);
        text.push(' ');
        text.push_str(&value);
        text.push('\n');
    }
    text.push('\0');
    text
}

/// A binding record as a `#[used] static`, named after the item's symbol.
pub(crate) fn record(symbol: &str, lines: &Lines) -> proc_macro2::TokenStream {
    let text = record_text(lines);
    let bytes = LitByteStr::new(text.as_bytes(), proc_macro2::Span::call_site());
    let len = text.len();
    let ident = format_ident!(
        "__LWT_RUST_BINDING_{}",
        symbol
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect::<String>()
    );
    quote! {
        #[used]
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        static #ident: [u8; #len] = *#bytes;
    }
}

/// The lines of a function's or method's record.
pub(crate) fn export_lines(export: &Export<'_>) -> syn::Result<Lines> {
    let item = if export.owner.is_some() {
        "method"
    } else {
        "function"
    };
    let mut lines = vec![
        ("crate", export.crate_name.to_owned()),
        ("item", item.to_owned()),
        ("rust", export.sig.ident.to_string()),
        ("symbol", export.symbol.clone()),
    ];
    if let Some(owner) = export.owner {
        lines.push(("owner", owner.to_string()));
    }
    lines.push(("call", export.kind.record().to_owned()));
    if export.owner.is_some() {
        let receiver = if export.receiver { "yes" } else { "no" };
        lines.push(("receiver", receiver.to_owned()));
    }
    for (_, typed) in export.params() {
        if let Pat::Ident(ident) = typed.pat.as_ref() {
            lines.push(("param", format!("{} {}", ident.ident, type_text(&typed.ty))));
        }
    }
    lines.push(("returns", export.returns()?));
    docs(&mut lines, &export.docs);
    Ok(lines)
}

/// The lines of an object type's record (its symbol is its `close`'s).
pub(crate) fn object_lines(
    crate_name: &str,
    rust: &syn::Ident,
    symbol: &str,
    doc: &[String],
) -> Lines {
    let mut lines = vec![
        ("crate", crate_name.to_owned()),
        ("item", "object".to_owned()),
        ("rust", rust.to_string()),
        ("symbol", symbol.to_owned()),
    ];
    docs(&mut lines, doc);
    lines
}

/// The lines of a hand-written stub's record (`#[lwt_rust::external]`).
pub(crate) fn external_lines(
    crate_name: &str,
    rust: &syn::Ident,
    symbol: &str,
    ocaml: &str,
    doc: &[String],
) -> Lines {
    let mut lines = vec![
        ("crate", crate_name.to_owned()),
        ("item", "function".to_owned()),
        ("rust", rust.to_string()),
        ("symbol", symbol.to_owned()),
        ("call", "raw".to_owned()),
        ("ocaml", ocaml.to_owned()),
    ];
    docs(&mut lines, doc);
    lines
}

/// The lines of a type with a hand-written conversion's record (`#[lwt_rust::ocaml_type]`).
pub(crate) fn type_lines(crate_name: &str, rust: &syn::Ident, ocaml: &str) -> Lines {
    vec![
        ("crate", crate_name.to_owned()),
        ("item", "type".to_owned()),
        ("rust", rust.to_string()),
        ("symbol", format!("type_{rust}")),
        ("ocaml", ocaml.to_owned()),
    ]
}

fn docs(lines: &mut Lines, docs: &[String]) {
    lines.extend(docs.iter().map(|doc| ("doc", doc.clone())));
}
