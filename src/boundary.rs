//! Everything a stub needs, in one place: containment (the OCaml context, panics caught
//! before they reach an OCaml frame, calls from the wrong thread refused), the values a
//! contained failure becomes, error mapping, and argument checks. Used by the exported stubs
//! of this crate, by `#[lwt_rust::func]`'s generated code, and by hand-written stubs.
//!
//! Invariants:
//! - a stub body runs only on the owner thread, inside an `Entered` frame (see `runtime`); off it, the body
//!   does not run and the stub returns its fallback (or a promise / stream rejected with
//!   `Lwt_rust.Wrong_thread`), touching none of the bridge's state;
//! - no panic leaves a function of this module: a panic in the body becomes the fallback or a
//!   rejected promise / failing stream, and a failure to make that value (an asynchronous
//!   exception, twice in a row) falls back to one made at initialisation;
//! - an OCaml value a stub returns is rooted across the exit of its frame whenever that exit
//!   calls OCaml (to run or schedule a drain), which could move it.

use std::panic::{catch_unwind, AssertUnwindSafe};

use ocaml::Raw;

use crate::callbacks::{self, FailureKind};
use crate::conv::Opaque;
use crate::panic_report::panic_message;
use crate::root::Root;
use crate::runtime::{self, assert_may_call_ocaml, wrong_thread_message, Entered, Forwarded};

pub use crate::error::{fitting, into_error};

/// Runs a stub body in the OCaml context, containing panics: a panic is reported on stderr
/// and `fallback` is returned to OCaml instead.
///
/// `R` must not be a raw OCaml pointer: leaving the guard may call OCaml (to schedule a
/// drain), which can move heap values. Immediates (`UNIT`) and Rust values that ocaml-rs
/// converts after the guard returns are fine; stubs returning a promise use
/// [`lwt_stub`], which roots it.
///
/// Off the owner thread the body does not run: `fallback` is returned (the OCaml library checks
/// the thread first where a caller must be told).
pub(crate) fn guard<R>(fallback: R, body: impl FnOnce() -> R) -> R {
    guard_or_forward(fallback, || None, body)
}

/// [`guard`] for the stubs Lwt may run on any thread: off the owner thread, the event
/// `forward` makes (if any) is handed to the owner thread instead of running `body`.
pub(crate) fn guard_or_forward<R>(
    fallback: R,
    forward: impl FnOnce() -> Option<Forwarded>,
    body: impl FnOnce() -> R,
) -> R {
    let Some(_entered) = Entered::new() else {
        if let Some(event) = forward() {
            runtime::forward_to_owner(event);
        }
        return fallback;
    };
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(r) => r,
        Err(panic) => {
            eprintln!("lwt_rust: panic in a stub: {}", panic_message(&panic));
            fallback
        }
    }
}

pub(crate) const UNIT: Raw = Raw(ocaml::sys::UNIT);

/// The value of an OCaml `int` argument (an immediate: reading it touches no memory).
pub(crate) fn int_arg(raw: Raw) -> i64 {
    // SAFETY: the stubs pass only `int` arguments here, immediates whose value is in the
    // word itself.
    unsafe { ocaml::sys::int_val(raw.0) as i64 }
}

/// A promise rejected with `Invalid_argument message`: what a stub returns when an argument
/// fails its [`OCamlRepr`](crate::conv::OCamlRepr) check.
///
/// # Panics
/// Outside the OCaml context, or inside [`with_runtime`](crate::runtime::with_runtime) (it allocates on the OCaml heap).
pub fn invalid_argument(message: &str) -> ocaml::Raw {
    assert_may_call_ocaml("lwt_rust::boundary::invalid_argument");
    // SAFETY: OCaml context (checked); the result goes straight back to OCaml.
    ocaml::Raw(unsafe { callbacks::rejected_promise(FailureKind::InvalidArgument, message) })
}

