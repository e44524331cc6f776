//! The OCaml main thread's context: its executor, how a drain gets scheduled, and scoped
//! access to the OCaml runtime.
//!
//! # Scheduling a drain
//!
//! The executor core calls [`Notifier::notify`] once per drain it needs. [`LwtNotifier`]
//! picks the cheapest way that is safe where it is called:
//! - from another thread, or from the OCaml thread outside any stub: `Lwt_unix`'s
//!   notification (a mutex and an eventfd write; its handler runs the drain), or, in a
//!   process forked since the executor started, a byte written to the bridge's own pipe (see
//!   "Fork" below);
//! - from inside a stub on the OCaml thread (a task woken by a settled promise, a task that
//!   woke itself, a drain that must re-arm): no system call. A thread-local flag is set, and
//!   when the outermost stub returns it drains right there, in the same Lwt round, unless a
//!   drain already ran in that stub (a re-arm after a full budget): then it asks Lwt for a
//!   drain through `Lwt.pause`, which lets Lwt's I/O run first and keeps the engine from
//!   blocking while work is queued. Nothing is run from the wake itself, which may happen
//!   deep inside Rust code holding borrows.
//!
//! Every flag involved, with who sets and clears it and what it guarantees, is in the table
//! at the top of `runtime/frame.rs` (the stub frames and the drain-request state live there).
//!
//! # The owner thread
//!
//! One thread owns the bridge: the thread that initialised the `Lwt_rust` module (the main
//! thread of the main domain; it must be the one that runs `Lwt_main.run`). Its tables (the
//! executor, awaited promises, cancellable tasks, streams) are thread-locals of that thread.
//! Every entry point checks the thread before touching them:
//! - a stub called from any other thread (an OCaml systhread, another domain) makes no
//!   `Entered` guard: `#[lwt_rust::func]`s give a promise rejected with
//!   `Lwt_rust.Wrong_thread`, the OCaml library raises it, and the internal stubs that Lwt may
//!   run there (settling an awaited promise, `Lwt.cancel`, closing a stream) forward what
//!   happened to the owner thread (`forward_to_owner`) instead of reading another thread's
//!   tables;
//! - Rust code that needs the runtime ([`with_runtime`], [`with_executor`], `Promise::new`)
//!   panics with a message naming the rule when not on the owner thread inside a stub, even if
//!   it holds the runtime lock (another thread inside `OCamlRuntime::with_domain_lock`).
//!
//! Invariants:
//! - the executor lives in a thread-local of the owner thread; it is created once and never
//!   moved;
//! - OCaml may be touched only inside an exported stub (an `Entered` guard is alive on this thread):
//!   there the runtime lock is held. [`with_runtime`] checks this and lends at most one
//!   `&mut OCamlRuntime` per stub frame; a stub re-entered through an OCaml callback gets its own;
//! - OCaml work that must not run while the runtime is lent (cancelling the Lwt promise of a
//!   `Promise` dropped inside [`with_runtime`]) is deferred to the end of that `with_runtime`
//!   (`defer_while_lent`);
//! - a drain request is never sticky: a stub leaving with one set drains or schedules a drain
//!   (an inner stub too, when no drain is running, so that a nested `Lwt_main.run` makes
//!   progress), and every owner-thread wake sets it again.

use std::cell::{OnceCell, RefCell};
use std::mem::ManuallyDrop;
use std::sync::atomic::{
    AtomicBool, AtomicI32, AtomicIsize, AtomicU32, AtomicU64, Ordering::Relaxed, Ordering::SeqCst,
};
use std::sync::Mutex;
use std::sync::OnceLock;

use ocaml_interop::OCamlRuntime;

use crate::engine::executor::{Executor, Notifier};

pub(crate) mod frame;

pub(crate) use frame::{claim_ocaml_thread, drain_now, Entered};
pub use frame::{in_ocaml_context, local_drains, on_ocaml_thread, runtime_lent};

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
#[inline]
pub fn is_shut_down() -> bool {
    SHUT_DOWN.load(SeqCst)
}

