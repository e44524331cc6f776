//! The OCaml functions Rust calls, registered by `lib/lwt_rust.ml` with `Callback.register`.
//!
//! Invariants:
//! - called only in the OCaml context (OCaml thread, inside a stub: the runtime lock is held);
//! - every call goes through `caml_callback*_exn`: an OCaml exception comes back as `Err`, it
//!   never unwinds through Rust frames;
//! - arguments are read from roots (or are immediates) right before the call, so no raw value
//!   is held across an allocation;
//! - looking up the registered functions (`with_named`) allocates nothing, so a wrapper may be
//!   handed raw values; the one set-up step that runs OCaml, the probe of `Lwt.return`'s
//!   layout, has a stub of its own ([`probe_direct_return`]).

use std::ffi::CStr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::OnceLock;

use ocaml::sys::{self, Value as RawOCaml};

use crate::root::Root;

/// How a Rust-side failure is surfaced to OCaml (the exception constructor `fail` picks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(isize)]
pub(crate) enum FailureKind {
    /// `Lwt_rust.Rust_panic msg`.
    Panic = 0,
    /// `Lwt_rust.Rust_error msg`.
    Error = 1,
    /// `Lwt_rust.Task_dropped msg`.
    Dropped = 2,
    /// `Invalid_argument msg` (an argument of the wrong OCaml type reached a Rust function).
    InvalidArgument = 3,
    /// `Lwt_rust.Shut_down` (the message is ignored).
    ShutDown = 4,
    /// `Lwt_rust.Wrong_thread msg` (the bridge was used from a thread that does not own it).
    WrongThread = 5,
}

/// Addresses of the registered closures; `caml_named_value` cells never move.
struct Named {
    init: *const RawOCaml,
    task: *const RawOCaml,
    returned: *const RawOCaml,
    failed: *const RawOCaml,
    failed_with: *const RawOCaml,
    cancel: *const RawOCaml,
    schedule_drain: *const RawOCaml,
    resolve: *const RawOCaml,
    reject: *const RawOCaml,
    fail: *const RawOCaml,
    attach: *const RawOCaml,
    call_attach: *const RawOCaml,
    describe_exn: *const RawOCaml,
    rust_stream: *const RawOCaml,
    failed_stream: *const RawOCaml,
    stream_next: *const RawOCaml,
    is_returned: *const RawOCaml,
    failure: *const RawOCaml,
    interrupted_promise: *const RawOCaml,
    interrupted_stream: *const RawOCaml,
}

// SAFETY: the addresses are of `caml_named_value` cells, which live as long as the program
// and are read only under the runtime lock (module invariant): sharing the addresses between
// threads shares no unsynchronised access.
unsafe impl Send for Named {}
// SAFETY: as for `Send`.
unsafe impl Sync for Named {}

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
            "lwt_rust: OCaml callback {name:?} is not registered: the Lwt_rust module is not \
             linked into this program (link the lwt_rust library with -linkall, as its dune \
             file does)"
        );
        std::process::abort();
    }
    cell
}

