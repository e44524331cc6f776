//! `lwt_rust::__private`: the one namespace the code `#[lwt_rust::func]` and
//! `#[lwt_rust::object]` generate calls, plus what the repository's own test crate
//! (`testlib/`, `lwt_rust_testlib`) needs to write stubs by hand and to look inside the
//! bridge. Not part of the API: hidden from the documentation, with no stability promise.
//! Everything a user needs is public in the crate root.
//!
//! The macro names these items, and only these, as `::lwt_rust::__private::NAME`: a name
//! removed or renamed here breaks every crate the macro expanded in.

use ocaml::sys::Value as RawOCaml;

// What every generated stub goes through: containment, results, argument refusals.
pub use crate::ffi::boundary::{
    close_stub, invalid_argument, lwt_stub, refused_argument, refused_argument_stream,
    refused_argument_sync, stream_stub, sync_result, sync_stub, sync_value,
};
// A generated stub's error, whatever its type, as the error crossing to OCaml.
pub use crate::values::error::into_error;
// Argument checks and conversions.
pub use crate::values::conv::{from_ocaml_checked, ArgError, OCamlRepr};
// A generated `async fn` stub's future and stream, surfaced to OCaml.
pub use crate::rust_to_ocaml::future::{spawn_result, spawn_value};
pub use crate::rust_to_ocaml::stream::stream_result;
// `#[lwt_rust::object]`: the object's storage, its operations and the receiver of a method.
pub use crate::values::object::{receiver, Lease, Obj, Object, ObjectOps};
// Synchronous stubs reach the OCaml runtime through this.
pub use crate::runtime::with_runtime;
// `#[lwt_rust::func(blocking)]` runs its body with this.
pub use crate::threads::blocking::run as run_blocking;
// The crates generated code names.
pub use {futures, ocaml};

use crate::ocaml_to_rust::promise::Promise;
use crate::values::root::Root;

/// Attaches a raw `'a Lwt.t` argument of a hand-written stub as a [`Promise`].
///
/// # Safety
/// OCaml context (inside a stub); `raw` is a valid `'a Lwt.t` read after the last
/// allocation.
pub unsafe fn attach_promise<T: 'static>(raw: RawOCaml) -> Promise<T> {
    // SAFETY: the caller's contract is `attach_raw`'s.
    unsafe { Promise::attach_raw(raw) }
}

/// Roots a raw value of a hand-written stub.
///
/// # Safety
/// The runtime lock is held and `raw` is a valid OCaml value of type `T`, read after the last
/// allocation.
pub unsafe fn root_from_raw<T: 'static>(raw: RawOCaml) -> Root<T> {
    // SAFETY: the caller's contract is `from_raw`'s.
    unsafe { Root::from_raw(raw) }
}

/// Runs the body of a synchronous stub in the OCaml context, containing panics (`fallback`
/// is returned then). `R` must not be a raw OCaml pointer.
pub fn guard<R>(fallback: R, body: impl FnOnce() -> R) -> R {
    crate::ffi::boundary::guard(fallback, body)
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    crate::values::panic_report::payload_text(payload)
}

/// Calls an OCaml closure with one argument: `Err` carries the exception it raised.
///
/// # Safety
/// OCaml context; both values are valid, read after the last allocation.
pub unsafe fn call1(closure: RawOCaml, arg: RawOCaml) -> Result<RawOCaml, RawOCaml> {
    // SAFETY: the caller's contract is `call1`'s.
    unsafe { crate::values::callbacks::call1(closure, arg) }
}

/// The failure of the `index`-th kind of the protocol table (`src/values/protocol.txt`),
/// carrying `message`, or `None` past the last: what a synchronous stub raises, for the test
/// crate's check that each kind is its own exception.
pub fn failure_of_kind(index: usize, message: String) -> Option<crate::ffi::boundary::SyncFailure> {
    let kind = *crate::values::protocol::FailureKind::ALL.get(index)?;
    Some(crate::ffi::boundary::SyncFailure::of_kind(kind, message))
}

/// Whether ready calls build their `Lwt.return` block themselves (the start-up probe of the
/// layout passed).
pub fn direct_return() -> bool {
    crate::rust_to_ocaml::direct_return::enabled()
}

/// The raw value a [`Root`] holds.
///
/// # Safety
/// The runtime lock is held; the value is valid until the next allocation.
pub unsafe fn root_raw<T: 'static>(root: &Root<T>) -> RawOCaml {
    // SAFETY: the caller's contract is `raw`'s.
    unsafe { root.raw() }
}
