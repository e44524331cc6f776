//! Everything a stub needs, in one place: containment (the OCaml context, panics caught
//! before they reach an OCaml frame, calls from the wrong thread refused), the values a
//! contained failure becomes, error mapping, and argument checks. Used by the exported stubs
//! of this crate, by `#[lwt_rust::func]`'s generated code, and by hand-written stubs.
//!
//! Invariants:
//! - a stub body runs only on the owner thread, inside an `Entered` frame (see `runtime`); off it, the body
//!   does not run and the stub returns its fallback (or a promise / stream rejected with
//!   `Lwt_rust.Wrong_thread`), touching none of the bridge's state;
//! - no panic leaves a function of this module: a panic in the body becomes the fallback or a
//!   rejected promise / failing stream, and a failure to make that value (an asynchronous
//!   exception, twice in a row) falls back to one made at initialisation;
//! - an OCaml value a stub returns is rooted across the exit of its frame whenever that exit
//!   calls OCaml (to run or schedule a drain), which could move it.

use std::panic::{catch_unwind, AssertUnwindSafe};

use ocaml::Raw;
use ocaml_interop::ToOCaml;

use crate::callbacks::{self, FailureKind};
use crate::conv::{ArgError, OCamlRepr, Opaque};
use crate::error::Error;
use crate::panic_report::panic_message;
use crate::root::Root;
use crate::runtime::{self, assert_may_call_ocaml, wrong_thread_message, Entered, Forwarded};

pub use crate::error::{fitting, into_error};

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

/// Runs `body` in the OCaml context as a stub returning an OCaml value (a promise or a
/// stream), keeping the value rooted if leaving the stub calls OCaml. What fails is reported
/// through `fail` (which makes the value from the failure's kind and message): a call from
/// another thread (the body does not run), a panic (its message). If `fail` itself cannot
/// complete (an asynchronous exception interrupts it twice in a row), `last_resort` gives a
/// value made in advance, which allocates nothing; no panic ever leaves this function.
fn contained_stub(
    body: impl FnOnce() -> ocaml::Raw,
    fail: impl Fn(FailureKind, &str) -> ocaml::Raw,
    last_resort: impl Fn() -> ocaml::Raw,
) -> ocaml::Raw {
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
    let value = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(panic) => failed(FailureKind::Panic, &panic_message(&panic)),
    };
    if entered.exit_calls_ocaml() {
        // Leaving the stub will call OCaml (to schedule a drain), which may move the value:
        // keep it rooted across that call.
        // SAFETY: OCaml context; `value` was made with nothing allocated since.
        let rooted: Root<Opaque> = unsafe { Root::from_raw(value.0) };
        drop(entered);
        // SAFETY: still inside the stub (the runtime lock is held); returned at once.
        ocaml::Raw(unsafe { rooted.raw() })
    } else {
        value
    }
}

