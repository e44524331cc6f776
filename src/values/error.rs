//! Errors crossing the bridge.
//!
//! An [`OCamlError`] holds the OCaml exception itself (rooted), so that Rust can hand the very
//! same value back to OCaml, plus its `Printexc.to_string` form for Rust-side messages.
//! Lives on the OCaml thread (`!Send`: it holds a root).

use std::fmt;

use ocaml_interop::OCamlException;

use ocaml::sys::Value as RawOCaml;

use crate::values::callbacks;
use crate::values::conv::OCamlRepr;
use crate::values::root::Root;

/// An OCaml exception seen by Rust: raised by an OCaml callback, or carried by a rejected
/// promise.
pub struct OCamlError {
    exn: Root<OCamlException>,
    message: String,
}

impl OCamlError {
    pub(crate) fn new(exn: Root<OCamlException>, message: String) -> Self {
        OCamlError { exn, message }
    }

    /// The exception `exn`, rooted, with its `Printexc.to_string` text: the one conversion of
    /// an OCaml exception to Rust (a rejected awaited promise, a raising closure, a failing
    /// stream).
    ///
    /// # Safety
    /// OCaml context; `exn` is a valid exception value read after the last allocation.
    pub(crate) unsafe fn from_raw(exn: RawOCaml) -> Self {
        // SAFETY: the caller's contract; rooting allocates nothing on the OCaml heap.
        let exn: Root<OCamlException> = unsafe { Root::from_raw(exn) };
        // SAFETY: OCaml context; the exception is read from its root right before the call.
        let message = unsafe { callbacks::describe_exn(exn.raw()) };
        OCamlError { exn, message }
    }

    /// The exception, rooted.
    pub fn exception(&self) -> &Root<OCamlException> {
        &self.exn
    }

    /// The exception as `Printexc.to_string` printed it.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Debug for OCamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OCamlError({})", self.message)
    }
}

impl fmt::Display for OCamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OCaml exception: {}", self.message)
    }
}

impl std::error::Error for OCamlError {}

/// Why a Rust task surfaced to OCaml failed; decides the exception its promise is rejected
/// with.
#[derive(Debug)]
pub enum Error {
    /// Re-raise this OCaml exception, the same value (matchable by constructor and payload).
    OCaml(OCamlError),
    /// Reject with `Lwt_rust.Rust_error message`.
    Rust(String),
}

impl Error {
    /// A Rust-side error, surfaced as `Lwt_rust.Rust_error` with `err`'s `Display` text.
    pub fn rust(err: impl fmt::Display) -> Self {
        Error::Rust(err.to_string())
    }
}

impl From<OCamlError> for Error {
    fn from(err: OCamlError) -> Self {
        Error::OCaml(err)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::OCaml(e) => e.fmt(f),
            Error::Rust(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for Error {}

/// `value`, if it fits its OCaml type ([`OCamlRepr::check_fits`]); else a `Rust_error` saying
/// what does not, rather than a silently truncated value.
pub fn fitting<T: OCamlRepr>(value: T) -> Result<T, Error> {
    value.check_fits().map(|()| value).map_err(Error::Rust)
}

/// Maps any displayable error to an [`Error`], keeping OCaml exceptions as they are.
pub fn into_error<E: std::fmt::Display + 'static>(err: E) -> Error {
    let mut slot = Some(err);
    let any = &mut slot as &mut dyn std::any::Any;
    if let Some(err) = any.downcast_mut::<Option<Error>>() {
        return err.take().expect("present");
    }
    if let Some(err) = any.downcast_mut::<Option<OCamlError>>() {
        return Error::OCaml(err.take().expect("present"));
    }
    Error::rust(slot.expect("present"))
}
