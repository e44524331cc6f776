//! What crosses between the OCaml library and this crate, generated from one table,
//! `src/values/protocol.txt` (by `build.rs`; `lib/protocol.ml` is generated from the same
//! table for the OCaml side): the protocol number, the OCaml functions Rust calls
//! ([`Callbacks`], looked up in `callbacks`), the kinds of failure and the OCaml exception each
//! is ([`FailureKind`], built by `callbacks::failure_exception`), and the layout of the stats
//! array ([`StatsRow`]). A row changed in the table changes both sides; a side that does not
//! follow fails to build (a callback or a stats field unused or missing), and the start-up
//! handshake refuses two halves built from different tables.

include!(concat!(env!("OUT_DIR"), "/protocol.rs"));
