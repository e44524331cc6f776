//! lwt_rust: a bridge between the OCaml Lwt event loop and Rust async.
//!
//! Layers, one module each:
//! - [`executor`]: the run queue and its drain protocol (no OCaml; tested by `cargo test`);
//! - [`stats`]: the executor's counters;
//! - with the `ocaml` feature, the bridge:
//!   - `runtime`: the OCaml thread's executor, its `Lwt_unix` notifier, runtime access;
//!   - `root`: counted GC roots; `conv`: OCaml type markers; `error`: errors crossing over;
//!   - `promise`: OCaml `'a Lwt.t` awaited by Rust (OCaml → Rust);
//!   - `lwt_future`: Rust futures returned to OCaml as `'a Lwt.t` (Rust → OCaml);
//!   - `lwt_stream`: Rust streams read by OCaml as `'a Lwt_stream.t` (Rust → OCaml);
//!   - `ocaml_stream`: OCaml `'a Lwt_stream.t` read by Rust as a `Stream` (OCaml → Rust);
//!   - `closure`: OCaml closures called by Rust tasks;
//!   - `callbacks`: the OCaml functions Rust calls; `stubs`: every C symbol OCaml calls;
//!   - [`handshake`]: the start-up check that the OCaml library speaks this crate's protocol;
//!   - [`panic_report`]: what panics print on stderr (`Lwt_rust.set_panic_report`).
//!
//! A program's Rust side is one staticlib built from its own crate, which depends on this one
//! (README, "Using lwt_rust in your project").
//!
//! Which thread: the [`executor::Executor`] and everything holding an OCaml value live on the
//! OCaml main thread and are `!Send`; only wakers and [`executor::Spawner`] cross threads.

#![warn(missing_docs)]

// Lets `#[lwt_rust::func]` (whose expansion names `::lwt_rust`) be used inside this crate too.
extern crate self as lwt_rust;

// Contained panics (`Lwt_rust.Rust_panic`) need unwinding: refuse to build rather than abort the
// process at the first panic.
#[cfg(all(feature = "ocaml", panic = "abort"))]
compile_error!(
    "lwt_rust needs panics to unwind (it contains them and rejects the promise with \
     Lwt_rust.Rust_panic), but this build uses panic = \"abort\": set panic = \"unwind\" (the \
     default) in the [profile.release] and [profile.dev] of your Cargo.toml, and remove any \
     -C panic=abort from RUSTFLAGS"
);

pub mod executor;
pub mod stats;

#[cfg(feature = "ocaml")]
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
#[cfg(feature = "ocaml")]
mod box_cache;
#[cfg(feature = "ocaml")]
mod callbacks;
#[cfg(feature = "ocaml")]
pub mod closure;
#[cfg(feature = "ocaml")]
pub mod conv;
#[cfg(feature = "ocaml")]
pub mod error;
#[cfg(feature = "ocaml")]
pub mod handle;
#[cfg(feature = "ocaml")]
pub mod handshake;
// OCaml-free: also compiled for `cargo test` without features, which runs its tests.
#[cfg(any(feature = "ocaml", test))]
mod keyed;
#[cfg(feature = "ocaml")]
mod lifecycle;
#[cfg(feature = "ocaml")]
pub mod lwt_future;
#[cfg(feature = "ocaml")]
pub mod lwt_stream;
#[cfg(feature = "ocaml")]
pub mod ocaml_stream;
#[cfg(feature = "ocaml")]
pub mod panic_report;
#[cfg(feature = "ocaml")]
pub mod promise;
#[cfg(feature = "ocaml")]
pub mod root;
#[cfg(feature = "ocaml")]
pub mod runtime;
#[cfg(feature = "ocaml")]
mod stubs;
#[cfg(feature = "tokio")]
pub mod tokio_rt;

/// Exposes a Rust `async fn` to OCaml as an external returning `'a Lwt.t`; see
/// [`lwt_rust_macros::func`].
#[cfg(feature = "ocaml")]
pub use lwt_rust_macros::func;

/// futures, re-exported for the stream adapters `#[lwt_rust::func(stream)]` generates.
#[cfg(feature = "ocaml")]
#[doc(hidden)]
pub use futures;

/// This crate's version (checked against the OCaml library's at start-up, with
/// [`handshake::PROTOCOL`]).
#[cfg(feature = "ocaml")]
pub use handshake::VERSION;

/// ocaml-rs, re-exported for the code `#[lwt_rust::func]` generates.
#[cfg(feature = "ocaml")]
pub use ocaml;

#[cfg(test)]
mod handshake_sources;
