//! A future's outcome and what it becomes in OCaml, shared by the two places that settle a
//! promise: `spawn` (an outcome available on the first poll) and a task (later).
//!
//! Invariants: a panic in a poll, a destructor or a conversion is caught here and becomes a
//! `Rust_panic`; everything here runs on the OCaml thread, in the OCaml context.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use ocaml::sys::Value as RawOCaml;
use ocaml_interop::ToOCaml;

use crate::rust_to_ocaml::direct_return;
use crate::values::callbacks::{self, FailureKind};
use crate::values::error::{Error, OCamlError};
use crate::values::panic_report::{panic_message, Panic};

/// A future's output, or the panic of its poll.
pub(super) type Outcome<T> = Result<Result<T, Error>, Panic>;

/// Polls `future`, catching a panic (it comes back as `Ready(Err(panic))`).
#[inline]
pub(super) fn poll_contained<F: Future>(
    future: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Poll<Result<F::Output, Panic>> {
    match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
        Ok(Poll::Pending) => Poll::Pending,
        Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
        Err(panic) => Poll::Ready(Err(panic)),
    }
}

/// What an outcome becomes in OCaml: the one mapping shared by a promise settled at once
/// ([`ready_promise`]) and a resolver woken later (a task's `settle`).
pub(super) enum Settlement<V> {
    /// The value, converted (a panic while converting is a `Rust_panic`).
    Value(V),
    /// The OCaml exception the future returned: re-raised as the very same value.
    Exception(OCamlError),
    /// A failure the bridge names (`Rust_error`, `Rust_panic`), with its message.
    Failure(FailureKind, String),
}

impl<V> Settlement<V> {
    /// Maps `outcome`, converting a value with `convert`, whose panic is contained.
    pub(super) fn of<T>(outcome: Outcome<T>, convert: impl FnOnce(T) -> V) -> Self {
        match outcome {
            Ok(Ok(value)) => match catch_unwind(AssertUnwindSafe(|| convert(value))) {
                Ok(value) => Settlement::Value(value),
                Err(panic) => Settlement::Failure(FailureKind::Panic, panic_message(&panic)),
            },
            Ok(Err(Error::OCaml(err))) => Settlement::Exception(err),
            Ok(Err(Error::Rust(msg))) => Settlement::Failure(FailureKind::Error, msg),
            Err(panic) => Settlement::Failure(FailureKind::Panic, panic_message(&panic)),
        }
    }
}

/// A settled promise for an outcome available at once.
///
/// # Safety
/// OCaml context, with the runtime handle not lent (`spawn` asserts both): the handle is
/// recovered here without `with_runtime`'s checks, which `spawn` has just made.
#[inline(never)]
pub(super) unsafe fn ready_promise<O, T: ToOCaml<O>>(outcome: Outcome<T>) -> RawOCaml {
    // SAFETY: the caller guarantees the OCaml context (runtime lock held) and that no other
    // `&mut OCamlRuntime` is alive in this stub frame; this one lives until the return.
    // (Not `with_runtime`, whose checks `spawn` has just made, on the hot path of a ready call;
    // ocaml-interop has no public way to get the handle inside a stub, see `with_runtime`.)
    let cr = unsafe { ocaml_interop::internal::recover_runtime_handle_mut() };
    // SAFETY: OCaml context (the caller's contract); the value is passed to OCaml below right
    // after `to_ocaml` made it, with no allocation in between.
    let settlement = Settlement::of(outcome, |value| unsafe { value.to_ocaml(cr).raw() });
    // Every arm: OCaml context (the caller's contract); each value is passed to OCaml right
    // after it is made or read from its root, with no allocation in between.
    match settlement {
        // SAFETY: see above.
        Settlement::Value(value) => unsafe { direct_return::lwt_return(value) },
        // SAFETY: see above; the exception is read from its root for the call.
        Settlement::Exception(err) => unsafe { callbacks::lwt_fail(err.exception().raw()) },
        // SAFETY: see above.
        Settlement::Failure(kind, msg) => unsafe { callbacks::rejected_promise(kind, &msg) },
    }
}

/// A panic while dropping the future turns a success into a `Rust_panic`.
#[inline(always)]
pub(super) fn merge<T>(outcome: Outcome<T>, drop_panic: Option<Panic>) -> Outcome<T> {
    match (outcome, drop_panic) {
        (Ok(_), Some(panic)) => Err(panic),
        (outcome, _) => outcome,
    }
}

/// Drops a future, returning the panic its destructor raised, if any.
pub(super) fn drop_contained<F>(future: Option<F>) -> Option<Panic> {
    catch_unwind(AssertUnwindSafe(|| drop(future))).err()
}
