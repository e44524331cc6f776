//! Rust futures surfaced to OCaml as `'a Lwt.t` (the Rust → OCaml direction).
//!
//! [`spawn`] polls the future once, synchronously. If it is ready, the caller gets an already
//! settled promise (`Lwt.return` / `Lwt.fail`): no task, no queue, no notification. Otherwise
//! the future becomes a task on the OCaml thread's executor (`task`), polled again at once so
//! that it registers the task's real waker, before its promise exists: finished then, the
//! caller gets an already settled promise too; still pending, the caller gets the promise of
//! a cancelable `Lwt.task` whose resolver the task holds rooted.
//!
//! Invariants:
//! - the promise settles exactly once: with the value, with the exception of an [`Error`],
//!   with `Rust_panic` if the future panicked, or with `Task_dropped` if the task was dropped
//!   before finishing;
//! - `Lwt.cancel` on the promise drops the future at once, in the cancel callback (or right
//!   after its current poll, if it is being polled), so its destructors have run when
//!   `Lwt.cancel` returns; the promise is then rejected with `Lwt.Canceled` by Lwt itself;
//! - a panic in the future's poll or destructor, or in the conversion of its output, is
//!   caught here and never reaches OCaml;
//! - everything here runs on the OCaml thread, in the OCaml context.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use ocaml::sys::Value as RawOCaml;
use ocaml_interop::ToOCaml;

use crate::runtime::{assert_may_call_ocaml, is_shut_down};
use crate::rust_to_ocaml::outcome::{drop_contained, merge, poll_contained, ready_promise};
use crate::rust_to_ocaml::{direct_return, task};
use crate::values::callbacks::{self, FailureKind};
use crate::values::conv::OCamlRepr;
use crate::values::error::{fitting, into_error, Error};
use crate::values::panic_report::{panic_message, report_panic, Panic};
use crate::values::root::Root;

pub(crate) use crate::rust_to_ocaml::task::{cancel_task, shut_down_local_tasks};

/// Runs `future` on the OCaml thread and returns the `'a Lwt.t` of its outcome, as a raw value
/// to hand straight back to OCaml from a stub (nothing may allocate in between).
///
/// `O` is the ocaml-interop marker of `'a` (for example `OCamlInt` for `int`); the output `T`
/// is converted with `ToOCaml<O>` on the OCaml thread when the future completes.
///
/// # Panics
/// Outside the OCaml context (see [`crate::runtime::in_ocaml_context`]), or inside
/// [`with_runtime`](crate::runtime::with_runtime) (spawning runs OCaml code, which could move the values borrowed there).
/// Wrap stubs in [`lwt_stub`](crate::ffi::boundary::lwt_stub), which turns such a panic into a rejected promise.
#[inline]
pub fn spawn<O, T, F>(future: F) -> ocaml::Raw
where
    O: 'static,
    T: ToOCaml<O> + 'static,
    F: Future<Output = Result<T, Error>> + 'static,
{
    spawn_with::<O, T, F>(move || future)
}

/// [`spawn`] of the future `make` returns, which is written straight into its box: a future
/// built on the stack and then moved into its box is copied in 16-byte loads of what 8-byte
/// stores just wrote, which stalls the CPU (store forwarding fails) on the hot path of ready
/// calls. `make` runs after the checks.
#[inline(always)]
fn spawn_with<O, T, F>(make: impl FnOnce() -> F) -> ocaml::Raw
where
    O: 'static,
    T: ToOCaml<O> + 'static,
    F: Future<Output = Result<T, Error>> + 'static,
{
    assert_may_call_ocaml("lwt_rust::spawn");
    if is_shut_down() {
        // SAFETY: OCaml context (checked above); returned to OCaml at once.
        return ocaml::Raw(unsafe { callbacks::rejected_promise(FailureKind::ShutDown, "") });
    }
    #[cfg(feature = "tokio")]
    crate::threads::tokio_rt::ensure_entered();
    // Most ready calls reuse the block of the previous one (see `box_cache`).
    let mut future: Pin<Box<F>> = crate::rust_to_ocaml::box_cache::pin_with(make);
    let first = poll_contained(future.as_mut(), &mut Context::from_waker(Waker::noop()));
    match first {
        Poll::Ready(outcome) => {
            let drop_panic = crate::rust_to_ocaml::box_cache::recycle(future);
            match (outcome, drop_panic) {
                // The common case on its own, inlined: the value stays in registers (moving
                // the whole outcome into an out-of-line call cost a store-forwarding stall).
                // SAFETY: OCaml context and the runtime not lent (both asserted above); the
                // result goes straight back to OCaml.
                (Ok(Ok(value)), None) => ocaml::Raw(unsafe { ready_value(value) }),
                (outcome, drop_panic) => {
                    // SAFETY: as above.
                    ocaml::Raw(unsafe { ready_promise(merge(outcome, drop_panic)) })
                }
            }
        }
        Poll::Pending if is_shut_down() => {
            // `Lwt_rust.shutdown` ran during the first poll: the future must not outlive it
            // as a task.
            let drop_panic = drop_contained(Some(future));
            if let Some(panic) = drop_panic {
                report_panic("a future's destructor, at shutdown", &panic_message(&panic));
            }
            // SAFETY: OCaml context (checked above); returned to OCaml at once.
            ocaml::Raw(unsafe { callbacks::rejected_promise(FailureKind::ShutDown, "") })
        }
        Poll::Pending => ocaml::Raw(task::spawn_task(future)),
    }
}

