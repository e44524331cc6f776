//! Counters the executor and the bridge keep, readable from any thread.
//!
//! Invariants:
//! - every counter is monotonic except `live_tasks`, which goes up by one when a task future is
//!   created and down by one when it is dropped, so it reads 0 when no task is leaked;
//! - counters are `Relaxed`: they are statistics, never used to synchronise anything.

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
    /// Notifications sent to the draining thread.
    pub notifications: u64,
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
        }
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            live_tasks: self.live_tasks.load(Relaxed),
            spawned: self.spawned.load(Relaxed),
            wakes: self.wakes.load(Relaxed),
            notifications: self.notifications.load(Relaxed),
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
    pub(crate) fn drained(&self, batch: usize) {
        self.drains.fetch_add(1, Relaxed);
        self.max_batch.fetch_max(batch as u64, Relaxed);
    }
}
