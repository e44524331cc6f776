//! The executor core: a run queue any thread may push to, drained by one owner thread.
//!
//! Nothing here knows about OCaml. The bridge plugs in a [`Notifier`] that sends an
//! `Lwt_unix` notification; tests plug in a counter.
//!
//! # Protocol
//!
//! The queue and its `armed` flag live in `run_queue` (checked with loom). `armed` is true
//! from the moment a wake finds it false (and sends the one notification) until the drain
//! that notification causes has emptied the queue. So:
//!
//! - **wake** (any thread): push the runnable, then `armed.swap(true)`; only the wake that flips
//!   it from false to true calls [`Notifier::notify`]. 1000 wakes before a drain: 1 notification.
//! - **drain** (owner thread): poll at most `budget` runnables. If work remains, leave `armed`
//!   set and notify again (re-arm), so the owner's event loop gets to run I/O between batches.
//!   Otherwise clear `armed`, then look at the queue once more: a wake that pushed after our
//!   last pop but saw `armed` still true has sent nothing, so we re-arm for it.
//!
//! Hence: no lost wake, at most one notification pending, at most one sent per drain.
//!
//! A drain started from inside a drain (a task's poll calling back into the owner's event loop
//! and from there into `drain`) is a no-op: the outer drain will get to the work.
//!
//! # Owner-thread wakes
//!
//! A wake made on the owner thread when [`Notifier::drains_soon`] says a drain will follow
//! anyway (for the bridge: inside a stub, which drains on its way out) skips the lock-free
//! queue and its flag: the runnable goes to a plain queue only the owner thread touches, and
//! every such wake calls [`Notifier::notify_owner`] (for the bridge, setting a thread-local
//! flag). There is deliberately no sticky "already asked" flag on this queue: if a scheduled
//! drain is ever lost (Lwt abandons paused promises after a fork, an asynchronous exception
//! strikes at the wrong moment), the next owner wake asks again, so nothing stalls for good.
//!
//! # Fairness
//!
//! A drain shares its budget between the two queues. While the shared queue has work waiting
//! (its flag is set), the owner queue gets at most half of what is left of the budget before
//! the shared queue is served, so a task that wakes itself on every poll cannot starve wakes
//! from other threads (nor the reverse: the shared queue gets the rest, then the owner queue
//! again). When the budget runs out with work left, a drain re-arms: for the owner queue
//! through [`Notifier::notify_owner`]; for the shared queue through
//! [`Notifier::notify_out_of_band`], which must not be losable (for the bridge, the
//! `Lwt_unix` notification rather than a paused promise), because the shared queue's flag stays
//! set until that drain runs, and no other thread would notify meanwhile.
//!
//! # Threads
//!
//! [`Executor`] is `!Send`: it lives on its owner thread, which alone polls and drops tasks.
//! [`Spawner`] and wakers are `Send + Sync` and only push onto the queue.

use std::cell::{Cell, UnsafeCell};
use std::collections::VecDeque;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_task::{Runnable, Task};

use crate::engine::stats::{Snapshot, Stats};

pub(crate) mod run_queue;

use run_queue::two_queues;
use run_queue::RunQueue;

/// How the owner thread is told that the run queue has work.
///
/// `notify` is called from any thread, at most once per drain; it must not block and must
/// eventually cause the owner thread to call [`Executor::drain`].
pub trait Notifier: Send + Sync + 'static {
    /// Asks the owner thread to drain soon.
    fn notify(&self);

    /// Whether a wake made right now on the owner thread will be followed by a drain once
    /// [`notify`](Self::notify) is called, without a system call: such wakes use the owner's
    /// own queue. The executor checks the thread itself; this only says whether the moment
    /// is right. Default: never.
    fn drains_soon(&self) -> bool {
        false
    }

    /// Asks for a drain after a wake on the owner thread made while
    /// [`drains_soon`](Self::drains_soon) held. Called on every such wake (it must be cheap
    /// and idempotent), and for a re-arm of the owner queue. Default: [`notify`](Self::notify).
    fn notify_owner(&self) {
        self.notify()
    }

    /// Asks for a drain through a path that cannot be lost, from the owner thread: the
    /// re-arm for work left in the shared queue, whose flag stays set until that drain runs.
    /// Default: [`notify`](Self::notify).
    fn notify_out_of_band(&self) {
        self.notify()
    }
}

