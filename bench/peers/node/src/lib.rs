//! The bodies of `make bench-peers` as a Node addon: each `async fn` becomes a function
//! returning a Promise; napi-rs runs the future on its tokio runtime and resolves the Promise
//! on Node's thread through a thread-safe call.

use napi_derive::napi;

/// `a + b`, ready on its first poll.
#[napi]
pub async fn ready(a: i64, b: i64) -> i64 {
    peer_bodies::ready(a, b).await
}

/// `a + b` after one yield to the tokio worker.
#[napi]
pub async fn yield_once(a: i64, b: i64) -> i64 {
    peer_bodies::yield_once(a, b).await
}

/// `a + b` computed by a task spawned on tokio and awaited.
#[napi]
pub async fn tokio_round_trip(a: i64, b: i64) -> i64 {
    peer_bodies::tokio_round_trip(a, b).await
}
