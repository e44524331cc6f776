//! Counters the executor and the bridge keep, readable from any thread.
//!
//! Invariants:
//! - every counter is monotonic except `live_tasks`, which goes up by one when a task future is
//!   created and down by one when it is dropped, so it reads 0 when no task is leaked;
//! - counters are `Relaxed`: they are statistics, never used to synchronise anything;
//! - the `owner_*` counters, `drains` and `max_batch` have one writer, the executor's owner
//!   thread, so they are bumped with a load and a store instead of a locked read-modify-write
//!   (the hot, same-thread paths pay no atomic instruction); the others may be written from
//!   any thread. A snapshot adds the two halves.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

/// The counters of one executor.
#[derive(Debug, Default)]
pub struct Stats {
    live_tasks: AtomicI64,
    spawned: AtomicU64,
    wakes: AtomicU64,
    notifications: AtomicU64,
    drains: AtomicU64,
    max_batch: AtomicU64,
    panics: AtomicU64,
    owner_live_tasks: AtomicI64,
    owner_spawned: AtomicU64,
    owner_wakes: AtomicU64,
    owner_notifications: AtomicU64,
}

/// Adds one to a counter that only one thread writes.
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Relaxed).wrapping_add(1), Relaxed);
}

/// A copy of [`Stats`] taken at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// Task futures not yet dropped.
    pub live_tasks: i64,
    /// Tasks ever spawned.
    pub spawned: u64,
    /// Times a task was put on the run queue.
    pub wakes: u64,
    /// Times the executor asked its notifier for a drain, by any path (`notify`,
    /// `notify_owner`, `notify_out_of_band`, re-arms included). Not OCaml's
    /// `Lwt_rust.stats.notifications`, which counts only the `Lwt_unix` notifications sent.
    pub drain_requests: u64,
    /// Drains that ran (nested, no-op drains are not counted).
    pub drains: u64,
    /// The largest number of tasks polled by one drain.
    pub max_batch: u64,
    /// Panics caught while polling or dropping a task.
    pub panics: u64,
}

impl Stats {
    /// A set of counters at zero (usable in a `static`).
    pub const fn new() -> Self {
        Stats {
            live_tasks: AtomicI64::new(0),
            spawned: AtomicU64::new(0),
            wakes: AtomicU64::new(0),
            notifications: AtomicU64::new(0),
            drains: AtomicU64::new(0),
            max_batch: AtomicU64::new(0),
            panics: AtomicU64::new(0),
            owner_live_tasks: AtomicI64::new(0),
            owner_spawned: AtomicU64::new(0),
            owner_wakes: AtomicU64::new(0),
            owner_notifications: AtomicU64::new(0),
        }
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            live_tasks: self.live_tasks.load(Relaxed) + self.owner_live_tasks.load(Relaxed),
            spawned: self.spawned.load(Relaxed) + self.owner_spawned.load(Relaxed),
            wakes: self.wakes.load(Relaxed) + self.owner_wakes.load(Relaxed),
            drain_requests: self.notifications.load(Relaxed)
                + self.owner_notifications.load(Relaxed),
            drains: self.drains.load(Relaxed),
            max_batch: self.max_batch.load(Relaxed),
            panics: self.panics.load(Relaxed),
        }
    }

    pub(crate) fn task_spawned(&self) {
        self.spawned.fetch_add(1, Relaxed);
        self.live_tasks.fetch_add(1, Relaxed);
    }
    pub(crate) fn task_dropped(&self) {
        self.live_tasks.fetch_sub(1, Relaxed);
    }
    pub(crate) fn woke(&self) {
        self.wakes.fetch_add(1, Relaxed);
    }
    pub(crate) fn notified(&self) {
        self.notifications.fetch_add(1, Relaxed);
    }
    pub(crate) fn panicked(&self) {
        self.panics.fetch_add(1, Relaxed);
    }
    /// Owner thread only (see the module invariants).
    pub(crate) fn drained(&self, batch: usize) {
        bump(&self.drains);
        if batch as u64 > self.max_batch.load(Relaxed) {
            self.max_batch.store(batch as u64, Relaxed);
        }
    }
    /// A task created on the owner thread, whose future is dropped there too (a `!Send`
    /// task). Owner thread only.
    pub(crate) fn owner_task_spawned(&self) {
        bump(&self.owner_spawned);
        let live = &self.owner_live_tasks;
        live.store(live.load(Relaxed) + 1, Relaxed);
    }
    /// Owner thread only.
    pub(crate) fn owner_task_dropped(&self) {
        let live = &self.owner_live_tasks;
        live.store(live.load(Relaxed) - 1, Relaxed);
    }
    /// Owner thread only.
    pub(crate) fn owner_woke(&self) {
        bump(&self.owner_wakes);
    }
    /// Owner thread only.
    pub(crate) fn owner_notified(&self) {
        bump(&self.owner_notifications);
    }
}
