//! The tokio runtime owned by the library (feature `tokio`).
//!
//! A multi-thread runtime, created on first use with a configurable number of workers. Tasks
//! on the OCaml thread hand it I/O futures with [`spawn_io`] and await the result (the join
//! handle's waker is the task's, so the result comes back on the OCaml thread). Once the
//! runtime exists, every stub enters its context, so futures polled on the OCaml thread can
//! also use tokio timers and sockets directly (their drivers run on the workers).
//!
//! Invariants: the runtime is created once and shut down at most once (`Lwt_rust.shutdown`);
//! after that, [`spawn_io`] fails. The runtime's threads never touch OCaml.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};

use crate::handle::JoinError;

static WORKERS: AtomicUsize = AtomicUsize::new(0);
static HANDLE: OnceLock<tokio::runtime::Handle> = OnceLock::new();
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
    if crate::runtime::is_shut_down() {
        return Err(JoinError::ShutDown);
    }
    let mut failed = None;
    let handle = HANDLE.get_or_init(|| {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.enable_all().thread_name("lwt_rust-tokio");
        let workers = WORKERS.load(Relaxed);
        if workers > 0 {
            builder.worker_threads(workers);
        }
        match builder.build() {
            Ok(runtime) => {
                let handle = runtime.handle().clone();
                *RUNTIME.lock().expect("poisoned") = Some(runtime);
                handle
            }
            Err(err) => {
                failed = Some(err.to_string());
                // A handle that can only fail: the current-thread builder's, never driven.
                tokio::runtime::Builder::new_current_thread()
                    .build()
                    .expect("a current-thread runtime")
                    .handle()
                    .clone()
            }
        }
    });
    if let Some(err) = failed {
        return Err(JoinError::Panicked(format!("cannot start tokio: {err}")));
    }
    // Started inside a stub, after that stub entered no context: enter it for the rest of
    // this stub, so the future that started the runtime can use its timers and sockets now.
    if crate::runtime::in_ocaml_context() {
        LATE_ENTER.with(|late| {
            let mut late = late.borrow_mut();
            if late.is_none() && tokio::runtime::Handle::try_current().is_err() {
                *late = Some(handle.enter());
            }
        });
    }
    Ok(handle)
}

thread_local! {
    /// The context entered by [`handle`] in a stub that started the runtime; left when that
    /// stub returns (see [`leave_late`]).
    static LATE_ENTER: std::cell::RefCell<Option<tokio::runtime::EnterGuard<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// Leaves the context [`handle`] entered late, if any (called by the outermost stub's exit,
/// before it leaves its own).
pub(crate) fn leave_late() {
    let guard = LATE_ENTER.with(|late| late.borrow_mut().take());
    drop(guard);
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

/// Enters the runtime's context if it has started (called by every outermost stub).
pub(crate) fn enter() -> Option<tokio::runtime::EnterGuard<'static>> {
    HANDLE.get().map(tokio::runtime::Handle::enter)
}

/// Stops the runtime without waiting for its tasks (shutdown).
pub(crate) fn shutdown() {
    if let Some(runtime) = RUNTIME.lock().expect("poisoned").take() {
        runtime.shutdown_background();
    }
}
