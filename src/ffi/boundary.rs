//! Everything a stub needs, in one place: containment (the OCaml context, panics caught
//! before they reach an OCaml frame, calls from the wrong thread refused), the values a
//! contained failure becomes, error mapping, and argument checks. Used by the exported stubs
//! of this crate, by `#[lwt_rust::func]`'s generated code, and by hand-written stubs.
//!
//! Invariants:
//! - a stub body runs only on the owner thread, inside an `Entered` frame (see `runtime`); off it, the body
//!   does not run and the stub returns its fallback (or a promise / stream rejected with
//!   `Lwt_rust.Wrong_thread`, or a synchronous stub raises it), touching none of the bridge's
//!   state;
//! - no panic leaves a function of this module: a panic in the body becomes the fallback, a
//!   rejected promise / failing stream or a raised exception, and a failure to make that value
//!   (an asynchronous exception, twice in a row) falls back to one made at initialisation;
//! - an OCaml value a stub returns (or raises) is rooted across the exit of its frame whenever
//!   that exit calls OCaml (to run or schedule a drain), which could move it;
//! - only [`sync_stub`] raises an OCaml exception, from the stub itself, after every Rust value
//!   of the body was dropped and the frame left: the raise jumps over no frame that would run
//!   a destructor, and the failure belongs to the call that raised it.

use std::panic::{catch_unwind, AssertUnwindSafe};

use ocaml::Raw;
use ocaml_interop::ToOCaml;

use crate::runtime::{self, assert_may_call_ocaml, wrong_thread_message, Entered, Forwarded};
use crate::values::callbacks::{self, FailureKind};
use crate::values::conv::{ArgError, OCamlRepr, Opaque};
use crate::values::error::Error;
use crate::values::panic_report::panic_message;
use crate::values::root::Root;

use crate::values::error::fitting;
use crate::values::error::into_error;

/// Runs a stub body in the OCaml context, containing panics: a panic is reported on stderr
/// and `fallback` is returned to OCaml instead.
///
/// `R` must not be a raw OCaml pointer: leaving the guard may call OCaml (to schedule a
/// drain), which can move heap values. Immediates (`UNIT`) and Rust values that ocaml-rs
/// converts after the guard returns are fine; stubs returning a promise use
/// [`lwt_stub`], which roots it.
///
/// Off the owner thread the body does not run: `fallback` is returned (the OCaml library checks
/// the thread first where a caller must be told).
pub(crate) fn guard<R>(fallback: R, body: impl FnOnce() -> R) -> R {
    guard_or_forward(fallback, || None, body)
}

/// [`guard`] for the stubs Lwt may run on any thread: off the owner thread, the event
/// `forward` makes (if any) is handed to the owner thread instead of running `body`.
pub(crate) fn guard_or_forward<R>(
    fallback: R,
    forward: impl FnOnce() -> Option<Forwarded>,
    body: impl FnOnce() -> R,
) -> R {
    let Some(_entered) = Entered::new() else {
        if let Some(event) = forward() {
            runtime::forward_to_owner(event);
        }
        return fallback;
    };
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(r) => r,
        Err(panic) => {
            eprintln!("lwt_rust: panic in a stub: {}", panic_message(&panic));
            fallback
        }
    }
}

pub(crate) const UNIT: Raw = Raw(ocaml::sys::UNIT);

/// The value of an OCaml `int` argument (an immediate: reading it touches no memory).
pub(crate) fn int_arg(raw: Raw) -> i64 {
    // SAFETY: the stubs pass only `int` arguments here, immediates whose value is in the
    // word itself.
    unsafe { ocaml::sys::int_val(raw.0) as i64 }
}

/// A promise rejected with `Invalid_argument message`: what a stub returns when an argument
/// fails its [`OCamlRepr`] check.
///
/// # Panics
/// Outside the OCaml context, or inside [`with_runtime`](crate::runtime::with_runtime) (it allocates on the OCaml heap).
pub fn invalid_argument(message: &str) -> ocaml::Raw {
    refused_argument("", ArgError::WrongType(message.to_owned()))
}

