//! The task of a future that was pending on its first poll: one allocation (async-task's)
//! holding the task's state, polled on the OCaml thread until it settles its promise.
//!
//! [`spawn_task`] makes the task and polls it at once, with the task's own waker, before the
//! OCaml promise exists: a future that finishes on that poll gets an already settled promise
//! (no `Lwt.task`), and no GC root is needed to keep the caller's promise across a poll.
//! Otherwise the task is entered in the cancel table and its promise made (a cancelable
//! `Lwt.task`, whose resolver the task holds rooted).
//!
//! Invariants:
//! - the task's state ([`RunTask`]) lives inside async-task's allocation and never moves (it
//!   is `!Unpin`); the user's future stays in the box it was first polled in;
//! - a pending task has one cancel entry, which holds the task's handle (so the allocation
//!   outlives every use of the entry's pointer to the state) and is removed exactly once: by
//!   `Lwt.cancel`, by shutdown, or by the task when its future is gone;
//! - a cancel or shutdown drops the future at once (or right after its current poll, if it is
//!   being polled), and touches the state no more after that drop, which may re-enter;
//! - everything here runs on the OCaml thread, in the OCaml context.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::marker::{PhantomData, PhantomPinned};
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use ocaml::sys::{self, Value as RawOCaml};
use ocaml_interop::ToOCaml;

use crate::engine::keyed::KeyedSlab;
use crate::runtime::{is_shut_down, with_executor, with_runtime};
use crate::rust_to_ocaml::outcome::{
    drop_contained, merge, poll_contained, ready_promise, Outcome, Settlement,
};
use crate::values::callbacks::{self, FailureKind};
use crate::values::conv::Resolver;
use crate::values::error::Error;
use crate::values::panic_report::{panic_message, report_panic, Panic};
use crate::values::root::Root;

/// What the cancel stub and shutdown see of a task.
trait Cancel {
    /// `Lwt.cancel` was called on the task's promise: release the resolver, drop the future.
    fn cancel(&self);
    /// The library is shutting down: drop the future, reject the promise with `Shut_down`.
    fn shut_down(&self);
}

/// A pending task, as its cancel entry holds it.
struct Cancellable {
    /// The task's state, inside the task's allocation, which `handle` keeps alive.
    state: NonNull<dyn Cancel>,
    /// Dropped after the state was used: the task is then freed by the executor (it was
    /// idle) or when its current poll returns. Detached when the future is gone.
    handle: async_task::Task<()>,
}

thread_local! {
    /// Tasks whose promise may still be cancelled, by the key their `on_cancel` carries.
    /// `ManuallyDrop`: at exit the tasks still pending are abandoned, never dropped by the
    /// thread-local's destructor (outside any stub).
    static CANCELLABLE: ManuallyDrop<RefCell<KeyedSlab<Cancellable>>> =
        const { ManuallyDrop::new(RefCell::new(KeyedSlab::new())) };

    /// During [`spawn_task`]'s poll of a new task: its [`Spawned`], where that poll leaves
    /// the state's address or the outcome. Null otherwise.
    static SPAWNING: Cell<*mut ()> = const { Cell::new(std::ptr::null_mut()) };
}

/// What a task's first poll (inside [`spawn_task`]) leaves for it.
struct Spawned<T> {
    /// The task's state, if the future is still pending.
    state: Option<NonNull<dyn Cancel>>,
    /// The outcome, if the future finished (merged with its destructor's panic).
    outcome: Option<Outcome<T>>,
}

/// Where a task is in its life.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Polled by [`spawn_task`], before its promise exists.
    Spawning,
    /// Its promise is being made: a poll now (possible only if OCaml code run while making the
    /// promise drains) leaves the future alone and comes back later.
    MakingPromise,
    /// Its promise exists: a poll that finishes settles it.
    Running,
}

/// The future the executor polls for a task: the user's future (in its box), the resolver of
/// its promise and its cancel key. `!Unpin`: its cancel entry points at it.
///
/// Plain `Cell`s (values taken out and put back): the future is taken out while it is polled,
/// so a cancel arriving during the poll finds it missing and sets `cancel_requested` instead.
struct RunTask<F: Future<Output = Result<T, Error>>, O: 'static, T> {
    /// The future, pinned in its box; every poll goes through [`poll_contained`].
    future: Cell<Option<Pin<Box<F>>>>,
    resolver: Cell<Option<Root<Resolver<O>>>>,
    cancel_key: Cell<i64>,
    stage: Cell<Stage>,
    /// Set when `Lwt.cancel` arrives while the future is being polled.
    cancel_requested: Cell<bool>,
    _output: PhantomData<fn() -> T>,
    _pinned: PhantomPinned,
}

