//! Stub frames and drain scheduling: every flag that decides whether and when a drain runs,
//! in one place.
//!
//! A stub frame ([`Entered`]) marks that OCaml called into Rust on the owner thread: OCaml may
//! be called back while it is alive. A wake inside a frame does not drain (it may happen deep
//! inside Rust code holding borrows): it sets a request that the frame's exit turns into a
//! drain right there (outermost frame, first drain of this frame) or into a drain scheduled
//! through `Lwt.pause` (a re-arm, or an inner frame when no drain is running).
//!
//! # The flags
//!
//! | flag | where | set by | cleared by | invariant |
//! |---|---|---|---|---|
//! | `armed` | `executor::run_queue` (atomic) | the push onto the shared queue that finds it false (that push notifies) | a drain that empties the shared queue (re-checks the queue after) | at most one `Lwt_unix` notification pending; no wake lost |
//! | `draining` | `Executor` (owner thread) | [`drain_now`] through `Executor::drain` | the end of that drain | a drain inside a drain is a no-op |
//! | (owner queue) | `Executor` (owner thread) | has no flag: every owner-thread wake inside a frame calls `notify_owner`, which sets `drain_requested` | — | a lost scheduled drain stalls nothing: the next owner wake asks again |
//! | `owner` | [`Ctx`] | `claim_ocaml_thread` (setup stub, once per process) | never | only the owner thread makes stub frames |
//! | `depth` | [`Ctx`] | [`Entered::new`] (+1) | `Entered`'s drop (−1) | `depth > 0` ⇔ in the OCaml context |
//! | `lent` | [`Ctx`] | `with_runtime` | its return; each frame saves and clears it on entry and restores it on exit | at most one `&mut OCamlRuntime` per frame |
//! | `drain_requested` | [`Ctx`] | [`request_drain`] (an owner wake, or a drain's owner re-arm, inside a frame) | the outermost frame's exit (it drains or schedules) | never sticky: no frame is left with it set without a drain run or scheduled |
//! | `drains_run` | [`Ctx`] | [`drain_now`] (+1) | never | a frame whose exit finds it changed since entry schedules (re-arm) instead of draining again |
//! | `DRAIN_WANTED` | `runtime` (atomic) | `request_drain_from_any_thread` (a GC finaliser, any thread) | [`drain_now`], before the drain's work | never lost: kept until a drain runs; the next outermost frame's entry turns it into `drain_requested`, and the next Lwt turn drains (the library's `Enter_iter_hooks` hook) |
//! | `inner_drain_scheduled` | [`Ctx`] | an inner frame's exit that scheduled a drain | the next drain ([`drain_now`]), or `depth` returning to 0 | at most one drain scheduled by inner frames pending at a time; once it runs, the next inner request schedules again (an outermost frame blocked in a nested `Lwt_main.run` gets every drain its work needs) |
//! | paused promise | `schedule_drain` in `lib/lwt_rust.ml` | `(hooks().schedule_drain)()` | Lwt resuming paused promises (it calls the drain stub) | Lwt's I/O runs between two batches |
//!
//! Invariants:
//! - all of [`Ctx`] is thread-local and touched only by its own thread; one thread-local, so
//!   a stub's entry and exit cost one lookup;
//! - leaving a frame with a drain requested calls OCaml (to drain or schedule), which may move
//!   heap values: a stub returning an OCaml value roots it across the drop
//!   ([`Entered::exit_calls_ocaml`]).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};

use super::{hooks, try_with_executor};

thread_local! {
    /// The stub-frame state of this thread (see the table above).
    static CTX: Ctx = const {
        Ctx {
            depth: Cell::new(0),
            lent: Cell::new(false),
            drain_requested: Cell::new(false),
            drains_run: Cell::new(0),
            owner: Cell::new(false),
            inner_drain_scheduled: Cell::new(false),
            deferred: Cell::new(false),
        }
    };
}