/// Runs a stub body that returns an `'a Lwt.t`, in the OCaml context, containing panics: a
/// panic (in argument conversion, say) gives a promise rejected with `Lwt_rust.Rust_panic`.
/// Every exported function returning a promise should be wrapped in it; `#[lwt_rust::func]`
/// does so.
///
/// Called from a thread other than the owner thread (an OCaml systhread, another domain), the
/// body does not run and the promise is rejected with `Lwt_rust.Wrong_thread`.
pub fn lwt_stub(body: impl FnOnce() -> ocaml::Raw) -> ocaml::Raw {
    contained_stub(
        body,
        // SAFETY: `contained_stub` calls this with the runtime lock held (OCaml called the
        // stub) and touching none of the bridge's thread-local state; returned at once.
        |kind, message| unsafe { ocaml::Raw(callbacks::rejected_promise(kind, message)) },
        // SAFETY: as above.
        || unsafe { ocaml::Raw(callbacks::interrupted_promise()) },
    )
}

/// What a stub hands OCaml: the value it returns, or (a synchronous stub only) an exception
/// to raise. Raw words only: nothing to drop.
#[derive(Clone, Copy)]
struct Outcome {
    value: ocaml::Raw,
    raise: bool,
}

impl Outcome {
    fn value(value: ocaml::Raw) -> Self {
        Outcome {
            value,
            raise: false,
        }
    }

    fn raise(exception: ocaml::Raw) -> Self {
        Outcome {
            value: exception,
            raise: true,
        }
    }
}

/// Runs `body` in the OCaml context as a stub returning an OCaml value (a promise or a
/// stream), keeping the value rooted if leaving the stub calls OCaml. What fails is reported
/// through `fail` (which makes the value from the failure's kind and message): a call from
/// another thread (the body does not run), a panic (its message). If `fail` itself cannot
/// complete (an asynchronous exception interrupts it twice in a row), `last_resort` gives a
/// value made in advance, which allocates nothing; no panic ever leaves this function.
///
/// Inlined into the stub (each stub has its own `body`, so this is no copy): called, it
/// would take the stub's arguments in memory, one store and one load each.
#[inline(always)]
fn contained_stub(
    body: impl FnOnce() -> ocaml::Raw,
    fail: impl Fn(FailureKind, &str) -> ocaml::Raw,
    last_resort: impl Fn() -> ocaml::Raw,
) -> ocaml::Raw {
    contained(
        || Ok(Outcome::value(body())),
        |kind, message| Outcome::value(fail(kind, message)),
        || Outcome::value(last_resort()),
    )
    .value
}

/// [`contained_stub`] for any [`Outcome`]: `body` may also fail with a kind and a message,
/// which `fail` turns into the outcome as it does a panic's. The outcome's value (returned or
/// raised) is rooted across the exit of the frame when that exit calls OCaml.
///
/// Inlined into the stub, as [`contained_stub`].
#[inline(always)]
fn contained(
    body: impl FnOnce() -> Result<Outcome, (FailureKind, String)>,
    fail: impl Fn(FailureKind, &str) -> Outcome,
    last_resort: impl Fn() -> Outcome,
) -> Outcome {
    let failed = |kind: FailureKind, message: &str| {
        catch_unwind(AssertUnwindSafe(|| fail(kind, message)))
            .or_else(|_| catch_unwind(AssertUnwindSafe(|| fail(kind, message))))
            .unwrap_or_else(|_| last_resort())
    };
    let Some(entered) = Entered::new() else {
        // Off the owner thread: the runtime lock is held (OCaml called us), but none of the
        // bridge's state may be touched.
        return failed(
            FailureKind::WrongThread,
            &wrong_thread_message("a Rust function of lwt_rust"),
        );
    };
    let outcome = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(outcome)) => outcome,
        Ok(Err((kind, message))) => failed(kind, &message),
        Err(panic) => failed(FailureKind::Panic, &panic_message(&panic)),
    };
    if entered.exit_calls_ocaml() {
        // Leaving the stub will call OCaml (to schedule a drain), which may move the value:
        // keep it rooted across that call.
        // SAFETY: OCaml context; the value was made with nothing allocated since.
        let rooted: Root<Opaque> = unsafe { Root::from_raw(outcome.value.0) };
        drop(entered);
        Outcome {
            // SAFETY: still inside the stub (the runtime lock is held); handed to OCaml at
            // once, with nothing allocated before.
            value: ocaml::Raw(unsafe { rooted.raw() }),
            raise: outcome.raise,
        }
    } else {
        outcome
    }
}

