//! The OCaml functions Rust calls, registered by `lib/lwt_rust.ml` with `Callback.register`.
//!
//! Invariants:
//! - called only in the OCaml context (OCaml thread, inside a stub: the runtime lock is held);
//! - every call goes through `caml_callback*_exn`: an OCaml exception comes back as `Err`, it
//!   never unwinds through Rust frames;
//! - arguments are read from roots (or are immediates) right before the call, so no raw value
//!   is held across an allocation;
//! - looking up the registered functions (`with_named`) allocates nothing, so a wrapper may be
//!   handed raw values.

use std::ffi::CStr;
use std::sync::OnceLock;

use ocaml::sys::{self, Value as RawOCaml};

use crate::values::root::Root;

use crate::values::protocol::Callbacks;
pub(crate) use crate::values::protocol::FailureKind;

/// Addresses of the registered closures; `caml_named_value` cells never move.
type Named = Callbacks<*const RawOCaml>;

// SAFETY: the addresses are of `caml_named_value` cells, which live as long as the program
// and are read only under the runtime lock (module invariant): sharing the addresses between
// threads shares no unsynchronised access.
unsafe impl Send for Callbacks<*const RawOCaml> {}
// SAFETY: as for `Send`.
unsafe impl Sync for Callbacks<*const RawOCaml> {}

/// The registered closures, looked up once per process (OCaml 4 has one runtime, and its
/// named values are global).
static NAMED: OnceLock<Named> = OnceLock::new();

fn lookup(name: &CStr) -> *const RawOCaml {
    // SAFETY: `name` is NUL-terminated; caml_named_value only reads the table under the
    // runtime lock, which callers hold (module invariant).
    let cell = unsafe { sys::caml_named_value(name.as_ptr()) };
    if cell.is_null() {
        // Nothing sensible can be done without the OCaml half, and panicking here could
        // reach an `extern "C"` frame: say why, and stop.
        eprintln!(
            "lwt_rust: {name:?} is not registered: the Lwt_rust module is not \
             linked into this program (link the lwt_rust library with -linkall, as its dune \
             file does)"
        );
        std::process::abort();
    }
    cell
}

fn with_named<R>(f: impl FnOnce(&Named) -> R) -> R {
    f(NAMED.get_or_init(|| Callbacks::new(lookup)))
}

/// The registered constructors of the failure exceptions, by [`FailureKind`] (in the order of
/// [`FailureKind::ALL`]); `caml_named_value` cells never move.
struct Constructors([*const RawOCaml; FailureKind::ALL.len()]);

// SAFETY: as for `Named`: addresses of cells that live as long as the program, read under the
// runtime lock only.
unsafe impl Send for Constructors {}
// SAFETY: as for `Send`.
unsafe impl Sync for Constructors {}

static CONSTRUCTORS: OnceLock<Constructors> = OnceLock::new();

/// The exception constructor `kind` is (the cell `Callback.register_exception` filled).
fn constructor(kind: FailureKind) -> *const RawOCaml {
    let all = CONSTRUCTORS
        .get_or_init(|| Constructors(FailureKind::ALL.map(|k| lookup(k.registered_name()))));
    let at = FailureKind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("every kind is in ALL");
    all.0[at]
}

/// The result of a `caml_callback*_exn`: the value, or the exception raised.
fn check(result: RawOCaml) -> Result<RawOCaml, RawOCaml> {
    if sys::is_exception_result(result) {
        Err(sys::extract_exception(result))
    } else {
        Ok(result)
    }
}

/// Reports an exception raised by one of our own registered functions that return nothing:
/// they are written not to raise, so only an asynchronous exception (`Out_of_memory`, or one
/// raised by a signal handler or a finaliser at an allocation) can get here; it is reported,
/// never propagated.
fn internal(what: &str, result: RawOCaml) {
    if check(result).is_err() {
        eprintln!("lwt_rust: internal callback {what} raised an exception");
    }
}

/// The value one of our registered functions returned. If it raised instead (only an
/// asynchronous exception can), there is no value to hand on, and handing on `()` in its
/// place would crash whoever reads it: panic, which the enclosing stub turns into a rejected
/// promise (or a failed stream).
fn returned_value(what: &str, result: RawOCaml) -> RawOCaml {
    match check(result) {
        Ok(v) => v,
        Err(_) => panic!(
            "lwt_rust: an asynchronous exception (Out_of_memory, or one raised by a signal \
             handler or a finaliser) interrupted the OCaml callback {what}"
        ),
    }
}

/// Calls `Lwt_rust.init ()` (creates the notification and starts the executor).
pub(crate) fn init_library(_cr: &mut ocaml_interop::OCamlRuntime) {
    // SAFETY: OCaml context (module invariant; `_cr` proves the lock is held).
    with_named(|n| unsafe { internal("init", sys::caml_callback_exn(*n.init, sys::UNIT)) });
}

