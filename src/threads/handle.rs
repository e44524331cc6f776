//! [`Handle`]: how other threads (a tokio runtime, a worker pool, a synchronous callback) hand
//! work to the OCaml thread.
//!
//! Invariants:
//! - a `Handle` is `Send + Sync + Clone` and never touches OCaml itself: it only queues tasks
//!   on the OCaml thread's executor (the same run queue and coalesced notification as every
//!   other wake); OCaml values are read only by the tasks, on the OCaml thread;
//! - submissions hold a permit of a bounded semaphore from the moment they are accepted until
//!   the OCaml thread first polls them: at most `capacity` submitted tasks wait to start.
//!   Wakes of running tasks take no permit and are never limited;
//! - every task spawned through a handle is registered until it finishes, so that
//!   the bridge's shutdown (`lwt_rust_shutdown`, in `ffi::lifecycle`) can abort it
//!   ([`abort_all`]); its join handle then reports
//!   [`JoinError::ShutDown`].

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use async_lock::{Semaphore, SemaphoreGuardArc};
use futures::future::{AbortHandle, Abortable};
use futures::FutureExt;
use ocaml_interop::OCamlRuntime;
use slab::Slab;

use crate::engine::executor::Spawner;
use crate::runtime::{self, is_shut_down, on_ocaml_thread, LwtNotifier};
use crate::values::panic_report::panic_message;

/// Default number of submitted tasks that may wait to start.
pub const DEFAULT_CAPACITY: usize = 65_536;

static CAPACITY: AtomicUsize = AtomicUsize::new(DEFAULT_CAPACITY);

/// What every handle shares. Lives as long as any handle; `Send + Sync`.
struct Shared {
    spawner: Spawner<LwtNotifier>,
    permits: Arc<Semaphore>,
    /// Abort handles of the tasks spawned through handles and not finished yet.
    running: Mutex<Slab<AbortHandle>>,
}

static SHARED: OnceLock<Arc<Shared>> = OnceLock::new();

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
    shared: Arc<Shared>,
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
            Arc::new(Shared {
                spawner,
                permits: Arc::new(Semaphore::new(CAPACITY.load(Relaxed))),
                running: Mutex::new(Slab::new()),
            })
        });
        Handle {
            shared: shared.clone(),
        }
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
        let permit = self.shared.permits.acquire_arc().await;
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
        match self.shared.permits.try_acquire_arc() {
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

    /// Registers and queues a task. The shutdown flag is checked under the registry lock,
    /// which `abort_all` also takes after setting it: every accepted task is either aborted
    /// by the shutdown or refused here.
    fn spawn_with<F>(
        &self,
        future: F,
        permit: SemaphoreGuardArc,
    ) -> Result<JoinHandle<F::Output>, F>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (abort, registration) = AbortHandle::new_pair();
        let mut running = self.shared.running.lock().expect("poisoned");
        if is_shut_down() {
            return Err(future);
        }
        // Unregisters when the future is dropped, polled or not (a task cancelled before it
        // started must not stay registered).
        let unregister = Unregister {
            shared: self.shared.clone(),
            key: running.insert(abort),
        };
        let task = self.shared.spawner.spawn(async move {
            // The task has left the submission queue: make room for another.
            drop(permit);
            let _unregister = unregister;
            let guarded = AssertUnwindSafe(future).catch_unwind();
            match Abortable::new(guarded, registration).await {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(panic)) => Err(JoinError::Panicked(panic_message(&panic))),
                Err(_aborted) => Err(JoinError::ShutDown),
            }
        });
        drop(running);
        Ok(JoinHandle {
            task: Some(task.fallible()),
        })
    }
}

/// Aborts every task spawned through a handle (shutdown). They finish, with
/// [`JoinError::ShutDown`], the next time the OCaml thread polls them.
pub(crate) fn abort_all() {
    if let Some(shared) = SHARED.get() {
        for (_, abort) in shared.running.lock().expect("poisoned").iter() {
            abort.abort();
        }
    }
}

struct Unregister {
    shared: Arc<Shared>,
    key: usize,
}

impl Drop for Unregister {
    fn drop(&mut self) {
        if let Ok(mut running) = self.shared.running.lock() {
            running.try_remove(self.key);
        }
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

/// Number of tasks spawned through handles and not dropped yet (registered for shutdown).
pub fn live_handle_tasks() -> usize {
    SHARED
        .get()
        .map_or(0, |shared| shared.running.lock().map_or(0, |r| r.len()))
}
