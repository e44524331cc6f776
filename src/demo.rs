//! Rust async functions used by the OCaml tests, the demo and the benchmarks (feature `demo`).
//!
//! They are written the way a user of the crate would write theirs, with the public API only;
//! they live in this crate because one OCaml program can link only one Rust staticlib.
//! Every stub runs on the OCaml thread, inside [`crate::stubs::guard`].

use ocaml::Raw;
use ocaml_interop::{OCaml, OCamlInt, ToOCaml};

use crate::closure::OCamlFn;
use crate::conv::{Lwt, LwtFn, Opaque};
use crate::error::Error;
use crate::lwt_future::lwt_stub;
use crate::lwt_future::spawn;
use crate::promise::Promise;
use crate::root::Root;
use crate::runtime::with_runtime;

/// `callback_loop : (unit -> unit Lwt.t) -> int -> int Lwt.t`: calls `f ()` and awaits its
/// promise, `n` times in sequence, then resolves with the number of completed calls. An
/// exception from `f` (raised or carried by its promise) rejects the result with that same
/// exception.
#[no_mangle]
pub extern "C" fn lwt_rust_demo_callback_loop(f: Raw, n: Raw) -> Raw {
    lwt_stub(|| {
        // SAFETY: OCaml context (guard); `f` is a live argument of the right type, rooted
        // before anything allocates; `n` is an immediate.
        let (f, n) = with_runtime(|cr| unsafe {
            let f: OCaml<LwtFn<(), ()>> = OCaml::new(cr, f.0);
            (OCamlFn::new(f), ocaml::sys::int_val(n.0) as i64)
        });
        spawn::<OCamlInt, i64, _>(async move {
            let mut completed = 0;
            while completed < n {
                f.call(&())?.await?;
                completed += 1;
            }
            Ok(completed)
        })
    })
}

/// `echo : 'a Lwt.t -> 'a Lwt.t`: a Rust task awaits the promise and returns what it got: the
/// same value, or the same exception.
#[no_mangle]
pub extern "C" fn lwt_rust_demo_echo(promise: Raw) -> Raw {
    lwt_stub(|| {
        // SAFETY: OCaml context; `promise` is a live argument, attached before any
        // allocation.
        let awaited = unsafe { Promise::<Opaque>::attach_raw(promise.0) };
        spawn::<Opaque, _, _>(async move { Ok(awaited.await?) })
    })
}

/// `pending : unit -> int Lwt.u * int Lwt.t`: Rust creates a pending promise and hands its
/// resolver to OCaml; a Rust task awaits it and resolves the returned promise with the value
/// plus one.
#[no_mangle]
pub extern "C" fn lwt_rust_demo_pending(_unit: Raw) -> Raw {
    lwt_stub(|| {
        let (awaited, resolver) = Promise::<OCamlInt>::pending();
        let result = spawn::<OCamlInt, i64, _>(async move {
            let value = awaited.await?;
            Ok(with_runtime(|cr| value.to_rust::<i64>(cr)) + 1)
        });
        // SAFETY: OCaml context; `result` is rooted before the tuple is allocated, and the
        // pair is returned to OCaml at once.
        with_runtime(|cr| unsafe {
            let result: Root<Lwt<OCamlInt>> = Root::from_raw(result.0);
            Raw((resolver, result).to_ocaml(cr).raw())
        })
    })
}

/// `panic_after_await : unit Lwt.t -> unit Lwt.t`: awaits the promise, then panics.
#[no_mangle]
pub extern "C" fn lwt_rust_demo_panic_after_await(promise: Raw) -> Raw {
    lwt_stub(|| {
        // SAFETY: as in `lwt_rust_demo_echo`.
        let awaited = unsafe { Promise::<()>::attach_raw(promise.0) };
        spawn::<(), (), _>(async move {
            awaited.await?;
            panic!("deliberate panic in a Rust task");
        })
    })
}

/// `rust_error : string -> unit Lwt.t`: a task that fails with a Rust error carrying the text.
#[ocaml::func]
#[ocaml::sig("string -> unit Lwt.t")]
pub fn lwt_rust_demo_rust_error(message: String) -> Raw {
    lwt_stub(|| spawn::<(), (), _>(async move { Err(Error::Rust(message)) }))
}