fn failed_stream(kind: FailureKind, message: &str) -> ocaml::Raw {
    // SAFETY: the runtime lock is held (callers are stubs, or run inside one) and no bridge
    // state is touched; the result goes straight back to OCaml.
    ocaml::Raw(unsafe { callbacks::failing_stream(kind, message) })
}

/// Runs a stub body that returns an `'a Lwt_stream.t`, in the OCaml context, containing
/// panics: a panic gives a stream whose first read fails with `Lwt_rust.Rust_panic`. The
/// stream counterpart of [`lwt_stub`]; `#[lwt_rust::func(stream)]` uses it.
/// Called from a thread other than the owner thread, the body does not run and the stream's
/// first read fails with `Lwt_rust.Wrong_thread`; once the bridge is shut down, the body does
/// not run either (a plain `fn` returning a stream runs user code to build it) and the first
/// read fails with `Lwt_rust.Shut_down`.
pub fn stream_stub(body: impl FnOnce() -> ocaml::Raw) -> ocaml::Raw {
    contained_stub(
        || {
            if runtime::is_shut_down() {
                failed_stream(FailureKind::ShutDown, "")
            } else {
                body()
            }
        },
        failed_stream,
        // SAFETY: the runtime lock is held (a stub); returned to OCaml at once.
        || unsafe { ocaml::Raw(callbacks::interrupted_stream()) },
    )
}

/// Why a synchronous stub failed: the exception its call raises (see [`sync_stub`]).
///
/// Lives on the thread of the stub that made it (`!Send`: it may hold a root of an OCaml
/// exception, made on the owner thread only).
pub struct SyncFailure(Pending);

enum Pending {
    /// Raise the exception of `FailureKind` with this message.
    Failure(FailureKind, String),
    /// Raise this OCaml exception, the same value (owner thread only: it is rooted).
    OCaml(crate::values::error::OCamlError),
}

impl SyncFailure {
    /// The failure of `kind`, carrying `message`.
    pub(crate) fn of_kind(kind: FailureKind, message: String) -> Self {
        SyncFailure(Pending::Failure(kind, message))
    }
}

impl From<ArgError> for SyncFailure {
    fn from(err: ArgError) -> Self {
        let (kind, message) = refusal(err);
        SyncFailure(Pending::Failure(kind, message))
    }
}

impl From<Error> for SyncFailure {
    fn from(err: Error) -> Self {
        SyncFailure(match err {
            Error::OCaml(exn) => Pending::OCaml(exn),
            Error::Rust(message) => Pending::Failure(FailureKind::Error, message),
        })
    }
}

/// Runs the body of a stub of a synchronous Rust function (an ordinary OCaml function in the
/// generated bindings), in the OCaml context, containing panics, and returns its `Ok` value to
/// OCaml. Any failure (`Err`, a panic, a call from another thread: the body does not run then)
/// is raised as an OCaml exception by this very call, once every Rust value of the body has
/// been dropped and the stub frame left: the failure travels with the call that failed, so
/// nothing that runs between two calls (a signal handler, a finaliser calling Rust) can lose,
/// replace or misattribute it.
///
/// # Safety
/// Call it as the whole body of an `extern "C"` function that OCaml calls as an `external`
/// (not `[@@noalloc]`), with no other value alive in that function: a failure leaves that
/// function by an OCaml raise, which returns through none of the calling C or Rust frames
/// and runs no destructor there. `#[lwt_rust::func]` and `#[lwt_rust::object]` write their
/// synchronous stubs that way.
///
/// After `Lwt_rust.shutdown` the body does not run: the call raises `Lwt_rust.Shut_down`, as
/// an asynchronous function's promise is rejected with it (a constructor would otherwise
/// return an object that holds nothing).
pub unsafe fn sync_stub(body: impl FnOnce() -> Result<ocaml::Raw, SyncFailure>) -> ocaml::Raw {
    // SAFETY: the caller's contract is the same as `raising_stub`'s.
    unsafe { raising_stub(true, body) }
}