/// A stream whose first read fails with `Invalid_argument message` and which then ends:
/// what a stream stub returns when an argument fails its [`OCamlRepr`] check.
///
/// # Panics
/// Outside the OCaml context, or inside [`crate::runtime::with_runtime`] (it allocates).
pub fn invalid_argument_stream(message: &str) -> ocaml::Raw {
    refused_argument_stream("", ArgError::WrongType(message.to_owned()))
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
/// first read fails with `Lwt_rust.Wrong_thread`.
pub fn stream_stub(body: impl FnOnce() -> ocaml::Raw) -> ocaml::Raw {
    contained_stub(
        body,
        failed_stream,
        // SAFETY: the runtime lock is held (a stub); returned to OCaml at once.
        || unsafe { ocaml::Raw(callbacks::interrupted_stream()) },
    )
}

/// Why a synchronous stub failed: recorded for the calling thread and raised by the OCaml
/// bindings (`Lwt_rust.Bindgen.sync_result`).
///
/// Lives on the thread of the stub that made it (`!Send`: it may hold a root of an OCaml
/// exception, made on the owner thread only); made and recorded with the runtime lock held.
pub struct SyncFailure(Pending);

enum Pending {
    /// Raise the exception of `FailureKind` with this message.
    Failure(FailureKind, String),
    /// Raise this OCaml exception, the same value (owner thread only: it is rooted).
    OCaml(crate::error::OCamlError),
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

thread_local! {
    /// The failure of the last synchronous stub called on this thread, until OCaml takes it.
    static SYNC_FAILURE: std::cell::RefCell<Option<Pending>> = const { std::cell::RefCell::new(None) };
    /// Whether [`SYNC_FAILURE`] holds one (read on every call, without a borrow).
    static SYNC_FAILED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn record_sync_failure(pending: Pending) {
    SYNC_FAILURE.with(|slot| *slot.borrow_mut() = Some(pending));
    SYNC_FAILED.with(|failed| failed.set(true));
}

/// Runs the body of a stub of a synchronous Rust function (an ordinary OCaml function in the
/// generated bindings), in the OCaml context, containing panics. `Ok` is the OCaml value to
/// return; any failure (`Err`, a panic, a call from another thread: the body does not run
/// then) is recorded for this thread, and the stub returns `()`, which the bindings never
/// look at: `Lwt_rust.Bindgen.sync_result` raises the recorded exception instead.
///
/// After `Lwt_rust.shutdown` the body does not run: the call raises `Lwt_rust.Shut_down`, as
/// an asynchronous function's promise is rejected with it (a constructor would otherwise
/// return an object that holds nothing).
pub fn sync_stub(body: impl FnOnce() -> Result<ocaml::Raw, SyncFailure>) -> ocaml::Raw {
    run_sync_stub(true, body)
}

/// The stub of an object's `close` (`#[lwt_rust::object]` makes it): [`sync_stub`] running
/// [`close_object`], which stays allowed after shutdown (closing a released value does
/// nothing).
pub fn close_stub<T: crate::object::Object>(value: ocaml::Raw) -> ocaml::Raw {
    run_sync_stub(false, || close_object::<T>(value))
}

fn run_sync_stub(
    refuse_after_shutdown: bool,
    body: impl FnOnce() -> Result<ocaml::Raw, SyncFailure>,
) -> ocaml::Raw {
    // A failure left by an interrupted caller (an asynchronous exception between the stub and
    // `sync_result`) must not be raised by this call.
    if SYNC_FAILED.with(|failed| failed.replace(false)) {
        SYNC_FAILURE.with(|slot| slot.borrow_mut().take());
    }
    contained_stub(
        || match body_unless_shut_down(refuse_after_shutdown, body) {
            Ok(value) => value,
            Err(SyncFailure(pending)) => {
                record_sync_failure(pending);
                UNIT
            }
        },
        |kind, message| {
            record_sync_failure(Pending::Failure(kind, message.to_owned()));
            UNIT
        },
        || UNIT,
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

/// Whether the last synchronous stub called on this thread failed (`lwt_rust_sync_failed`).
pub(crate) fn sync_failed() -> bool {
    SYNC_FAILED.with(|failed| failed.get())
}

/// The failure code of the recorded failure (`callbacks::FailureKind`), or -1 for an OCaml
/// exception to re-raise as it is; not taken yet.
pub(crate) fn sync_failure_kind() -> i64 {
    SYNC_FAILURE.with(|slot| match &*slot.borrow() {
        Some(Pending::Failure(kind, _)) => *kind as i64,
        Some(Pending::OCaml(_)) => -1,
        None => FailureKind::Panic as i64,
    })
}

/// Takes the recorded failure: its message (empty for an OCaml exception) and, for an OCaml
/// exception, the exception itself.
pub(crate) fn take_sync_failure() -> (String, Option<crate::error::OCamlError>) {
    SYNC_FAILED.with(|failed| failed.set(false));
    match SYNC_FAILURE.with(|slot| slot.borrow_mut().take()) {
        Some(Pending::Failure(_, message)) => (message, None),
        Some(Pending::OCaml(exn)) => (String::new(), Some(exn)),
        None => ("lwt_rust: no failure was recorded".to_owned(), None),
    }
}

/// The failure an argument refused by [`from_ocaml_checked`](crate::conv::from_ocaml_checked)
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
    assert_may_call_ocaml("lwt_rust::boundary::refused_argument");
    let (kind, message) = refusal(in_context(context, err));
    // SAFETY: OCaml context (checked); the result goes straight back to OCaml.
    ocaml::Raw(unsafe { callbacks::rejected_promise(kind, &message) })
}

/// [`refused_argument`] for a stream stub: the stream's first read fails.
///
/// # Panics
/// As [`refused_argument`].
pub fn refused_argument_stream(context: &str, err: ArgError) -> ocaml::Raw {
    assert_may_call_ocaml("lwt_rust::boundary::refused_argument_stream");
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
pub fn close_object<T: crate::object::Object>(
    value: ocaml::Raw,
) -> Result<ocaml::Raw, SyncFailure> {
    // SAFETY: called by a stub body (`sync_stub`: owner thread, runtime lock held) with its
    // argument, before anything allocates.
    match unsafe { crate::object::close::<T>(value.0) } {
        Ok(()) => Ok(UNIT),
        Err(message) => Err(SyncFailure::from(ArgError::WrongType(message))),
    }
}
