//! [`Handle`]: how other threads (a tokio runtime, a worker pool, a synchronous callback) hand
//! work to the OCaml thread.
//!
//! Invariants:
//! - a `Handle` is `Send + Sync`, cheap to clone, and never touches OCaml itself: it only
//!   queues tasks on the OCaml thread's executor (the same run queue and coalesced notification
//!   as every other wake); OCaml values are read only by the tasks, on the OCaml thread;
//! - submissions hold a permit of a bounded semaphore from the moment they are accepted until
//!   the OCaml thread first polls them: at most `capacity` submitted tasks wait to start.
//!   Wakes of running tasks take no permit and are never limited;
//! - every task accepted before the bridge's shutdown (`lwt_rust_shutdown`, in
//!   `ffi::lifecycle`) finishes with [`JoinError::ShutDown`] unless it finished before: a task
//!   checks for the shutdown each time it is polled, and the shutdown wakes every task waiting
//!   for a wake ([`abort_all`]) and waits for the submissions already past their own check to be
//!   queued, so that its drains poll them. The submitting threads and the OCaml thread share
//!   nothing else than the run queue and the semaphore: a submission takes no lock and
//!   allocates only its task.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed, Ordering::Release, Ordering::SeqCst};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use async_lock::{Semaphore, SemaphoreGuard};
use futures::future::CatchUnwind;
use futures::FutureExt;
use ocaml_interop::OCamlRuntime;

use crate::engine::executor::Spawner;
use crate::engine::keyed::KeyedSlab;
use crate::runtime::{self, is_shut_down, on_ocaml_thread, LwtNotifier};
use crate::values::panic_report::panic_message;

/// Default number of submitted tasks that may wait to start.
pub const DEFAULT_CAPACITY: usize = 65_536;

static CAPACITY: AtomicUsize = AtomicUsize::new(DEFAULT_CAPACITY);

/// What every handle shares, made once and kept for the life of the process; `Send + Sync`.
struct Shared {
    spawner: Spawner<LwtNotifier>,
    permits: Semaphore,
    /// Submissions past their shutdown check and not queued yet (see [`Submitting`]).
    submitting: AtomicUsize,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

thread_local! {
    /// The wakers of the tasks spawned through handles that wait for a wake, woken by the
    /// shutdown ([`abort_all`]). Owner thread only: handle tasks are polled there.
    static WAITING: RefCell<KeyedSlab<Waker>> = const { RefCell::new(KeyedSlab::new()) };
}

/// Sets how many submitted tasks may wait to start. Only before the first [`Handle`] exists.
pub fn set_capacity(capacity: usize) -> Result<(), &'static str> {
    if capacity == 0 {
        return Err("the submission capacity must be at least 1");
    }
    if SHARED.get().is_some() {
        return Err("the submission capacity is fixed once a Handle exists");
    }
    CAPACITY.store(capacity, Relaxed);
    Ok(())
}

/// A `Send + Sync`, cheaply cloned way to run work on the OCaml thread from any thread.
///
/// Obtained on the OCaml thread with [`Handle::current`].
#[derive(Clone)]
pub struct Handle {
    shared: &'static Shared,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field(
                "available_permits",
                &self.shared.permits.available_permits(),
            )
            .finish()
    }
}

/// Why a task spawned through a [`Handle`] gave no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinError {
    /// The library was shut down (or the executor went away) before the task finished.
    ShutDown,
    /// The task panicked; the payload is the panic message.
    Panicked(String),
    /// `run_blocking` was called on the OCaml thread, where waiting would deadlock.
    WouldDeadlock,
    /// `run_blocking` gave up after its timeout.
    Timeout,
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::ShutDown => f.write_str("lwt_rust was shut down"),
            JoinError::Panicked(msg) => write!(f, "the task panicked: {msg}"),
            JoinError::WouldDeadlock => f.write_str(
                "run_blocking called on the OCaml thread: it would wait for itself forever",
            ),
            JoinError::Timeout => f.write_str("run_blocking timed out"),
        }
    }
}

impl std::error::Error for JoinError {}

/// Why [`Handle::try_spawn`] refused a future; the future is handed back.
pub enum TrySpawnError<F> {
    /// `capacity` submitted tasks are already waiting to start.
    Full(F),
    /// The library was shut down.
    ShutDown(F),
}

impl<F> fmt::Debug for TrySpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySpawnError::Full(_) => "Full",
            TrySpawnError::ShutDown(_) => "ShutDown",
        })
    }
}

impl Handle {
    /// The handle of the OCaml thread's executor.
    ///
    /// # Panics
    /// Outside the OCaml context (the OCaml thread, inside a stub or a task).
    pub fn current() -> Handle {
        let shared = SHARED.get_or_init(|| {
            let spawner = runtime::with_executor(|ex| ex.spawner());
            Shared {
                spawner,
                permits: Semaphore::new(CAPACITY.load(Relaxed)),
                submitting: AtomicUsize::new(0),
            }
        });
        Handle { shared }
    }

