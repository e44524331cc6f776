//! The OCaml main thread's context: its executor, how a drain gets scheduled, and scoped
//! access to the OCaml runtime.
//!
//! # Scheduling a drain
//!
//! The executor core calls [`Notifier::notify`] once per drain it needs. [`LwtNotifier`]
//! picks the cheapest way that is safe where it is called:
//! - from another thread, or from the OCaml thread outside any stub: `Lwt_unix`'s
//!   notification (a mutex and an eventfd write; its handler runs the drain);
//! - from inside a stub on the OCaml thread (a task woken by a settled promise, a task that
//!   woke itself, a drain that must re-arm): no system call. A thread-local flag is set, and
//!   when the outermost stub returns it drains right there, in the same Lwt round, unless a
//!   drain already ran in that stub (a re-arm after a full budget): then it asks Lwt for a
//!   drain through `Lwt.pause`, which lets Lwt's I/O run first and keeps the engine from
//!   blocking while work is queued. Nothing is run from the wake itself, which may happen
//!   deep inside Rust code holding borrows.
//!
//! Invariants:
//! - the executor lives in a thread-local of the OCaml main thread (the thread that called
//!   `Lwt_rust.init`, directly or by first use); it is created once and never moved;
//! - OCaml may be touched only inside an exported stub (an `Entered` guard is alive on this thread):
//!   there the runtime lock is held. [`with_runtime`] checks this and lends at most one
//!   `&mut OCamlRuntime` per stub frame; a stub re-entered through an OCaml callback gets its own.

use std::cell::{Cell, OnceCell};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
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

static SHUT_DOWN: AtomicBool = AtomicBool::new(false);

/// Whether `Lwt_rust.shutdown` has run: new tasks are refused from then on.
pub fn is_shut_down() -> bool {
    SHUT_DOWN.load(SeqCst)
}

/// Shuts the bridge down (the `Lwt_rust.shutdown` stub's body): refuses new tasks, drops
/// every pending task (their promises are rejected with `Shut_down`, their join handles
/// report `ShutDown`) and every Rust stream read by OCaml, lets aborted tasks finish, and stops the tokio runtime. Idempotent.
pub(crate) fn shutdown() {
    if SHUT_DOWN.swap(true, SeqCst) {
        return;
    }
    crate::lwt_future::shut_down_local_tasks();
    // After the tasks: a read in flight fails with `Shut_down` rather than ending the stream.
    crate::lwt_stream::close_all();
    crate::handle::abort_all();
    // Aborted handle tasks finish on their next poll; local ones were dropped already.
    for _ in 0..10_000 {
        drain_now();
        if try_with_executor(|ex| ex.has_work()) != Some(true) {
            break;
        }
    }
    #[cfg(feature = "tokio")]
    crate::tokio_rt::shutdown();
}

static EVENTFD_NOTIFICATIONS: AtomicU64 = AtomicU64::new(0);
static LOCAL_DRAINS: AtomicU64 = AtomicU64::new(0);

/// Notifications sent through `Lwt_unix` (wakes from other threads).
pub fn eventfd_notifications() -> u64 {
    EVENTFD_NOTIFICATIONS.load(Relaxed)
}

/// Drains scheduled through `Lwt.pause` (wakes on the OCaml thread).
pub fn local_drains() -> u64 {
    LOCAL_DRAINS.load(Relaxed)
}

impl Notifier for LwtNotifier {
    /// Inside a stub, the outermost stub drains on its way out once asked (`notify` sets the
    /// flag it reads).
    fn drains_soon(&self) -> bool {
        in_ocaml_context()
    }

    fn notify(&self) {
        if in_ocaml_context() {
            CTX.with(|c| c.drain_requested.set(true));
        } else {
            EVENTFD_NOTIFICATIONS.fetch_add(1, Relaxed);
            // SAFETY: `id` came from `Lwt_unix.make_notification`; the C function is
            // thread-safe and needs no OCaml runtime lock (see its declaration above).
            unsafe { lwt_unix_send_notification(self.id) }
        }
    }
}

/// The executor type of the OCaml thread.
pub type OCamlExecutor = Executor<LwtNotifier>;

static OCAML_THREAD: OnceLock<ThreadId> = OnceLock::new();

thread_local! {
    static EXECUTOR: OnceCell<OCamlExecutor> = const { OnceCell::new() };
    /// The stub-frame state of this thread, in one place: a stub touches several of these
    /// fields on entry and exit, and one thread-local costs one lookup.
    static CTX: Ctx = const {
        Ctx {
            depth: Cell::new(0),
            lent: Cell::new(false),
            drain_requested: Cell::new(false),
            drains_run: Cell::new(0),
        }
    };
}

struct Ctx {
    /// Number of stub frames active on this thread.
    depth: Cell<u32>,
    /// Whether the innermost stub frame has lent out its `&mut OCamlRuntime`.
    lent: Cell<bool>,
    /// A wake inside a stub asked for a drain; the outermost stub schedules it on return.
    drain_requested: Cell<bool>,
    /// Drains run on this thread so far (tells a stub whether one ran during it).
    drains_run: Cell<u64>,
}