/// An address unique to the calling thread among live threads (of a thread-local), cheap to
/// read: identifies the owner thread.
fn thread_token() -> usize {
    thread_local! {
        static TOKEN: u8 = const { 0 };
    }
    TOKEN.with(|t| t as *const u8 as usize)
}

/// The owner thread's own run queue: no atomics, no flag (see "Owner-thread wakes").
struct OwnerQueue {
    owner: usize,
    items: UnsafeCell<VecDeque<Runnable>>,
}

// SAFETY: `items` is only touched on the thread whose token is `owner`: by
// `Shared::schedule` after checking `on_owner`, and by the `Executor` (which is `!Send`, so
// it stays on the thread that created it, whose token `owner` is). Two live threads never
// share a token, so there is never concurrent access.
unsafe impl Sync for OwnerQueue {}

impl OwnerQueue {
    fn new() -> Self {
        OwnerQueue {
            owner: thread_token(),
            items: UnsafeCell::new(VecDeque::new()),
        }
    }

    fn on_owner(&self) -> bool {
        thread_token() == self.owner
    }

    /// Queues `runnable`; true if the queue was empty (for the counters only).
    ///
    /// # Safety
    /// On the owner thread ([`on_owner`](Self::on_owner)).
    unsafe fn push(&self, runnable: Runnable) -> bool {
        // SAFETY: owner thread (caller), and no reference into `items` outlives a call here.
        let items = unsafe { &mut *self.items.get() };
        let was_empty = items.is_empty();
        items.push_back(runnable);
        was_empty
    }

    /// # Safety
    /// On the owner thread.
    unsafe fn pop(&self) -> Option<Runnable> {
        // SAFETY: as in `push`; the runnable is returned by value, nothing borrowed remains.
        unsafe { (*self.items.get()).pop_front() }
    }

    /// # Safety
    /// On the owner thread.
    unsafe fn is_empty(&self) -> bool {
        // SAFETY: as in `push`.
        unsafe { (*self.items.get()).is_empty() }
    }
}

/// The owner queue as a drain sees it. Made only by [`Executor::drain`], on the owner
/// thread (the executor is `!Send`), and not kept beyond that drain.
struct OwnerQueueOnOwner<'a>(&'a OwnerQueue);

impl two_queues::OwnerQueue<Runnable> for OwnerQueueOnOwner<'_> {
    fn pop(&self) -> Option<Runnable> {
        // SAFETY: on the owner thread (see the type's doc).
        unsafe { self.0.pop() }
    }

    fn is_empty(&self) -> bool {
        // SAFETY: on the owner thread (see the type's doc).
        unsafe { self.0.is_empty() }
    }
}

/// The default number of runnables one drain polls before yielding to the event loop.
pub const DEFAULT_BUDGET: usize = 256;

/// The state shared between the owner thread and every waker.
struct Shared<N> {
    queue: RunQueue<Runnable>,
    local: OwnerQueue,
    notifier: N,
    /// Leaked, one per executor (two cache lines): the counters outlive the executor, so that a
    /// task's future counts itself with a plain reference rather than a reference count, whose
    /// increments and decrements would be two more atomic operations per task, on a cache line
    /// every thread that spawns shares with the owner thread.
    stats: &'static Counters,
}

/// An executor's counters, and its owner thread's token: a task's future dropped on the owner
/// thread is counted there without a locked instruction.
struct Counters {
    stats: Stats,
    owner: usize,
}

impl std::ops::Deref for Counters {
    type Target = Stats;
    fn deref(&self) -> &Stats {
        &self.stats
    }
}

impl<N: Notifier> Shared<N> {
    fn schedule(&self, runnable: Runnable) {
        if self.notifier.drains_soon() && self.local.on_owner() {
            self.stats.owner_woke();
            // SAFETY: on the owner thread (checked).
            if unsafe { self.local.push(runnable) } {
                self.stats.owner_notified();
            }
            // Every owner wake asks (see "Owner-thread wakes"): cheap, and never stale.
            self.notifier.notify_owner();
            return;
        }
        self.stats.woke();
        if self.queue.push(runnable) {
            self.send_notification();
        }
    }