    /// Runs `future` on the OCaml thread, waiting for room if `capacity` submissions are
    /// already waiting to start. Dropping the returned [`JoinHandle`] cancels the task.
    pub async fn spawn<F>(&self, future: F) -> Result<JoinHandle<F::Output>, JoinError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if is_shut_down() {
            return Err(JoinError::ShutDown);
        }
        let permit = self.shared.permits.acquire().await;
        self.spawn_with(future, permit)
            .map_err(|_| JoinError::ShutDown)
    }

    /// Runs `future` on the OCaml thread, or hands it back at once if the submission queue is
    /// full or the library was shut down.
    pub fn try_spawn<F>(&self, future: F) -> Result<JoinHandle<F::Output>, TrySpawnError<F>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if is_shut_down() {
            return Err(TrySpawnError::ShutDown(future));
        }
        match self.shared.permits.try_acquire() {
            Some(permit) => self
                .spawn_with(future, permit)
                .map_err(TrySpawnError::ShutDown),
            None => Err(TrySpawnError::Full(future)),
        }
    }

    /// Fire and forget: as [`try_spawn`](Self::try_spawn), with the task detached.
    pub fn try_submit<F>(&self, future: F) -> Result<(), TrySpawnError<F>>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.try_spawn(future).map(JoinHandle::detach)
    }

    /// Runs `f` on the OCaml thread with the OCaml runtime (to read rooted values or call
    /// OCaml functions) and resolves with its result.
    pub async fn run<F, R>(&self, f: F) -> Result<R, JoinError>
    where
        F: FnOnce(&mut OCamlRuntime) -> R + Send + 'static,
        R: Send + 'static,
    {
        self.spawn(async move { runtime::with_runtime(f) })
            .await?
            .await
    }

    /// As [`run`](Self::run), from a synchronous thread: blocks at most `timeout`. On the
    /// OCaml thread itself it returns [`JoinError::WouldDeadlock`] at once. On timeout the
    /// call is cancelled if it has not started.
    pub fn run_blocking<F, R>(&self, f: F, timeout: Duration) -> Result<R, JoinError>
    where
        F: FnOnce(&mut OCamlRuntime) -> R + Send + 'static,
        R: Send + 'static,
    {
        if on_ocaml_thread() {
            return Err(JoinError::WouldDeadlock);
        }
        block_on_timeout(self.run(f), timeout).unwrap_or(Err(JoinError::Timeout))
    }

    /// Queues a task, unless the shutdown has begun: then the future is handed back. See
    /// [`Submitting`] for why no accepted task can miss the shutdown's drains.
    fn spawn_with<F>(
        &self,
        future: F,
        permit: SemaphoreGuard<'static>,
    ) -> Result<JoinHandle<F::Output>, F>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let _submitting = Submitting::enter(&self.shared.submitting);
        if is_shut_down() {
            return Err(future);
        }
        let task = self.shared.spawner.spawn(Submitted {
            permit: Some(permit),
            waiting: None,
            future: AssertUnwindSafe(future).catch_unwind(),
        });
        Ok(JoinHandle {
            task: Some(task.fallible()),
        })
    }
}

/// A submission between its shutdown check and the push of its task onto the run queue.
///
/// The submission counts itself (`fetch_add`, `SeqCst`) before it reads the shutdown flag
/// (`SeqCst`); the shutdown sets the flag (`SeqCst`), then [`abort_all`] waits for the count to
/// fall to 0 before the shutdown's drains. In the single order of those `SeqCst` operations, a
/// submission that read the flag clear counted itself before the flag was set, so the
/// shutdown's read of the count comes after that count: it waits for the push, which the
/// count's `Release` decrement makes visible to it. A submission that read the flag set queues
/// nothing. Hence every accepted task is queued before the shutdown drains.
struct Submitting<'a>(&'a AtomicUsize);

impl<'a> Submitting<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, SeqCst);
        Submitting(count)
    }
}

impl Drop for Submitting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Release);
    }
}

/// A task spawned through a handle, as the OCaml thread polls it: it gives its permit back when
/// first polled, finishes with [`JoinError::ShutDown`] once the bridge is shut down, contains
/// the future's panics, and while it waits for a wake keeps its waker in [`WAITING`] so that
/// the shutdown can wake it.
struct Submitted<F> {
    /// Held until the first poll (the task leaves the submission queue).
    permit: Option<SemaphoreGuard<'static>>,
    /// The key of the waker in [`WAITING`], while registered.
    waiting: Option<i64>,
    future: CatchUnwind<AssertUnwindSafe<F>>,
}

