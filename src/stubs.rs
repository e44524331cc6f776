//! Every C symbol the OCaml library `lwt_rust` calls: the FFI boundary of the bridge.
//!
//! Invariants:
//! - every stub runs with the runtime lock held (OCaml calls it), but not necessarily on the
//!   owner thread (see `runtime`): an OCaml systhread or another domain may call it. Off the
//!   owner thread a stub touches none of the bridge's state: it returns its fallback, or
//!   forwards what happened to the owner thread (`Lwt.cancel`, a settlement, a close);
//! - every stub body runs inside [`guard`]: it marks the OCaml context ([`Entered`]) and
//!   catches any panic, so no panic unwinds into an OCaml frame;
//! - no stub raises an OCaml exception: errors are returned as values and the OCaml side
//!   decides (the drain and settle stubs run inside Lwt callbacks, where a raise would reach
//!   the Lwt engine).
//!
//! Stubs on hot paths (drain, settle) take `ocaml::Raw` arguments directly: `#[ocaml::func]`
//! would root every argument with a boxroot on each call. The others use `#[ocaml::func]`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use ocaml::Raw;

use crate::lwt_future::{self, lwt_stub};
use crate::panic_report::panic_message;
use crate::runtime::{self, Entered, Forwarded};
use crate::{lwt_stream, promise, root};

/// Runs a stub body in the OCaml context, containing panics: a panic is reported on stderr
/// and `fallback` is returned to OCaml instead.
///
/// `R` must not be a raw OCaml pointer: leaving the guard may call OCaml (to schedule a
/// drain), which can move heap values. Immediates (`UNIT`) and Rust values that ocaml-rs
/// converts after the guard returns are fine; stubs returning a promise use
/// [`crate::lwt_future::lwt_stub`], which roots it.
///
/// Off the owner thread the body does not run: `fallback` is returned (the OCaml library checks
/// the thread first where a caller must be told).
pub(crate) fn guard<R>(fallback: R, body: impl FnOnce() -> R) -> R {
    guard_or_forward(fallback, || None, body)
}

