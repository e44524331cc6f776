//! Typed errors in the stubs `#[lwt_rust::func]` and `#[lwt_rust::object]` generate: the `Err`
//! of a function returning `Result<T, E>` is turned into what OCaml gets right where the
//! concrete `E` is known, so that an `E` of `#[lwt_rust::error]` becomes its own exception
//! (`lwt_rust::__private::TypedErrorKind`) and any other `E` goes as before
//! (`DisplayErrorKind`: `Rust_error` of its text, OCaml exceptions as they are).

use quote::quote;

/// `value` (a `Result` when `is_future` is false, a future of one when true) with its error
/// mapped to `lwt_rust::error::Error`.
pub(crate) fn map_typed_errors(
    krate: &syn::Path,
    is_future: bool,
    value: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let map_err = error_mapper(krate);
    if is_future {
        quote! {
            #krate::__private::futures::FutureExt::map(#value, |result| {
                ::core::result::Result::map_err(result, #map_err)
            })
        }
    } else {
        quote! { ::core::result::Result::map_err(#value, #map_err) }
    }
}

/// A closure turning an error into `lwt_rust::error::Error`: its own exception for a typed
/// error, else as `into_error` does (the streams' errors go through it).
pub(crate) fn error_mapper(krate: &syn::Path) -> proc_macro2::TokenStream {
    quote! {
        |err| {
            #[allow(unused_imports)]
            use #krate::__private::{DisplayErrorKind as _, TypedErrorKind as _};
            (&#krate::__private::ErrorProbe::new(err)).lwt_rust_error()
        }
    }
}
