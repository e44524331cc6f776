//! The tokio runtime owned by the library (feature `tokio`).
//!
//! A multi-thread runtime, created on first use with a configurable number of workers. Tasks
//! on the OCaml thread hand it I/O futures with [`spawn_io`] and await the result (the join
//! handle's waker is the task's, so the result comes back on the OCaml thread). Before the
//! first poll of the first task, the runtime starts and the OCaml thread enters its context
//! (for good), so futures polled there use tokio timers, sockets and files directly (their
//! drivers run on the workers), from the very first call: nothing needs calling first.
//!
//! Invariants: the runtime is created once per process and shut down at most once
//! (`Lwt_rust.shutdown`); after that, [`spawn_io`] fails. The runtime's threads never touch
//! OCaml.
//!
//! # Fork
//!
//! A forked child (`Lwt_unix.fork`) has none of the parent's tokio threads, so the parent's
//! runtime would never run a timer or a socket there: its futures would hang. The runtime
//! remembers the process it was started in; in a child, the first use starts a fresh runtime
//! of its own (the parent's is left alone: dropping it would wait for threads that do not
//! exist), and the OCaml thread enters that one instead.

use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};

use crate::threads::handle::JoinError;

static WORKERS: AtomicUsize = AtomicUsize::new(0);
/// The runtime's handle once started, or why it could not start (kept: it is not retried),
/// with the process it was started in.
static HANDLE: OnceLock<Started> = OnceLock::new();
/// The runtime of a forked child (see "Fork"), started on first use there.
static CHILD_HANDLE: Mutex<Option<&'static Started>> = Mutex::new(None);
static RUNTIME: Mutex<Option<tokio::runtime::Runtime>> = Mutex::new(None);

/// Forks made so far by this process's ancestry, as seen from this process: bumped in the
/// child by a `pthread_atfork` handler (reading a counter is cheaper than `getpid`, which is a
/// system call, on the path of every poll). A runtime belongs to the generation it was
/// started in.
static GENERATION: AtomicU32 = AtomicU32::new(1);

extern "C" fn after_fork_in_child() {
    GENERATION.fetch_add(1, Relaxed);
}

extern "C" {
    fn pthread_atfork(
        prepare: Option<extern "C" fn()>,
        parent: Option<extern "C" fn()>,
        child: Option<extern "C" fn()>,
    ) -> i32;
}

/// Registers [`after_fork_in_child`], once per process.
fn watch_forks() {
    static WATCHING: std::sync::Once = std::sync::Once::new();
    WATCHING.call_once(|| {
        // SAFETY: the handler only bumps an atomic counter, which is async-signal-safe and
        // valid in a forked child.
        unsafe { pthread_atfork(None, None, Some(after_fork_in_child)) };
    });
}

/// A started runtime's handle (or why it could not start), and the fork generation it
/// belongs to.
struct Started {
    generation: u32,
    handle: Result<tokio::runtime::Handle, String>,
}

fn start_runtime() -> Started {
    watch_forks();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().thread_name("lwt_rust-tokio");
    let workers = WORKERS.load(Relaxed);
    if workers > 0 {
        builder.worker_threads(workers);
    }
    let handle = builder
        .build()
        .map_err(|err| format!("cannot start tokio: {err}"))
        .map(|runtime| {
            let handle = runtime.handle().clone();
            let mut slot = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
            // A parent's runtime in a forked child: its threads are gone, so it is forgotten,
            // never dropped (dropping would wait for them).
            if let Some(parent) = slot.replace(runtime) {
                std::mem::forget(parent);
            }
            handle
        });
    Started {
        generation: GENERATION.load(Relaxed),
        handle,
    }
}

/// The runtime of this process: the first one started, or a forked child's own.
fn started() -> &'static Started {
    let first = HANDLE.get_or_init(start_runtime);
    if first.generation == GENERATION.load(Relaxed) {
        return first;
    }
    let mut child = CHILD_HANDLE.lock().unwrap_or_else(|p| p.into_inner());
    match *child {
        Some(started) if started.generation == GENERATION.load(Relaxed) => started,
        _ => {
            // Once per forked process: leaked, as `HANDLE`'s runtime lives for the program.
            let started: &'static Started = Box::leak(Box::new(start_runtime()));
            *child = Some(started);
            started
        }
    }
}

/// Sets the number of worker threads (0: tokio's default, one per core). Only before the
/// runtime starts.
pub fn set_workers(workers: usize) -> Result<(), &'static str> {
    if HANDLE.get().is_some() {
        return Err("the tokio runtime has already started");
    }
    WORKERS.store(workers, Relaxed);
    Ok(())
}

/// The runtime's handle, starting the runtime if needed.
pub fn handle() -> Result<&'static tokio::runtime::Handle, JoinError> {
    let handle = start()?;
    ensure_entered();
    Ok(handle)
}

/// Starts this process's runtime if needed (not after shutdown) and returns its handle.
fn start() -> Result<&'static tokio::runtime::Handle, JoinError> {
    if crate::runtime::is_shut_down() {
        return Err(JoinError::ShutDown);
    }
    started()
        .handle
        .as_ref()
        .map_err(|err| JoinError::Panicked(err.clone()))
}

thread_local! {
    /// The fork generation whose runtime this thread has entered (0: none).
    static ENTERED: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Puts the OCaml thread inside the runtime's context for good, starting the runtime if
/// needed, so that futures polled there can use tokio's timers and sockets (their drivers run
/// on the workers). Called before polling; a thread-local check once it has entered. If the
/// runtime cannot start (or the bridge has shut down), tokio calls in a future panic as they
/// would anywhere outside a runtime, and the panic is contained in that call's promise.
#[inline]
pub(crate) fn ensure_entered() {
    // This runs before every poll on the OCaml thread: a thread-local and a relaxed load,
    // inlined, when entered; the rest out of line.
    let entered = ENTERED.with(std::cell::Cell::get);
    if entered == 0 || entered != GENERATION.load(Relaxed) {
        enter();
    }
}

/// [`ensure_entered`]'s slow path: not entered yet on this thread, or entered in the parent
/// before a fork.
#[cold]
#[inline(never)]
fn enter() {
    if !crate::runtime::on_ocaml_thread() {
        return;
    }
    // Not entered yet, or entered in the parent before a fork: enter this process's runtime.
    if start().is_err() {
        return;
    }
    let started = started();
    let Ok(handle) = &started.handle else {
        return;
    };
    ENTERED.with(|e| e.set(started.generation));
    // Never left: the OCaml thread stays in the context (it never runs a tokio runtime
    // itself, so nothing else needs to enter and leave it there).
    std::mem::forget(handle.enter());
}

/// Runs `future` on the tokio runtime's workers; await the returned handle from anywhere
/// (typically from a task on the OCaml thread).
pub fn spawn_io<F>(future: F) -> Result<tokio::task::JoinHandle<F::Output>, JoinError>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Ok(handle()?.spawn(future))
}

/// The runtime's handle, or `None` if it cannot start (after shutdown), for a thread of the
/// blocking pool to enter. Unlike [`handle`], does not make the OCaml thread enter it: it may
/// be called from any thread.
pub(crate) fn blocking_handle() -> Option<&'static tokio::runtime::Handle> {
    start().ok()
}

/// Stops the runtime without waiting for its tasks (shutdown).
pub(crate) fn shutdown() {
    if let Some(runtime) = RUNTIME.lock().unwrap_or_else(|p| p.into_inner()).take() {
        runtime.shutdown_background();
    }
}
