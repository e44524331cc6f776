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
//! apart. What is compared comes from one table, `src/values/protocol.txt`, from which both
//! halves are generated: bump its `protocol` row with any change to what crosses between the
//! halves (a callback's name or type, a failure kind, the stats layout, the layout of a value
//! one side builds and the other reads).

use crate::values::protocol::{self, FailureKind, CALLBACK_NAMES};

/// The protocol this crate speaks (`protocol` in `src/values/protocol.txt`).
pub const PROTOCOL: i64 = protocol::PROTOCOL;

/// This crate's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Kinds of failure (`callbacks::FailureKind`), each an exception `lib/lwt_rust.ml` registers.
pub const FAILURE_KINDS: i64 = FailureKind::ALL.len() as i64;

/// Fields of the stats array (`lwt_rust_stats` in `stubs.rs`; `Lwt_rust.stats`).
pub const STATS_FIELDS: i64 = protocol::STATS_FIELDS as i64;

/// What differs between the OCaml side's description and this crate's, if anything.
fn differences(protocol: i64, failures: i64, stats: i64) -> Vec<String> {
    let mut found = Vec::new();
    if protocol != PROTOCOL {
        found.push(format!("protocol {protocol} against {PROTOCOL}"));
    }
    if failures != FAILURE_KINDS {
        found.push(format!("{failures} failure kinds against {FAILURE_KINDS}"));
    }
    if stats != STATS_FIELDS {
        found.push(format!("{stats} stats fields against {STATS_FIELDS}"));
    }
    let exceptions = FailureKind::ALL.map(FailureKind::registered_name);
    for name in CALLBACK_NAMES.iter().chain(&exceptions) {
        // SAFETY: called from OCaml (the runtime lock is held); `name` is NUL-terminated.
        if unsafe { ocaml::sys::caml_named_value(name.as_ptr()) }.is_null() {
            found.push(format!("{} not registered", name.to_string_lossy()));
        }
    }
    found
}

/// `lwt_rust_handshake : int -> string -> int -> int -> string option`: `None` when the OCaml
/// library (protocol, version, number of failure kinds, of stats fields) and this crate match,
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