/// The stub-frame state of a thread; its fields are the [`Ctx`] rows of the table above.
pub(super) struct Ctx {
    /// Number of stub frames active on this thread.
    depth: Cell<u32>,
    /// Whether the innermost stub frame has lent out its `&mut OCamlRuntime`.
    lent: Cell<bool>,
    /// A wake inside a stub asked for a drain; the outermost stub schedules it on return.
    drain_requested: Cell<bool>,
    /// Drains run on this thread so far (tells a stub whether one ran during it).
    drains_run: Cell<u64>,
    /// Whether this is the owner thread (see "The owner thread" in `runtime`).
    owner: Cell<bool>,
    /// An inner stub scheduled a drain that has not run yet.
    inner_drain_scheduled: Cell<bool>,
    /// OCaml work is waiting for the runtime to be given back (`runtime::defer_while_lent`):
    /// read by `with_runtime`'s return with the `lent` flag, in the same lookup.
    deferred: Cell<bool>,
}

static OWNER_CLAIMED: AtomicBool = AtomicBool::new(false);
static LOCAL_DRAINS: AtomicU64 = AtomicU64::new(0);

/// Drains scheduled through `Lwt.pause` (wakes on the OCaml thread).
pub fn local_drains() -> u64 {
    LOCAL_DRAINS.load(Relaxed)
}

/// Makes the calling thread the owner thread. Called by the setup stub, at module
/// initialisation; only the first call in the process counts.
pub(crate) fn claim_ocaml_thread() {
    if !OWNER_CLAIMED.swap(true, SeqCst) {
        CTX.with(|c| c.owner.set(true));
    }
}

/// Whether the calling thread is the owner thread (the one that initialised `Lwt_rust` and
/// runs `Lwt_main.run`).
#[inline]
pub fn on_ocaml_thread() -> bool {
    CTX.try_with(|c| c.owner.get()).unwrap_or(false)
}

/// Whether OCaml may be called right now: on the owner thread, inside a stub. (Only the owner
/// thread makes stub frames, so the stub depth alone tells.) False while thread-locals are
/// being destroyed at exit.
#[inline]
pub fn in_ocaml_context() -> bool {
    CTX.try_with(|c| c.depth.get() > 0).unwrap_or(false)
}

/// Whether the innermost stub frame has lent its runtime handle (we are inside
/// [`with_runtime`](super::with_runtime)).
#[inline]
pub fn runtime_lent() -> bool {
    CTX.try_with(|c| c.lent.get()).unwrap_or(false)
}

/// Whether OCaml may be called: in the OCaml context with the runtime not lent (one
/// lookup for both checks of `runtime::assert_may_call_ocaml`).
#[inline]
pub(super) fn may_call_ocaml() -> bool {
    CTX.try_with(|c| c.depth.get() > 0 && !c.lent.get())
        .unwrap_or(false)
}

/// Why the runtime could not be lent (see [`lend`]).
pub(super) enum NotLent {
    /// Not in the OCaml context.
    OutOfContext,
    /// The innermost frame has already lent it.
    AlreadyLent,
}

/// Marks the runtime lent by the innermost frame, after checking, in the same lookup, that
/// this is the OCaml context and that it was not lent already.
#[inline]
pub(super) fn lend() -> Result<(), NotLent> {
    CTX.try_with(|c| {
        if c.depth.get() == 0 {
            Err(NotLent::OutOfContext)
        } else if c.lent.replace(true) {
            Err(NotLent::AlreadyLent)
        } else {
            Ok(())
        }
    })
    .unwrap_or(Err(NotLent::OutOfContext))
}

/// Marks the runtime given back by the innermost frame; true if OCaml work was deferred
/// while it was lent (`runtime::defer_while_lent`).
#[inline]
pub(super) fn give_back() -> bool {
    CTX.with(|c| {
        c.lent.set(false);
        c.deferred.get()
    })
}

/// Records whether OCaml work is deferred until the runtime is given back.
#[inline]
pub(super) fn set_deferred(pending: bool) {
    CTX.with(|c| c.deferred.set(pending));
}

/// Asks the innermost frame's exit for a drain (the notifier's owner-thread path).
#[inline]
pub(super) fn request_drain() {
    CTX.with(|c| c.drain_requested.set(true));
}

/// Marks a stub frame: while alive, OCaml may be called from this thread. Created by every
/// exported stub before it touches any OCaml value.
pub(crate) struct Entered {
    lent_before: bool,
    drains_at_entry: u64,
}