/// `RunTask::cancel_key` before the task has a cancel entry.
const NO_KEY: i64 = -1;

impl<F, O, T> Cancel for RunTask<F, O, T>
where
    F: Future<Output = Result<T, Error>>,
    O: 'static,
{
    fn cancel(&self) {
        // The promise is already cancelled (Lwt rejected it with Canceled): release the
        // resolver without settling.
        drop(self.resolver.take());
        match self.future.take() {
            // Taken out of its cell first: its destructors may re-enter. Nothing of `self` is
            // touched after this drop.
            Some(future) => {
                if let Some(panic) = drop_contained(Some(future)) {
                    report_panic("a cancelled task's destructor", &panic_message(&panic));
                }
            }
            // Being polled right now (the poll called OCaml, which cancelled), or already
            // gone: the task drops the future as soon as the poll returns.
            None => self.cancel_requested.set(true),
        }
    }

    fn shut_down(&self) {
        let resolver = self.resolver.take();
        self.cancel();
        if let Some(resolver) = resolver {
            // SAFETY: shutdown runs in the OCaml context (a stub).
            unsafe { callbacks::reject_with_failure(&resolver, FailureKind::ShutDown, "") };
        }
    }
}

/// Drops every pending Rust → OCaml task and rejects its promise with `Shut_down`.
pub(crate) fn shut_down_local_tasks() {
    // Taken out of the table first: rejecting runs OCaml callbacks, which may re-enter it.
    let tasks = CANCELLABLE.with(|c| c.borrow_mut().take_all());
    for task in tasks {
        // SAFETY: the entry's handle (alive until the end of this iteration) keeps the task's
        // allocation, and so its state, alive.
        unsafe { task.state.as_ref() }.shut_down();
        drop(task.handle);
    }
}

/// Makes a task of `future` (pending on its first poll) and returns its promise.
pub(super) fn spawn_task<F, O, T>(future: Pin<Box<F>>) -> RawOCaml
where
    F: Future<Output = Result<T, Error>> + 'static,
    O: 'static,
    T: ToOCaml<O> + 'static,
{
    let (runnable, handle) = with_executor(|ex| {
        ex.spawn_unscheduled(RunTask::<F, O, T> {
            future: Cell::new(Some(future)),
            resolver: Cell::new(None),
            cancel_key: Cell::new(NO_KEY),
            stage: Cell::new(Stage::Spawning),
            cancel_requested: Cell::new(false),
            _output: PhantomData,
            _pinned: PhantomPinned,
        })
    });
    // Poll again at once, now with the task's own waker, before the promise exists.
    let mut spawned = Spawned::<T> {
        state: None,
        outcome: None,
    };
    let outer = SPAWNING.replace(&mut spawned as *mut Spawned<T> as *mut ());
    let ran = catch_unwind(AssertUnwindSafe(|| runnable.run()));
    SPAWNING.set(outer);
    if let Err(panic) = ran {
        report_panic("a task's poll", &panic_message(&panic));
    }
    if let Some(outcome) = spawned.outcome.take() {
        // Finished on this poll: the task is done, and its promise is settled at once.
        handle.detach();
        // SAFETY: OCaml context and the runtime not lent (`spawn` asserted both, and the poll
        // returned); the promise goes straight back to OCaml.
        return unsafe { ready_promise::<O, T>(outcome) };
    }
    let Some(state) = spawned.state else {
        // The task was dropped during its poll (a panic outside the future, reported above).
        drop(handle);
        // SAFETY: OCaml context; returned to OCaml at once.
        return unsafe {
            callbacks::rejected_promise(FailureKind::Panic, "the Rust task's poll failed")
        };
    };
    if is_shut_down() {
        // `Lwt_rust.shutdown` ran during the poll: the future must not outlive it as a task.
        // SAFETY: `handle` keeps the task's allocation alive until dropped below.
        unsafe { state.as_ref() }.cancel();
        drop(handle);
        // SAFETY: OCaml context; returned to OCaml at once.
        return unsafe { callbacks::rejected_promise(FailureKind::ShutDown, "") };
    }
    // SAFETY: `state` points into the task's allocation, which `handle` keeps alive; it is
    // the `RunTask<F, O, T>` made above (the poll recorded its own address).
    let task = unsafe { state.cast::<RunTask<F, O, T>>().as_ref() };
    let key = CANCELLABLE.with(|c| c.borrow_mut().insert(Cancellable { state, handle }));
    task.cancel_key.set(key);
    task.stage.set(Stage::MakingPromise);
    // If making the promise fails (an asynchronous exception raised inside `Lwt_rust.task`
    // panics here), the task is cancelled: its future dropped and its entry removed.
    struct CancelOnUnwind(i64);
    impl Drop for CancelOnUnwind {
        fn drop(&mut self) {
            if std::thread::panicking() {
                cancel_task(self.0);
            }
        }
    }
    let cancel_on_unwind = CancelOnUnwind(key);
    // SAFETY: OCaml context (spawn checked it); the pair is read at once, and
    // `Root::from_raw` does not allocate on the OCaml heap, so the promise read last is still
    // valid.
    let (resolver, promise) = unsafe {
        let pair = callbacks::cancelable_task(Some(key));
        let resolver: Root<Resolver<O>> = Root::from_raw(sys::field(pair, 1).read());
        (resolver, sys::field(pair, 0).read())
    };
    std::mem::forget(cancel_on_unwind);
    if is_shut_down() {
        // OCaml code run while the promise was made shut the library down, which took the
        // task's entry and dropped its future (and the task may be gone): nothing else will
        // settle the promise.
        // SAFETY: OCaml context; `promise` was read with no allocation since. Rejecting
        // allocates: the promise is rooted across it.
        let promise: Root<Resolver<O>> = unsafe { Root::from_raw(promise) };
        // SAFETY: OCaml context.
        unsafe { callbacks::reject_with_failure(&resolver, FailureKind::ShutDown, "") };
        // SAFETY: OCaml context; returned to OCaml with no allocation in between.
        return unsafe { promise.raw() };
    }
    // The entry (and its handle) is still there: only `Lwt.cancel` of the promise, which the
    // caller does not have yet, or shutdown, checked above, could have taken it.
    task.resolver.set(Some(resolver));
    task.stage.set(Stage::Running);
    promise
}

