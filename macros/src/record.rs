//! The binding records: a few lines of text per exported item between a marker and a NUL, left
//! in the compiled crate as a `#[used] static` for `lwt-rust-bindgen` (format:
//! `tools/BINDGEN_SPEC.md`, table: `tools/bindgen/record_schema.txt`).
//!
//! A record carries every OCaml name and type of its item, decided here: the value's name
//! (`naming::value_name`), its parameters' names and types, its full result type, an object's
//! module and type, a data type's type, exception, field names and member types. The generator
//! only checks and prints them.
//!
//! A Rust type's OCaml type is not known to the macro (the type may be a user's record defined
//! elsewhere, or come from another crate): the record holds the expression
//! `<T as OCamlRepr>::OCAML_TYPE` instead, and the record's bytes are assembled by the compiler
//! in const context (`lwt_rust::__private::RecordText`) from the literal pieces and those
//! constants. A type with no OCaml type stops the build there, naming the type.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{LitByteStr, Type};

/// The version of the record format these macros write: the `version` of
/// `tools/bindgen/record_schema.txt`, which the generator checks (a test of this crate fails
/// when the two differ).
pub(crate) const RECORD_VERSION: u32 = 3;

/// The marker that opens every record, carrying [`RECORD_VERSION`].
pub(crate) fn marker() -> String {
    format!("\0LWT_RUST_BINDINGS_{RECORD_VERSION}\n")
}

/// A piece of a record line's value.
#[derive(Clone)]
pub(crate) enum Piece {
    /// Literal text.
    Text(String),
    /// An expression of type `lwt_rust::__private::TypeText`, evaluated by the compiler.
    Type(TokenStream),
}

/// One line of a record: its key and its value's pieces.
#[derive(Clone)]
pub(crate) struct Line {
    pub(crate) key: &'static str,
    pub(crate) value: Vec<Piece>,
}

/// The lines of a record, in order.
pub(crate) type Lines = Vec<Line>;

/// A line whose value is literal text.
pub(crate) fn text(key: &'static str, value: impl Into<String>) -> Line {
    Line {
        key,
        value: vec![Piece::Text(value.into())],
    }
}

/// A line whose value is `prefix` then an OCaml type computed by the compiler.
pub(crate) fn typed(key: &'static str, prefix: impl Into<String>, ty: TokenStream) -> Line {
    let prefix = prefix.into();
    let mut value = Vec::new();
    if !prefix.is_empty() {
        value.push(Piece::Text(prefix));
    }
    value.push(Piece::Type(ty));
    Line { key, value }
}

/// The OCaml type of the Rust type `ty`, as a const expression.
pub(crate) fn ocaml_type_of(krate: &syn::Path, ty: &Type) -> TokenStream {
    quote! { <#ty as #krate::__private::OCamlRepr>::OCAML_TYPE }
}

/// A value never holds a newline, a carriage return or a NUL: the format is line-based.
fn clean(text: &str) -> String {
    text.replace(['\n', '\r', '\0'], " ")
}

/// The record as pieces: the marker, `key value` lines, a NUL; literal pieces merged.
fn pieces(lines: &Lines) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    let push_text = |out: &mut Vec<Piece>, s: &str| match out.last_mut() {
        Some(Piece::Text(last)) => last.push_str(s),
        _ => out.push(Piece::Text(s.to_owned())),
    };
    push_text(&mut out, &marker());
    for line in lines {
        push_text(&mut out, line.key);
        push_text(&mut out, " ");
        for piece in &line.value {
            match piece {
                Piece::Text(s) => push_text(&mut out, &clean(s)),
                Piece::Type(ty) => out.push(Piece::Type(ty.clone())),
            }
        }
        push_text(&mut out, "\n");
    }
    push_text(&mut out, "\0");
    out
}

/// The text of a record, each OCaml type computed by the compiler written `{<tokens>}` (for
/// this crate's tests, which run no compiler).
#[cfg(test)]
pub(crate) fn record_text(lines: &Lines) -> String {
    pieces(lines)
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(s) => s,
            Piece::Type(ty) => format!("{{{ty}}}"),
        })
        .collect()
}

/// A binding record as a `#[used] static`, named after the item's symbol, its bytes assembled
/// in const context.
pub(crate) fn record(krate: &syn::Path, symbol: &str, lines: &Lines) -> TokenStream {
    let name: String = symbol
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let ident = format_ident!("__LWT_RUST_BINDING_{}", name);
    let text_ident = format_ident!("__LWT_RUST_BINDING_TEXT_{}", name);
    let pieces = pieces(lines);
    let literal_len: usize = pieces
        .iter()
        .map(|p| match p {
            Piece::Text(s) => s.len(),
            Piece::Type(_) => 0,
        })
        .sum();
    let types = pieces
        .iter()
        .filter(|p| matches!(p, Piece::Type(_)))
        .count();
    // The marker is split across two literals: the crate's metadata (in an rlib) keeps the
    // literals of the const, and a whole marker there would open a record fragment.
    let marker = marker();
    let split = marker.rfind('_').expect("the marker has an underscore");
    let calls = pieces.iter().enumerate().map(|(i, piece)| match piece {
        Piece::Text(s) => {
            let literal = |s: &str| LitByteStr::new(s.as_bytes(), proc_macro2::Span::call_site());
            if i == 0 {
                let (head, tail) = s.split_at(split);
                let (head, tail) = (literal(head), literal(tail));
                quote! { .text(#head).text(#tail) }
            } else {
                let bytes = literal(s);
                quote! { .text(#bytes) }
            }
        }
        Piece::Type(ty) => quote! { .ty(#ty) },
    });
    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        const #text_ident: #krate::__private::RecordText<
            { #literal_len + #types * #krate::__private::TYPE_TEXT_CAPACITY },
        > = #krate::__private::RecordText::new() #(#calls)*;
        #[used]
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        static #ident: [u8; #text_ident.len()] = #text_ident.to_array();
    }
}

/// The docs lines of an item.
pub(crate) fn docs(lines: &mut Lines, docs: &[String]) {
    lines.extend(docs.iter().map(|doc| text("doc", doc.clone())));
}