/// A fresh cancelable promise and its resolver, as an OCaml pair. With `cancel_key`, cancelling
/// the promise calls the task-cancel stub with that key.
pub(crate) fn cancelable_task(cancel_key: Option<i64>) -> RawOCaml {
    let key = cancel_key.map_or(-1, |key| key as isize) * 2 + 1;
    // SAFETY: OCaml context (module invariant).
    with_named(|n| unsafe { returned_value("task", sys::caml_callback_exn(*n.task, key)) })
}

/// Asks Lwt to run the drain handler soon, through a paused promise.
pub(crate) fn schedule_drain() {
    // SAFETY: OCaml context (module invariant).
    with_named(|n| unsafe {
        internal(
            "schedule_drain",
            sys::caml_callback_exn(*n.schedule_drain, sys::UNIT),
        )
    });
}

/// `f a`, `f` being a registered function: the raw `caml_callback_exn` result.
///
/// # Safety
/// OCaml context; `f` is a cell of [`Named`]; `a` is valid (read after the last allocation).
#[inline]
unsafe fn apply1(f: *const RawOCaml, a: RawOCaml) -> RawOCaml {
    // SAFETY: `f` is a `caml_named_value` cell, which lives as long as the program and holds a
    // closure; the caller holds the runtime lock and hands a valid argument; `_exn` returns an
    // exception as a value instead of unwinding through this frame.
    unsafe { sys::caml_callback_exn(*f, a) }
}

/// `f a b`, as [`apply1`].
///
/// # Safety
/// As [`apply1`], for both arguments.
#[inline]
unsafe fn apply2(f: *const RawOCaml, a: RawOCaml, b: RawOCaml) -> RawOCaml {
    // SAFETY: as in `apply1`.
    unsafe { sys::caml_callback2_exn(*f, a, b) }
}

/// An OCaml string holding `message`. Allocates: every raw value held by the caller is
/// invalid afterwards.
///
/// # Safety
/// OCaml context.
#[inline]
unsafe fn ocaml_string(message: &str) -> RawOCaml {
    // SAFETY: the caller holds the runtime lock; the pointer and length describe `message`'s
    // bytes, which OCaml copies.
    unsafe { sys::caml_alloc_initialized_string(message.len(), message.as_ptr() as *const _) }
}

/// The OCaml `int` for `n` (tagged: `2n + 1`).
#[inline]
fn int(n: isize) -> RawOCaml {
    n * 2 + 1
}

/// `Lwt.return value`, by calling it (see `direct_return` for the way that builds the block).
///
/// # Safety
/// OCaml context; `value` is valid (read after the last allocation).
pub(crate) unsafe fn call_lwt_return(value: RawOCaml) -> RawOCaml {
    // SAFETY: the caller's contract (OCaml context, `value` valid).
    with_named(|n| returned_value("returned", unsafe { apply1(n.returned, value) }))
}

/// `Lwt.return value`, or the exception it raised: for the start-up probe of its layout.
///
/// # Safety
/// As [`call_lwt_return`].
pub(crate) unsafe fn try_lwt_return(value: RawOCaml) -> Result<RawOCaml, RawOCaml> {
    // SAFETY: the caller's contract (OCaml context, `value` valid).
    with_named(|n| check(unsafe { apply1(n.returned, value) }))
}

/// Whether `Lwt.state promise` is `Return value` (`lwt_rust.is_returned`): for the start-up
/// probe of `Lwt.return`'s layout. False if the check raised.
///
/// # Safety
/// OCaml context; both values valid, read after the last allocation.
pub(crate) unsafe fn is_returned(promise: RawOCaml, value: RawOCaml) -> bool {
    with_named(|n| {
        // SAFETY: the caller's contract (OCaml context, both values valid).
        let result = unsafe { apply2(n.is_returned, promise, value) };
        matches!(check(result), Ok(sys::TRUE))
    })
}

/// `Lwt.fail exn`.
///
/// # Safety
/// As [`call_lwt_return`].
pub(crate) unsafe fn lwt_fail(exn: RawOCaml) -> RawOCaml {
    // SAFETY: the caller's contract (OCaml context, `exn` valid).
    with_named(|n| returned_value("failed_with", unsafe { apply1(n.failed_with, exn) }))
}

/// A promise already rejected with the exception `kind` is, carrying `message`.
///
/// # Safety
/// OCaml context.
pub(crate) unsafe fn rejected_promise(kind: FailureKind, message: &str) -> RawOCaml {
    // SAFETY: OCaml context (the caller's contract).
    let exn = unsafe { failure_exception(kind, message) };
    // SAFETY: OCaml context; `exn` was made just above, nothing allocated since.
    with_named(|n| returned_value("failed", unsafe { apply1(n.failed, exn) }))
}

