//! The OCaml main thread's context: its executor, the `Lwt_unix` notifier that wakes it, and
//! scoped access to the OCaml runtime.
//!
//! Invariants:
//! - the executor lives in a thread-local of the OCaml main thread (the thread that called
//!   `Lwt_rust.init`, directly or by first use); it is created once and never moved;
//! - OCaml may be touched only inside an exported stub (an `Entered` guard is alive on this thread):
//!   there the runtime lock is held. [`with_runtime`] checks this and lends at most one
//!   `&mut OCamlRuntime` per stub frame; a stub re-entered through an OCaml callback gets its own.

use std::cell::{Cell, OnceCell};
use std::sync::OnceLock;
use std::thread::ThreadId;

use ocaml_interop::OCamlRuntime;

use crate::callbacks;
use crate::executor::{Executor, Notifier};

extern "C" {
    /// From Lwt's `lwt_unix_stubs.c`: queues `id` and writes the notification fd if the queue
    /// was empty. Takes a pthread mutex, touches no OCaml value: callable from any thread
    /// without the runtime lock.
    fn lwt_unix_send_notification(id: isize);
}

/// Sends the `Lwt_unix` notification whose handler drains the executor.
///
/// `Send + Sync`: it holds only the notification id. Needs no runtime lock.
pub struct LwtNotifier {
    id: isize,
}

impl Notifier for LwtNotifier {
    fn notify(&self) {
        // SAFETY: `id` came from `Lwt_unix.make_notification`; the C function is thread-safe
        // and needs no OCaml runtime lock (see its declaration above).
        unsafe { lwt_unix_send_notification(self.id) }
    }
}

/// The executor type of the OCaml thread.
pub type OCamlExecutor = Executor<LwtNotifier>;

static OCAML_THREAD: OnceLock<ThreadId> = OnceLock::new();

thread_local! {
    static EXECUTOR: OnceCell<OCamlExecutor> = const { OnceCell::new() };
    /// Number of stub frames active on this thread.
    static STUB_DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Whether the innermost stub frame has lent out its `&mut OCamlRuntime`.
    static RUNTIME_LENT: Cell<bool> = const { Cell::new(false) };
}

/// Records the OCaml main thread. Called once by the setup stub, at module initialisation.
pub(crate) fn claim_ocaml_thread() {
    let _ = OCAML_THREAD.set(std::thread::current().id());
}

/// Whether the calling thread is the OCaml main thread (the one running `Lwt_main.run`).
pub fn on_ocaml_thread() -> bool {
    OCAML_THREAD.get() == Some(&std::thread::current().id())
}

/// Whether OCaml may be called right now: on the OCaml thread, inside a stub.
pub fn in_ocaml_context() -> bool {
    on_ocaml_thread() && STUB_DEPTH.with(Cell::get) > 0
}

/// Creates the executor, driven by notification `id`. Later calls are ignored.
pub(crate) fn start(id: isize) {
    EXECUTOR.with(|cell| {
        let _ = cell.get_or_init(|| Executor::new(LwtNotifier { id }));
    });
}

/// Runs `f` with the OCaml thread's executor, initialising the library first if OCaml has not
/// (so a Rust function called before `Lwt_rust.init` still works).
///
/// # Panics
/// Outside the OCaml context (see [`in_ocaml_context`]), or if initialisation failed.
pub fn with_executor<R>(f: impl FnOnce(&OCamlExecutor) -> R) -> R {
    if EXECUTOR.with(|cell| cell.get().is_none()) {
        with_runtime(callbacks::init_library);
    }
    EXECUTOR.with(|cell| {
        f(cell
            .get()
            .expect("Lwt_rust.init did not start the executor"))
    })
}

/// Runs `f` with the executor if it exists on this thread; never initialises.
pub(crate) fn try_with_executor<R>(f: impl FnOnce(&OCamlExecutor) -> R) -> Option<R> {
    EXECUTOR.with(|cell| cell.get().map(f))
}

/// Lends the OCaml runtime handle to `f`.
///
/// # Panics
/// When not in the OCaml context (another thread, or outside any stub), or when the runtime
/// is already lent by this stub frame (nested `with_runtime`): both would be unsound.
pub fn with_runtime<R>(f: impl FnOnce(&mut OCamlRuntime) -> R) -> R {
    assert!(
        in_ocaml_context(),
        "lwt_rust: the OCaml runtime was used outside the OCaml thread or outside a stub"
    );
    assert!(
        !RUNTIME_LENT.with(|lent| lent.replace(true)),
        "lwt_rust: with_runtime called inside with_runtime"
    );
    struct Return;
    impl Drop for Return {
        fn drop(&mut self) {
            RUNTIME_LENT.with(|lent| lent.set(false));
        }
    }
    let _return = Return;
    // SAFETY: we are on the OCaml thread inside a stub, so the runtime lock is held; the
    // RUNTIME_LENT flag makes this the only `&mut` handed out in this stub frame, and it does
    // not outlive `f`.
    let cr = unsafe { ocaml_interop::internal::recover_runtime_handle_mut() };
    f(cr)
}

/// Marks a stub frame: while alive, OCaml may be called from this thread. Created by every
/// exported stub before it touches any OCaml value.
pub(crate) struct Entered {
    lent_before: bool,
}

impl Entered {
    pub(crate) fn new() -> Self {
        STUB_DEPTH.with(|d| d.set(d.get() + 1));
        Entered {
            lent_before: RUNTIME_LENT.with(|lent| lent.replace(false)),
        }
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        RUNTIME_LENT.with(|lent| lent.set(self.lent_before));
        STUB_DEPTH.with(|d| d.set(d.get() - 1));
    }
}