impl<F: Future> Future for Submitted<F> {
    type Output = Result<F::Output, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self` (neither here
        // nor by `Drop`), and `Submitted` has no `Unpin` impl of its own; the other fields are
        // not pinned and are only assigned or taken.
        let this = unsafe { self.get_unchecked_mut() };
        // The task has left the submission queue: make room for another.
        this.permit = None;
        if is_shut_down() {
            return Poll::Ready(this.finish(Err(JoinError::ShutDown)));
        }
        // SAFETY: see above.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        match future.poll(cx) {
            Poll::Ready(Ok(value)) => Poll::Ready(this.finish(Ok(value))),
            Poll::Ready(Err(panic)) => {
                Poll::Ready(this.finish(Err(JoinError::Panicked(panic_message(&panic)))))
            }
            Poll::Pending => {
                this.wait_for_wake(cx.waker());
                // A shutdown made inside this very poll woke the waiting tasks before this
                // one was registered.
                if is_shut_down() {
                    Poll::Ready(this.finish(Err(JoinError::ShutDown)))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl<F> Submitted<F> {
    /// Registers (or refreshes) the task's waker in [`WAITING`]. Owner thread (a poll).
    fn wait_for_wake(&mut self, waker: &Waker) {
        WAITING.with(|waiting| {
            let mut waiting = waiting.borrow_mut();
            if let Some(registered) = self.waiting.and_then(|key| waiting.get_mut(key)) {
                if !registered.will_wake(waker) {
                    *registered = waker.clone();
                }
                return;
            }
            self.waiting = Some(waiting.insert(waker.clone()));
        });
    }

    /// Leaves [`WAITING`], and gives `result`.
    fn finish<T>(&mut self, result: T) -> T {
        self.unregister();
        result
    }

    /// Removes the task's waker from [`WAITING`], if registered. Only the owner thread has
    /// entries there; after the shutdown took them all, the key is stale and nothing happens.
    fn unregister(&mut self) {
        if let Some(key) = self.waiting.take() {
            if on_ocaml_thread() {
                let waker = WAITING
                    .try_with(|waiting| waiting.borrow_mut().remove(key))
                    .ok()
                    .flatten();
                // Outside the borrow: dropping a waker may run arbitrary code.
                drop(waker);
            }
        }
    }
}

impl<F> Drop for Submitted<F> {
    fn drop(&mut self) {
        self.unregister();
    }
}

/// Wakes every task spawned through a handle that waits for a wake (shutdown, on the OCaml
/// thread, after the shutdown flag was set): on their next poll, they finish with
/// [`JoinError::ShutDown`]. First waits for the submissions already past their shutdown check
/// to be queued (see [`Submitting`]): the shutdown's drains must see them.
pub(crate) fn abort_all() {
    if let Some(shared) = SHARED.get() {
        while shared.submitting.load(SeqCst) != 0 {
            std::thread::yield_now();
        }
    }
    let waiting = WAITING
        .try_with(|waiting| waiting.borrow_mut().take_all())
        .unwrap_or_default();
    // Outside the borrow: a wake may run arbitrary code.
    for waker in waiting {
        waker.wake();
    }
}

/// The result of a task spawned through a [`Handle`]: a future, awaitable from any thread.
/// Dropping it cancels the task unless [`detach`](Self::detach) was called.
#[must_use = "dropping a JoinHandle cancels its task; call detach() to let it run"]
pub struct JoinHandle<T> {
    task: Option<async_task::FallibleTask<Result<T, JoinError>>>,
}

impl<T> JoinHandle<T> {
    /// Lets the task run to completion without anyone awaiting it.
    pub fn detach(mut self) {
        if let Some(task) = self.task.take() {
            task.detach();
        }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let task = self
            .task
            .as_mut()
            .expect("JoinHandle polled after completion");
        match task.poll_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(result) => {
                self.task = None;
                // `None`: the executor dropped the task without running it to the end.
                Poll::Ready(result.unwrap_or(Err(JoinError::ShutDown)))
            }
        }
    }
}

/// Wakes a parked thread.
struct Unparker(std::thread::Thread);

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` on this thread, parking between polls, for at most `timeout`. `None` if the
/// time ran out (the future is then dropped).
fn block_on_timeout<F: Future>(future: F, timeout: Duration) -> Option<F::Output> {
    let deadline = Instant::now() + timeout;
    let waker = Waker::from(Arc::new(Unparker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Some(output);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        std::thread::park_timeout(deadline - now);
    }
}

/// Number of tasks spawned through handles that wait for a wake, registered for the shutdown to
/// wake them. On the OCaml thread (elsewhere: 0).
pub fn live_handle_tasks() -> usize {
    WAITING
        .try_with(|waiting| waiting.borrow().len())
        .unwrap_or(0)
}