/// Marks the bridge shut down (new tasks are refused from then on); true for the first call
/// only, which then does the rest of the shutdown (`lifecycle::shutdown`).
pub(crate) fn begin_shutdown() -> bool {
    !SHUT_DOWN.swap(true, SeqCst)
}

/// What this module needs from the layers above it, registered once by the setup stub
/// (`lifecycle`) before the owner thread is claimed, so before any stub frame exists. Calling
/// up through function pointers keeps this module a leaf: it names nothing above it.
pub(crate) struct Hooks {
    /// Initialises the OCaml library (`Lwt_rust.init ()`), for a Rust function called before
    /// it (see [`with_executor`]).
    pub(crate) init_library: fn(&mut OCamlRuntime),
    /// Asks Lwt to run a drain soon, through `Lwt.pause` (OCaml context).
    pub(crate) schedule_drain: fn(),
    /// What every drain does first, on the owner thread (release the roots other threads
    /// dropped; enter the tokio runtime).
    pub(crate) before_drain: fn(),
}

static HOOKS: OnceLock<Hooks> = OnceLock::new();

/// Registers the [`Hooks`]; only the first call counts.
pub(crate) fn install_hooks(hooks: Hooks) {
    let _ = HOOKS.set(hooks);
}

/// The registered hooks. Only stub frames reach here, and stub frames exist only on the owner
/// thread, which the setup stub claims after installing them.
fn hooks() -> &'static Hooks {
    HOOKS
        .get()
        .expect("lwt_rust: the setup stub installs the hooks before any stub frame")
}

static EVENTFD_NOTIFICATIONS: AtomicU64 = AtomicU64::new(0);

/// Notifications sent through `Lwt_unix` (wakes from other threads).
pub fn eventfd_notifications() -> u64 {
    EVENTFD_NOTIFICATIONS.load(Relaxed)
}

impl Notifier for LwtNotifier {
    /// Inside a stub, the outermost stub drains on its way out once asked (`notify` sets the
    /// flag it reads).
    fn drains_soon(&self) -> bool {
        in_ocaml_context()
    }

    fn notify(&self) {
        if in_ocaml_context() {
            frame::request_drain();
        } else {
            self.notify_out_of_band();
        }
    }

    fn notify_owner(&self) {
        self.notify();
    }

    fn notify_out_of_band(&self) {
        send_notification(self.id);
    }
}

/// Sends the `Lwt_unix` notification `id` (from any thread, no runtime lock needed), or,
/// in a forked process once the OCaml library has moved it (see "Fork"), writes a byte to the
/// bridge's own pipe.
fn send_notification(id: isize) {
    EVENTFD_NOTIFICATIONS.fetch_add(1, Relaxed);
    let fd = OWN_PIPE.load(SeqCst);
    if fd >= 0 {
        // SAFETY: `fd` is the write end of a non-blocking pipe that the OCaml library made
        // and never closes (see `lwt_rust_notify_through_pipe`); the buffer is one valid byte.
        // A full pipe (EAGAIN) already holds a pending wake-up: the result can be ignored.
        unsafe { write(fd, [1u8].as_ptr().cast(), 1) };
        return;
    }
    // SAFETY: `id` came from `Lwt_unix.make_notification`; the C function is thread-safe and
    // needs no OCaml runtime lock (see its declaration above).
    unsafe { lwt_unix_send_notification(id) }
}