/// The exception `kind` is, carrying `message` (a constant exception ignores it), built here
/// from the constructor `lib/lwt_rust.ml` registered: no OCaml code runs, so nothing (an
/// asynchronous exception) can interrupt it. Allocates: every raw value held by the caller is
/// invalid afterwards.
///
/// # Safety
/// Runtime lock held.
pub(crate) unsafe fn failure_exception(kind: FailureKind, message: &str) -> RawOCaml {
    let cell = constructor(kind);
    if !kind.carries_message() {
        // SAFETY: a `caml_named_value` cell, read under the runtime lock: a constant exception
        // is its constructor.
        return unsafe { *cell };
    }
    // SAFETY: OCaml context (the caller's contract). The block is made first and rooted
    // (boxroot allocates nothing on the OCaml heap) across the allocation of the string;
    // `caml_modify` stores into a block read from its root after that allocation. An
    // exception with an argument is the block `[constructor; argument]`, tag 0.
    unsafe {
        let block: Root<crate::values::conv::Opaque> = Root::from_raw(sys::caml_alloc(2, 0));
        let msg = ocaml_string(message);
        let exn = block.raw();
        sys::caml_modify(sys::field(exn, 0), *cell);
        sys::caml_modify(sys::field(exn, 1), msg);
        exn
    }
}

/// A promise rejected with `Lwt_rust.Rust_panic`, made once at module initialisation: what a
/// stub returns when even making a rejected promise was interrupted by asynchronous
/// exceptions. Reading it allocates nothing and calls no OCaml.
///
/// # Safety
/// Runtime lock held.
pub(crate) unsafe fn interrupted_promise() -> RawOCaml {
    // SAFETY: a `caml_named_value` cell lives as long as the program; the caller holds the
    // runtime lock, under which the value it holds is current.
    with_named(|n| unsafe { *n.interrupted_promise })
}

/// The stream counterpart of [`interrupted_promise`]: every read fails with
/// `Lwt_rust.Rust_panic`.
///
/// # Safety
/// Runtime lock held.
pub(crate) unsafe fn interrupted_stream() -> RawOCaml {
    // SAFETY: as in `interrupted_promise`.
    with_named(|n| unsafe { *n.interrupted_stream })
}

/// The exception of [`interrupted_promise`] (`Lwt_rust.Rust_panic`), made once at module
/// initialisation: what a synchronous stub raises when even making its exception was
/// interrupted by asynchronous exceptions. Reading it allocates nothing and calls no OCaml.
///
/// # Safety
/// Runtime lock held.
pub(crate) unsafe fn interrupted_exception() -> RawOCaml {
    // SAFETY: as in `interrupted_promise`.
    with_named(|n| unsafe { *n.interrupted_exception })
}

/// `Lwt.cancel promise` (a no-op on a promise that is not cancelable or already settled).
///
/// # Safety
/// As [`call_lwt_return`].
pub(crate) unsafe fn lwt_cancel(promise: RawOCaml) {
    // SAFETY: the caller's contract (OCaml context, `promise` valid).
    with_named(|n| internal("cancel", unsafe { apply1(n.cancel, promise) }));
}

/// `Lwt.wakeup_later resolver value`. A cancelled promise ignores it.
///
/// # Safety
/// OCaml context; `resolver` and `value` are valid values read just before the call.
pub(crate) unsafe fn wakeup_later(resolver: RawOCaml, value: RawOCaml) {
    with_named(|n| {
        internal(
            "resolve",
            // SAFETY: the caller's contract (OCaml context, both values valid).
            unsafe { apply2(n.resolve, resolver, value) },
        )
    });
}

/// `Lwt.wakeup_later_exn resolver exn`. A cancelled promise ignores it.
///
/// # Safety
/// As [`wakeup_later`].
pub(crate) unsafe fn wakeup_later_exn(resolver: RawOCaml, exn: RawOCaml) {
    // SAFETY: the caller's contract (OCaml context, both values valid).
    // SAFETY: OCaml context; both values valid (see above).
    with_named(|n| internal("reject", unsafe { apply2(n.reject, resolver, exn) }));
}

/// Rejects `resolver` with the exception `kind` is, carrying `message`.
///
/// # Safety
/// OCaml context.
pub(crate) unsafe fn reject_with_failure<T>(resolver: &Root<T>, kind: FailureKind, message: &str) {
    // SAFETY: OCaml context (the caller's contract).
    let exn = unsafe { failure_exception(kind, message) };
    // SAFETY: OCaml context; the resolver is read after the allocation above, which may have
    // moved it, and nothing allocates before the call below, so `exn` is still valid.
    let resolver = unsafe { resolver.raw() };
    // SAFETY: OCaml context; both values valid (see above).
    with_named(|n| internal("reject", unsafe { apply2(n.reject, resolver, exn) }));
}

