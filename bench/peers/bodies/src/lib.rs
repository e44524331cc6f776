//! The async functions `make bench-peers` calls through each bridge (pyo3-async-runtimes,
//! napi-rs, lwt_rust). Each bridge's crate wraps these in its own export attribute and nothing
//! else, so the three measure the same Rust work and differ only in the bridge and its host loop.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// `a + b`, ready on its first poll.
pub async fn ready(a: i64, b: i64) -> i64 {
    a.wrapping_add(b)
}

/// `a + b` after yielding once to whatever executor polls it: pending on the first poll,
/// having woken itself. The yield is executor-neutral (no tokio call), so under tokio
/// (pyo3-async-runtimes, napi-rs) it is a reschedule on the tokio worker, and under lwt_rust a
/// reschedule on the OCaml thread's executor.
pub async fn yield_once(a: i64, b: i64) -> i64 {
    YieldOnce { yielded: false }.await;
    a.wrapping_add(b)
}

/// `a + b` computed by a task spawned on the tokio runtime of the calling context and awaited:
/// a round trip to a tokio worker. Must be polled inside a tokio runtime context (each bridge
/// provides one).
pub async fn tokio_round_trip(a: i64, b: i64) -> i64 {
    tokio::spawn(async move { a.wrapping_add(b) })
        .await
        .expect("the spawned addition never panics")
}

/// Pending once (waking itself first), then ready.
struct YieldOnce {
    yielded: bool,
}

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            Poll::Ready(())
        } else {
            self.yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}
