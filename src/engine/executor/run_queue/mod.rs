//! The schedule / notify / drain protocol on its own, generic over what is queued, so that
//! `loom` can check it (`RUSTFLAGS="--cfg loom" cargo test --release loom`).
//!
//! `armed` is true from the moment a push finds it false (that push must notify) until a
//! drain finds the queue empty. Every access to `armed` is a read-modify-write (`swap`,
//! `AcqRel`), so all of them are totally ordered and each reads the one before:
//!
//! - a push queues its item, then swaps `armed` to true; only the push that finds it false
//!   notifies;
//! - a drain that emptied the queue swaps `armed` to false, then looks at the queue again.
//!   If a push's swap came before that clear, the clear read (and synchronised with) it, so
//!   the pushed item is visible to the second look, and the drain re-arms for it. If the
//!   push's swap came after, it found `armed` false and notified.
//!
//! Hence no lost wake, and at most one notification pending (`armed` goes false → true once
//! per notification). An earlier version cleared with a plain `SeqCst` store and relied on
//! fences; loom cannot model that reasoning (it treats `SeqCst` as `AcqRel`) and reported a
//! lost wake, so the clear became a swap, which needs no fence at all.

#[cfg(loom)]
use loom::sync::atomic::{AtomicBool, Ordering::AcqRel, Ordering::Acquire};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicBool, Ordering::AcqRel, Ordering::Acquire};

/// A multi-producer queue with the drain protocol. `push` from any thread; `drain` from the
/// owner thread only.
pub(crate) struct RunQueue<T> {
    queue: Queue<T>,
    armed: AtomicBool,
}

impl<T> RunQueue<T> {
    pub(crate) fn new() -> Self {
        RunQueue {
            queue: Queue::new(),
            armed: AtomicBool::new(false),
        }
    }

    /// Queues `item`. Returns true when the caller must notify the owner (the first push
    /// since the last drain that emptied the queue).
    pub(crate) fn push(&self, item: T) -> bool {
        self.queue.push(item);
        !self.armed.swap(true, AcqRel)
    }

    /// Runs at most `budget` queued items. Returns how many ran, and whether the owner must
    /// be notified again (work is left, or arrived while we were clearing the flag).
    pub(crate) fn drain(&self, budget: usize, mut run: impl FnMut(T)) -> (usize, bool) {
        let mut ran = 0;
        while ran < budget {
            let Some(item) = self.queue.pop() else { break };
            ran += 1;
            run(item);
        }
        let notify_again = if self.queue.is_empty() {
            self.armed.swap(false, AcqRel);
            !self.queue.is_empty() && !self.armed.swap(true, AcqRel)
        } else {
            // Leave `armed` set: this re-arm is the one notification for what is left.
            true
        };
        (ran, notify_again)
    }

    /// Whether a notification is pending or being sent (`armed`). When it is not, a drain
    /// of this queue may be skipped: the queue is empty, or a push is between queuing its
    /// item and setting the flag, and that push will notify.
    pub(crate) fn is_armed(&self) -> bool {
        self.armed.load(Acquire)
    }

    pub(crate) fn pop(&self) -> Option<T> {
        self.queue.pop()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// The lock-free queue in real builds.
#[cfg(not(loom))]
struct Queue<T>(crossbeam_queue::SegQueue<T>);

#[cfg(not(loom))]
impl<T> Queue<T> {
    fn new() -> Self {
        Queue(crossbeam_queue::SegQueue::new())
    }
    fn push(&self, item: T) {
        self.0.push(item)
    }
    fn pop(&self) -> Option<T> {
        self.0.pop()
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Under loom, a mutex-protected deque that loom can see: SegQueue's own atomics are not
/// loom's. The protocol above only needs a linearizable FIFO, which both are.
#[cfg(loom)]
struct Queue<T>(loom::sync::Mutex<std::collections::VecDeque<T>>);

#[cfg(loom)]
impl<T> Queue<T> {
    fn new() -> Self {
        Queue(loom::sync::Mutex::new(std::collections::VecDeque::new()))
    }
    fn push(&self, item: T) {
        self.0.lock().unwrap().push_back(item)
    }
    fn pop(&self) -> Option<T> {
        self.0.lock().unwrap().pop_front()
    }
    fn is_empty(&self) -> bool {
        self.0.lock().unwrap().is_empty()
    }
}

pub(crate) mod two_queues;

#[cfg(all(test, loom))]
mod loom_tests;
