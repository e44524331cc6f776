//! The bridge's lifecycle: module initialisation of `Lwt_rust` (claiming the owner thread,
//! installing what the context layer calls up into, boxroot, the direct-return probe, the
//! executor) and shutdown. The top layer: it may use every module below, none uses it.
//!
//! Invariants:
//! - the setup stub installs the context's hooks before it claims the owner thread, so every
//!   stub frame (owner thread only) finds them;
//! - shutdown runs once (`runtime::begin_shutdown`), in the OCaml context: local tasks first
//!   (their promises are rejected with `Shut_down`), then Rust streams read by OCaml, then
//!   handle tasks, then the tokio runtime.

use crate::ffi::boundary::guard;
use crate::runtime::{self, Hooks};
use crate::rust_to_ocaml::{self, direct_return};
use crate::threads::handle;
use crate::values::{callbacks, object, root};

/// What every drain does first (see [`Hooks::before_drain`]).
fn before_drain() {
    root::release_orphans();
    object::release_finalised();
    #[cfg(feature = "tokio")]
    crate::threads::tokio_rt::ensure_entered();
}

/// Shuts the bridge down (the `Lwt_rust.shutdown` stub's body): refuses new tasks, drops
/// every pending task (their promises are rejected with `Shut_down`, their join handles
/// report `ShutDown`) and every Rust stream read by OCaml, lets aborted tasks finish, and
/// stops the tokio runtime. Idempotent.
pub(crate) fn shutdown() {
    if !runtime::begin_shutdown() {
        return;
    }
    // Before any OCaml callback runs (rejecting the tasks runs some): the receiver confirmed
    // last would otherwise start methods on objects the table still holds.
    object::forget_confirmed();
    rust_to_ocaml::future::shut_down_local_tasks();
    // After the tasks: a read in flight fails with `Shut_down` rather than ending the stream.
    rust_to_ocaml::stream::close_all();
    // After the tasks, which held their objects; before tokio, which an object may use.
    object::release_all();
    handle::abort_all();
    // Aborted handle tasks finish on their next poll; local ones were dropped already.
    for _ in 0..10_000 {
        runtime::drain_now();
        if runtime::try_with_executor(|ex| ex.has_work()) != Some(true) {
            break;
        }
    }
    #[cfg(feature = "tokio")]
    crate::threads::tokio_rt::shutdown();
}

/// Module initialisation of `Lwt_rust`: records the OCaml thread and sets up boxroot. Must run
/// after the threads library initialised and before any other thread exists (boxroot on
/// OCaml 4). Returns `None` on success, or boxroot's error message.
#[ocaml::func]
#[ocaml::sig("unit -> string option")]
pub fn lwt_rust_setup() -> Option<String> {
    // The first thread to initialise the module owns the bridge (before `guard`, which
    // admits the owner thread only).
    runtime::install_hooks(Hooks {
        init_library: callbacks::init_library,
        schedule_drain: callbacks::schedule_drain,
        before_drain,
    });
    runtime::claim_ocaml_thread();
    guard(
        Some("Lwt_rust was initialised on two threads".to_owned()),
        || {
            // SAFETY: called from OCaml's main thread with the runtime lock held, which is
            // what boxroot_setup requires; it is idempotent.
            if unsafe { ocaml_boxroot_sys::boxroot_setup() } {
                None
            } else {
                // SAFETY: right after a failed setup, boxroot's error string is meaningful and
                // NUL-terminated.
                let msg =
                    unsafe { std::ffi::CStr::from_ptr(ocaml_boxroot_sys::boxroot_error_string()) };
                Some(msg.to_string_lossy().into_owned())
            }
        },
    )
}

/// Module initialisation of `Lwt_rust`, once its callbacks are registered: decides whether a
/// ready call may build its `Lwt.return` block itself (see `direct_return::probe`).
#[ocaml::func]
#[ocaml::sig("unit -> unit")]
pub fn lwt_rust_probe_direct_return() {
    guard((), || runtime::with_runtime(direct_return::probe))
}

/// Starts the executor, driven by the `Lwt_unix` notification `id`.
#[ocaml::func]
#[ocaml::sig("int -> unit")]
pub fn lwt_rust_start(id: ocaml::Int) {
    guard((), || runtime::start(id))
}

/// Shuts the bridge down (see [`shutdown`]).
#[ocaml::func]
#[ocaml::sig("unit -> unit")]
pub fn lwt_rust_shutdown() {
    guard((), shutdown)
}