impl<F, O, T> RunTask<F, O, T>
where
    F: Future<Output = Result<T, Error>>,
    O: 'static,
    T: ToOCaml<O>,
{
    /// The future finished (`Some` outcome) or was cancelled during its poll (`None`), and
    /// was dropped (`drop_panic`): remove the cancel entry, settle the promise.
    fn finish(&self, polled: Option<Outcome<T>>, drop_panic: Option<Panic>) {
        if self.stage.get() == Stage::Spawning {
            // Inside `spawn_task`, before the promise exists: it settles the promise.
            if let Some(outcome) = polled {
                // SAFETY: `SPAWNING` points at the `Spawned<T>` of the `spawn_task` that is
                // running this task's first poll (only that poll sees `Stage::Spawning`, and
                // nested spawns restore the pointer before returning).
                let spawned = unsafe { &mut *SPAWNING.get().cast::<Spawned<T>>() };
                spawned.outcome = Some(merge(outcome, drop_panic));
            }
            return;
        }
        // Nothing is left to cancel: the entry goes (its handle detached, so the task is freed
        // once this poll returns).
        forget_cancel_key(self.cancel_key.get());
        let resolver = self.resolver.take();
        if let (Some(outcome), Some(resolver)) = (polled, resolver) {
            let outcome = merge(outcome, drop_panic);
            // Settling must not fail silently: if it panics (it should not), reject with
            // Rust_panic through the path that needs nothing but the OCaml context.
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| settle(&resolver, outcome))) {
                // SAFETY: tasks are polled in the OCaml context.
                unsafe {
                    callbacks::reject_with_failure(
                        &resolver,
                        FailureKind::Panic,
                        &panic_message(&panic),
                    )
                };
            }
        }
    }
}

impl<F, O, T> Future for RunTask<F, O, T>
where
    F: Future<Output = Result<T, Error>> + 'static,
    O: 'static,
    T: ToOCaml<O> + 'static,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Only shared access from here on: the cancel entry may reach the state while the
        // future's poll runs OCaml code.
        let this = self.into_ref().get_ref();
        // Out of its cell while polled (see `RunTask`).
        let Some(mut future) = this.future.take() else {
            return Poll::Ready(());
        };
        if this.stage.get() == Stage::MakingPromise {
            this.future.set(Some(future));
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let polled = match poll_contained(future.as_mut(), cx) {
            Poll::Pending if !this.cancel_requested.get() => {
                this.future.set(Some(future));
                if this.stage.get() == Stage::Spawning {
                    // SAFETY: as in `finish`: this is `spawn_task`'s poll of this task.
                    let spawned = unsafe { &mut *SPAWNING.get().cast::<Spawned<T>>() };
                    spawned.state = Some(NonNull::from(this as &dyn Cancel));
                }
                return Poll::Pending;
            }
            Poll::Pending => None,
            Poll::Ready(outcome) => Some(outcome),
        };
        // Finished or cancelled: drop the future before settling, so that its destructors
        // have run when OCaml resumes. Its block goes back to the box cache, for the next
        // call's future.
        let drop_panic = crate::rust_to_ocaml::box_cache::recycle(future);
        this.finish(polled, drop_panic);
        Poll::Ready(())
    }
}

