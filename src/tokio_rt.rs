//! The tokio runtime owned by the library (feature `tokio`).
//!
//! A multi-thread runtime, created on first use with a configurable number of workers. Tasks
//! on the OCaml thread hand it I/O futures with [`spawn_io`] and await the result (the join
//! handle's waker is the task's, so the result comes back on the OCaml thread). Before the
//! first poll of the first task, the runtime starts and the OCaml thread enters its context
//! (for good), so futures polled there use tokio timers, sockets and files directly (their
//! drivers run on the workers), from the very first call: nothing needs calling first.
//!
//! Invariants: the runtime is created once and shut down at most once (`Lwt_rust.shutdown`);
//! after that, [`spawn_io`] fails. The runtime's threads never touch OCaml.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};

use crate::handle::JoinError;

static WORKERS: AtomicUsize = AtomicUsize::new(0);
/// The runtime's handle once started, or why it could not start (kept: it is not retried).
static HANDLE: OnceLock<Result<tokio::runtime::Handle, String>> = OnceLock::new();
static RUNTIME: Mutex<Option<tokio::runtime::Runtime>> = Mutex::new(None);

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

/// Starts the runtime if needed (not after shutdown) and returns its handle.
fn start() -> Result<&'static tokio::runtime::Handle, JoinError> {
    if crate::runtime::is_shut_down() {
        return Err(JoinError::ShutDown);
    }
    let started = HANDLE.get_or_init(|| {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.enable_all().thread_name("lwt_rust-tokio");
        let workers = WORKERS.load(Relaxed);
        if workers > 0 {
            builder.worker_threads(workers);
        }
        let runtime = builder
            .build()
            .map_err(|err| format!("cannot start tokio: {err}"))?;
        let handle = runtime.handle().clone();
        *RUNTIME.lock().expect("poisoned") = Some(runtime);
        Ok(handle)
    });
    started
        .as_ref()
        .map_err(|err| JoinError::Panicked(err.clone()))
}

thread_local! {
    static ENTERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Puts the OCaml thread inside the runtime's context for good, starting the runtime if
/// needed, so that futures polled there can use tokio's timers and sockets (their drivers run
/// on the workers). Called before polling; a thread-local check once it has entered. If the
/// runtime cannot start (or the bridge has shut down), tokio calls in a future panic as they
/// would anywhere outside a runtime, and the panic is contained in that call's promise.
pub(crate) fn ensure_entered() {
    // Cheapest check first: this runs before every poll on the OCaml thread.
    if ENTERED.with(std::cell::Cell::get) || !crate::runtime::on_ocaml_thread() {
        return;
    }
    let Ok(handle) = start() else {
        return;
    };
    ENTERED.with(|e| e.set(true));
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

/// Stops the runtime without waiting for its tasks (shutdown).
pub(crate) fn shutdown() {
    if let Some(runtime) = RUNTIME.lock().expect("poisoned").take() {
        runtime.shutdown_background();
    }
}
