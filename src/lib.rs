//! lwt_rust: a bridge between the OCaml Lwt event loop and Rust async.
//!
//! A Rust `async fn` marked [`#[lwt_rust::func]`](macro@func) is an OCaml function returning
//! `'a Lwt.t`; a type marked [`#[lwt_rust::object]`](macro@object) is an OCaml abstract type
//! with methods. The bindings are generated from the Rust signatures. A program's Rust side is
//! one staticlib built from its own crate, which depends on this one (docs/01-your-project.md, "Using lwt_rust
//! in your project").
//!
//! What Rust code names, all in this crate root:
//! - OCaml values awaited or called by Rust: [`Promise`] (an `'a Lwt.t`), [`OCamlFn`] (a
//!   closure), [`OCamlStream`] (an `'a Lwt_stream.t`), [`Root`] (any OCaml value, kept alive);
//! - Rust work surfaced to OCaml from a hand-written stub: [`spawn`], [`spawn_value`],
//!   [`spawn_rooted`], inside [`lwt_stub`];
//! - errors crossing over: [`Error`], [`OCamlError`];
//! - other threads: [`Handle`] (work handed to the OCaml thread), [`tokio`] (the tokio runtime
//!   the library owns, feature `tokio`);
//! - the OCaml context: [`with_runtime`], [`in_ocaml_context`];
//! - [`conv`] (type markers and [`OCamlRepr`](conv::OCamlRepr)), [`diagnostics`] (live
//!   counters), [`prelude`].
//!
//! Which thread: everything holding an OCaml value lives on the OCaml main thread and is
//! `!Send`; [`Handle`] and [`SendRoot`] are how other threads reach it.
//!
//! Inside, the crate is seven layers, one folder each, lowest first (the order of the module
//! declarations below; a module uses only its own layer and earlier ones, with no cycle, which
//! `scripts/check_layers.py` checks in `make lint`): `engine` (the executor, no OCaml),
//! `runtime` (the OCaml thread's context), `values` (conversions, roots, errors, callbacks,
//! objects), `ocaml_to_rust` (promises, closures, streams), `threads` (`Handle`, tokio, the
//! blocking pool), `rust_to_ocaml` (futures and streams as `Lwt`), `ffi` (the C symbols OCaml
//! calls, the boundary every stub goes through, start-up and shutdown). Each folder's `mod.rs`
//! is its layer's design note. The code the macros generate calls one hidden module,
//! `__private`.

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

// The layers, one folder each, lowest first: a module uses only its own layer and the ones
// declared before it, with no cycle. This order is the one `scripts/check_layers.py` checks
// (each declaration stands alone, so that rustfmt keeps the order).

// 1. The executor core, no OCaml. Without the bridge it is compiled for its own tests only.
#[cfg_attr(not(feature = "ocaml"), allow(dead_code))]
pub(crate) mod engine;

// 2. The OCaml thread's context: `with_runtime`, stub frames, drain scheduling.
#[cfg(feature = "ocaml")]
pub(crate) mod runtime;

// 3. OCaml values: type markers, roots, errors, callbacks, objects, panic reports.
#[cfg(feature = "ocaml")]
pub(crate) mod values;

// 4. OCaml → Rust: promises, closures and streams awaited or called by Rust.
#[cfg(feature = "ocaml")]
pub(crate) mod ocaml_to_rust;

// 5. Other threads: `Handle`, the tokio runtime, the blocking pool.
#[cfg(any(feature = "ocaml", test))]
pub(crate) mod threads;

// 6. Rust → OCaml: futures and streams surfaced as `'a Lwt.t` and `'a Lwt_stream.t`.
#[cfg(feature = "ocaml")]
pub(crate) mod rust_to_ocaml;

// 7. The C symbols OCaml calls, the boundary every stub goes through, start-up and shutdown.
#[cfg(any(feature = "ocaml", test))]
pub(crate) mod ffi;

// The public API: what a crate exporting Rust functions to OCaml names. Everything else is
// internal to its layer.

/// Exposes a Rust `async fn` (or a plain `fn`) to OCaml as an external returning `'a Lwt.t`
/// (or the value itself); see [`lwt_rust_macros::func`].
#[cfg(feature = "ocaml")]
pub use lwt_rust_macros::func;