// # Fork
//
// Lwt 5.6's `Lwt_unix.fork` gives the child a new notification fd but keeps the count of
// notifications queued in the parent: with one queued at the fork (a wake from another thread
// not handled yet), the child's `lwt_unix_send_notification` never writes the new fd again,
// and every cross-thread wake there hangs. A `pthread_atfork` child handler counts forks; at
// the child's first turn of the Lwt loop, the OCaml library sees the count change, makes a
// pipe of its own watched by the Lwt engine, hands its write end here
// (`lwt_rust_notify_through_pipe`), and drains, which also clears the executor's `armed`
// flag inherited from the parent. Later wakes write that pipe instead.
//
// The count is what every fork-sensitive part of the bridge compares (the OCaml library's
// pipe above, the blocking pool, which a child must not share with its parent's vanished
// threads), so the handler must be registered before any such state exists, not when the
// executor starts: a parent whose blocking calls had all finished by their first poll never
// made a task, hence never started the executor, yet has a pool with idle threads. Had the
// handler waited for the executor, that parent's child would count no fork, take the parent's
// pool for its own and queue its first blocking call for an idle thread that does not exist
// there (a hang). So the first reading of the count ([`forks`]) registers the handler: every
// reader reads it before making what it guards.

extern "C" {
    fn write(fd: i32, buf: *const std::ffi::c_void, count: usize) -> isize;
    fn pthread_atfork(
        prepare: Option<extern "C" fn()>,
        parent: Option<extern "C" fn()>,
        child: Option<extern "C" fn()>,
    ) -> i32;
}

/// The write end of the bridge's own notification pipe, or -1 (`Lwt_unix` notifications).
static OWN_PIPE: AtomicI32 = AtomicI32::new(-1);
/// Forks this process descends from since [`forks`] was first read, counted by
/// [`forked_child`].
static FORKS: AtomicU32 = AtomicU32::new(0);

extern "C" fn forked_child() {
    FORKS.fetch_add(1, SeqCst);
}

/// Registers [`forked_child`], once per process.
fn count_forks() {
    static COUNTING: std::sync::Once = std::sync::Once::new();
    COUNTING.call_once(|| {
        // SAFETY: the handler only bumps an atomic counter, which is async-signal-safe and
        // valid in a forked child. Registered once (`Once`).
        unsafe { pthread_atfork(None, None, Some(forked_child)) };
    });
}

/// Forks this process descends from, counted from the first call (see "Fork": the first call
/// registers the `pthread_atfork` handler that counts them, so read it before making any state
/// a child must not inherit): what a process-wide pool compares to notice it is in a child,
/// where the parent's threads do not exist. An atomic load once registered.
pub(crate) fn forks() -> u32 {
    count_forks();
    FORKS.load(SeqCst)
}

/// From now on, wakes write a byte to `fd` (a non-blocking pipe the OCaml library made after
/// a fork, never closed) instead of sending the `Lwt_unix` notification.
pub(crate) fn notify_through_pipe(fd: i32) {
    OWN_PIPE.store(fd, SeqCst);
}

/// The notification id the executor was started with (-1 before).
static NOTIFICATION: AtomicIsize = AtomicIsize::new(-1);

/// What happened on another thread to state owned by the owner thread, handled by the next
/// drain there.
pub(crate) enum Forwarded {
    /// `Lwt.cancel` on the promise of the Rust task with this cancel key.
    CancelTask(i64),
    /// The awaited Lwt promise of this slot was settled on another thread: the value cannot
    /// be trusted to the owner's tables, so the Rust side gets `Wrong_thread` instead.
    SettledOffThread(i64),
    /// `Lwt_rust.close_stream` (or a stream finaliser) for this Rust stream source.
    CloseStream(i64),
}

static FORWARDED: Mutex<Vec<Forwarded>> = Mutex::new(Vec::new());

/// Hands `event` to the owner thread and asks it to drain. Callable from any thread.
pub(crate) fn forward_to_owner(event: Forwarded) {
    FORWARDED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(event);
    let id = NOTIFICATION.load(SeqCst);
    if id >= 0 {
        send_notification(id);
    }
}

/// A drain asked for by [`request_drain_from_any_thread`] and not run yet: the next outermost
/// stub frame drains on its way out, and so does the next turn of the Lwt loop (the OCaml
/// library's `Enter_iter_hooks` hook reads it through [`drain_wanted`]). Cleared by the drain.
static DRAIN_WANTED: AtomicBool = AtomicBool::new(false);

