//! Rust futures surfaced to OCaml as `'a Lwt.t` (the Rust → OCaml direction).
//!
//! [`spawn`] polls the future once, synchronously. If it is ready, the caller gets an already
//! settled promise (`Lwt.return` / `Lwt.fail`): no task, no queue, no notification. Otherwise
//! the future becomes a task on the OCaml thread's executor, polled again at once so that it
//! registers the task's real waker, and the caller gets the promise of a cancelable
//! `Lwt.task` whose resolver the task holds rooted.
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

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use ocaml::sys::{self, Value as RawOCaml};
use ocaml_interop::ToOCaml;

use crate::callbacks::{self, FailureKind};
use crate::conv::{OCamlRepr, Opaque, Resolver};
use crate::error::{Error, OCamlError};
use crate::keyed::KeyedSlab;
use crate::panic_report::{panic_message, report_panic, Panic};
use crate::root::Root;
use crate::runtime::{
    assert_may_call_ocaml, is_shut_down, with_executor, with_runtime, wrong_thread_message, Entered,
};

type Outcome<T> = Result<Result<T, Error>, Panic>;

/// A task's future, pinned; every poll goes through [`poll_contained`].
type Guarded<F> = Pin<Box<F>>;

/// Polls `future`, catching a panic (it comes back as `Ready(Err(panic))`).
#[inline]
fn poll_contained<F: Future>(
    future: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Poll<Result<F::Output, Panic>> {
    match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
        Ok(Poll::Pending) => Poll::Pending,
        Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
        Err(panic) => Poll::Ready(Err(panic)),
    }
}

/// Runs `future` on the OCaml thread and returns the `'a Lwt.t` of its outcome, as a raw value
/// to hand straight back to OCaml from a stub (nothing may allocate in between).
///
/// `O` is the ocaml-interop marker of `'a` (for example `OCamlInt` for `int`); the output `T`
/// is converted with `ToOCaml<O>` on the OCaml thread when the future completes.
///
/// # Panics
/// Outside the OCaml context (see [`crate::runtime::in_ocaml_context`]), or inside
/// [`with_runtime`] (spawning runs OCaml code, which could move the values borrowed there).
/// Wrap stubs in [`lwt_stub`], which turns such a panic into a rejected promise.
pub fn spawn<O, T, F>(future: F) -> ocaml::Raw
where
    O: 'static,
    T: ToOCaml<O> + 'static,
    F: Future<Output = Result<T, Error>> + 'static,
{
    assert_may_call_ocaml("lwt_rust::lwt_future::spawn");
    if is_shut_down() {
        // SAFETY: OCaml context (checked above); returned to OCaml at once.
        return ocaml::Raw(unsafe { callbacks::failed(FailureKind::ShutDown, "") });
    }
    #[cfg(feature = "tokio")]
    crate::tokio_rt::ensure_entered();
    // Most ready calls reuse the block of the previous one (see `box_cache`).
    let mut future: Guarded<F> = crate::box_cache::pin(future);
    let first = poll_contained(future.as_mut(), &mut Context::from_waker(Waker::noop()));
    match first {
        Poll::Ready(outcome) => {
            let drop_panic = crate::box_cache::recycle(future);
            // SAFETY: OCaml context and the runtime not lent (both asserted above); the
            // result goes straight back to OCaml.
            ocaml::Raw(unsafe { ready_promise(merge(outcome, drop_panic)) })
        }
        Poll::Pending if is_shut_down() => {
            // `Lwt_rust.shutdown` ran during the first poll: the future must not outlive it
            // as a task.
            let drop_panic = drop_contained(Some(future));
            if let Some(panic) = drop_panic {
                report_panic("a future's destructor, at shutdown", &panic_message(&panic));
            }
            // SAFETY: OCaml context (checked above); returned to OCaml at once.
            ocaml::Raw(unsafe { callbacks::failed(FailureKind::ShutDown, "") })
        }
        Poll::Pending => ocaml::Raw(spawn_task(future)),
    }
}

