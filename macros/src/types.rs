//! The Rust types of a signature, read for the stub and the binding record: whether a type is
//! a `Result` and its `Ok` type, a stream's item type, `Self` replaced by the object type.

use syn::visit_mut::VisitMut;
use syn::{GenericArgument, PathArguments, Type, TypeParamBound};

/// Replaces `Self` with the object type in a signature's types.
pub(crate) struct ReplaceSelf<'a>(pub(crate) &'a syn::Ident);

impl VisitMut for ReplaceSelf<'_> {
    fn visit_type_path_mut(&mut self, path: &mut syn::TypePath) {
        if path.qself.is_none() && path.path.is_ident("Self") {
            path.path = self.0.clone().into();
        } else {
            syn::visit_mut::visit_type_path_mut(self, path);
        }
    }
}

/// The generic arguments of the last segment of `ty`, if it is a path named `name`.
fn generic_args<'a>(ty: &'a Type, name: &str) -> Option<Vec<&'a Type>> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return Some(Vec::new());
    };
    Some(
        args.args
            .iter()
            .filter_map(|arg| match arg {
                GenericArgument::Type(ty) => Some(ty),
                _ => None,
            })
            .collect(),
    )
}

/// Whether `ty` is written `Result<..>` or `...::Result<..>` (an `Err` rejects the promise or
/// raises).
pub(crate) fn is_result(ty: &Type) -> bool {
    generic_args(ty, "Result").is_some()
}

/// The `Ok` type of `Result<T, E>`.
pub(crate) fn ok_type(ty: &Type) -> syn::Result<&Type> {
    generic_args(ty, "Result")
        .and_then(|args| args.first().copied())
        .ok_or_else(|| syn::Error::new_spanned(ty, "expected `Result<T, E>`"))
}

/// The item type of a stream type: `impl Stream<Item = T>` (any bound with an `Item`),
/// `Pin<Box<dyn Stream<Item = T>>>`, `BoxStream<'_, T>` / `LocalBoxStream<'_, T>`.
pub(crate) fn stream_item(ty: &Type) -> Option<&Type> {
    fn in_bounds<'a>(bounds: impl Iterator<Item = &'a TypeParamBound>) -> Option<&'a Type> {
        for bound in bounds {
            if let TypeParamBound::Trait(bound) = bound {
                for segment in &bound.path.segments {
                    if let PathArguments::AngleBracketed(args) = &segment.arguments {
                        for arg in &args.args {
                            if let GenericArgument::AssocType(assoc) = arg {
                                if assoc.ident == "Item" {
                                    return Some(&assoc.ty);
                                }
                            }
                        }
                    }
                }
            }
        }
        None
    }
    match ty {
        Type::ImplTrait(t) => in_bounds(t.bounds.iter()),
        Type::TraitObject(t) => in_bounds(t.bounds.iter()),
        Type::Paren(t) => stream_item(&t.elem),
        Type::Group(t) => stream_item(&t.elem),
        Type::Path(_) => {
            for name in ["BoxStream", "LocalBoxStream"] {
                if let Some(args) = generic_args(ty, name) {
                    return args.first().copied();
                }
            }
            for name in ["Pin", "Box"] {
                if let Some(args) = generic_args(ty, name) {
                    return args.first().and_then(|inner| stream_item(inner));
                }
            }
            None
        }
        _ => None,
    }
}
