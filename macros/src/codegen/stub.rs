//! The C stub of an exported function: converts the OCaml arguments, calls the function, and
//! hands its result to the bridge (a promise, a stream, or the value at once).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::data_types::{error_mapper, map_typed_errors};
use crate::model::{Export, Wrap};
use crate::naming::{object_module, stub_ident};
use crate::options::Kind;

/// The arguments of a stub: its raw parameters, the code converting them (inside
/// `with_runtime`, each returning early with the refusal), and the converted values.
struct Arguments {
    /// The stub's parameters, all `Raw`.
    raw_params: Vec<TokenStream>,
    /// One conversion per parameter, binding `this` or `arg_<position>`.
    conversions: Vec<TokenStream>,
    /// The converted values, in order (`this` first for a method).
    bound: Vec<syn::Ident>,
    /// The converted values passed to the function (all but `this`).
    call_args: Vec<syn::Ident>,
}

/// How the stub ends, by kind.
struct Finish {
    /// The `boundary` wrapper that is the stub's whole body.
    wrapper: TokenStream,
    /// What a refused argument (`context`, `err`) gives.
    refused: TokenStream,
    /// What the converted arguments give: the call, handed to the bridge.
    start: TokenStream,
}

impl Export<'_> {
    /// The stub: an `extern "C" fn` under the item's C symbol.
    pub(crate) fn stub(&self) -> syn::Result<TokenStream> {
        self.check()?;
        let krate = self.krate;
        let symbol = &self.symbol;
        let stub = stub_ident(self.owner, &self.sig.ident);
        let Arguments {
            raw_params,
            conversions,
            bound,
            ..
        } = self.arguments();
        let Finish {
            wrapper,
            refused,
            start,
        } = self.finish()?;
        // The closure takes the raw arguments by value (they are words): captured by
        // reference, they would be stored on the stack and read back through one pointer
        // each.
        let closure = quote! {
            move || {
                let args: ::core::result::Result<
                    _,
                    (&'static str, #krate::__private::ArgError),
                > = #krate::__private::with_runtime(|cr| {
                    #(#conversions)*
                    ::core::result::Result::Ok((#(#bound,)*))
                });
                match args {
                    ::core::result::Result::Ok((#(#bound,)*)) => #start,
                    ::core::result::Result::Err((context, err)) => #refused,
                }
            }
        };
        // SAFETY (of the generated `unsafe`, around the call only: the function itself is
        // called outside it): `sync_stub` is the whole body of this stub, which OCaml calls as
        // an `external`; the closure is moved into it, so nothing else is alive here when it
        // raises.
        let body = if self.kind == Kind::Sync {
            quote! {
                let body = #closure;
                unsafe { #wrapper(body) }
            }
        } else {
            quote! { #wrapper(#closure) }
        };
        // The stub's Rust name repeats the function's, which may start with `_`.
        Ok(quote! {
            #[doc(hidden)]
            #[allow(non_snake_case)]
            #[export_name = #symbol]
            pub extern "C" fn #stub(#(#raw_params),*) -> #krate::__private::ocaml::Raw {
                #body
            }
        })
    }

    /// The stub's parameters and their conversions.
    fn arguments(&self) -> Arguments {
        let krate = self.krate;
        let mut args = Arguments {
            raw_params: Vec::new(),
            conversions: Vec::new(),
            bound: Vec::new(),
            call_args: Vec::new(),
        };
        if self.receiver {
            let owner = self.owner.expect("a receiver is in an impl");
            let message = format!("{}: the {} value: ", self.display, object_module(owner));
            args.raw_params
                .push(quote! { raw_self: #krate::__private::ocaml::Raw });
            args.conversions.push(quote! {
                // SAFETY: the stub runs in the OCaml context; every argument is converted
                // before anything allocates on the OCaml heap (conversions only read).
                let _ = &cr;
                let this: #krate::__private::Lease<#owner> = match unsafe {
                    #krate::__private::receiver::<#owner>(raw_self.0)
                } {
                    ::core::result::Result::Ok(value) => value,
                    ::core::result::Result::Err(err) => {
                        return ::core::result::Result::Err((#message, err));
                    }
                };
            });
            args.bound.push(format_ident!("this"));
        }
        for (position, typed) in self.params() {
            let ty = &typed.ty;
            let raw = format_ident!("raw_{}", position);
            let value = format_ident!("arg_{}", position);
            let message = format!("{}: argument {}: ", self.display, position + 1);
            args.raw_params
                .push(quote! { #raw: #krate::__private::ocaml::Raw });
            args.conversions.push(quote! {
                // SAFETY: the stub runs in the OCaml context; every argument is converted
                // before anything allocates on the OCaml heap (conversions only read).
                let #value: #ty = match unsafe {
                    #krate::__private::from_ocaml_checked::<#ty>(cr, #raw.0)
                } {
                    ::core::result::Result::Ok(value) => value,
                    ::core::result::Result::Err(err) => {
                        return ::core::result::Result::Err((#message, err));
                    }
                };
            });
            args.call_args.push(value.clone());
            args.bound.push(value);
        }
        if args.raw_params.is_empty() {
            args.raw_params
                .push(quote! { _unit: #krate::__private::ocaml::Raw });
        }
        args
    }

    /// The call of the function on the converted arguments, its result made an object if it
    /// is the constructor's `Self`: `(future, value)`, the future for every kind but `Sync`
    /// (a plain `fn` returning a stream is wrapped in a ready future), the value for `Sync`.
    fn call(&self, wrap: Wrap) -> (TokenStream, TokenStream) {
        let krate = self.krate;
        let name = &self.sig.ident;
        let call_args = self.arguments().call_args;
        let function = match self.owner {
            Some(owner) => quote! { #owner::#name },
            None => quote! { #name },
        };
        let call = if self.receiver {
            quote! { #function(&this, #(#call_args),*) }
        } else {
            quote! { #function(#(#call_args),*) }
        };
        let wrapped = |value: TokenStream| match wrap {
            Wrap::None => value,
            Wrap::SelfValue => quote! { #krate::__private::Obj::new(#value) },
            Wrap::SelfInResult => quote! { (#value).map(#krate::__private::Obj::new) },
        };
        match self.kind {
            Kind::Sync => (quote! {}, wrapped(call)),
            // The arguments, converted here on the OCaml thread, move to the pool's thread.
            Kind::Blocking => {
                let result = wrapped(call);
                (
                    quote! { #krate::__private::run_blocking(move || #result) },
                    quote! {},
                )
            }
            // A method's future borrows its object from the lease, which it keeps: no
            // `async` block around it (one that held the lease and awaited the method would
            // hold the arguments twice, a bigger block to box on every call).
            _ if self.sig.asyncness.is_some() && self.receiver && wrap == Wrap::None => {
                let owner = self.owner.expect("a receiver is in an impl");
                let witness_params = self.params().map(|(position, typed)| {
                    let name = format_ident!("arg_{}", position);
                    let ty = &typed.ty;
                    quote! { #name: #ty }
                });
                let future = quote! {{
                    // Never called: it makes the compiler check, with the receiver borrowed
                    // for a lifetime shorter than `'static`, that the method takes `&self`
                    // generic in its lifetime and that its output does not borrow the object
                    // (the output is converted after the lease is gone). This is what makes
                    // `Lease::start`'s `&'static` sound.
                    #[allow(dead_code, clippy::too_many_arguments)]
                    fn __lwt_rust_method_borrows_only_inside_its_future<'__lwt_rust_object>(
                        this: &'__lwt_rust_object #owner,
                        #(#witness_params),*
                    ) {
                        fn output_owns_its_data<F: ::core::future::Future>(_: &F)
                        where
                            F::Output: 'static,
                        {
                        }
                        let future = #function(this, #(#call_args),*);
                        output_owns_its_data(&future);
                    }
                    // SAFETY: the reference goes to the method only, whose `&self` (generic in
                    // its lifetime, checked above) keeps it inside the future, which `Leased`
                    // drops before the lease; the output does not borrow it (checked above).
                    unsafe {
                        #krate::__private::Lease::<#owner>::start(this, move |this| {
                            #function(this, #(#call_args),*)
                        })
                    }
                }};
                (future, quote! {})
            }
            _ if self.sig.asyncness.is_some() => {
                let needs_block = self.receiver || wrap != Wrap::None;
                let future = if needs_block {
                    let result = wrapped(quote! { #call.await });
                    quote! { async move { #result } }
                } else {
                    call
                };
                (future, quote! {})
            }
            _ => {
                let result = wrapped(call);
                (
                    quote! { #krate::__private::futures::future::ready(#result) },
                    quote! {},
                )
            }
        }
    }

    /// The wrapper, the refusal and the start of the stub, by kind.
    fn finish(&self) -> syn::Result<Finish> {
        let krate = self.krate;
        let (future, value) = self.call(self.wrap()?);
        let fallible = self.fallible();
        // An error type with an OCaml exception of its own (`#[lwt_rust::error]`) goes to
        // OCaml as that exception.
        let (future, value) = match self.kind {
            Kind::Sync if fallible => (future, map_typed_errors(krate, false, value)),
            Kind::Promise | Kind::Blocking if fallible => {
                (map_typed_errors(krate, true, future), value)
            }
            _ => (future, value),
        };
        Ok(match self.kind {
            Kind::Sync => Finish {
                wrapper: quote! { #krate::__private::sync_stub },
                refused: quote! { ::core::result::Result::Err(#krate::__private::refused_argument_sync(context, err)) },
                start: if fallible {
                    quote! { #krate::__private::sync_result(#value) }
                } else {
                    quote! { #krate::__private::sync_value(#value) }
                },
            },
            Kind::Promise | Kind::Blocking => {
                let spawn = if fallible {
                    quote! { #krate::__private::spawn_result_with }
                } else {
                    quote! { #krate::__private::spawn_value_with }
                };
                // The future is made by a closure, inside `spawn`, so that it is built in its
                // box rather than on the stack and copied there.
                Finish {
                    wrapper: quote! { #krate::__private::lwt_stub },
                    refused: quote! { #krate::__private::refused_argument(context, err) },
                    start: quote! { #spawn(move || #future) },
                }
            }
            Kind::Stream | Kind::TryStream => {
                let items = self.stream_items(future, fallible);
                Finish {
                    wrapper: quote! { #krate::__private::stream_stub },
                    refused: quote! { #krate::__private::refused_argument_stream(context, err) },
                    start: quote! { #krate::__private::stream_result(#items) },
                }
            }
        })
    }

    /// The items, as a stream of `Result`s: the future's error (if it returns
    /// `Result<stream, E>`) and, for `try_stream`, the items' errors end it.
    fn stream_items(&self, future: TokenStream, fallible: bool) -> TokenStream {
        let krate = self.krate;
        // Every error goes through `error_mapper`: a typed error (`#[lwt_rust::error]`)
        // becomes its exception, any other as `into_error` makes it.
        let map_err = error_mapper(krate);
        match (fallible, self.kind) {
            (false, Kind::Stream) => quote! {
                #krate::__private::futures::StreamExt::map(
                    #krate::__private::futures::FutureExt::flatten_stream(#future),
                    ::core::result::Result::Ok::<_, ::std::convert::Infallible>,
                )
            },
            (false, _) => quote! {
                #krate::__private::futures::StreamExt::map(
                    #krate::__private::futures::FutureExt::flatten_stream(#future),
                    |item| item.map_err(#map_err),
                )
            },
            (true, Kind::Stream) => quote! {
                #krate::__private::futures::TryFutureExt::try_flatten_stream(
                    #krate::__private::futures::TryFutureExt::map_ok(
                        #krate::__private::futures::TryFutureExt::map_err(#future, #map_err),
                        |items| {
                            #krate::__private::futures::StreamExt::map(
                                items,
                                ::core::result::Result::Ok,
                            )
                        },
                    ),
                )
            },
            // The function's error and the items' errors may be different types: both
            // become `lwt_rust::Error` first.
            (true, _) => quote! {
                #krate::__private::futures::TryFutureExt::try_flatten_stream(
                    #krate::__private::futures::TryFutureExt::map_ok(
                        #krate::__private::futures::TryFutureExt::map_err(#future, #map_err),
                        |items| {
                            #krate::__private::futures::StreamExt::map(items, |item| {
                                item.map_err(#map_err)
                            })
                        },
                    ),
                )
            },
        }
    }
}