/// As [`spawn`], returning the promise rooted, so that it survives further allocations
/// (to build a bigger value around it afterwards, with `with_runtime`).
pub fn spawn_rooted<O, T, F>(future: F) -> Root<crate::conv::Lwt<O>>
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
pub fn spawn_value<T, F>(future: F) -> ocaml::Raw
where
    T: OCamlRepr + ToOCaml<T::Marker>,
    F: Future<Output = T> + 'static,
{
    spawn::<T::Marker, T, _>(async move { fitting(future.await) })
}

/// [`spawn`] for a future returning `Result<T, E>`: `Ok` resolves the promise; `Err` rejects
/// it with the same OCaml exception if `E` is [`Error`] or [`OCamlError`], and with
/// `Lwt_rust.Rust_error` carrying `E`'s `Display` text otherwise.
pub fn spawn_result<T, E, F>(future: F) -> ocaml::Raw
where
    T: OCamlRepr + ToOCaml<T::Marker>,
    E: std::fmt::Display + 'static,
    F: Future<Output = Result<T, E>> + 'static,
{
    spawn::<T::Marker, T, _>(async move { fitting(future.await.map_err(into_error)?) })
}

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

/// A promise rejected with `Invalid_argument message`: what a stub returns when an argument
/// fails its [`OCamlRepr`] check.
///
/// # Panics
/// Outside the OCaml context, or inside [`with_runtime`] (it allocates on the OCaml heap).
pub fn invalid_argument(message: &str) -> ocaml::Raw {
    assert_may_call_ocaml("lwt_rust::lwt_future::invalid_argument");
    // SAFETY: OCaml context (checked); the result goes straight back to OCaml.
    ocaml::Raw(unsafe { callbacks::failed(FailureKind::InvalidArgument, message) })
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
        |kind, message| unsafe { ocaml::Raw(callbacks::failed(kind, message)) },
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
pub(crate) fn contained_stub(
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

/// A settled promise for an outcome available at once.
///
/// # Safety
/// OCaml context, with the runtime handle not lent (`spawn` asserts both): the handle is
/// recovered here without `with_runtime`'s checks, which `spawn` has just made.
unsafe fn ready_promise<O, T: ToOCaml<O>>(outcome: Outcome<T>) -> RawOCaml {
    // SAFETY: the caller guarantees the OCaml context (runtime lock held) and that no other
    // `&mut OCamlRuntime` is alive in this stub frame; this one lives until the return.
    let cr = unsafe { ocaml_interop::internal::recover_runtime_handle_mut() };
    {
        // SAFETY (all arms): OCaml context; each value is passed to OCaml right after it is
        // made or read from its root, with no allocation in between.
        match outcome {
            Ok(Ok(value)) => {
                match catch_unwind(AssertUnwindSafe(|| unsafe { value.to_ocaml(cr).raw() })) {
                    Ok(value) => unsafe { callbacks::returned(value) },
                    Err(panic) => unsafe {
                        callbacks::failed(FailureKind::Panic, &panic_message(&panic))
                    },
                }
            }
            Ok(Err(Error::OCaml(err))) => unsafe { callbacks::failed_with(err.exception().raw()) },
            Ok(Err(Error::Rust(msg))) => unsafe { callbacks::failed(FailureKind::Error, &msg) },
            Err(panic) => unsafe { callbacks::failed(FailureKind::Panic, &panic_message(&panic)) },
        }
    }
}

/// Settles `resolver` with `outcome`.
fn settle<O, T: ToOCaml<O>>(resolver: &Root<Resolver<O>>, outcome: Outcome<T>) {
    with_runtime(|cr| {
        // SAFETY (all arms): OCaml context; values are read from roots or made just before
        // the call that uses them.
        match outcome {
            Ok(Ok(value)) => match catch_unwind(AssertUnwindSafe(|| value.to_boxroot(cr))) {
                Ok(value) => unsafe { callbacks::resolve(resolver.raw(), value.get_raw()) },
                Err(panic) => unsafe {
                    callbacks::fail(resolver, FailureKind::Panic, &panic_message(&panic))
                },
            },
            Ok(Err(Error::OCaml(err))) => unsafe {
                callbacks::reject(resolver.raw(), err.exception().raw())
            },
            Ok(Err(Error::Rust(msg))) => unsafe {
                callbacks::fail(resolver, FailureKind::Error, &msg)
            },
            Err(panic) => unsafe {
                callbacks::fail(resolver, FailureKind::Panic, &panic_message(&panic))
            },
        }
    })
}

/// A panic while dropping the future turns a success into a `Rust_panic`.
fn merge<T>(outcome: Outcome<T>, drop_panic: Option<Panic>) -> Outcome<T> {
    match (outcome, drop_panic) {
        (Ok(_), Some(panic)) => Err(panic),
        (outcome, _) => outcome,
    }
}

/// Drops a future, returning the panic its destructor raised, if any.
fn drop_contained<F>(future: Option<F>) -> Option<Panic> {
    catch_unwind(AssertUnwindSafe(|| drop(future))).err()
}

/// The state a running task shares with its cancel entry.
///
/// While the task is pending, `handle` keeps it alive: async-task frees a detached task whose
/// last waker is gone without dropping its future, so the handle is only detached once the
/// future is gone. Cancelling drops the handle, which makes the executor free the task.
///
/// Plain `Cell`s (values taken out and put back), which keeps the state small: the future is
/// taken out while it is polled, so a cancel arriving during the poll finds it missing and
/// sets `cancel_requested` instead.
struct TaskState<F: Future<Output = Result<T, Error>>, O: 'static, T> {
    future: Cell<Option<Guarded<F>>>,
    resolver: Cell<Option<Root<Resolver<O>>>>,
    handle: Cell<Option<async_task::Task<()>>>,
    /// Set when `Lwt.cancel` arrives while the future is being polled.
    cancel_requested: Cell<bool>,
    cancel_key: Cell<i64>,
}

/// What the cancel stub and shutdown see of a task.
trait Cancel {
    /// `Lwt.cancel` was called on the task's promise.
    fn cancel(&self);
    /// The library is shutting down: drop the future, reject the promise with `Shut_down`.
    fn shut_down(&self);
}

thread_local! {
    /// Tasks whose promise may still be cancelled, by the key their `on_cancel` carries.
    static CANCELLABLE: RefCell<KeyedSlab<Rc<dyn Cancel>>> =
        const { RefCell::new(KeyedSlab::new()) };
}

impl<F, O, T> Cancel for TaskState<F, O, T>
where
    F: Future<Output = Result<T, Error>>,
    O: 'static,
{
    fn cancel(&self) {
        // The promise is already cancelled (Lwt rejected it with Canceled): release the
        // resolver without settling. Dropping the handle cancels the task: async-task has the
        // executor free it (it was idle) or frees it when its current poll returns.
        drop(self.resolver.take());
        drop(self.handle.take());
        match self.future.take() {
            // Taken out of its cell first: its destructors may re-enter.
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
            unsafe { callbacks::fail(&resolver, FailureKind::ShutDown, "") };
        }
    }
}

/// Drops every pending Rust → OCaml task and rejects its promise with `Shut_down`.
pub(crate) fn shut_down_local_tasks() {
    // Taken out of the table first: rejecting runs OCaml callbacks, which may re-enter it.
    let tasks = CANCELLABLE.with(|c| c.borrow_mut().take_all());
    for task in tasks {
        task.shut_down();
    }
}

fn spawn_task<F, O, T>(future: Guarded<F>) -> RawOCaml
where
    F: Future<Output = Result<T, Error>> + 'static,
    O: 'static,
    T: ToOCaml<O> + 'static,
{
    let state = Rc::new(TaskState {
        future: Cell::new(Some(future)),
        resolver: Cell::new(None),
        handle: Cell::new(None),
        cancel_requested: Cell::new(false),
        cancel_key: Cell::new(-1),
    });
    let key = CANCELLABLE.with(|c| c.borrow_mut().insert(state.clone() as Rc<dyn Cancel>));
    state.cancel_key.set(key);
    // If making the promise fails (an asynchronous exception raised inside `Lwt_rust.task`
    // panics here), the task never exists: its cancel entry must go too, with the future.
    struct ForgetOnUnwind(i64);
    impl Drop for ForgetOnUnwind {
        fn drop(&mut self) {
            if std::thread::panicking() {
                forget_cancel_key(self.0);
            }
        }
    }
    let forget_on_unwind = ForgetOnUnwind(key);
    // SAFETY: OCaml context (spawn checked it); the pair is read at once and
    // `Root::from_raw` does not allocate on the OCaml heap.
    let promise = unsafe {
        let pair = callbacks::task(Some(key));
        let promise: Root<Resolver<O>> = Root::from_raw(sys::field(pair, 0).read());
        state
            .resolver
            .set(Some(Root::from_raw(sys::field(pair, 1).read())));
        promise
    };
    std::mem::forget(forget_on_unwind);
    let (runnable, handle) = with_executor(|ex| {
        ex.spawn_unscheduled(RunTask {
            state: state.clone(),
        })
    });
    state.handle.set(Some(handle));
    drop(state);
    // Poll again at once, now with the task's own waker.
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| runnable.run())) {
        report_panic("a task's poll", &panic_message(&panic));
    }
    // SAFETY: OCaml context; returned to OCaml with no allocation in between.
    unsafe { promise.raw() }
}

