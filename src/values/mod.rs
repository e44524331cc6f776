//! Layer 3, values: OCaml values as Rust sees them.
//!
//! What it owns: the type markers and conversions ([`conv`]: `Lwt<T>` is `'a Lwt.t`, and so
//! on, each with a shape check), the OCaml type of each as a compile-time text for the
//! binding records ([`type_text`]), counted GC roots ([`root`]), the errors that cross the bridge
//! and their mapping ([`error`]), the OCaml functions Rust calls ([`callbacks`], registered by
//! `lib/lwt_rust.ml`), the table of what crosses between the two halves, generated for both
//! ([`protocol`]: callbacks, failure kinds, stats layout, protocol number), the storage of
//! Rust objects held by OCaml values ([`object`]), how contained panics are reported
//! ([`panic_report`]), and what the conversions generated for a user's records, variants and
//! error enums call ([`data_types`]).
//!
//! Invariants:
//! - an OCaml value is touched only in the OCaml context (the owner thread, runtime lock held);
//!   every type holding one is `!Send`, except [`root::SendRoot`], which only moves it;
//! - a raw value is read after the last allocation that could move it;
//! - every root taken is counted, so that tests can assert none leaks.
//!
//! Which thread: the OCaml main thread, inside a stub or a drain.
//!
//! May use: the engine and the runtime context. Nothing that spawns or settles a promise: that
//! is the directions' business, above.

pub mod callbacks;
pub mod conv;
pub mod data_types;
pub mod error;
pub mod object;
pub mod panic_report;
pub(crate) mod protocol;
pub mod root;
pub mod type_text;