impl<F: Future<Output = Result<T, Error>>, O: 'static, T> Drop for RunTask<F, O, T> {
    fn drop(&mut self) {
        let future = self.future.take();
        let drop_panic = drop_contained(future);
        forget_cancel_key(self.cancel_key.get());
        let resolver = self.resolver.take();
        let Some(resolver) = resolver else {
            return;
        };
        if !crate::runtime::in_ocaml_context() {
            // No runtime to settle with (the executor is being torn down at exit): release
            // the root only.
            return;
        }
        if is_shut_down() {
            // SAFETY: OCaml context, checked above.
            unsafe { callbacks::reject_with_failure(&resolver, FailureKind::ShutDown, "") };
            return;
        }
        let message = match drop_panic {
            Some(panic) => format!(
                "the Rust task was dropped before it finished, and its destructor panicked: {}",
                panic_message(&panic)
            ),
            None => "the Rust task was dropped before it finished".to_owned(),
        };
        // SAFETY: OCaml context, checked above.
        unsafe { callbacks::reject_with_failure(&resolver, FailureKind::Dropped, &message) };
    }
}

/// Settles `resolver` with `outcome`.
fn settle<O, T: ToOCaml<O>>(resolver: &Root<Resolver<O>>, outcome: Outcome<T>) {
    with_runtime(|cr| {
        // The value is converted straight to a raw value (no root): nothing allocates between
        // its conversion and the call, as reading the resolver from its root does not.
        // SAFETY: OCaml context (tasks are polled in it); the raw value is used below, before
        // any allocation.
        match Settlement::of(outcome, |value| unsafe { value.to_ocaml(cr).raw() }) {
            // SAFETY: see above.
            Settlement::Value(value) => unsafe { callbacks::wakeup_later(resolver.raw(), value) },
            // SAFETY: OCaml context; the exception is read from its root for the call.
            Settlement::Exception(err) => unsafe {
                callbacks::wakeup_later_exn(resolver.raw(), err.exception().raw())
            },
            // SAFETY: OCaml context.
            Settlement::Failure(kind, msg) => unsafe {
                callbacks::reject_with_failure(resolver, kind, &msg)
            },
        }
    })
}

/// Removes the cancel entry of `key` (if still there) and detaches its handle.
fn forget_cancel_key(key: i64) {
    if key == NO_KEY {
        return;
    }
    // At exit the table may already be gone (thread-locals destroyed): nothing is left to
    // forget then. The handle is detached outside the table's borrow.
    let entry = CANCELLABLE
        .try_with(|c| c.borrow_mut().remove(key))
        .ok()
        .flatten();
    if let Some(entry) = entry {
        entry.handle.detach();
    }
}

/// The cancel stub's body: `Lwt.cancel` was called on the promise of task `key`.
pub(crate) fn cancel_task(key: i64) {
    let entry = CANCELLABLE.with(|c| c.borrow_mut().remove(key));
    if let Some(entry) = entry {
        // SAFETY: the entry's handle keeps the task's allocation, and so its state, alive
        // until it is dropped below, after the state's last use.
        unsafe { entry.state.as_ref() }.cancel();
        drop(entry.handle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocaml_to_rust::promise::Promise;
    use crate::values::conv::Opaque;

    fn size_of_output<R, G: Fn(Promise<Opaque>) -> R>(_: G) -> usize {
        std::mem::size_of::<R>()
    }

    /// What a pending task keeps on the Rust side (besides async-task's header and the
    /// executor's wrapper), as accounted in the performance chapter.
    #[test]
    fn a_pending_task_keeps_what_the_accounting_says() {
        type Thin = std::future::Ready<Result<(), Error>>;
        assert_eq!(std::mem::size_of::<RunTask<Thin, (), ()>>(), 32);
        assert_eq!(std::mem::size_of::<Cancellable>(), 24);
        // A task awaiting one promise: its future's box holds the promise twice (the captured
        // value and the awaited one: rustc keeps an async block's captures apart from its
        // locals), each its key and its Lwt promise's root, and the state.
        assert_eq!(std::mem::size_of::<Promise<Opaque>>(), 16);
        let echo = size_of_output(|awaited| async move { Ok::<_, Error>(awaited.await?) });
        assert_eq!(echo, 40);
    }
}
