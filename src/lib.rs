//! lwt_rust: a bridge between the OCaml Lwt event loop and Rust async.
//!
//! Layers, lowest first; a module uses only its own layer and the ones before it, with no
//! cycle (`scripts/check_layers.py`, run by `make lint`, checks both):
//! 1. core, no OCaml (`cargo test`): [`executor`] (the run queue and its drain protocol),
//!    [`stats`] (its counters), `keyed` (generation-checked slabs);
//!
//! with the `ocaml` feature, the bridge:
//! 2. context: [`runtime`], the owner thread's executor, its `Lwt_unix` notifier, the stub
//!    frames (`Entered`), the drain-request flags and [`runtime::with_runtime`]. A leaf: what it
//!    needs from above (the drain-scheduling callback) is registered at initialisation;
//! 3. values: [`conv`] (OCaml type markers), [`root`] (counted GC roots), [`error`](mod@error) (errors
//!    crossing over, their mapping), `callbacks` (the OCaml functions Rust calls),
//!    `direct_return` (`Lwt.return v` built in the minor heap), [`panic_report`];
//! 4. the four directions, and other threads: [`import_promise`] (OCaml `'a Lwt.t` awaited
//!    by Rust), [`export_future`] (Rust future → `'a Lwt.t`), [`export_stream`] (Rust stream
//!    → `'a Lwt_stream.t`), [`import_stream`] (OCaml `'a Lwt_stream.t` → Rust `Stream`),
//!    [`closure`] (OCaml closures called by Rust), [`handle`], `tokio_rt`, `box_cache`;
//! 5. [`boundary`]: what every stub needs (containment, panic messages, error mapping,
//!    argument checks);
//! 6. stubs: `stubs` (the C symbols OCaml calls), `__private` (helpers for hand-written
//!    stubs), [`handshake`] (the start-up check that both halves speak one protocol);
//! 7. `lifecycle`: module initialisation and shutdown.
//!
//! A program's Rust side is one staticlib built from its own crate, which depends on this one
//! (README, "Using lwt_rust in your project").
//!
//! Which thread: the [`executor::Executor`] and everything holding an OCaml value live on the
//! OCaml main thread and are `!Send`; only wakers and [`executor::Spawner`] cross threads.

#![warn(missing_docs)]
// Every unsafe operation inside an `unsafe fn` sits in its own `unsafe` block with its own
// `SAFETY:` justification: the function's contract alone does not say which step relies on what.
#![deny(unsafe_op_in_unsafe_fn)]
// Every `unsafe` block says why it is sound right above it (`make lint` runs clippy with
// `-D warnings`, which turns this into an error).
#![warn(clippy::undocumented_unsafe_blocks)]

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
// OCaml-free: also compiled for `cargo test` without features, which runs its tests.
#[cfg(any(feature = "ocaml", test))]
pub mod blocking;
#[cfg(feature = "ocaml")]
pub mod boundary;
#[cfg(feature = "ocaml")]
mod box_cache;
#[cfg(feature = "ocaml")]
mod callbacks;
#[cfg(feature = "ocaml")]
pub mod closure;
#[cfg(feature = "ocaml")]
pub mod conv;
#[cfg(feature = "ocaml")]
mod data_types;
#[cfg(feature = "ocaml")]
mod direct_return;
#[cfg(feature = "ocaml")]
pub mod error;
#[cfg(feature = "ocaml")]
pub mod handle;
#[cfg(feature = "ocaml")]
pub mod handshake;
// OCaml-free: also compiled for `cargo test` without features, which runs its tests.
#[cfg(feature = "ocaml")]
pub mod export_future;
#[cfg(feature = "ocaml")]
pub mod export_stream;
#[cfg(feature = "ocaml")]
pub mod import_promise;
#[cfg(feature = "ocaml")]
pub mod import_stream;
#[cfg(any(feature = "ocaml", test))]
mod keyed;
#[cfg(feature = "ocaml")]
mod lifecycle;
#[cfg(feature = "ocaml")]
pub mod object;
#[cfg(feature = "ocaml")]
pub mod panic_report;
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

/// Makes a Rust type an OCaml abstract type, and its `impl` block's `pub fn`s OCaml functions
/// and methods; see [`lwt_rust_macros::object`] and the README's "Objects".
#[cfg(feature = "ocaml")]
pub use lwt_rust_macros::object;

/// Declares the OCaml type of a hand-written stub, for the generated bindings; see
/// [`lwt_rust_macros::external`].
#[cfg(feature = "ocaml")]
pub use lwt_rust_macros::external;

/// Declares the OCaml type of a type with its own conversion, for the generated bindings; see
/// [`lwt_rust_macros::ocaml_type`].
#[cfg(feature = "ocaml")]
pub use lwt_rust_macros::ocaml_type;

/// Makes a Rust struct with named fields an OCaml record type; see
/// [`lwt_rust_macros::data_record`].
#[cfg(feature = "ocaml")]
pub use lwt_rust_macros::data_record as record;

/// Makes a Rust enum an OCaml variant type; see [`lwt_rust_macros::variant`].
#[cfg(feature = "ocaml")]
pub use lwt_rust_macros::variant;

/// Makes a Rust enum (or struct) an OCaml type with an exception of its own, raised for its
/// `Err` values; see [`lwt_rust_macros::error`].
#[cfg(feature = "ocaml")]
pub use lwt_rust_macros::error;

/// A Rust object held by OCaml values (see [`macro@object`]).
#[cfg(feature = "ocaml")]
pub use object::Obj;

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
