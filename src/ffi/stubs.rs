//! The C symbols the OCaml library `lwt_rust` calls while it runs: the FFI boundary of the
//! bridge. With those of start-up and shutdown (`lifecycle`) and the protocol check
//! (`handshake`), they are every C symbol the OCaml library calls: all live in this folder,
//! and nothing below it exports one. (The custom operations of objects, which the OCaml
//! runtime calls through a pointer rather than a symbol, live with the objects.)
//!
//! Invariants:
//! - every stub runs with the runtime lock held (OCaml calls it), but not necessarily on the
//!   owner thread (see `runtime`): an OCaml systhread or another domain may call it. Off the
//!   owner thread a stub touches none of the bridge's state: it returns its fallback, or
//!   forwards what happened to the owner thread (`Lwt.cancel`, a settlement, a close);
//! - every stub body runs inside [`guard`]: it marks the OCaml context ([`Entered`]) and
//!   catches any panic, so no panic unwinds into an OCaml frame;
//! - no stub here raises an OCaml exception: errors are returned as values and the OCaml side
//!   decides (the drain and settle stubs run inside Lwt callbacks, where a raise would reach
//!   the Lwt engine). Only the generated stubs of synchronous functions raise
//!   (`boundary::sync_stub`).
//!
//! Stubs on hot paths (drain, settle) take `ocaml::Raw` arguments directly: `#[ocaml::func]`
//! would root every argument with a boxroot on each call. The others use `#[ocaml::func]`.

use ocaml::Raw;

use crate::ffi::boundary::{guard, guard_or_forward, int_arg, lwt_stub, UNIT};
use crate::ocaml_to_rust::promise;
use crate::runtime::{self, Forwarded};
use crate::rust_to_ocaml::{future, stream};
use crate::values::protocol::StatsRow;
use crate::values::{object, panic_report, root};

/// The notification handler: drains one budget of ready tasks.
#[no_mangle]
pub extern "C" fn lwt_rust_drain(_unit: Raw) -> Raw {
    guard(UNIT, || {
        handle_forwarded();
        runtime::drain_now();
        UNIT
    })
}

/// Whether a drain was asked for (a GC finaliser released an object) and has not run: the
/// OCaml library's `Enter_iter_hooks` hook then drains. Any thread; allocates nothing
/// (`[@@noalloc]`).
#[no_mangle]
pub extern "C" fn lwt_rust_drain_wanted(_unit: Raw) -> Raw {
    Raw(if runtime::drain_wanted() {
        ocaml::sys::TRUE
    } else {
        ocaml::sys::FALSE
    })
}

/// Drops the Rust streams and objects OCaml still holds (an OCaml `at_exit` function): their
/// destructors run here, inside a stub, rather than in the thread-local destructors after
/// OCaml is gone. (Tasks still pending are abandoned, their futures never dropped.)
#[no_mangle]
pub extern "C" fn lwt_rust_release_at_exit(_unit: Raw) -> Raw {
    guard(UNIT, || {
        // Streams first: a stream may hold objects, never the other way round.
        stream::release_at_exit();
        object::release_at_exit();
        UNIT
    })
}

/// Handles, on the owner thread, what other threads forwarded (see [`Forwarded`]).
fn handle_forwarded() {
    for event in runtime::take_forwarded() {
        match event {
            Forwarded::CancelTask(key) => future::cancel_task(key),
            Forwarded::SettledOffThread(key) => promise::settled_off_thread(key),
            Forwarded::CloseStream(key) => stream::close(key),
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
            future::cancel_task(int_arg(key));
            UNIT
        },
    )
}

/// What `Lwt_stream.from`'s function for a Rust stream calls when its buffer is empty: the
/// next batch of source `key` (the items ready, in order), as an `'a array Lwt.t`; the empty
/// array is the end of the stream.
#[no_mangle]
pub extern "C" fn lwt_rust_stream_pull(key: Raw) -> Raw {
    let key = int_arg(key);
    lwt_stub(|| stream::pull(key))
}

/// Drops the Rust stream of source `key` (`Lwt_rust.close_stream`, or the finaliser of an
/// unreachable stream); a stale key is ignored.
#[no_mangle]
pub extern "C" fn lwt_rust_stream_close(key: Raw) -> Raw {
    guard_or_forward(
        UNIT,
        || Some(Forwarded::CloseStream(int_arg(key))),
        || {
            stream::close(int_arg(key));
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
            .and_then(crate::threads::handle::set_capacity)
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
                .and_then(crate::threads::tokio_rt::set_workers)
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

/// The counters, in the order of the `Lwt_rust.stats` record fields (`StatsRow`, from the
/// protocol table).
#[ocaml::func]
#[ocaml::sig("unit -> int array")]
pub fn lwt_rust_stats() -> Vec<ocaml::Int> {
    guard(Vec::new(), || {
        // Objects the GC finalised are released first: `live_objects` counts held ones only.
        object::release_finalised();
        let s = runtime::try_with_executor(|ex| ex.stats()).unwrap_or_default();
        StatsRow {
            live_tasks: s.live_tasks,
            live_roots: root::live_roots(),
            live_promises: promise::live_promises() as i64,
            spawned: s.spawned as i64,
            wakes: s.wakes as i64,
            notifications: runtime::eventfd_notifications() as i64,
            local_drains: runtime::local_drains() as i64,
            drains: s.drains as i64,
            max_batch: s.max_batch as i64,
            panics: (s.panics + panic_report::contained_panics()) as i64,
            live_streams: stream::live_streams() as i64,
            live_objects: object::live_objects() as i64,
        }
        .fields()
        .iter()
        .map(|&n| n as ocaml::Int)
        .collect()
    })
}

/// `lwt_rust_set_panic_report : int -> unit`: how panics are reported on stderr
/// (`Lwt_rust.set_panic_report`, see `panic_report::set_mode`). Touches no OCaml value and
/// cannot panic.
#[no_mangle]
pub extern "C" fn lwt_rust_set_panic_report(mode: Raw) -> Raw {
    // SAFETY: `mode` is an OCaml int (an immediate): no pointer is dereferenced.
    panic_report::set_mode(unsafe { ocaml::sys::int_val(mode.0) } as i64);
    Raw(ocaml::sys::UNIT)
}

/// `lwt_rust_forks : unit -> int` (`[@@noalloc]`): how many forks this process descends from
/// since the executor started; the OCaml library moves notifications to its own pipe when it
/// changes. Reads one atomic and cannot panic.
#[no_mangle]
pub extern "C" fn lwt_rust_forks(_unit: Raw) -> Raw {
    // SAFETY: builds an immediate from a small counter.
    Raw(unsafe { ocaml::sys::val_int(runtime::forks() as isize) })
}

/// `lwt_rust_notify_through_pipe : Unix.file_descr -> unit` (`[@@noalloc]`): from now on,
/// wakes write a byte to `fd` (a non-blocking pipe the OCaml library made, never closed)
/// instead of sending the `Lwt_unix` notification. Stores one atomic and cannot panic.
#[no_mangle]
pub extern "C" fn lwt_rust_notify_through_pipe(fd: Raw) -> Raw {
    // SAFETY: a `Unix.file_descr` is an immediate int on Unix.
    runtime::notify_through_pipe(unsafe { ocaml::sys::int_val(fd.0) } as i32);
    Raw(ocaml::sys::UNIT)
}