/// The future the executor polls for a task: drives the user's future and settles the
/// promise.
struct RunTask<F: Future<Output = Result<T, Error>>, O: 'static, T> {
    state: Rc<TaskState<F, O, T>>,
}

impl<F, O, T> Future for RunTask<F, O, T>
where
    F: Future<Output = Result<T, Error>>,
    O: 'static,
    T: ToOCaml<O>,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let state = &self.state;
        // Out of its cell while polled (see `TaskState`).
        let Some(mut future) = state.future.take() else {
            return Poll::Ready(());
        };
        let polled = match poll_contained(future.as_mut(), cx) {
            Poll::Pending if !state.cancel_requested.get() => {
                state.future.set(Some(future));
                return Poll::Pending;
            }
            Poll::Pending => None,
            Poll::Ready(outcome) => Some(outcome),
        };
        // Finished or cancelled: drop the future before settling, so that its destructors
        // have run when OCaml resumes.
        let drop_panic = drop_contained(Some(future));
        forget_cancel_key(state.cancel_key.get());
        // Nothing is left to cancel: let the task be freed once this poll returns.
        if let Some(handle) = state.handle.take() {
            handle.detach();
        }
        let resolver = state.resolver.take();
        if let (Some(outcome), Some(resolver)) = (polled, resolver) {
            let outcome = merge(outcome, drop_panic);
            // Settling must not fail silently: if it panics (it should not), reject with
            // Rust_panic through the path that needs nothing but the OCaml context.
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| settle(&resolver, outcome))) {
                // SAFETY: tasks are polled in the OCaml context.
                unsafe { callbacks::fail(&resolver, FailureKind::Panic, &panic_message(&panic)) };
            }
        }
        Poll::Ready(())
    }
}

impl<F: Future<Output = Result<T, Error>>, O: 'static, T> Drop for RunTask<F, O, T> {
    fn drop(&mut self) {
        let state = &self.state;
        let future = state.future.take();
        let drop_panic = drop_contained(future);
        forget_cancel_key(state.cancel_key.get());
        let resolver = state.resolver.take();
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
            unsafe { callbacks::fail(&resolver, FailureKind::ShutDown, "") };
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
        unsafe { callbacks::fail(&resolver, FailureKind::Dropped, &message) };
    }
}

fn forget_cancel_key(key: i64) {
    // The entry holds an `Rc` to the state; drop it outside the table's borrow. At exit the
    // table may already be gone (thread-locals destroyed): nothing is left to forget then.
    let entry = CANCELLABLE
        .try_with(|c| c.borrow_mut().remove(key))
        .ok()
        .flatten();
    drop(entry);
}

/// The cancel stub's body: `Lwt.cancel` was called on the promise of task `key`.
pub(crate) fn cancel_task(key: i64) {
    let entry = CANCELLABLE.with(|c| c.borrow_mut().remove(key));
    if let Some(task) = entry {
        task.cancel();
    }
}