    fn send_notification(&self) {
        self.stats.notified();
        self.notifier.notify();
    }

    /// A drain's re-arm for work left in the owner queue.
    fn rearm_owner(&self) {
        self.stats.owner_notified();
        self.notifier.notify_owner();
    }

    /// A drain's re-arm for work left in the shared queue (see "Fairness").
    fn rearm_shared(&self) {
        self.stats.owner_notified();
        self.notifier.notify_out_of_band();
    }
}

/// What a call to [`Executor::drain`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Called from inside a drain on the same thread: nothing was done.
    Nested,
    /// Polled this many runnables; `rearmed` says whether work was left and a new
    /// notification was sent for it.
    Ran {
        /// Runnables polled.
        polled: usize,
        /// Whether work remained after the budget and the owner was notified again.
        rearmed: bool,
    },
}

/// A single-owner executor: tasks are polled only by the thread that created it.
///
/// Lives on its owner thread (`!Send`, `!Sync`); hand [`Spawner`]s or wakers to other threads.
pub struct Executor<N: Notifier> {
    shared: Arc<Shared<N>>,
    draining: Cell<bool>,
    budget: Cell<usize>,
    /// Keeps the executor on its owner thread (`!Send`): it alone touches the owner queue.
    _owner: PhantomData<*const ()>,
}

impl<N: Notifier> Executor<N> {
    /// Creates an executor owned by the calling thread, that tells it about work through
    /// `notifier`.
    pub fn new(notifier: N) -> Self {
        Executor {
            shared: Arc::new(Shared {
                queue: RunQueue::new(),
                local: OwnerQueue::new(),
                notifier,
                stats: Box::leak(Box::new(Counters {
                    stats: Stats::new(),
                    owner: thread_token(),
                })),
            }),
            draining: Cell::new(false),
            budget: Cell::new(DEFAULT_BUDGET),
            _owner: PhantomData,
        }
    }

    /// Sets the drain budget. A budget of 0 is refused (it would never make progress).
    pub fn set_budget(&self, budget: usize) -> Result<(), ZeroBudget> {
        if budget == 0 {
            return Err(ZeroBudget);
        }
        self.budget.set(budget);
        Ok(())
    }

    /// Spawns a future that is polled on this executor's thread. It is scheduled at once.
    ///
    /// The future need not be `Send`; the returned [`Task`] cancels it when dropped unless
    /// detached. The bridge spawns through [`spawn_unscheduled`](Self::spawn_unscheduled)
    /// (it polls a task's first time itself); this is for the executor's own tests.
    #[cfg(test)]
    pub fn spawn_local<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let (runnable, task) = make_local(&self.shared, future);
        runnable.schedule();
        task
    }

    /// Creates a task without scheduling it: the caller runs the returned runnable (to poll
    /// the future at once, on this thread) or schedules it, and keeps or detaches the task.
    pub fn spawn_unscheduled<F>(&self, future: F) -> (Runnable, Task<F::Output>)
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        make_local(&self.shared, future)
    }

    /// Polls ready tasks, at most [`budget`](Self::budget) of them; see the module docs for
    /// the re-arm protocol. A panic escaping a task's poll is caught and counted; the task is
    /// then closed by async-task and the drain goes on.
    pub fn drain(&self) -> Drained {
        if self.draining.replace(true) {
            return Drained::Nested;
        }
        let _reset = ResetOnDrop(&self.draining);
        let run = |runnable: Runnable| {
            if catch_unwind(AssertUnwindSafe(|| runnable.run())).is_err() {
                self.shared.stats.panicked();
            }
        };
        let budget = self.budget.get();
        let two_queues::Drained {
            polled,
            shared_left,
            local_left,
        } = two_queues::drain_both(
            &OwnerQueueOnOwner(&self.shared.local),
            &self.shared.queue,
            budget,
            run,
        );
        self.shared.stats.drained(polled);
        if shared_left {
            self.shared.rearm_shared();
        } else if local_left {
            self.shared.rearm_owner();
        }
        let rearmed = shared_left || local_left;
        Drained::Ran { polled, rearmed }
    }

    /// Whether a drain is running on this thread right now (a task's poll is on the stack).
    pub fn is_draining(&self) -> bool {
        self.draining.get()
    }

    /// Whether runnables are waiting in the queue.
    pub fn has_work(&self) -> bool {
        // SAFETY: `!Send` executor: on its owner thread.
        !self.shared.queue.is_empty() || !unsafe { self.shared.local.is_empty() }
    }

    /// A `Send + Sync` handle that schedules onto this executor from any thread.
    pub fn spawner(&self) -> Spawner<N> {
        Spawner {
            shared: self.shared.clone(),
        }
    }

    /// The executor's counters.
    pub fn stats(&self) -> Snapshot {
        self.shared.stats.snapshot()
    }
}