/// The stub of an object's `close` (`#[lwt_rust::object]` makes it): [`sync_stub`] running
/// `close_object`, which stays allowed after shutdown (closing a released value does
/// nothing).
///
/// # Safety
/// As [`sync_stub`]'s: the whole body of the `extern "C"` close stub.
pub unsafe fn close_stub<T: crate::values::object::Object>(value: ocaml::Raw) -> ocaml::Raw {
    // SAFETY: the caller's contract is the same as `raising_stub`'s.
    unsafe { raising_stub(false, move || close_object::<T>(value)) }
}

/// [`sync_stub`], refusing the body after shutdown if asked.
///
/// # Safety
/// As [`sync_stub`]'s: its caller is the whole body of an `extern "C"` stub, and so is this
/// call in its caller (nothing alive in either frame).
#[inline(always)]
unsafe fn raising_stub(
    refuse_after_shutdown: bool,
    body: impl FnOnce() -> Result<ocaml::Raw, SyncFailure>,
) -> ocaml::Raw {
    let outcome = sync_outcome(move || body_unless_shut_down(refuse_after_shutdown, body));
    if outcome.raise {
        // SAFETY: OCaml called the stub whose whole body this is (the caller's contract), so
        // the runtime lock is held and an OCaml exception handler is in place; `outcome.value`
        // is an exception value made (or read from its root) with nothing allocated since.
        // Nothing alive in this frame or the stub's needs dropping: `body` was consumed, and
        // the outcome is two words.
        unsafe {
            ocaml::sys::caml_raise(outcome.value.0);
            // `caml_raise` does not return (ocaml-sys declares it returning `()`).
            std::hint::unreachable_unchecked()
        }
    }
    outcome.value
}

/// The outcome of a synchronous stub's body: its value, or the exception to raise, made in
/// the stub frame (an exception from a kind and a message is built in Rust from the
/// constructor registered for the kind, calling no OCaml: the failure reaches OCaml in the one
/// crossing of the call; should building it panic, twice, a `Rust_panic` made at
/// initialisation). Every Rust value of the body is dropped when it returns.
fn sync_outcome(body: impl FnOnce() -> Result<ocaml::Raw, SyncFailure>) -> Outcome {
    contained(
        || match body() {
            Ok(value) => Ok(Outcome::value(value)),
            Err(SyncFailure(Pending::Failure(kind, message))) => Err((kind, message)),
            Err(SyncFailure(Pending::OCaml(exn))) => {
                // SAFETY: OCaml context (a stub frame: the root was made here); read from its
                // root, then the root is dropped, which allocates nothing on the OCaml heap,
                // and `contained` roots the value again if leaving the frame calls OCaml.
                Ok(Outcome::raise(ocaml::Raw(unsafe { exn.exception().raw() })))
            }
        },
        |kind, message| {
            // SAFETY: `contained` calls this with the runtime lock held (OCaml called the
            // stub), touching none of the bridge's thread-local state; the exception is raised
            // at once.
            let exception = unsafe { callbacks::failure_exception(kind, message) };
            Outcome::raise(ocaml::Raw(exception))
        },
        // SAFETY: as above.
        || Outcome::raise(ocaml::Raw(unsafe { callbacks::interrupted_exception() })),
    )
}

fn body_unless_shut_down(
    refuse_after_shutdown: bool,
    body: impl FnOnce() -> Result<ocaml::Raw, SyncFailure>,
) -> Result<ocaml::Raw, SyncFailure> {
    if refuse_after_shutdown && runtime::is_shut_down() {
        return Err(SyncFailure(Pending::Failure(
            FailureKind::ShutDown,
            String::new(),
        )));
    }
    body()
}