fn with_named<R>(f: impl FnOnce(&Named) -> R) -> R {
    f(NAMED.get_or_init(|| Named {
        init: lookup(c"lwt_rust.init"),
        task: lookup(c"lwt_rust.task"),
        returned: lookup(c"lwt_rust.returned"),
        failed: lookup(c"lwt_rust.failed"),
        failed_with: lookup(c"lwt_rust.failed_with"),
        cancel: lookup(c"lwt_rust.cancel"),
        schedule_drain: lookup(c"lwt_rust.schedule_drain"),
        resolve: lookup(c"lwt_rust.resolve"),
        reject: lookup(c"lwt_rust.reject"),
        fail: lookup(c"lwt_rust.fail"),
        attach: lookup(c"lwt_rust.attach"),
        call_attach: lookup(c"lwt_rust.call_attach"),
        describe_exn: lookup(c"lwt_rust.describe_exn"),
        rust_stream: lookup(c"lwt_rust.rust_stream"),
        failed_stream: lookup(c"lwt_rust.failed_stream"),
        stream_next: lookup(c"lwt_rust.stream_next"),
        is_returned: lookup(c"lwt_rust.is_returned"),
        failure: lookup(c"lwt_rust.failure"),
        interrupted_promise: lookup(c"lwt_rust.interrupted_promise"),
        interrupted_stream: lookup(c"lwt_rust.interrupted_stream"),
    }))
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
pub(crate) fn task(cancel_key: Option<i64>) -> RawOCaml {
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

/// `Lwt.return value`.
///
/// # Safety
/// OCaml context; `value` is valid (read after the last allocation).
pub(crate) unsafe fn returned(value: RawOCaml) -> RawOCaml {
    if DIRECT_RETURN.load(Relaxed) {
        if let Some(promise) = build_returned(value) {
            return promise;
        }
    }
    with_named(|n| returned_value("returned", sys::caml_callback_exn(*n.returned, value)))
}

/// Whether [`returned`] builds `Lwt.return`'s block itself: set by [`probe_direct_return`]
/// at module initialisation. A fact about the program (its Lwt and OCaml), the same for
/// every thread.
static DIRECT_RETURN: AtomicBool = AtomicBool::new(false);

/// Whether ready calls build their `Lwt.return` block themselves (the probe passed).
pub(crate) fn direct_return() -> bool {
    DIRECT_RETURN.load(Relaxed)
}

extern "C" {
    /// Empties the minor heap (OCaml 4's `minor_gc.h`).
    fn caml_minor_collection();
}

/// Decides once whether [`returned`] may build `Lwt.return`'s block itself
/// ([`direct_return_ok`]). Called by the module initialisation of `Lwt_rust`, after its
/// callbacks are registered, from a stub that holds no OCaml value: the check calls OCaml and
/// allocates, which may move any value held raw. A failure that may be passing (no room left
/// in the minor heap, or the runtime asking for attention through its allocation limit) is
/// retried after emptying the minor heap.
pub(crate) fn probe_direct_return(_cr: &mut ocaml_interop::OCamlRuntime) {
    const ATTEMPTS: usize = 3;
    // SAFETY: OCaml context (`_cr` proves the runtime lock is held), and the caller holds no
    // raw OCaml value across this call.
    let ok = with_named(|n| unsafe {
        (0..ATTEMPTS).any(|attempt| {
            if attempt > 0 {
                caml_minor_collection();
            }
            direct_return_ok(n.returned, n.is_returned)
        })
    });
    DIRECT_RETURN.store(ok, Relaxed);
}

/// The first two fields of the runtime's domain state (`caml/domain_state.tbl`, the same two
/// in OCaml 4.10 to 4.14 and in OCaml 5): the minor heap's allocation limit and pointer.
/// Allocation moves `young_ptr` down, towards `young_limit`. `young_ptr` is read and written
/// only on the OCaml thread, inside a stub (the runtime lock is held). `young_limit` may be
/// lowered behind its back (a signal handler in OCaml 4, another domain in OCaml 5, where it
/// is atomic): it is read with a relaxed atomic load, the same plain load on x86-64 and
/// aarch64. `ocaml_sys`'s own declaration of the OCaml 4 state is not used: it orders the
/// two fields the other way round, which 4.13 does not.
#[repr(C)]
struct MinorHeap {
    young_limit: AtomicUsize,
    young_ptr: *mut RawOCaml,
}

impl MinorHeap {
    fn young_limit(&self) -> *mut RawOCaml {
        self.young_limit.load(Relaxed) as *mut RawOCaml
    }
}

#[cfg(not(ocaml5))]
extern "C" {
    /// The runtime's domain state: a plain global in OCaml 4.10 to 4.14.
    static Caml_state: *mut MinorHeap;
}

#[cfg(ocaml5)]
extern "C" {
    /// The calling domain's state (ocaml-sys's C helper, which returns `Caml_state`): in
    /// OCaml 5 it is a per-domain thread-local that Rust cannot name.
    fn caml_sys_get_domain_state() -> *mut MinorHeap;
}

/// The calling thread's domain state. Selected when the crate is built (build.rs sets
/// `cfg(ocaml5)` from the OCaml it finds): on OCaml 4 a load of a global, as before.
///
/// # Safety
/// OCaml context.
#[inline(always)]
unsafe fn minor_heap() -> *mut MinorHeap {
    #[cfg(not(ocaml5))]
    {
        Caml_state
    }
    #[cfg(ocaml5)]
    {
        caml_sys_get_domain_state()
    }
}

/// The header of a one-field block of tag 0 in the minor heap (wosize 1, colour 0, no
/// profiling info: what `Alloc_small` writes).
const ONE_FIELD_TAG_0: RawOCaml = 1 << 10;

/// Builds the block `Lwt.return value` builds (`{state = Fulfilled value}`: two one-field
/// blocks of tag 0) in the minor heap, the way compiled OCaml code allocates: one bump of
/// the allocation pointer for both blocks. `None`, having touched nothing, when the minor heap
/// has no room or the runtime has asked for attention (it lowers `young_limit` then): the
/// caller calls `Lwt.return`, whose allocation handles both. Used only once
/// [`direct_return_ok`] has checked the layout against the linked Lwt.
///
/// # Safety
/// OCaml context; `value` is valid (read after the last allocation). The OCaml context means
/// inside a stub OCaml called as an ordinary external, through `caml_c_call`, which stores the
/// allocation pointer in the domain state for the duration of the call (a `[@@noalloc]`
/// external would leave it in a register, and must not allocate at all).
unsafe fn build_returned(value: RawOCaml) -> Option<RawOCaml> {
    let heap = minor_heap();
    let ptr = (*heap).young_ptr;
    // Two blocks of a header and one field each.
    let start = ptr.wrapping_sub(4);
    if start < (*heap).young_limit() || start > ptr {
        return None;
    }
    (*heap).young_ptr = start;
    // `start` holds the promise's header, `start + 2` the `Fulfilled` block's.
    start.write(ONE_FIELD_TAG_0);
    start.add(1).write(start.add(3) as RawOCaml);
    start.add(2).write(ONE_FIELD_TAG_0);
    start.add(3).write(value);
    Some(start.add(1) as RawOCaml)
}

/// Whether [`build_returned`] builds what `Lwt.return` builds, in this program: checked once,
/// on a probe, before the first use. The block `Lwt.return` just made must be two one-field
/// blocks of tag 0 with the very headers written here, lying right above the minor heap's
/// allocation pointer as read through [`MinorHeap`] (which checks that layout too); and
/// `Lwt.state` must read a block built here as `Return v` (`lwt_rust.is_returned`). Any
/// difference (another Lwt, another OCaml) keeps the callback.
///
/// # Safety
/// OCaml context; both arguments are registered named values.
unsafe fn direct_return_ok(returned: *const RawOCaml, is_returned: *const RawOCaml) -> bool {
    const PROBE: RawOCaml = 2 * 4_242 + 1;
    let one_field_tag_0 =
        |v: RawOCaml| sys::is_block(v) && (v as *const RawOCaml).sub(1).read() == ONE_FIELD_TAG_0;
    let Ok(made) = check(sys::caml_callback_exn(*returned, PROBE)) else {
        return false;
    };
    let heap = minor_heap();
    let made_header = (made as *mut RawOCaml).wrapping_sub(1);
    let just_allocated = (*heap).young_limit() < (*heap).young_ptr
        && (*heap).young_ptr <= made_header
        && made_header < (*heap).young_ptr.wrapping_add(16);
    if !(just_allocated
        && one_field_tag_0(made)
        && one_field_tag_0(sys::field(made, 0).read())
        && sys::field(sys::field(made, 0).read(), 0).read() == PROBE)
    {
        return false;
    }
    let Some(built) = build_returned(PROBE) else {
        return false;
    };
    matches!(
        check(sys::caml_callback2_exn(*is_returned, built, PROBE)),
        Ok(sys::TRUE)
    )
}

/// `Lwt.fail exn`.
///
/// # Safety
/// As [`returned`].
pub(crate) unsafe fn failed_with(exn: RawOCaml) -> RawOCaml {
    with_named(|n| returned_value("failed_with", sys::caml_callback_exn(*n.failed_with, exn)))
}

/// A promise already rejected with the exception `kind` names, carrying `message`.
///
/// # Safety
/// OCaml context.
pub(crate) unsafe fn failed(kind: FailureKind, message: &str) -> RawOCaml {
    let msg = sys::caml_alloc_initialized_string(message.len(), message.as_ptr() as *const _);
    with_named(|n| {
        returned_value(
            "failed",
            sys::caml_callback2_exn(*n.failed, kind as isize * 2 + 1, msg),
        )
    })
}

/// The exception `kind` names, carrying `message`.
///
/// # Safety
/// Runtime lock held.
pub(crate) unsafe fn failure(kind: FailureKind, message: &str) -> RawOCaml {
    let msg = sys::caml_alloc_initialized_string(message.len(), message.as_ptr() as *const _);
    with_named(|n| {
        returned_value(
            "failure",
            sys::caml_callback2_exn(*n.failure, kind as isize * 2 + 1, msg),
        )
    })
}

/// A promise rejected with `Lwt_rust.Rust_panic`, made once at module initialisation: what a
/// stub returns when even making a rejected promise was interrupted by asynchronous
/// exceptions. Reading it allocates nothing and calls no OCaml.
///
/// # Safety
/// Runtime lock held.
pub(crate) unsafe fn interrupted_promise() -> RawOCaml {
    with_named(|n| *n.interrupted_promise)
}

/// The stream counterpart of [`interrupted_promise`]: every read fails with
/// `Lwt_rust.Rust_panic`.
///
/// # Safety
/// Runtime lock held.
pub(crate) unsafe fn interrupted_stream() -> RawOCaml {
    with_named(|n| *n.interrupted_stream)
}

/// `Lwt.cancel promise` (a no-op on a promise that is not cancelable or already settled).
///
/// # Safety
/// As [`returned`].
pub(crate) unsafe fn cancel(promise: RawOCaml) {
    with_named(|n| internal("cancel", sys::caml_callback_exn(*n.cancel, promise)));
}

/// `Lwt.wakeup_later resolver value`. A cancelled promise ignores it.
///
/// # Safety
/// OCaml context; `resolver` and `value` are valid values read just before the call.
pub(crate) unsafe fn resolve(resolver: RawOCaml, value: RawOCaml) {
    with_named(|n| {
        internal(
            "resolve",
            sys::caml_callback2_exn(*n.resolve, resolver, value),
        )
    });
}

/// `Lwt.wakeup_later_exn resolver exn`. A cancelled promise ignores it.
///
/// # Safety
/// As [`resolve`].
pub(crate) unsafe fn reject(resolver: RawOCaml, exn: RawOCaml) {
    with_named(|n| internal("reject", sys::caml_callback2_exn(*n.reject, resolver, exn)));
}

/// Rejects `resolver` with the exception `kind` names, carrying `message`.
///
/// # Safety
/// OCaml context.
pub(crate) unsafe fn fail<T>(resolver: &Root<T>, kind: FailureKind, message: &str) {
    let msg = sys::caml_alloc_initialized_string(message.len(), message.as_ptr() as *const _);
    // The resolver is read after the allocation above, which may have moved it.
    let mut args = [resolver.raw(), kind as isize * 2 + 1, msg];
    with_named(|n| {
        internal(
            "fail",
            sys::caml_callbackN_exn(*n.fail, args.len(), args.as_mut_ptr()),
        )
    });
}

/// Makes `promise` report to the slot `key`: `Lwt_rust` calls the fulfilled / rejected stubs
/// when it settles (at once if it already has).
///
/// # Safety
/// OCaml context; `promise` is a valid `'a Lwt.t` read just before the call.
pub(crate) unsafe fn attach(promise: RawOCaml, key: isize) {
    with_named(|n| {
        internal(
            "attach",
            sys::caml_callback2_exn(*n.attach, promise, key * 2 + 1),
        )
    });
}

/// Calls `closure arg` and attaches the promise it returns to slot `key` (as [`attach`]),
/// in one callback. Returns the promise, or the exception the call raised (then nothing was
/// attached).
///
/// # Safety
/// OCaml context; `closure` and `arg` are valid values read just before the call.
pub(crate) unsafe fn call_attach(
    closure: RawOCaml,
    arg: RawOCaml,
    key: isize,
) -> Result<RawOCaml, RawOCaml> {
    with_named(|n| {
        check(sys::caml_callback3_exn(
            *n.call_attach,
            closure,
            arg,
            key * 2 + 1,
        ))
    })
}

/// `Printexc.to_string exn`, copied into Rust.
///
/// # Safety
/// OCaml context; `exn` is a valid exception value read just before the call.
pub(crate) unsafe fn describe_exn(exn: RawOCaml) -> String {
    with_named(
        |n| match check(sys::caml_callback_exn(*n.describe_exn, exn)) {
            Ok(s) => {
                let len = sys::caml_string_length(s);
                let bytes = std::slice::from_raw_parts(sys::string_val(s), len);
                String::from_utf8_lossy(bytes).into_owned()
            }
            Err(_) => "<exception printer raised>".to_owned(),
        },
    )
}

/// The `'a Lwt_stream.t` that reads the Rust stream source `key` (see `lwt_stream`).
///
/// # Safety
/// OCaml context.
pub(crate) unsafe fn rust_stream(key: i64) -> RawOCaml {
    with_named(|n| {
        returned_value(
            "rust_stream",
            sys::caml_callback_exn(*n.rust_stream, key as isize * 2 + 1),
        )
    })
}

/// An `'a Lwt_stream.t` whose first read fails with the exception `kind` names, carrying
/// `message`, and which then ends.
///
/// # Safety
/// OCaml context.
pub(crate) unsafe fn failed_stream(kind: FailureKind, message: &str) -> RawOCaml {
    let msg = sys::caml_alloc_initialized_string(message.len(), message.as_ptr() as *const _);
    with_named(|n| {
        returned_value(
            "failed_stream",
            sys::caml_callback2_exn(*n.failed_stream, kind as isize * 2 + 1, msg),
        )
    })
}

/// One step of reading an OCaml `'a Lwt_stream.t`, as the OCaml `step` value of
/// `lib/lwt_rust.ml`: `Item x` (tag 0) when the next item was there (it is taken), `End`
/// (the immediate 0), `Wait p` (tag 1) with the `Lwt_stream.peek` promise of the next item,
/// or `Failed exn` (tag 2) when the stream's producer raised. `Err` if the call itself
/// raised (an asynchronous exception).
///
/// # Safety
/// OCaml context; `stream` is a valid `'a Lwt_stream.t` read just before the call.
pub(crate) unsafe fn stream_next(stream: RawOCaml) -> Result<RawOCaml, RawOCaml> {
    with_named(|n| check(sys::caml_callback_exn(*n.stream_next, stream)))
}

/// Calls an OCaml closure with one argument, returning its result or the exception it raised.
/// (Used by the test crate's thread stubs, through `__private`; tasks calling closures use
/// [`call_attach`].)
///
/// # Safety
/// OCaml context; `closure` and `arg` are valid values read just before the call.
pub(crate) unsafe fn call1(closure: RawOCaml, arg: RawOCaml) -> Result<RawOCaml, RawOCaml> {
    check(sys::caml_callback_exn(closure, arg))
}
