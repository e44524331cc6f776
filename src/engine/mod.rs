//! Layer 1, the engine: the run queue and its drain protocol, with no OCaml anywhere.
//!
//! What it owns: the [`executor::Executor`] (tasks, their run queue, the budgeted drain), its
//! counters ([`stats`]) and the generation-checked slabs ([`keyed`]) whose keys every table of
//! the bridge hands to OCaml as immediate ints.
//!
//! Invariants:
//! - nothing here links against OCaml: `cargo test --no-default-features` builds and runs this
//!   layer alone, and the run queue's concurrency is checked with loom;
//! - the executor is driven by one owner thread and is `!Send`; only wakers and the
//!   [`executor::Spawner`] cross threads;
//! - a drain runs at most one budget of tasks, then tells its caller whether work is left.
//!
//! Which thread: the owner (the OCaml main thread in the bridge) drains; any thread may wake.
//!
//! May use: `std`, `async-task`, `crossbeam-queue`. Nothing of this crate above it.

pub mod executor;
#[cfg(any(feature = "ocaml", test))]
pub mod keyed;
pub mod stats;