/// Records the OCaml main thread. Called once by the setup stub, at module initialisation.
pub(crate) fn claim_ocaml_thread() {
    let _ = OCAML_THREAD.set(std::thread::current().id());
}

/// Whether the calling thread is the OCaml main thread (the one running `Lwt_main.run`).
pub fn on_ocaml_thread() -> bool {
    OCAML_THREAD.get() == Some(&std::thread::current().id())
}

/// Whether OCaml may be called right now: on the OCaml thread, inside a stub. (Stubs run
/// only on the OCaml thread, so the stub depth alone tells.)
pub fn in_ocaml_context() -> bool {
    CTX.with(|c| c.depth.get() > 0)
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

/// Whether the innermost stub frame has lent its runtime handle (we are inside
/// [`with_runtime`]).
pub fn runtime_lent() -> bool {
    CTX.with(|c| c.lent.get())
}

/// Lends the OCaml runtime handle to `f`.
///
/// # Panics
/// When not in the OCaml context (another thread, or outside any stub), or when the runtime
/// is already lent by this stub frame (nested `with_runtime`): both would be unsound.
#[inline]
pub fn with_runtime<R>(f: impl FnOnce(&mut OCamlRuntime) -> R) -> R {
    CTX.with(|c| {
        assert!(
            c.depth.get() > 0,
            "lwt_rust: the OCaml runtime was used outside the OCaml thread or outside a stub"
        );
        assert!(
            !c.lent.replace(true),
            "lwt_rust: with_runtime called inside with_runtime"
        );
    });
    struct Return;
    impl Drop for Return {
        fn drop(&mut self) {
            CTX.with(|c| c.lent.set(false));
        }
    }
    let _return = Return;
    // SAFETY: we are on the OCaml thread inside a stub, so the runtime lock is held; the
    // `lent` flag makes this the only `&mut` handed out in this stub frame, and it does not
    // outlive `f`.
    let cr = unsafe { ocaml_interop::internal::recover_runtime_handle_mut() };
    f(cr)
}

/// Marks a stub frame: while alive, OCaml may be called from this thread. Created by every
/// exported stub before it touches any OCaml value.
pub(crate) struct Entered {
    lent_before: bool,
    drains_at_entry: u64,
}

impl Entered {
    pub(crate) fn new() -> Self {
        CTX.with(|c| {
            c.depth.set(c.depth.get() + 1);
            Entered {
                lent_before: c.lent.replace(false),
                drains_at_entry: c.drains_run.get(),
            }
        })
    }
}

impl Entered {
    /// Whether dropping this guard will call OCaml (to schedule a requested drain): a stub
    /// returning an OCaml value must keep it rooted across the drop.
    pub(crate) fn exit_calls_ocaml(&self) -> bool {
        CTX.with(|c| c.depth.get() == 1 && c.drain_requested.get())
    }
}

impl Drop for Entered {
    /// Leaving the outermost stub with a drain requested: if no drain ran in this stub yet,
    /// drain now, in the same Lwt round (a task woken by a settled promise resumes without
    /// waiting for another turn of the event loop). If a drain already ran here, or work is
    /// left after this one, the request is a re-arm: ask Lwt for a drain through `Lwt.pause`,
    /// so that Lwt's I/O runs between batches.
    fn drop(&mut self) {
        let exit_drain = CTX.with(|c| {
            c.lent.set(self.lent_before);
            let exit_drain = c.depth.get() == 1 && c.drain_requested.get();
            if !exit_drain {
                c.depth.set(c.depth.get() - 1);
            }
            exit_drain
        });
        if exit_drain {
            self.drain_on_exit();
        }
    }
}

impl Entered {
    #[inline(never)]
    fn drain_on_exit(&self) {
        // Still inside the stub (depth 1): the runtime lock is held and no Rust borrow of
        // this library is live. This runs OCaml code: a stub returning an OCaml value roots
        // it across this drop (see `exit_calls_ocaml`).
        if CTX.with(|c| c.drains_run.get()) == self.drains_at_entry {
            CTX.with(|c| c.drain_requested.set(false));
            drain_now();
        }
        if CTX.with(|c| c.drain_requested.replace(false)) {
            LOCAL_DRAINS.fetch_add(1, Relaxed);
            callbacks::schedule_drain();
        }
        CTX.with(|c| c.depth.set(c.depth.get() - 1));
    }
}

/// Runs one budgeted drain of the executor, if it exists (the drain stub, stub exits and
/// shutdown call it; OCaml context only).
pub(crate) fn drain_now() {
    CTX.with(|c| c.drains_run.set(c.drains_run.get() + 1));
    #[cfg(feature = "tokio")]
    crate::tokio_rt::ensure_entered();
    try_with_executor(|ex| ex.drain());
}
