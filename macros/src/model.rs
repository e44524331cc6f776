//! The model of an exported function, free or in an object's `impl`: what the stub and the
//! binding record are made from, with the checks every exported function passes.

use syn::{Attribute, FnArg, Pat, ReturnType, Signature, Type};

use crate::options::Kind;
use crate::types::{is_result, ok_type};

/// The most parameters an exported function takes, a method's object included (the native
/// calling convention of OCaml externals without a bytecode variant).
pub(crate) const MAX_PARAMS: usize = 5;

/// One exported function, free or in an object's `impl`.
pub(crate) struct Export<'a> {
    /// The path of the `lwt_rust` crate in the generated code.
    pub(crate) krate: &'a syn::Path,
    /// The crate being compiled (`CARGO_CRATE_NAME`).
    pub(crate) crate_name: &'a str,
    /// The C symbol of the stub.
    pub(crate) symbol: String,
    /// The item as messages name it: `name`, `Type::name`.
    pub(crate) display: String,
    pub(crate) kind: Kind,
    /// The signature, `Self` replaced by the object type.
    pub(crate) sig: &'a Signature,
    /// The object type, for a method or associated function.
    pub(crate) owner: Option<&'a syn::Ident>,
    /// Whether the function takes `&self`.
    pub(crate) receiver: bool,
    /// The lines of its doc comment.
    pub(crate) docs: Vec<String>,
    /// `result`: a `Result` is the value OCaml gets (`(t, e) result`), not a failure.
    pub(crate) result: bool,
}

/// How a function's result is turned into what OCaml gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wrap {
    /// As it is.
    None,
    /// `Self`: made an object.
    SelfValue,
    /// `Result<Self, E>`: the `Ok` value made an object.
    SelfInResult,
}

impl Export<'_> {
    /// The attribute, as messages name it.
    pub(crate) fn attribute(&self) -> &'static str {
        if self.owner.is_some() {
            "#[lwt_rust::object]"
        } else {
            "#[lwt_rust::func]"
        }
    }

    /// Refuses what OCaml cannot call: a generic function, more than [`MAX_PARAMS`]
    /// parameters, a parameter that is a pattern rather than a name.
    pub(crate) fn check(&self) -> syn::Result<()> {
        let what = self.attribute();
        let sig = self.sig;
        if !sig.generics.params.is_empty() {
            return Err(syn::Error::new_spanned(
                &sig.generics,
                format!("{what} functions cannot be generic: OCaml calls one concrete stub"),
            ));
        }
        if sig.inputs.len() > MAX_PARAMS {
            return Err(syn::Error::new_spanned(
                &sig.inputs,
                format!("{what} supports at most {MAX_PARAMS} parameters"),
            ));
        }
        for (_, typed) in self.params() {
            let Pat::Ident(_) = typed.pat.as_ref() else {
                return Err(syn::Error::new_spanned(
                    &typed.pat,
                    format!("{what} parameters must be plain names"),
                ));
            };
        }
        Ok(())
    }

    /// The typed parameters (not `self`), with their position among all the parameters.
    pub(crate) fn params(&self) -> impl Iterator<Item = (usize, &syn::PatType)> {
        self.sig
            .inputs
            .iter()
            .enumerate()
            .filter_map(|(position, input)| match input {
                FnArg::Typed(typed) => Some((position, typed)),
                FnArg::Receiver(_) => None,
            })
    }

    /// Whether the return type is a `Result` (its `Err` rejects the promise, raises, or fails
    /// the stream's first read).
    pub(crate) fn fallible(&self) -> bool {
        match &self.sig.output {
            ReturnType::Type(_, ty) => is_result(ty) && !self.result,
            ReturnType::Default => false,
        }
    }

    /// How the result is made an OCaml value: a constructor's `Self` becomes an object.
    pub(crate) fn wrap(&self) -> syn::Result<Wrap> {
        let (Some(owner), ReturnType::Type(_, ty)) = (self.owner, &self.sig.output) else {
            return Ok(Wrap::None);
        };
        let is_owner =
            |ty: &Type| matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident(owner));
        if is_owner(ty) {
            Ok(Wrap::SelfValue)
        } else if is_result(ty) && is_owner(ok_type(ty)?) {
            Ok(Wrap::SelfInResult)
        } else {
            Ok(Wrap::None)
        }
    }
}

/// The lines of an item's doc comment.
pub(crate) fn doc_lines(attrs: &[Attribute]) -> Vec<String> {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &attr.meta {
            if let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(text),
                ..
            }) = &nv.value
            {
                lines.extend(text.value().lines().map(str::to_owned));
            }
        }
    }
    lines
}