/// The failure an argument refused by [`from_ocaml_checked`](crate::values::conv::from_ocaml_checked)
/// becomes: `Invalid_argument`, or `Lwt_rust.Closed` for a closed object (`Shut_down` once the
/// bridge is shut down, which released every object).
fn refusal(err: ArgError) -> (FailureKind, String) {
    match err {
        ArgError::WrongType(message) => (FailureKind::InvalidArgument, message),
        ArgError::Closed(_) if runtime::is_shut_down() => (FailureKind::ShutDown, String::new()),
        ArgError::Closed(module) => (FailureKind::Closed, module.to_owned()),
    }
}

/// What a promise stub returns for a refused argument: a promise rejected with
/// `Invalid_argument "<context>: <why>"`, or `Lwt_rust.Closed` / `Shut_down` (see
/// [`ArgError`]). `#[lwt_rust::func]` and `#[lwt_rust::object]` call it.
///
/// # Panics
/// Outside the OCaml context, or inside [`with_runtime`](crate::runtime::with_runtime).
pub fn refused_argument(context: &str, err: ArgError) -> ocaml::Raw {
    assert_may_call_ocaml("lwt_rust::__private::refused_argument");
    let (kind, message) = refusal(in_context(context, err));
    // SAFETY: OCaml context (checked); the result goes straight back to OCaml.
    ocaml::Raw(unsafe { callbacks::rejected_promise(kind, &message) })
}

/// [`refused_argument`] for a stream stub: the stream's first read fails.
///
/// # Panics
/// As [`refused_argument`].
pub fn refused_argument_stream(context: &str, err: ArgError) -> ocaml::Raw {
    assert_may_call_ocaml("lwt_rust::__private::refused_argument_stream");
    let (kind, message) = refusal(in_context(context, err));
    failed_stream(kind, &message)
}

/// [`refused_argument`] for a synchronous stub.
pub fn refused_argument_sync(context: &str, err: ArgError) -> SyncFailure {
    SyncFailure::from(in_context(context, err))
}

fn in_context(context: &str, err: ArgError) -> ArgError {
    match err {
        ArgError::WrongType(message) => ArgError::WrongType(format!("{context}{message}")),
        closed => closed,
    }
}

/// The value a synchronous stub returns for `value`: converted to OCaml, after checking that
/// it fits its OCaml type.
pub fn sync_value<T>(value: T) -> Result<ocaml::Raw, SyncFailure>
where
    T: OCamlRepr + ToOCaml<T::Marker>,
{
    let value = fitting(value)?;
    Ok(runtime::with_runtime(|cr| {
        // SAFETY: the value was just made; the stub returns it to OCaml (rooted by
        // `contained_stub` if leaving the stub calls OCaml).
        ocaml::Raw(unsafe { value.to_ocaml(cr).raw() })
    }))
}

/// [`sync_value`] for a function returning `Result<T, E>`: `Err` raises the same OCaml
/// exception if `E` is [`Error`] or an OCaml error, `Lwt_rust.Rust_error` with `E`'s
/// `Display` text otherwise.
pub fn sync_result<T, E>(result: Result<T, E>) -> Result<ocaml::Raw, SyncFailure>
where
    T: OCamlRepr + ToOCaml<T::Marker>,
    E: std::fmt::Display + 'static,
{
    sync_value(result.map_err(into_error)?)
}

/// The body of an object's `close` stub (`#[lwt_rust::object]` makes it): marks the object
/// closed and drops this OCaml value's hold on it, at once (its destructor runs here, on the
/// owner thread, if nothing else holds it). Closing again does nothing.
pub fn close_object<T: crate::values::object::Object>(
    value: ocaml::Raw,
) -> Result<ocaml::Raw, SyncFailure> {
    // SAFETY: called by a stub body (`sync_stub`: owner thread, runtime lock held) with its
    // argument, before anything allocates.
    match unsafe { crate::values::object::close::<T>(value.0) } {
        Ok(()) => Ok(UNIT),
        Err(message) => Err(SyncFailure::from(ArgError::WrongType(message))),
    }
}