/// As [`spawn`], returning the promise rooted, so that it survives further allocations
/// (to build a bigger value around it afterwards, with `with_runtime`).
pub fn spawn_rooted<O, T, F>(future: F) -> Root<crate::values::conv::Lwt<O>>
where
    O: 'static,
    T: ToOCaml<O> + 'static,
    F: Future<Output = Result<T, Error>> + 'static,
{
    let promise = spawn(future);
    // SAFETY: OCaml context (spawn checked it); nothing allocated since `spawn` returned.
    unsafe { Root::from_raw(promise.0) }
}

/// [`spawn`] for a future whose output is a plain value, converted by its [`OCamlRepr`]. A
/// value that does not fit its OCaml type (an `i64` beyond 63 bits) rejects the promise with
/// `Lwt_rust.Rust_error`.
#[inline]
pub fn spawn_value<T, F>(future: F) -> ocaml::Raw
where
    T: OCamlRepr + ToOCaml<T::Marker>,
    F: Future<Output = T> + 'static,
{
    // A combinator rather than an `async` block: the block would hold `future` twice (its
    // captured value and the awaited one), doubling what `spawn` copies into its box.
    spawn::<T::Marker, T, _>(MapOutput {
        future,
        map: fitting,
    })
}

/// [`spawn`] for a future returning `Result<T, E>`: `Ok` resolves the promise; `Err` rejects
/// it with the same OCaml exception if `E` is [`Error`] or [`OCamlError`](crate::values::error::OCamlError), and with
/// `Lwt_rust.Rust_error` carrying `E`'s `Display` text otherwise.
#[inline]
pub fn spawn_result<T, E, F>(future: F) -> ocaml::Raw
where
    T: OCamlRepr + ToOCaml<T::Marker>,
    E: std::fmt::Display + 'static,
    F: Future<Output = Result<T, E>> + 'static,
{
    // A combinator: see `spawn_value`.
    spawn::<T::Marker, T, _>(MapOutput {
        future,
        map: |result: Result<T, E>| fitting(result.map_err(into_error)?),
    })
}

/// [`spawn_value`] of the future `make` returns, built in its box (see `spawn_with`): what
/// the stubs of `#[lwt_rust::func]` and `#[lwt_rust::object]` call.
#[inline]
pub fn spawn_value_with<T, F>(make: impl FnOnce() -> F) -> ocaml::Raw
where
    T: OCamlRepr + ToOCaml<T::Marker>,
    F: Future<Output = T> + 'static,
{
    spawn_with::<T::Marker, T, _>(move || MapOutput {
        future: make(),
        map: fitting,
    })
}

/// [`spawn_result`] of the future `make` returns, built in its box (see `spawn_with`).
#[inline]
pub fn spawn_result_with<T, E, F>(make: impl FnOnce() -> F) -> ocaml::Raw
where
    T: OCamlRepr + ToOCaml<T::Marker>,
    E: std::fmt::Display + 'static,
    F: Future<Output = Result<T, E>> + 'static,
{
    spawn_with::<T::Marker, T, _>(move || MapOutput {
        future: make(),
        map: |result: Result<T, E>| fitting(result.map_err(into_error)?),
    })
}

/// `future`, its output passed through `map`: `futures`' `Map` without its `Option` state
/// (the executor never polls a finished future), always inlined into `spawn`'s first poll,
/// the hot path of ready calls.
struct MapOutput<F, M> {
    future: F,
    map: M,
}

impl<F: Future, M: Fn(F::Output) -> R, R> Future for MapOutput<F, M> {
    type Output = R;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        // SAFETY: `future` is structurally pinned (never moved out of `self`, which has no
        // `Drop` and is `!Unpin` whenever `F` is); `map` is not pinned and only called.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        future.poll(cx).map(&this.map)
    }
}

/// `Lwt.return value`, for a future that finished on its first poll with a value: the hot
/// path of a ready call ([`ready_promise`] handles every other outcome).
///
/// # Safety
/// As [`ready_promise`].
#[inline(always)]
unsafe fn ready_value<O, T: ToOCaml<O>>(value: T) -> RawOCaml {
    // SAFETY: as in `ready_promise` (the caller's contract is the same).
    let cr = unsafe { ocaml_interop::internal::recover_runtime_handle_mut() };
    // SAFETY: OCaml context (the caller's contract); the value is passed to OCaml below right
    // after `to_ocaml` made it, with no allocation in between.
    match catch_unwind(AssertUnwindSafe(|| unsafe { value.to_ocaml(cr).raw() })) {
        // SAFETY: see above.
        Ok(value) => unsafe { direct_return::lwt_return(value) },
        // SAFETY: OCaml context; returned at once.
        Err(panic) => unsafe { conversion_panicked(panic) },
    }
}

/// A promise rejected with `Rust_panic` for a conversion that panicked.
///
/// # Safety
/// OCaml context.
#[cold]
#[inline(never)]
unsafe fn conversion_panicked(panic: Panic) -> RawOCaml {
    // SAFETY: the caller's contract.
    unsafe { callbacks::rejected_promise(FailureKind::Panic, &panic_message(&panic)) }
}
