//! The arguments of the attributes: `#[lwt_rust::func(...)]`, `#[lwt_rust::object(...)]`,
//! `#[lwt_rust::external(...)]` and a method's `#[lwt_rust(...)]`, parsed into one [`Options`]
//! whose defaults are written once ([`Options::default`]).

use syn::parse::Parser;
use syn::LitStr;

/// What the function returns to OCaml.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `'a Lwt.t` (an `async fn`).
    Promise,
    /// `'a Lwt_stream.t` of the items of a `Stream` (`stream`).
    Stream,
    /// `'a Lwt_stream.t` of the `Ok` items of a `Stream` of `Result`s; an `Err` ends it
    /// (`try_stream`).
    TryStream,
    /// The value itself, at once (a plain `fn`).
    Sync,
    /// `'a Lwt.t` of a plain `fn` run on the blocking pool (`blocking`).
    Blocking,
}

impl Kind {
    /// The kind of a function: `stream` / `try_stream` / `blocking` if asked, else by its
    /// asyncness.
    pub(crate) fn of(asked: Option<Kind>, is_async: bool) -> Kind {
        match (asked, is_async) {
            (Some(asked), _) => asked,
            (None, true) => Kind::Promise,
            (None, false) => Kind::Sync,
        }
    }

    /// The `call` line of the binding record.
    pub(crate) fn record(self) -> &'static str {
        match self {
            Kind::Promise => "async",
            Kind::Stream => "stream",
            Kind::TryStream => "try_stream",
            Kind::Sync => "sync",
            // The binding is the same as an async function's.
            Kind::Blocking => "async",
        }
    }
}

/// The keys each attribute accepts.
pub(crate) const FUNC_KEYS: &[&str] = &[
    "name",
    "crate",
    "stream",
    "try_stream",
    "blocking",
    "result",
];
/// The keys of `#[lwt_rust::object(...)]`, on the type and on its `impl`.
pub(crate) const OBJECT_KEYS: &[&str] = &["crate"];
/// The keys of a method's `#[lwt_rust(...)]`.
pub(crate) const METHOD_KEYS: &[&str] = &["name", "stream", "try_stream", "skip", "result"];
/// The keys of `#[lwt_rust::external(...)]`.
pub(crate) const EXTERNAL_KEYS: &[&str] = &["ocaml"];

/// The arguments of an attribute.
#[derive(Clone)]
pub(crate) struct Options {
    /// `name = "part"`: the last part of the C symbol.
    pub(crate) name: Option<LitStr>,
    /// `stream`, `try_stream` or `blocking`.
    pub(crate) kind: Option<Kind>,
    /// `crate = "path"`: the path of the `lwt_rust` crate in the generated code.
    pub(crate) krate: syn::Path,
    /// `skip`: a method left out of the bindings.
    pub(crate) skip: bool,
    /// `ocaml = "type"`: the OCaml type of an external.
    pub(crate) ocaml: Option<String>,
    /// `result`: a `Result<T, E>` is returned as an OCaml `(t, e) result` value instead of
    /// rejecting (or raising) with `E`.
    pub(crate) result: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            name: None,
            kind: None,
            krate: syn::parse_quote!(::lwt_rust),
            skip: false,
            ocaml: None,
            result: false,
        }
    }
}

impl Options {
    /// Parses an attribute's arguments, refusing any key not in `allowed`.
    pub(crate) fn parse(attr: proc_macro2::TokenStream, allowed: &[&str]) -> syn::Result<Self> {
        let mut options = Options::default();
        options.parse_into(attr, allowed)?;
        Ok(options)
    }

    /// A method's options: its `impl` block's, then each of its `#[lwt_rust(...)]` attributes
    /// in order, a later `name` or kind replacing an earlier one.
    pub(crate) fn for_method(&self, attrs: &[syn::Attribute]) -> syn::Result<Self> {
        let mut options = self.clone();
        for attr in attrs {
            let list = attr.meta.require_list()?;
            let parsed = Options::parse(list.tokens.clone(), METHOD_KEYS)?;
            options.name = parsed.name.or(options.name);
            options.kind = parsed.kind.or(options.kind);
            options.skip |= parsed.skip;
            options.result |= parsed.result;
        }
        Ok(options)
    }

    fn parse_into(&mut self, attr: proc_macro2::TokenStream, allowed: &[&str]) -> syn::Result<()> {
        let parser = syn::meta::parser(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(|ident| ident.to_string())
                .unwrap_or_default();
            if !allowed.contains(&key.as_str()) {
                return Err(meta.error(format!(
                    "expected one of: {}",
                    allowed
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            match key.as_str() {
                "name" => self.name = Some(meta.value()?.parse::<LitStr>()?),
                "crate" => self.krate = meta.value()?.parse::<LitStr>()?.parse()?,
                "ocaml" => self.ocaml = Some(meta.value()?.parse::<LitStr>()?.value()),
                "skip" => self.skip = true,
                "result" => self.result = true,
                _ => {
                    if self.kind.is_some() {
                        return Err(
                            meta.error("give one of `stream`, `try_stream` or `blocking`, once")
                        );
                    }
                    self.kind = Some(match key.as_str() {
                        "stream" => Kind::Stream,
                        "blocking" => Kind::Blocking,
                        _ => Kind::TryStream,
                    });
                }
            }
            Ok(())
        });
        parser.parse2(attr)
    }
}
