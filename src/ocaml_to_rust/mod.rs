//! Layer 4, OCaml → Rust: OCaml's asynchronous values awaited and called by Rust.
//!
//! What it owns: [`promise`] (an OCaml `'a Lwt.t` awaited as a Rust future, through a table of
//! slots the OCaml callbacks settle), [`closure`] (OCaml closures held and called by Rust
//! tasks) and [`stream`] (an OCaml `'a Lwt_stream.t` read as a `futures::Stream`).
//!
//! Invariants:
//! - what these types hold is rooted until dropped, and dropped on the OCaml thread (they are
//!   `!Send`); a slot's key is generation-checked, so a late callback for a dropped promise
//!   finds nothing instead of a reused slot;
//! - they are polled and called only in the OCaml context (a task of the drain, or a stub).
//!
//! Which thread: the OCaml main thread.
//!
//! May use: the engine, the runtime context and values.

pub mod closure;
pub mod promise;
pub mod stream;
