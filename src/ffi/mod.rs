//! Layer 7, the foreign-function interface: every C symbol the OCaml library calls, and what
//! every stub (exported, generated or hand-written) needs.
//!
//! What it owns: [`boundary`] (containment: the OCaml context entered, panics caught before
//! they reach an OCaml frame, calls from the wrong thread refused; error mapping; argument
//! checks), [`stubs`] (the C symbols `lib/lwt_rust.ml` declares as externals), [`handshake`]
//! (the start-up check that both halves speak one protocol), [`lifecycle`] (module
//! initialisation and shutdown) and `private` (what generated code and the repository's
//! hand-written test stubs call, re-exported as `lwt_rust::__private`).
//!
//! Invariants:
//! - a panic never unwinds through an OCaml frame: every entry point runs its body inside
//!   [`boundary`]'s guards, and a contained failure becomes a named OCaml exception;
//! - an entry point called off the OCaml thread is refused (`Lwt_rust.Wrong_thread`), never run;
//! - nothing below this layer exports a C symbol.
//!
//! Which thread: entered from OCaml on the OCaml main thread; refused elsewhere.
//!
//! May use: every layer below. Nothing in the crate uses it, except the facade (`lib.rs`).

#[cfg(feature = "ocaml")]
pub mod boundary;
#[cfg(feature = "ocaml")]
pub mod handshake;
#[cfg(feature = "ocaml")]
pub mod lifecycle;
#[cfg(feature = "ocaml")]
pub mod private;
#[cfg(feature = "ocaml")]
pub mod stubs;