/// Makes `promise` report to the slot `key`: `Lwt_rust` calls the fulfilled / rejected stubs
/// when it settles (at once if it already has).
///
/// # Safety
/// OCaml context; `promise` is a valid `'a Lwt.t` read just before the call.
pub(crate) unsafe fn attach_to_slot(promise: RawOCaml, key: isize) {
    with_named(|n| {
        internal(
            "attach",
            // SAFETY: the caller's contract (OCaml context, `promise` valid); `key` is an int.
            unsafe { apply2(n.attach, promise, int(key)) },
        )
    });
}

/// Calls `closure arg` and attaches the promise it returns to slot `key` (as [`attach_to_slot`]),
/// in one callback. Returns the promise, or the exception the call raised (then nothing was
/// attached).
///
/// # Safety
/// OCaml context; `closure` and `arg` are valid values read just before the call.
pub(crate) unsafe fn call_and_attach(
    closure: RawOCaml,
    arg: RawOCaml,
    key: isize,
) -> Result<RawOCaml, RawOCaml> {
    with_named(|n| {
        // SAFETY: a named cell holding a closure of three arguments; the caller's contract
        // (OCaml context, `closure` and `arg` valid); `key` is an int.
        check(unsafe { sys::caml_callback3_exn(*n.call_attach, closure, arg, int(key)) })
    })
}

/// `Printexc.to_string exn`, copied into Rust.
///
/// # Safety
/// OCaml context; `exn` is a valid exception value read just before the call.
pub(crate) unsafe fn describe_exn(exn: RawOCaml) -> String {
    // SAFETY: the caller's contract (OCaml context, `exn` valid).
    with_named(|n| match check(unsafe { apply1(n.describe_exn, exn) }) {
        Ok(s) => {
            // SAFETY: `Printexc.to_string` returned a string; it is read, and copied,
            // before anything allocates.
            let bytes = unsafe {
                std::slice::from_raw_parts(sys::string_val(s), sys::caml_string_length(s))
            };
            String::from_utf8_lossy(bytes).into_owned()
        }
        Err(_) => "<exception printer raised>".to_owned(),
    })
}

/// The `'a Lwt_stream.t` that reads the Rust stream source `key` (see `export_stream`).
///
/// # Safety
/// OCaml context.
pub(crate) unsafe fn stream_of_source(key: i64) -> RawOCaml {
    with_named(|n| {
        returned_value(
            "rust_stream",
            // SAFETY: OCaml context (the caller's contract); `key` is an int.
            unsafe { apply1(n.rust_stream, int(key as isize)) },
        )
    })
}

/// An `'a Lwt_stream.t` whose first read fails with the exception `kind` is, carrying
/// `message`, and which then ends.
///
/// # Safety
/// OCaml context.
pub(crate) unsafe fn failing_stream(kind: FailureKind, message: &str) -> RawOCaml {
    // SAFETY: OCaml context (the caller's contract).
    let exn = unsafe { failure_exception(kind, message) };
    // SAFETY: OCaml context; `exn` was made just above, nothing allocated since.
    with_named(|n| returned_value("failed_stream", unsafe { apply1(n.failed_stream, exn) }))
}

/// One step of reading an OCaml `'a Lwt_stream.t`, as the OCaml `step` value of
/// `lib/lwt_rust.ml`: `Item x` (tag 0) when the next item was there (it is taken), `End`
/// (the immediate 0), `Wait p` (tag 1) with the `Lwt_stream.peek` promise of the next item,
/// or `Failed exn` (tag 2) when the stream's producer raised. `Err` if the call itself
/// raised (an asynchronous exception).
///
/// # Safety
/// OCaml context; `stream` is a valid `'a Lwt_stream.t` read just before the call.
pub(crate) unsafe fn stream_step(stream: RawOCaml) -> Result<RawOCaml, RawOCaml> {
    // SAFETY: the caller's contract (OCaml context, `stream` valid).
    with_named(|n| check(unsafe { apply1(n.stream_next, stream) }))
}

/// Calls an OCaml closure with one argument, returning its result or the exception it raised.
/// (Used by the test crate's thread stubs, through `__private`; tasks calling closures use
/// [`call_and_attach`].)
///
/// # Safety
/// OCaml context; `closure` and `arg` are valid values read just before the call.
pub(crate) unsafe fn call1(closure: RawOCaml, arg: RawOCaml) -> Result<RawOCaml, RawOCaml> {
    // SAFETY: the caller's contract (OCaml context, `closure` a closure, both valid).
    check(unsafe { sys::caml_callback_exn(closure, arg) })
}
