//! A pool of a fixed number of resources (a counting semaphore) whose scans each hold one
//! for as long as the scan's stream lives: what `test/test_switch.ml` abandons under a switch.

use std::sync::atomic::{AtomicI64, Ordering::SeqCst};
use std::sync::Arc;

use futures::Stream;

/// A pool of `size` resources; a scan holds one until its stream is dropped.
#[lwt_rust::object]
pub struct ResourcePool {
    free: Arc<AtomicI64>,
}

/// One resource taken from a pool, given back when dropped.
struct Lease(Arc<AtomicI64>);

impl Drop for Lease {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[lwt_rust::object]
impl ResourcePool {
    /// A pool of `size` free resources.
    pub fn new(size: i64) -> Self {
        ResourcePool {
            free: Arc::new(AtomicI64::new(size)),
        }
    }

    /// How many resources are free now.
    pub fn available(&self) -> i64 {
        self.free.load(SeqCst)
    }

    /// The rows `0 .. rows`, read while holding one resource of the pool: the stream owns the
    /// lease (and a handle on the pool's counter, not a borrow of the pool), so the resource
    /// is given back when the stream is dropped, however it ends. Fails if the pool is empty.
    #[lwt_rust(try_stream)]
    pub fn scan(&self, rows: i64) -> Result<impl Stream<Item = Result<i64, String>>, String> {
        let free = self.free.clone();
        let taken = free.fetch_update(SeqCst, SeqCst, |n| (n > 0).then(|| n - 1));
        if taken.is_err() {
            return Err("the pool is exhausted".to_owned());
        }
        let lease = Lease(free);
        Ok(futures::stream::unfold(
            (0, lease),
            move |(row, lease)| async move { (row < rows).then(|| (Ok(row), (row + 1, lease))) },
        ))
    }
}
