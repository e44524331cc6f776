//! Internals that the repository's own test crate (`testlib/`, `lwt_rust_testlib`) needs to
//! write stubs by hand and to look inside the bridge. Not part of the API: hidden from the
//! documentation, with no stability promise. Everything a user needs is public elsewhere.

use ocaml::sys::Value as RawOCaml;

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
