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
//! # Threads
//!
//! [`Executor`] is `!Send`: it lives on its owner thread, which alone polls and drops tasks.
//! [`Spawner`] and wakers are `Send + Sync` and only push onto the queue.

use std::cell::Cell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_task::{Runnable, Task};

use crate::stats::{Snapshot, Stats};

pub(crate) mod run_queue;

use run_queue::RunQueue;

/// How the owner thread is told that the run queue has work.
///
/// `notify` is called from any thread, at most once per drain; it must not block and must
/// eventually cause the owner thread to call [`Executor::drain`].
pub trait Notifier: Send + Sync + 'static {
    /// Asks the owner thread to drain soon.
    fn notify(&self);
}

/// The default number of runnables one drain polls before yielding to the event loop.
pub const DEFAULT_BUDGET: usize = 256;

/// The state shared between the owner thread and every waker.
struct Shared<N> {
    queue: RunQueue<Runnable>,
    notifier: N,
    stats: Stats,
}

impl<N: Notifier> Shared<N> {
    fn schedule(&self, runnable: Runnable) {
        self.stats.woke();
        if self.queue.push(runnable) {
            self.send_notification();
        }
    }

    fn send_notification(&self) {
        self.stats.notified();
        self.notifier.notify();
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
}

impl<N: Notifier> Executor<N> {
    /// Creates an executor owned by the calling thread, that tells it about work through
    /// `notifier`.
    pub fn new(notifier: N) -> Self {
        Executor {
            shared: Arc::new(Shared {
                queue: RunQueue::new(),
                notifier,
                stats: Stats::new(),
            }),
            draining: Cell::new(false),
            budget: Cell::new(DEFAULT_BUDGET),
        }
    }

    /// The most runnables one [`drain`](Self::drain) polls. Always at least 1.
    pub fn budget(&self) -> usize {
        self.budget.get()
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
    /// detached.
    pub fn spawn_local<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let (runnable, task) = self.spawner().make_local(future);
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
        self.spawner().make_local(future)
    }

    /// Polls ready tasks, at most [`budget`](Self::budget) of them; see the module docs for
    /// the re-arm protocol. A panic escaping a task's poll is caught and counted; the task is
    /// then closed by async-task and the drain goes on.
    pub fn drain(&self) -> Drained {
        if self.draining.replace(true) {
            return Drained::Nested;
        }
        let _reset = ResetOnDrop(&self.draining);
        let (polled, rearmed) = self.shared.queue.drain(self.budget.get(), |runnable| {
            if catch_unwind(AssertUnwindSafe(|| runnable.run())).is_err() {
                self.shared.stats.panicked();
            }
        });
        self.shared.stats.drained(polled);
        if rearmed {
            self.shared.send_notification();
        }
        Drained::Ran { polled, rearmed }
    }

    /// Whether runnables are waiting in the queue.
    pub fn has_work(&self) -> bool {
        !self.shared.queue.is_empty()
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
        let future = CountLive {
            future,
            shared: self.shared.clone(),
        };
        let (runnable, task) = async_task::spawn(future, move |r| shared.schedule(r));
        runnable.schedule();
        task
    }

    fn make_local<F>(&self, future: F) -> (Runnable, Task<F::Output>)
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let shared = self.shared.clone();
        shared.stats.task_spawned();
        let future = CountLive {
            future,
            shared: self.shared.clone(),
        };
        async_task::spawn_local(future, move |r| shared.schedule(r))
    }
}

/// Wraps a task's future to keep `live_tasks` exact: counted at spawn, uncounted on drop.
struct CountLive<F, N: Notifier> {
    future: F,
    shared: Arc<Shared<N>>,
}

impl<F: Future, N: Notifier> Future for CountLive<F, N> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, and
        // `CountLive` has no `Unpin` impl of its own that would allow moving it.
        unsafe { self.map_unchecked_mut(|s| &mut s.future) }.poll(cx)
    }
}

impl<F, N: Notifier> Drop for CountLive<F, N> {
    fn drop(&mut self) {
        self.shared.stats.task_dropped();
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
