//! Rust functions for the misuse suite (`test/test_misuse.ml`, `test/misuse/`): each one does
//! something a careless or hostile user might, through the public API only.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::task::Poll;

use ocaml::Raw;
use ocaml_interop::{OCaml, OCamlInt, OCamlRuntime, ToOCaml};

use super::DropCounted;
use lwt_rust::{
    __private::{attach_promise, invalid_argument, panic_message},
    conv::Lwt,
    lwt_stub, spawn_value, with_runtime, Promise, Root,
};

/// `attach_from_foreign_thread : unit -> string Lwt.t`: a `std::thread` takes the OCaml runtime lock
/// through ocaml-interop's safe `with_domain_lock` and tries to await a promise there
/// (`Promise::new`). Resolves with the panic message that refused it, or `"accepted"`.
#[lwt_rust::external(ocaml = "unit -> string Lwt.t")]
#[export_name = "lwt_rust_demo_attach_from_foreign_thread"]
pub extern "C" fn attach_from_foreign_thread(_unit: Raw) -> Raw {
    lwt_stub(|| {
        let outcome = with_runtime(|cr| {
            let thread = std::thread::spawn(|| {
                OCamlRuntime::with_domain_lock(|cr| {
                    catch_unwind(AssertUnwindSafe(|| {
                        // An immediate stands in for the promise: the check must refuse before
                        // anything reads it.
                        // SAFETY: the runtime lock is held (`with_domain_lock`); an immediate
                        // is a valid value of any type for the GC.
                        let value: OCaml<Lwt<OCamlInt>> =
                            unsafe { OCaml::new(cr, ocaml::sys::UNIT) };
                        let root = Root::new(value);
                        drop(Promise::new(cr, &root));
                    }))
                    .err()
                    .map(|panic| panic_message(&*panic))
                })
            });
            // The other thread needs the runtime lock: release it while waiting.
            cr.releasing_runtime(|| thread.join())
        });
        let message = match outcome {
            Ok(Some(message)) => message,
            Ok(None) => "accepted".to_owned(),
            Err(_) => "the thread panicked outside the check".to_owned(),
        };
        spawn_value(std::future::ready(message))
    })
}

/// `spin : unit -> unit Lwt.t`: a task that wakes itself on every poll, for ever (until
/// cancelled; counted by `dropped_futures` then).
#[lwt_rust::func]
pub async fn spin() {
    let _guard = DropCounted;
    futures::future::poll_fn(|cx| {
        cx.waker().wake_by_ref();
        Poll::<()>::Pending
    })
    .await;
}

/// `yield_n : int -> int Lwt.t`: yields to the executor `n` times (each a wake on the OCaml
/// thread), then resolves with `n`.
#[lwt_rust::func]
pub async fn yield_n(n: i64) -> i64 {
    let mut left = n;
    futures::future::poll_fn(|cx| {
        if left == 0 {
            return Poll::Ready(());
        }
        left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await;
    n
}

/// `drop_inside_with_runtime : unit Lwt.t -> string Lwt.t`: awaits nothing of `p` but drops
/// its `Promise` inside `with_runtime`, while an OCaml string borrowed there is alive (if `p`'s
/// `on_cancel` handler ran then and moved the heap, the string would be read from stale
/// memory). Resolves with the string as read after the drop.
#[lwt_rust::external(ocaml = "unit Lwt.t -> string Lwt.t")]
#[export_name = "lwt_rust_demo_drop_inside_with_runtime"]
pub extern "C" fn drop_inside_with_runtime(p: Raw) -> Raw {
    lwt_stub(|| {
        // SAFETY: OCaml context; `p` is a live argument, attached before any allocation.
        let promise = unsafe { attach_promise::<()>(p.0) };
        let read = with_runtime(|cr| {
            let text: OCaml<String> = "a string borrowed from the runtime".to_ocaml(cr);
            drop(promise);
            text.to_rust::<String>()
        });
        spawn_value(std::future::ready(read))
    })
}

/// `invalid_argument_inside_with_runtime : unit -> int Lwt.t`: calls the public
/// `invalid_argument` (which allocates) inside `with_runtime`: refused by a panic.
#[lwt_rust::external(ocaml = "unit -> int Lwt.t")]
#[export_name = "lwt_rust_demo_invalid_argument_inside_with_runtime"]
pub extern "C" fn invalid_argument_inside_with_runtime(_unit: Raw) -> Raw {
    lwt_stub(|| with_runtime(|_| invalid_argument("never made")))
}

/// `sync_checked : int -> bool -> string`: a synchronous function that fails on demand:
/// `"ok <n>"`, or with `fail` the error `"failed <n>"` (raised as `Lwt_rust.Rust_error`). The
/// signal test (`test/misuse/sync_signal.ml`) calls it from a loop and from a signal handler:
/// each call's failure must be its own.
#[lwt_rust::func]
pub fn sync_checked(n: i64, fail: bool) -> Result<String, String> {
    if fail {
        Err(format!("failed {n}"))
    } else {
        Ok(format!("ok {n}"))
    }
}

/// `call_now : (unit -> unit Lwt.t) -> unit`: a synchronous function that calls `f ()` once
/// and drops its promise (an OCaml closure called from inside a synchronous stub).
#[lwt_rust::func]
pub fn call_now(f: lwt_rust::OCamlFn<(), ()>) -> Result<(), lwt_rust::Error> {
    // Dropping the promise stops awaiting it (its Lwt promise is cancelled if still pending).
    drop(f.call(&())?);
    Ok(())
}

/// `raise_failure : int -> string -> unit`: raises, through a synchronous stub, the exception
/// of the `kind`-th failure kind of the bridge's protocol table carrying `message`
/// (`Invalid_argument` past the last kind): for the check that each kind reaches OCaml as its
/// own exception.
#[lwt_rust::external(ocaml = "int -> string -> unit")]
#[export_name = "lwt_rust_demo_raise_failure"]
pub extern "C" fn raise_failure(kind: ocaml::Raw, message: ocaml::Raw) -> ocaml::Raw {
    // SAFETY: this call is the whole body of a stub OCaml calls as an (allocating) external,
    // with nothing else alive in it. Inside, the runtime lock is held: `kind` is an int, and
    // `message` a string read (copied) before anything allocates.
    unsafe {
        lwt_rust::__private::sync_stub(move || {
            let kind = ocaml::sys::int_val(kind.0);
            let bytes = std::slice::from_raw_parts(
                ocaml::sys::string_val(message.0),
                ocaml::sys::caml_string_length(message.0),
            );
            let message = String::from_utf8_lossy(bytes).into_owned();
            let failure = usize::try_from(kind)
                .ok()
                .and_then(|k| lwt_rust::__private::failure_of_kind(k, message));
            Err(failure.unwrap_or_else(|| {
                lwt_rust::__private::ArgError::WrongType(format!("no failure kind {kind}")).into()
            }))
        })
    }
}