/// Asks the owner thread to drain soon, from any thread (a GC finaliser included: no OCaml
/// call, no runtime lock needed). Never lost: the request stays until a drain runs, so before
/// the executor is started (no notification to send yet), or in a program that never runs
/// the Lwt loop, the next stub called drains. Coalesced: one notification until that drain.
pub(crate) fn request_drain_from_any_thread() {
    if in_ocaml_context() {
        // A finaliser run by an allocation inside a stub: this stub's exit drains.
        frame::request_drain();
    }
    if !DRAIN_WANTED.swap(true, SeqCst) {
        let id = NOTIFICATION.load(SeqCst);
        if id >= 0 {
            send_notification(id);
        }
    }
}

/// Whether a drain asked for by [`request_drain_from_any_thread`] has not run yet.
#[inline]
pub(crate) fn drain_wanted() -> bool {
    DRAIN_WANTED.load(Relaxed)
}

/// Marks the request of [`request_drain_from_any_thread`] served (a drain is starting).
fn drain_wanted_served() {
    if DRAIN_WANTED.load(Relaxed) {
        DRAIN_WANTED.store(false, SeqCst);
    }
}

/// Events forwarded by other threads, taken for handling on the owner thread.
pub(crate) fn take_forwarded() -> Vec<Forwarded> {
    let mut events = FORWARDED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    std::mem::take(&mut *events)
}

/// The executor type of the OCaml thread.
pub type OCamlExecutor = Executor<LwtNotifier>;

/// OCaml work that [`defer_while_lent`] keeps for later.
type DeferredWork = Box<dyn FnOnce()>;

thread_local! {
    /// `ManuallyDrop`, as `DEFERRED`: the thread-local's destructor (the process exiting,
    /// outside any stub) would drop the queued tasks' futures where their destructors can
    /// neither call OCaml nor use the runtime. Tasks pending at exit are abandoned instead.
    static EXECUTOR: ManuallyDrop<OnceCell<OCamlExecutor>> =
        const { ManuallyDrop::new(OnceCell::new()) };
    /// OCaml work deferred until the runtime is no longer lent (see [`defer_while_lent`]).
    static DEFERRED: ManuallyDrop<RefCell<Vec<DeferredWork>>> =
        const { ManuallyDrop::new(RefCell::new(Vec::new())) };
}

/// The message of the owner-thread rule, naming the entry point `what`.
pub(crate) fn wrong_thread_message(what: &str) -> String {
    format!(
        "{what}: lwt_rust may only be used from the thread that initialised Lwt_rust and runs \
         Lwt_main.run (not from another thread, systhread or domain)"
    )
}

/// Panics with a message naming the owner-thread rule unless OCaml may be called from here
/// (the owner thread, inside a stub).
#[inline]
#[track_caller]
pub(crate) fn assert_in_ocaml_context(what: &str) {
    if !in_ocaml_context() {
        not_in_ocaml_context(what);
    }
}

/// The panic of [`assert_in_ocaml_context`], out of the callers' way.
#[cold]
#[inline(never)]
#[track_caller]
fn not_in_ocaml_context(what: &str) -> ! {
    if on_ocaml_thread() {
        panic!("{what}: called on the OCaml thread but outside any stub or task");
    }
    panic!("{}", wrong_thread_message(what));
}

/// Panics (naming `what`) unless OCaml may be called from here: in the OCaml context, with
/// no OCaml value borrowed through [`with_runtime`]. One lookup when both hold.
#[inline]
#[track_caller]
pub(crate) fn assert_may_call_ocaml(what: &str) {
    if !frame::may_call_ocaml() {
        may_not_call_ocaml(what);
    }
}

/// The panic of [`assert_may_call_ocaml`], out of the callers' way.
#[cold]
#[inline(never)]
#[track_caller]
fn may_not_call_ocaml(what: &str) -> ! {
    assert_in_ocaml_context(what);
    panic!(
        "{what} called inside with_runtime: it runs OCaml code, which could move the OCaml \
         values borrowed there"
    )
}