/// Makes a Rust type an OCaml abstract type, and its `impl` block's `pub fn`s OCaml functions
/// and methods; see [`lwt_rust_macros::object`] and docs/05-objects.md.
#[cfg(feature = "ocaml")]
pub use lwt_rust_macros::object;

/// Declares the OCaml type of a hand-written stub, for the generated bindings; see
/// [`lwt_rust_macros::external`].
#[cfg(feature = "ocaml")]
pub use lwt_rust_macros::external;

/// Checks the OCaml type of a type with its own conversion (the one the generated bindings
/// print); see [`lwt_rust_macros::ocaml_type`].
#[cfg(feature = "ocaml")]
pub use lwt_rust_macros::ocaml_type;

/// Makes a Rust struct with named fields an OCaml record type; see
/// [`lwt_rust_macros::data_record`] and docs/10-your-own-types.md.
#[cfg(feature = "ocaml")]
pub use lwt_rust_macros::data_record as record;

/// Makes a Rust enum an OCaml variant type; see [`lwt_rust_macros::variant`].
#[cfg(feature = "ocaml")]
pub use lwt_rust_macros::variant;

/// Makes a Rust enum (or struct) an OCaml type with an exception of its own, raised for its
/// `Err` values; see [`lwt_rust_macros::error`].
#[cfg(feature = "ocaml")]
pub use lwt_rust_macros::error;

#[cfg(feature = "ocaml")]
pub use ocaml_to_rust::closure::OCamlFn;
#[cfg(feature = "ocaml")]
pub use ocaml_to_rust::promise::Promise;
#[cfg(feature = "ocaml")]
pub use ocaml_to_rust::stream::OCamlStream;

#[cfg(feature = "ocaml")]
pub use rust_to_ocaml::future::{spawn, spawn_rooted, spawn_value};

#[cfg(feature = "ocaml")]
pub use threads::handle::{Handle, JoinError, JoinHandle, TrySpawnError};

#[cfg(feature = "ocaml")]
pub use values::error::{Error, OCamlError};
#[cfg(feature = "ocaml")]
pub use values::object::Obj;
#[cfg(feature = "ocaml")]
pub use values::root::{Root, SendRoot};

#[cfg(feature = "ocaml")]
pub use runtime::{in_ocaml_context, with_runtime};

#[cfg(feature = "ocaml")]
pub use ffi::boundary::lwt_stub;

/// This crate's version (checked against the OCaml library's at start-up, with the protocol
/// number both halves share).
#[cfg(feature = "ocaml")]
pub use ffi::handshake::VERSION;

/// The OCaml types Rust values cross as: type markers for values without a Rust type of their
/// own (`Lwt<T>` is `'a Lwt.t`, `Int64` is `int64`, ...) and [`OCamlRepr`](conv::OCamlRepr),
/// the conversion a type needs to be an argument or a result (docs/02-functions-and-values.md, "Values").
#[cfg(feature = "ocaml")]
pub mod conv {
    pub use crate::values::conv::{
        Array, Bytes, Int64, Lwt, LwtFn, LwtStream, OCamlArray, OCamlRepr, Opaque, Resolver,
        Utf8String,
    };
}

/// The tokio runtime the library owns (feature `tokio`): I/O futures run on its workers and
/// are awaited from the OCaml thread.
#[cfg(feature = "tokio")]
pub mod tokio {
    pub use crate::threads::tokio_rt::{handle, spawn_io};
}

/// Counters of what the bridge holds alive, for tests and leak checks: each goes back to its
/// starting value once everything a test created is dropped (`Lwt_rust.stats` reads the same
/// figures from OCaml).
#[cfg(feature = "ocaml")]
pub mod diagnostics {
    pub use crate::ocaml_to_rust::promise::live_promises;
    pub use crate::rust_to_ocaml::stream::live_streams;
    pub use crate::threads::handle::live_handle_tasks;
    pub use crate::values::object::live_objects;
    pub use crate::values::root::live_roots;
}

/// What most crates exporting functions to OCaml use: `use lwt_rust::prelude::*;`.
#[cfg(feature = "ocaml")]
pub mod prelude {
    pub use crate::{func, object, Error, Handle, OCamlFn, OCamlStream, Obj, Promise, Root};
}

/// What the code `#[lwt_rust::func]` and `#[lwt_rust::object]` generate calls, and what the
/// repository's hand-written test stubs use: not part of the API, no stability promise.
#[cfg(feature = "ocaml")]
#[doc(hidden)]
pub use ffi::private as __private;
