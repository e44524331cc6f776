//! Counters the executor and the bridge keep, readable from any thread.
//!
//! Invariants:
//! - every counter is monotonic; `live_tasks` is derived (tasks created minus tasks dropped),
//!   so it reads 0 when no task is leaked;
//! - counters are `Relaxed`: they are statistics, never used to synchronise anything;
//! - the `owner_*` counters, `drains` and `max_batch` have one writer, the executor's owner
//!   thread, so they are bumped with a load and a store instead of a locked read-modify-write
//!   (the hot, same-thread paths pay no atomic instruction); the others may be written from
//!   any thread. A snapshot adds the two halves;
//! - the two halves sit on cache lines of their own: the owner thread's plain stores never take
//!   the line that other threads' increments use.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The counters of one executor.
#[derive(Debug, Default)]
pub struct Stats {
    any: AnyThread,
    owner: OwnerOnly,
}

/// Counters any thread may bump (locked increments).
#[derive(Debug, Default)]
#[repr(align(64))]
struct AnyThread {
    spawned: AtomicU64,
    dropped: AtomicU64,
    wakes: AtomicU64,
    notifications: AtomicU64,
    panics: AtomicU64,
}

/// Counters only the owner thread writes (plain increments).
#[derive(Debug, Default)]
#[repr(align(64))]
struct OwnerOnly {
    drains: AtomicU64,
    max_batch: AtomicU64,
    spawned: AtomicU64,
    dropped: AtomicU64,
    wakes: AtomicU64,
    notifications: AtomicU64,
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
            any: AnyThread {
                spawned: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                wakes: AtomicU64::new(0),
                notifications: AtomicU64::new(0),
                panics: AtomicU64::new(0),
            },
            owner: OwnerOnly {
                drains: AtomicU64::new(0),
                max_batch: AtomicU64::new(0),
                spawned: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                wakes: AtomicU64::new(0),
                notifications: AtomicU64::new(0),
            },
        }
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> Snapshot {
        let (any, owner) = (&self.any, &self.owner);
        let spawned = any.spawned.load(Relaxed) + owner.spawned.load(Relaxed);
        let dropped = any.dropped.load(Relaxed) + owner.dropped.load(Relaxed);
        Snapshot {
            // Read apart, the two halves may be a drop ahead of its spawn; never below 0.
            live_tasks: (spawned as i64 - dropped as i64).max(0),
            spawned,
            wakes: any.wakes.load(Relaxed) + owner.wakes.load(Relaxed),
            drain_requests: any.notifications.load(Relaxed) + owner.notifications.load(Relaxed),
            drains: owner.drains.load(Relaxed),
            max_batch: owner.max_batch.load(Relaxed),
            panics: any.panics.load(Relaxed),
        }
    }

    /// A task created on any thread.
    pub(crate) fn task_spawned(&self) {
        self.any.spawned.fetch_add(1, Relaxed);
    }
    /// A task's future dropped on a thread other than the owner.
    pub(crate) fn task_dropped(&self) {
        self.any.dropped.fetch_add(1, Relaxed);
    }
    pub(crate) fn woke(&self) {
        self.any.wakes.fetch_add(1, Relaxed);
    }
    pub(crate) fn notified(&self) {
        self.any.notifications.fetch_add(1, Relaxed);
    }
    pub(crate) fn panicked(&self) {
        self.any.panics.fetch_add(1, Relaxed);
    }
    /// Owner thread only (see the module invariants).
    pub(crate) fn drained(&self, batch: usize) {
        bump(&self.owner.drains);
        if batch as u64 > self.owner.max_batch.load(Relaxed) {
            self.owner.max_batch.store(batch as u64, Relaxed);
        }
    }
    /// A task created on the owner thread. Owner thread only.
    pub(crate) fn owner_task_spawned(&self) {
        bump(&self.owner.spawned);
    }
    /// A task's future dropped on the owner thread, wherever the task was created (every task
    /// runs there, so most are dropped there). Owner thread only.
    pub(crate) fn owner_task_dropped(&self) {
        bump(&self.owner.dropped);
    }
    /// Owner thread only.
    pub(crate) fn owner_woke(&self) {
        bump(&self.owner.wakes);
    }
    /// Owner thread only.
    pub(crate) fn owner_notified(&self) {
        bump(&self.owner.notifications);
    }
}