/// Creates the executor, driven by notification `id`. Later calls are ignored.
pub(crate) fn start(id: isize) {
    EXECUTOR.with(|cell| {
        let _ = cell.get_or_init(|| {
            count_forks();
            NOTIFICATION.store(id, SeqCst);
            Executor::new(LwtNotifier { id })
        });
    });
}

/// Runs `f` with the OCaml thread's executor, initialising the library first if OCaml has not
/// (so a Rust function called before `Lwt_rust.init` still works).
///
/// # Panics
/// Outside the OCaml context (see [`in_ocaml_context`]), or if initialisation failed.
pub fn with_executor<R>(f: impl FnOnce(&OCamlExecutor) -> R) -> R {
    assert_in_ocaml_context("lwt_rust::runtime::with_executor");
    if EXECUTOR.with(|cell| cell.get().is_none()) {
        with_runtime(hooks().init_library);
    }
    EXECUTOR.with(|cell| {
        f(cell
            .get()
            .expect("Lwt_rust.init did not start the executor"))
    })
}

/// Runs `f` with the executor if it exists on this thread; never initialises.
pub(crate) fn try_with_executor<R>(f: impl FnOnce(&OCamlExecutor) -> R) -> Option<R> {
    EXECUTOR.try_with(|cell| cell.get().map(f)).ok().flatten()
}

/// Runs `f` now if the runtime is not lent, else when the [`with_runtime`] that lent it
/// returns: for OCaml work (cancelling a promise) that a destructor wants done, and that must
/// not run while a value borrowed from the runtime may be alive.
pub(crate) fn defer_while_lent(f: impl FnOnce() + 'static) {
    if runtime_lent() {
        DEFERRED.with(|d| d.borrow_mut().push(Box::new(f)));
        frame::set_deferred(true);
    } else {
        f();
    }
}

/// Runs the work deferred by [`defer_while_lent`] (the runtime is no longer lent).
#[inline(never)]
fn run_deferred() {
    loop {
        let Some(work) = DEFERRED.with(|d| d.borrow_mut().pop()) else {
            frame::set_deferred(false);
            return;
        };
        work();
    }
}

/// The panic of [`with_runtime`] when the runtime cannot be lent.
#[cold]
#[inline(never)]
#[track_caller]
fn cannot_lend(why: frame::NotLent) -> ! {
    match why {
        frame::NotLent::OutOfContext => not_in_ocaml_context("lwt_rust::with_runtime"),
        frame::NotLent::AlreadyLent => panic!("lwt_rust: with_runtime called inside with_runtime"),
    }
}

/// Lends the OCaml runtime handle to `f`.
///
/// # Panics
/// When not in the OCaml context (another thread, or outside any stub), or when the runtime
/// is already lent by this stub frame (nested `with_runtime`): both would be unsound.
#[inline]
pub fn with_runtime<R>(f: impl FnOnce(&mut OCamlRuntime) -> R) -> R {
    // One lookup checks the context and lends the runtime.
    if let Err(why) = frame::lend() {
        cannot_lend(why);
    }
    struct Return;
    impl Drop for Return {
        #[inline]
        fn drop(&mut self) {
            // Nothing borrowed from the runtime outlives `f`: deferred OCaml work may run.
            if frame::give_back() {
                run_deferred();
            }
        }
    }
    let _return = Return;
    // SAFETY: we are on the OCaml thread inside a stub, so the runtime lock is held; the
    // `lent` flag makes this the only `&mut` handed out in this stub frame, and it does not
    // outlive `f`. (ocaml-interop's public ways to get the handle, `OCamlRuntime::init` and
    // `with_domain_lock`, start or lock the runtime; a stub already runs inside it, so its
    // hidden `recover_runtime_handle_mut` is the only way.)
    let cr = unsafe { ocaml_interop::internal::recover_runtime_handle_mut() };
    f(cr)
}
