//! Rust futures surfaced to OCaml as `'a Lwt.t` (the Rust → OCaml direction).
//!
//! [`spawn`] makes a cancelable `Lwt.task` pair, keeps the resolver rooted in a `SettleOnDrop`
//! guard, and runs the future as a task on the OCaml thread's executor. The task is polled
//! once at once, so a future that is ready immediately resolves the promise before `spawn`
//! returns, without a trip through the queue.
//!
//! Invariants:
//! - the promise settles exactly once: with the value, with the exception of an
//!   [`Error`], with `Rust_panic` if the future panicked, or with `Task_dropped` if the future
//!   was dropped before finishing (the guard's `Drop`);
//! - a panic in the future's poll or destructor is caught here and never reaches OCaml.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::FutureExt;
use ocaml::sys;
use ocaml_interop::ToOCaml;

use crate::callbacks::{self, FailureKind};
use crate::conv::{Lwt, Resolver};
use crate::error::Error;
use crate::root::Root;
use crate::runtime::{in_ocaml_context, with_executor, with_runtime};

/// Runs `future` on the OCaml thread's executor and returns the `'a Lwt.t` of its outcome, as
/// a raw value to hand straight back to OCaml from a stub (nothing may allocate in between).
/// See [`spawn_rooted`] to keep the promise across allocations.
pub fn spawn<O, T, F>(future: F) -> ocaml::Raw
where
    O: 'static,
    T: ToOCaml<O> + 'static,
    F: Future<Output = Result<T, Error>> + 'static,
{
    let promise = spawn_rooted(future);
    // SAFETY: OCaml context (spawn_rooted checked it); the caller returns the value to OCaml
    // with no allocation in between.
    unsafe { ocaml::Raw(promise.raw()) }
}

/// As [`spawn`], returning the `'a Lwt.t` rooted.
///
/// `O` is the ocaml-interop marker of `'a` (for example `OCamlInt` for `int`); the output `T`
/// is converted with `ToOCaml<O>` on the OCaml thread when the future completes.
///
/// # Panics
/// Outside the OCaml context (see [`crate::runtime::in_ocaml_context`]).
pub fn spawn_rooted<O, T, F>(future: F) -> Root<Lwt<O>>
where
    O: 'static,
    T: ToOCaml<O> + 'static,
    F: Future<Output = Result<T, Error>> + 'static,
{
    let (promise, resolver) = with_runtime(|cr| {
        // SAFETY: OCaml context; the pair is read before any further allocation, and
        // `Root::from_raw` does not allocate on the OCaml heap.
        unsafe {
            let pair = callbacks::task();
            let promise: Root<Lwt<O>> = Root::from_raw(cr, sys::field(pair, 0).read());
            let resolver: Root<Resolver<O>> = Root::from_raw(cr, sys::field(pair, 1).read());
            (promise, resolver)
        }
    });
    let task = SettleOnDrop {
        future: Some(Box::pin(future)),
        resolver: Some(resolver),
    };
    let runnable = with_executor(|ex| ex.spawn_detached(task));
    // The first poll happens now: a ready future settles before we return.
    if catch_unwind(AssertUnwindSafe(|| runnable.run())).is_err() {
        eprintln!("lwt_rust: a panic escaped a task's first poll");
    }
    promise
}

/// A task's future plus the resolver of its Lwt promise.
struct SettleOnDrop<F, O: 'static> {
    future: Option<Pin<Box<F>>>,
    resolver: Option<Root<Resolver<O>>>,
}

impl<O, T, F> Future for SettleOnDrop<F, O>
where
    O: 'static,
    T: ToOCaml<O>,
    F: Future<Output = Result<T, Error>>,
{
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(future) = self.future.as_mut() else {
            return Poll::Ready(());
        };
        let outcome = match AssertUnwindSafe(future.as_mut())
            .catch_unwind()
            .poll_unpin(cx)
        {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(outcome) => outcome,
        };
        // Drop the future before settling, so its destructors have run when OCaml resumes.
        let future = self.future.take();
        let drop_panic = catch_unwind(AssertUnwindSafe(|| drop(future))).err();
        let resolver = self.resolver.take().expect("settled twice");
        with_runtime(|cr| match (outcome, drop_panic) {
            (Err(panic), _) | (Ok(_), Some(panic)) => {
                // SAFETY: OCaml context.
                unsafe { callbacks::fail(&resolver, FailureKind::Panic, &panic_message(&panic)) }
            }
            (Ok(Ok(value)), None) => {
                let value = catch_unwind(AssertUnwindSafe(|| value.to_boxroot(cr)));
                match value {
                    // SAFETY: OCaml context; both values are read from roots just before the
                    // call.
                    Ok(value) => unsafe { callbacks::resolve(resolver.raw(), value.get_raw()) },
                    Err(panic) => unsafe {
                        callbacks::fail(&resolver, FailureKind::Panic, &panic_message(&panic))
                    },
                }
            }
            // SAFETY: OCaml context; both values are read from roots just before the call.
            (Ok(Err(Error::OCaml(err))), None) => unsafe {
                callbacks::reject(resolver.raw(), err.exception().raw())
            },
            (Ok(Err(Error::Rust(msg))), None) => unsafe {
                callbacks::fail(&resolver, FailureKind::Error, &msg)
            },
        });
        Poll::Ready(())
    }
}

impl<F, O: 'static> Drop for SettleOnDrop<F, O> {
    fn drop(&mut self) {
        let future = self.future.take();
        let panic = catch_unwind(AssertUnwindSafe(|| drop(future))).err();
        let Some(resolver) = self.resolver.take() else {
            return;
        };
        if !in_ocaml_context() {
            // No runtime to settle with (the process is exiting): release the root only.
            return;
        }
        let message = match panic {
            Some(panic) => format!(
                "the Rust task was dropped before it finished, and its destructor panicked: {}",
                panic_message(&panic)
            ),
            None => "the Rust task was dropped before it finished".to_owned(),
        };
        // SAFETY: OCaml context, checked above.
        unsafe { callbacks::fail(&resolver, FailureKind::Dropped, &message) };
    }
}

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a Rust panic with a non-string payload".to_owned()
    }
}