impl Entered {
    /// Enters a stub frame, or `None` off the owner thread (see "The owner thread"): the
    /// stub must then touch none of the bridge's state.
    #[inline]
    pub(crate) fn new() -> Option<Self> {
        CTX.with(|c| {
            if !c.owner.get() {
                return None;
            }
            if c.depth.get() == 0 && super::drain_wanted() {
                // A drain asked for where none could be scheduled (a finaliser before the
                // executor started, say): this outermost frame drains on its way out.
                c.drain_requested.set(true);
            }
            c.depth.set(c.depth.get() + 1);
            Some(Entered {
                lent_before: c.lent.replace(false),
                drains_at_entry: c.drains_run.get(),
            })
        })
    }

    /// Whether dropping this guard will call OCaml (to run or schedule a requested drain): a
    /// stub returning an OCaml value must keep it rooted across the drop.
    #[inline]
    pub(crate) fn exit_calls_ocaml(&self) -> bool {
        CTX.with(|c| c.drain_requested.get() && (c.depth.get() == 1 || inner_exit_schedules(c)))
    }
}

/// Whether an inner stub leaving with a drain requested must schedule that drain itself: no
/// drain is running (so the outermost stub may be blocked, in a nested `Lwt_main.run`, say),
/// and none scheduled by an inner stub is still pending.
fn inner_exit_schedules(c: &Ctx) -> bool {
    c.depth.get() > 1
        && !c.inner_drain_scheduled.get()
        && try_with_executor(|ex| !ex.is_draining()) == Some(true)
}

impl Drop for Entered {
    /// Leaving the outermost stub with a drain requested: if no drain ran in this stub yet,
    /// drain now, in the same Lwt round (a task woken by a settled promise resumes without
    /// waiting for another turn of the event loop). If a drain already ran here, or work is
    /// left after this one, the request is a re-arm: ask Lwt for a drain through `Lwt.pause`,
    /// so that Lwt's I/O runs between batches.
    #[inline]
    fn drop(&mut self) {
        // The common exit (no drain requested): one lookup, inlined into the stub.
        let fast = CTX.with(|c| {
            if c.drain_requested.get() {
                return false;
            }
            c.lent.set(self.lent_before);
            let depth = c.depth.get() - 1;
            c.depth.set(depth);
            if depth == 0 {
                c.inner_drain_scheduled.set(false);
            }
            true
        });
        if !fast {
            self.exit_with_drain_requested();
        }
    }
}

impl Entered {
    /// [`Drop`]'s path when a drain was requested during the frame.
    #[inline(never)]
    fn exit_with_drain_requested(&self) {
        let (exit_drain, schedule) = CTX.with(|c| {
            c.lent.set(self.lent_before);
            let requested = c.drain_requested.get();
            let exit_drain = c.depth.get() == 1 && requested;
            // The request stays set for the outermost stub, which drains when it leaves.
            let schedule = requested && inner_exit_schedules(c);
            if schedule {
                c.inner_drain_scheduled.set(true);
            }
            if !exit_drain {
                c.depth.set(c.depth.get() - 1);
                if c.depth.get() == 0 {
                    c.inner_drain_scheduled.set(false);
                }
            }
            (exit_drain, schedule)
        });
        if schedule {
            LOCAL_DRAINS.fetch_add(1, Relaxed);
            (hooks().schedule_drain)();
        }
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
            (hooks().schedule_drain)();
        }
        CTX.with(|c| {
            c.depth.set(c.depth.get() - 1);
            c.inner_drain_scheduled.set(false);
        });
    }
}

/// Runs one budgeted drain of the executor, if it exists (the drain stub, stub exits and
/// shutdown call it; OCaml context only).
pub(crate) fn drain_now() {
    CTX.with(|c| {
        c.drains_run.set(c.drains_run.get() + 1);
        // A drain an inner frame scheduled is being served (or superseded by this one): the
        // next inner frame leaving with a request must schedule again. Clearing it only when
        // the outermost frame ends would serve one drain per outermost frame, and an outermost
        // frame blocked in a nested `Lwt_main.run` whose work needs several would hang.
        c.inner_drain_scheduled.set(false);
    });
    // Before the work it stands for (released in `before_drain`): a request made meanwhile
    // stays set.
    super::drain_wanted_served();
    (hooks().before_drain)();
    try_with_executor(|ex| ex.drain());
}
