//! The start-up handshake between the OCaml library (`lib/lwt_rust.ml`) and this crate.
//!
//! The two halves reach a program separately (an opam package and a crate), so they may come
//! from different releases. When `Lwt_rust` is initialised, after it has registered its
//! callbacks, it calls [`lwt_rust_handshake`] with its version, its protocol number and the
//! sizes of the tables both halves share; this side compares them with its own and checks that
//! every callback it will look up is registered. Any difference makes the OCaml side raise
//! `Lwt_rust.Setup_failed`, naming both versions, before the program runs any code of its own.
//!
//! The stub's name and signature never change, so that any two releases can tell each other
//! apart. Bump [`PROTOCOL`] (and `protocol` in `lib/lwt_rust.ml`) with any change to what
//! crosses between the halves: a callback's name or type, a failure code, the stats layout,
//! the layout of a value one side builds and the other reads.

use std::ffi::CStr;

/// The protocol this crate speaks; `lib/lwt_rust.ml` has the same number.
pub const PROTOCOL: i64 = 3;

/// This crate's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Failure codes, `0..FAILURE_KINDS` (`callbacks::FailureKind`; `failure` in
/// `lib/lwt_rust.ml`).
pub const FAILURE_KINDS: i64 = 7;

/// Fields of the stats array (`lwt_rust_stats` in `stubs.rs`; `Lwt_rust.stats`).
pub const STATS_FIELDS: i64 = 12;

/// Every OCaml callback this crate looks up (`callbacks.rs`).
pub const CALLBACKS: &[&CStr] = &[
    c"lwt_rust.init",
    c"lwt_rust.task",
    c"lwt_rust.returned",
    c"lwt_rust.failed",
    c"lwt_rust.failed_with",
    c"lwt_rust.cancel",
    c"lwt_rust.schedule_drain",
    c"lwt_rust.resolve",
    c"lwt_rust.reject",
    c"lwt_rust.fail",
    c"lwt_rust.attach",
    c"lwt_rust.call_attach",
    c"lwt_rust.describe_exn",
    c"lwt_rust.rust_stream",
    c"lwt_rust.failed_stream",
    c"lwt_rust.stream_next",
    c"lwt_rust.is_returned",
    c"lwt_rust.failure",
    c"lwt_rust.interrupted_promise",
    c"lwt_rust.interrupted_stream",
    c"lwt_rust.interrupted_exception",
];

/// What differs between the OCaml side's description and this crate's, if anything.
fn differences(protocol: i64, failures: i64, stats: i64) -> Vec<String> {
    let mut found = Vec::new();
    if protocol != PROTOCOL {
        found.push(format!("protocol {protocol} against {PROTOCOL}"));
    }
    if failures != FAILURE_KINDS {
        found.push(format!("{failures} failure codes against {FAILURE_KINDS}"));
    }
    if stats != STATS_FIELDS {
        found.push(format!("{stats} stats fields against {STATS_FIELDS}"));
    }
    for name in CALLBACKS {
        // SAFETY: called from OCaml (the runtime lock is held); `name` is NUL-terminated.
        if unsafe { ocaml::sys::caml_named_value(name.as_ptr()) }.is_null() {
            found.push(format!(
                "callback {} not registered",
                name.to_string_lossy()
            ));
        }
    }
    found
}

/// `lwt_rust_handshake : int -> string -> int -> int -> string option`: `None` when the OCaml
/// library (protocol, version, number of failure codes, of stats fields) and this crate match,
/// else the message of `Lwt_rust.Setup_failed`.
#[ocaml::func]
#[ocaml::sig("int -> string -> int -> int -> string option")]
pub fn lwt_rust_handshake(
    protocol: ocaml::Int,
    version: String,
    failures: ocaml::Int,
    stats: ocaml::Int,
) -> Option<String> {
    let found = differences(protocol as i64, failures as i64, stats as i64);
    if found.is_empty() {
        return None;
    }
    Some(format!(
        "the OCaml library lwt_rust {version} (protocol {protocol}) and the Rust crate lwt_rust \
         {VERSION} (protocol {PROTOCOL}) do not match ({}): build the program with the same \
         release of both",
        found.join("; ")
    ))
}