impl<N: Notifier> Drop for Executor<N> {
    /// Drops every queued runnable here, on the owner thread, so that `!Send` futures are
    /// dropped where they live. Wakes that arrive later push runnables that are dropped with
    /// the last waker or spawner.
    fn drop(&mut self) {
        // SAFETY: `!Send` executor: on its owner thread.
        while let Some(runnable) = unsafe { self.shared.local.pop() } {
            if catch_unwind(AssertUnwindSafe(|| drop(runnable))).is_err() {
                self.shared.stats.panicked();
            }
        }
        while let Some(runnable) = self.shared.queue.pop() {
            if catch_unwind(AssertUnwindSafe(|| drop(runnable))).is_err() {
                self.shared.stats.panicked();
            }
        }
    }
}

/// The error of [`Executor::set_budget`] with 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZeroBudget;

impl std::fmt::Display for ZeroBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the drain budget must be at least 1")
    }
}

impl std::error::Error for ZeroBudget {}

/// Schedules work on an [`Executor`] from any thread. `Send + Sync`, cheap to clone.
pub struct Spawner<N> {
    shared: Arc<Shared<N>>,
}

impl<N> Clone for Spawner<N> {
    fn clone(&self) -> Self {
        Spawner {
            shared: self.shared.clone(),
        }
    }
}

impl<N: Notifier> Spawner<N> {
    /// Spawns a `Send` future from any thread; it is polled on the executor's owner thread.
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let shared = self.shared.clone();
        shared.stats.task_spawned();
        let future = CountLive::<F, false> {
            future,
            stats: shared.stats,
        };
        let (runnable, task) = async_task::spawn(future, move |r| shared.schedule(r));
        runnable.schedule();
        task
    }
}

/// Makes a local task. Owner thread only (callers are `Executor` methods; the executor is
/// `!Send`). One reference to `shared` per task, the schedule function's.
fn make_local<F, N: Notifier>(shared: &Arc<Shared<N>>, future: F) -> (Runnable, Task<F::Output>)
where
    F: Future + 'static,
    F::Output: 'static,
{
    // Counted as the owner's: async-task's `spawn_local` keeps the future on this thread
    // (it is polled and dropped here, or the process aborts).
    shared.stats.owner_task_spawned();
    let future = CountLive::<F, true> {
        future,
        stats: shared.stats,
    };
    let shared = shared.clone();
    async_task::spawn_local(future, move |r| shared.schedule(r))
}

/// Wraps a task's future to keep `live_tasks` exact: counted at spawn, uncounted on drop.
/// `OWNER`: a local task, counted in the owner thread's counters.
struct CountLive<F, const OWNER: bool> {
    future: F,
    stats: &'static Counters,
}

impl<F: Future, const OWNER: bool> Future for CountLive<F, OWNER> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, and
        // `CountLive` has no `Unpin` impl of its own that would allow moving it.
        unsafe { self.map_unchecked_mut(|s| &mut s.future) }.poll(cx)
    }
}

impl<F, const OWNER: bool> Drop for CountLive<F, OWNER> {
    fn drop(&mut self) {
        // A local task's future lives and dies on the owner thread; another task's is dropped
        // there too unless the executor is gone (or the task is cancelled elsewhere).
        if OWNER || thread_token() == self.stats.owner {
            self.stats.owner_task_dropped();
        } else {
            self.stats.task_dropped();
        }
    }
}

struct ResetOnDrop<'a>(&'a Cell<bool>);

impl Drop for ResetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