/// [`guard`] for the stubs Lwt may run on any thread: off the owner thread, the event
/// `forward` makes (if any) is handed to the owner thread instead of running `body`.
fn guard_or_forward<R>(
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

const UNIT: Raw = Raw(ocaml::sys::UNIT);

/// The value of an OCaml `int` argument (an immediate: reading it touches no memory).
fn int_arg(raw: Raw) -> i64 {
    // SAFETY: the stubs pass only `int` arguments here, immediates whose value is in the
    // word itself.
    unsafe { ocaml::sys::int_val(raw.0) as i64 }
}

/// The notification handler: drains one budget of ready tasks.
#[no_mangle]
pub extern "C" fn lwt_rust_drain(_unit: Raw) -> Raw {
    guard(UNIT, || {
        handle_forwarded();
        runtime::drain_now();
        UNIT
    })
}

/// Handles, on the owner thread, what other threads forwarded (see [`Forwarded`]).
fn handle_forwarded() {
    for event in runtime::take_forwarded() {
        match event {
            Forwarded::CancelTask(key) => lwt_future::cancel_task(key),
            Forwarded::SettledOffThread(key) => promise::settled_off_thread(key),
            Forwarded::CloseStream(key) => lwt_stream::close(key),
        }
    }
}

/// An awaited `'a Lwt.t` was fulfilled with `value`.
#[no_mangle]
pub extern "C" fn lwt_rust_promise_fulfilled(key: Raw, value: Raw) -> Raw {
    guard_or_forward(
        UNIT,
        || Some(Forwarded::SettledOffThread(int_arg(key))),
        || {
            // SAFETY: OCaml context (guard); `value` is a live argument, used before any
            // allocation.
            unsafe { promise::fulfilled(int_arg(key), value.0) };
            UNIT
        },
    )
}

/// An awaited `'a Lwt.t` was rejected with `exn`.
#[no_mangle]
pub extern "C" fn lwt_rust_promise_rejected(key: Raw, exn: Raw) -> Raw {
    guard_or_forward(
        UNIT,
        || Some(Forwarded::SettledOffThread(int_arg(key))),
        || {
            // SAFETY: as in `lwt_rust_promise_fulfilled`.
            unsafe { promise::rejected(int_arg(key), exn.0) };
            UNIT
        },
    )
}

/// `Lwt.cancel` was called on the promise of the Rust task `key`: drop its future now.
#[no_mangle]
pub extern "C" fn lwt_rust_cancel_task(key: Raw) -> Raw {
    guard_or_forward(
        UNIT,
        || Some(Forwarded::CancelTask(int_arg(key))),
        || {
            lwt_future::cancel_task(int_arg(key));
            UNIT
        },
    )
}

/// `Lwt_stream.from`'s function for a Rust stream: the next item of source `key`, as an
/// `'a option Lwt.t`.
#[no_mangle]
pub extern "C" fn lwt_rust_stream_pull(key: Raw) -> Raw {
    let key = int_arg(key);
    lwt_stub(|| lwt_stream::pull(key))
}

/// Drops the Rust stream of source `key` (`Lwt_rust.close_stream`, or the finaliser of an
/// unreachable stream); a stale key is ignored.
#[no_mangle]
pub extern "C" fn lwt_rust_stream_close(key: Raw) -> Raw {
    guard_or_forward(
        UNIT,
        || Some(Forwarded::CloseStream(int_arg(key))),
        || {
            lwt_stream::close(int_arg(key));
            UNIT
        },
    )
}

/// Sets the submission capacity of handles; `None` on success, else why not.
#[ocaml::func]
#[ocaml::sig("int -> string option")]
pub fn lwt_rust_set_submission_capacity(capacity: ocaml::Int) -> Option<String> {
    guard(Some("panic".to_owned()), || {
        let capacity = usize::try_from(capacity).map_err(|_| "negative capacity");
        capacity
            .and_then(crate::handle::set_capacity)
            .err()
            .map(str::to_owned)
    })
}

/// Sets the tokio worker count; `None` on success, else why not.
#[ocaml::func]
#[ocaml::sig("int -> string option")]
pub fn lwt_rust_set_tokio_workers(workers: ocaml::Int) -> Option<String> {
    guard(Some("panic".to_owned()), || {
        #[cfg(feature = "tokio")]
        {
            let workers = usize::try_from(workers).map_err(|_| "negative worker count");
            workers
                .and_then(crate::tokio_rt::set_workers)
                .err()
                .map(str::to_owned)
        }
        #[cfg(not(feature = "tokio"))]
        {
            let _ = workers;
            Some("lwt_rust was built without its tokio feature".to_owned())
        }
    })
}

/// Sets the drain budget. Returns false (and changes nothing) for a budget below 1.
#[ocaml::func]
#[ocaml::sig("int -> bool")]
pub fn lwt_rust_set_drain_budget(budget: ocaml::Int) -> bool {
    guard(false, || {
        usize::try_from(budget)
            .is_ok_and(|budget| runtime::with_executor(|ex| ex.set_budget(budget).is_ok()))
    })
}

/// The counters, in the order of the `Lwt_rust.stats` record fields.
#[ocaml::func]
#[ocaml::sig("unit -> int array")]
pub fn lwt_rust_stats() -> Vec<ocaml::Int> {
    guard(Vec::new(), || {
        let s = runtime::try_with_executor(|ex| ex.stats()).unwrap_or_default();
        [
            s.live_tasks,
            root::live_roots(),
            promise::live_promises() as i64,
            s.spawned as i64,
            s.wakes as i64,
            runtime::eventfd_notifications() as i64,
            runtime::local_drains() as i64,
            s.drains as i64,
            s.max_batch as i64,
            s.panics as i64,
            lwt_stream::live_streams() as i64,
        ]
        .iter()
        .map(|&n| n as ocaml::Int)
        .collect()
    })
}
