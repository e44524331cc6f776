//! One drain over the owner thread's own queue and the shared [`RunQueue`], with the budget
//! shared between them (see "Fairness" in `executor.rs`), generic over what is queued so that
//! `loom` checks it as it runs in the executor (`loom_tests.rs`).
//!
//! Invariants, given that only the owner thread calls [`drain_both`] and touches its queue:
//! - at most `budget` items run;
//! - while the shared queue's flag is set, the owner queue gets at most half of what is left
//!   of the budget before the shared queue is served, so a self-waking owner item cannot
//!   starve items pushed by other threads;
//! - the outcome says what is left: `shared_left` exactly when the shared queue's own protocol
//!   asks for a notification (its flag stays set until the drain it asks for), `local_left`
//!   when the owner queue is not empty. The caller re-arms for each.

use super::RunQueue;

/// What [`drain_both`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Drained {
    /// Items run.
    pub(crate) polled: usize,
    /// The shared queue needs another drain (a notification that cannot be lost).
    pub(crate) shared_left: bool,
    /// The owner queue is not empty.
    pub(crate) local_left: bool,
}

/// The owner thread's own queue, as [`drain_both`] sees it.
pub(crate) trait OwnerQueue<T> {
    /// The next item, if any.
    fn pop(&self) -> Option<T>;
    /// Whether the queue is empty.
    fn is_empty(&self) -> bool;
}

/// Runs at most `budget` items from `local` and `queue`; `run` may push to either.
#[inline]
pub(crate) fn drain_both<T>(
    local: &impl OwnerQueue<T>,
    queue: &RunQueue<T>,
    budget: usize,
    mut run: impl FnMut(T),
) -> Drained {
    let mut polled = 0;
    let mut shared_left = false;
    loop {
        // The owner queue's share: all that is left of the budget, or half of it while the
        // shared queue has work waiting.
        let local_cap = if queue.is_armed() {
            polled + (budget - polled).div_ceil(2)
        } else {
            budget
        };
        while polled < local_cap {
            let Some(item) = local.pop() else {
                break;
            };
            polled += 1;
            run(item);
        }
        if polled == budget || !queue.is_armed() {
            // Budget spent, or nothing was pushed to the shared queue since it was last
            // emptied (see `RunQueue::is_armed`).
            break;
        }
        let (ran, again) = queue.drain(budget - polled, &mut run);
        polled += ran;
        if again {
            // Work left in the shared queue (its flag stays set) or arrived while it was
            // being cleared: the caller notifies for it.
            shared_left = true;
            break;
        }
        if ran == 0 || local.is_empty() {
            break;
        }
    }
    if polled == budget && queue.is_armed() && !queue.is_empty() {
        // The budget ran out before the shared queue was drained: its flag is still set (only
        // a drain clears it), so no producer will notify: the caller's re-arm is the
        // notification for what is left there. (With the flag clear, a producer is between
        // its push and its swap, and that producer notifies.)
        shared_left = true;
    }
    Drained {
        polled,
        shared_left,
        local_left: !local.is_empty(),
    }
}