/// Runs a stub body that returns an `'a Lwt.t`, in the OCaml context, containing panics: a
/// panic (in argument conversion, say) gives a promise rejected with `Lwt_rust.Rust_panic`.
/// Every exported function returning a promise should be wrapped in it; `#[lwt_rust::func]`
/// does so.
///
/// Called from a thread other than the owner thread (an OCaml systhread, another domain), the
/// body does not run and the promise is rejected with `Lwt_rust.Wrong_thread`.
pub fn lwt_stub(body: impl FnOnce() -> ocaml::Raw) -> ocaml::Raw {
    contained_stub(
        body,
        // SAFETY: `contained_stub` calls this with the runtime lock held (OCaml called the
        // stub) and touching none of the bridge's thread-local state; returned at once.
        |kind, message| unsafe { ocaml::Raw(callbacks::rejected_promise(kind, message)) },
        // SAFETY: as above.
        || unsafe { ocaml::Raw(callbacks::interrupted_promise()) },
    )
}

/// Runs `body` in the OCaml context as a stub returning an OCaml value (a promise or a
/// stream), keeping the value rooted if leaving the stub calls OCaml. What fails is reported
/// through `fail` (which makes the value from the failure's kind and message): a call from
/// another thread (the body does not run), a panic (its message). If `fail` itself cannot
/// complete (an asynchronous exception interrupts it twice in a row), `last_resort` gives a
/// value made in advance, which allocates nothing; no panic ever leaves this function.
fn contained_stub(
    body: impl FnOnce() -> ocaml::Raw,
    fail: impl Fn(FailureKind, &str) -> ocaml::Raw,
    last_resort: impl Fn() -> ocaml::Raw,
) -> ocaml::Raw {
    let failed = |kind: FailureKind, message: &str| {
        catch_unwind(AssertUnwindSafe(|| fail(kind, message)))
            .or_else(|_| catch_unwind(AssertUnwindSafe(|| fail(kind, message))))
            .unwrap_or_else(|_| last_resort())
    };
    let Some(entered) = Entered::new() else {
        // Off the owner thread: the runtime lock is held (OCaml called us), but none of the
        // bridge's state may be touched.
        return failed(
            FailureKind::WrongThread,
            &wrong_thread_message("a Rust function of lwt_rust"),
        );
    };
    let value = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(panic) => failed(FailureKind::Panic, &panic_message(&panic)),
    };
    if entered.exit_calls_ocaml() {
        // Leaving the stub will call OCaml (to schedule a drain), which may move the value:
        // keep it rooted across that call.
        // SAFETY: OCaml context; `value` was made with nothing allocated since.
        let rooted: Root<Opaque> = unsafe { Root::from_raw(value.0) };
        drop(entered);
        // SAFETY: still inside the stub (the runtime lock is held); returned at once.
        ocaml::Raw(unsafe { rooted.raw() })
    } else {
        value
    }
}

/// A stream whose first read fails with `Invalid_argument message` and which then ends:
/// what a stream stub returns when an argument fails its [`OCamlRepr`](crate::conv::OCamlRepr) check.
///
/// # Panics
/// Outside the OCaml context, or inside [`crate::runtime::with_runtime`] (it allocates).
pub fn invalid_argument_stream(message: &str) -> ocaml::Raw {
    assert_may_call_ocaml("lwt_rust::boundary::invalid_argument_stream");
    failed_stream(FailureKind::InvalidArgument, message)
}

fn failed_stream(kind: FailureKind, message: &str) -> ocaml::Raw {
    // SAFETY: the runtime lock is held (callers are stubs, or run inside one) and no bridge
    // state is touched; the result goes straight back to OCaml.
    ocaml::Raw(unsafe { callbacks::failing_stream(kind, message) })
}

/// Runs a stub body that returns an `'a Lwt_stream.t`, in the OCaml context, containing
/// panics: a panic gives a stream whose first read fails with `Lwt_rust.Rust_panic`. The
/// stream counterpart of [`lwt_stub`]; `#[lwt_rust::func(stream)]` uses it.
/// Called from a thread other than the owner thread, the body does not run and the stream's
/// first read fails with `Lwt_rust.Wrong_thread`.
pub fn stream_stub(body: impl FnOnce() -> ocaml::Raw) -> ocaml::Raw {
    contained_stub(
        body,
        failed_stream,
        // SAFETY: the runtime lock is held (a stub); returned to OCaml at once.
        || unsafe { ocaml::Raw(callbacks::interrupted_stream()) },
    )
}
