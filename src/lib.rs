//! lwt_rust: a bridge between the OCaml Lwt event loop and Rust async.
//!
//! Layers, one module each:
//! - [`executor`]: the run queue and its drain protocol (no OCaml; tested by `cargo test`);
//! - [`stats`]: counters;
//! - with the `ocaml` feature, the bridge: `runtime` (the OCaml thread's executor and its
//!   `Lwt_unix` notifier), `root` (counted GC roots), `callbacks` (the OCaml functions Rust
//!   calls), `promise` (OCaml → Rust), `lwt_future` (Rust → OCaml), `closure` (OCaml closures
//!   called from tasks), `error`, and `stubs` (every exported C symbol).

pub mod executor;
pub mod stats;
