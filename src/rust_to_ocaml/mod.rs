//! Layer 6, Rust → OCaml: Rust futures and streams surfaced to OCaml as `'a Lwt.t` and
//! `'a Lwt_stream.t`.
//!
//! What it owns: [`future`] (a future polled once synchronously, then a task of the executor
//! whose completion settles the OCaml promise; the task itself, its cancel table and its first poll
//! before the promise exists are in `task`), [`stream`] (a Rust stream as an OCaml stream
//! source pulled a batch of ready items at a time), [`direct_return`] (`Lwt.return v` built in the minor
//! heap when a future is ready on its first poll) and [`box_cache`] (recycled boxes for the
//! futures spawned before their first poll).
//!
//! Invariants:
//! - a promise handed to OCaml is settled exactly once, or cancelled; a Rust task whose OCaml
//!   promise is cancelled is dropped on the OCaml thread;
//! - a ready future costs no task, no queue and no notification;
//! - every live task and stream source is counted and released at shutdown.
//!
//! Which thread: the OCaml main thread.
//!
//! May use: every layer below (tokio's context, for futures spawned with the `tokio` feature).

pub mod box_cache;
pub mod direct_return;
pub mod future;
mod outcome;
pub mod stream;
mod task;
