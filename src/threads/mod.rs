//! Layer 5, other threads: how work leaves the OCaml thread and comes back to it.
//!
//! What it owns: [`handle`] (a `Send` handle other threads use to submit work to the OCaml
//! thread, with bounded submission), `tokio_rt` (the tokio runtime the library owns, feature
//! `tokio`) and [`blocking`] (a pool for blocking calls, what `#[lwt_rust::func(blocking)]`
//! runs its body with).
//!
//! Invariants:
//! - nothing that holds an OCaml value crosses to another thread: work sent to the OCaml
//!   thread is a `Send` closure or future, run there by the executor;
//! - every thread this layer starts is accounted for at shutdown and after `fork`;
//! - a panic on another thread is contained there and surfaces as an error on the OCaml side.
//!
//! Which thread: any; what touches OCaml runs on the OCaml thread.
//!
//! May use: the engine, the runtime context and values (panic reports).

// OCaml-free: also compiled for `cargo test` without features, which runs its tests.
#[cfg(any(feature = "ocaml", test))]
pub mod blocking;
#[cfg(feature = "ocaml")]
pub mod handle;
#[cfg(feature = "tokio")]
pub mod tokio_rt;
