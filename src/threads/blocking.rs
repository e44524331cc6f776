//! Blocking work as a future: what `#[lwt_rust::func(blocking)]` runs its body with.
//!
//! [`run`] hands a closure to a pool of threads made for blocking calls (the small pool below,
//! whose threads are inside the tokio runtime's context with the `tokio` feature) and returns a
//! future of its result. The future is awaited on the OCaml thread like any other, so the
//! closure runs without the OCaml runtime lock and the OCaml thread keeps serving Lwt in the
//! meantime.
//!
//! Invariants:
//! - the closure runs at most once, on a pool thread, never on the thread that awaits it;
//! - dropping the future (an `Lwt.cancel` of its promise) never waits: a closure already
//!   running cannot be interrupted, it runs to its end and its result is dropped on the pool
//!   thread; a closure not started yet is skipped;
//! - a panic in the closure is caught on the pool thread and resumed when the future is
//!   polled, where the bridge contains it (`Lwt_rust.Rust_panic`); a panic while dropping a
//!   result nobody awaits any more is caught and reported on stderr, never unwinds out of the
//!   pool thread.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{
    AtomicPtr,
    Ordering::{AcqRel, Acquire},
};
use std::sync::{Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::channel::oneshot;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The most threads the library's own pool starts (work beyond that waits in its queue).
pub const MAX_THREADS: usize = 16;

/// How long an idle thread of the library's own pool waits for work before it exits.
const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// The future of a closure run by [`run`]; its output is the closure's result.
#[must_use = "the closure's result is dropped unless the future is awaited"]
pub struct Blocking<T> {
    receiver: oneshot::Receiver<std::thread::Result<T>>,
}

impl<T> Future for Blocking<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match Pin::new(&mut self.receiver).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(Ok(value))) => Poll::Ready(value),
            // The closure panicked: the panic goes on where the future is polled, so the
            // bridge contains it as it contains the panics of any future.
            Poll::Ready(Ok(Err(panic))) => resume_unwind(panic),
            // The sender is dropped without sending only if the pool dropped the job unrun
            // (its threads could not start, or the runtime shut down).
            Poll::Ready(Err(oneshot::Canceled)) => {
                panic!("lwt_rust: the blocking pool dropped the work before running it")
            }
        }
    }
}

/// Runs `body` on a thread of the blocking pool and returns the future of its result.
///
/// The result is sent back to whoever awaits the future (the OCaml thread, for a
/// `#[lwt_rust::func(blocking)]` function). Dropping the future does not stop a running
/// `body` (nothing can): its result is dropped when it ends.
pub fn run<T, F>(body: F) -> Blocking<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (sender, receiver) = oneshot::channel();
    let job: Job = Box::new(move || {
        if sender.is_canceled() {
            // Cancelled while queued: nobody wants the result.
            return;
        }
        let outcome = catch_unwind(AssertUnwindSafe(body));
        if let Err(unwanted) = sender.send(outcome) {
            // Cancelled while running: the result is dropped here, and a panic in its
            // destructor must not end the pool's thread.
            if let Err(panic) = catch_unwind(AssertUnwindSafe(move || drop(unwanted))) {
                report(&panic);
            }
        }
    });
    submit(job);
    Blocking { receiver }
}

fn report(panic: &(dyn std::any::Any + Send)) {
    #[cfg(feature = "ocaml")]
    crate::values::panic_report::report_panic(
        "the destructor of a blocking call's result (its promise was cancelled)",
        &crate::values::panic_report::payload_text(panic),
    );
    #[cfg(not(feature = "ocaml"))]
    let _ = panic;
}

// The library's own pool, also with the `tokio` feature: tokio's `spawn_blocking` measured
// 4 to 5 times slower per call here (bench/README.md, `blocking_call`), its pool starting a
// thread for every call that finds none idle (up to 512). The pool's threads enter the tokio
// runtime's context, so that a body can use `tokio::runtime::Handle::current()` as in
// `spawn_blocking`.
fn submit(job: Job) {
    pool().submit(job);
}

/// The pool of this process. A forked child has none of its parent's pool threads (fork copies
/// only the calling thread), and one of them may have held the pool's lock at the fork: so the
/// child's first call makes a pool of its own, and the parent's is left alone, leaked with its
/// queue (those jobs were the parent's work; their destructors are not run here).
///
/// The fork count is read before the first pool is made, which is what starts the counting
/// (see `runtime`, "Fork"): a pool that existed before forks were counted would look like
/// the child's own there, with idle threads the child does not have.
fn pool() -> &'static Pool {
    let generation = forks();
    let current = POOL.load(Acquire);
    // SAFETY: a non-null pointer in `POOL` comes from `Box::leak` below and is never freed.
    if let Some(pool) = unsafe { current.as_ref() } {
        if pool.generation == generation {
            return pool;
        }
    }
    let fresh: &'static Pool = Box::leak(Box::new(Pool::new(generation)));
    match POOL.compare_exchange(current, fresh as *const Pool as *mut Pool, AcqRel, Acquire) {
        Ok(_) => fresh,
        // Another thread installed one first: use it. `fresh` was never shared: it is simply
        // not used (leaked, a few words, at most once per racing thread).
        // SAFETY: as above, a pointer stored in `POOL` is leaked and never freed.
        Err(winner) => unsafe { winner.as_ref() }.unwrap_or(fresh),
    }
}

/// Forks this process descends from, as the OCaml side's executor counts them (none without
/// the `ocaml` feature: no executor counts them then).
fn forks() -> u32 {
    #[cfg(feature = "ocaml")]
    return crate::runtime::forks();
    #[cfg(not(feature = "ocaml"))]
    0
}

/// This process's pool (see [`pool`]); null until the first blocking call.
static POOL: AtomicPtr<Pool> = AtomicPtr::new(std::ptr::null_mut());

/// The library's own pool: up to [`MAX_THREADS`] threads, started on demand, each exiting
/// after [`KEEP_ALIVE`] without work. Work beyond [`MAX_THREADS`] bodies at once waits in a
/// queue (first in, first out).
struct Pool {
    /// [`forks`] when the pool was made: a pool of another generation belongs
    /// to an ancestor process.
    generation: u32,
    state: Mutex<State>,
    work: Condvar,
}

struct State {
    jobs: VecDeque<Job>,
    threads: usize,
    idle: usize,
}

impl Pool {
    fn new(generation: u32) -> Pool {
        Pool {
            generation,
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                threads: 0,
                idle: 0,
            }),
            work: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Jobs run outside the lock and catch their panics: a poisoned lock still holds a
        // consistent state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn submit(&'static self, job: Job) {
        let mut state = self.lock();
        state.jobs.push_back(job);
        if state.idle >= state.jobs.len() || state.threads >= MAX_THREADS {
            drop(state);
            self.work.notify_one();
            return;
        }
        state.threads += 1;
        drop(state);
        let started = std::thread::Builder::new()
            .name("lwt_rust-blocking".to_owned())
            .spawn(move || self.serve());
        if started.is_err() {
            let mut state = self.lock();
            state.threads -= 1;
            if state.threads == 0 {
                // No thread will ever run the queue: drop it, which fails the futures
                // (their senders are dropped unsent).
                let jobs = std::mem::take(&mut state.jobs);
                drop(state);
                drop(jobs);
            }
        }
    }

    fn serve(&self) {
        #[cfg(feature = "tokio")]
        let _tokio = crate::threads::tokio_rt::blocking_handle().map(|handle| handle.enter());
        let mut state = self.lock();
        loop {
            if let Some(job) = state.jobs.pop_front() {
                drop(state);
                job();
                state = self.lock();
                continue;
            }
            state.idle += 1;
            let (next, timeout) = self
                .work
                .wait_timeout(state, KEEP_ALIVE)
                .unwrap_or_else(|p| p.into_inner());
            state = next;
            state.idle -= 1;
            if timeout.timed_out() && state.jobs.is_empty() {
                state.threads -= 1;
                return;
            }
        }
    }
}

/// The threads the library's own pool has now, and how many of them are idle.
#[cfg(test)]
fn pool_threads() -> (usize, usize) {
    let state = pool().lock();
    (state.threads, state.idle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::{Arc, Barrier};

    #[test]
    fn results_come_back_from_another_thread() {
        let caller = std::thread::current().id();
        let (value, thread) =
            futures::executor::block_on(run(move || (41 + 1, std::thread::current().id())));
        assert_eq!(value, 42);
        assert_ne!(thread, caller);
    }

    #[test]
    fn a_panic_is_resumed_where_the_future_is_polled() {
        let outcome = catch_unwind(|| futures::executor::block_on(run(|| panic!("boom"))));
        let panic = outcome.expect_err("the panic reaches the poller");
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"boom"));
    }

    #[test]
    fn calls_run_concurrently_up_to_the_pool_size() {
        // Bodies that each wait for all the others: they finish only if they all run at
        // once. (Half the pool: the other tests of this module run in parallel with it.)
        let n = MAX_THREADS / 2;
        let barrier = Arc::new(Barrier::new(n));
        let futures: Vec<_> = (0..n)
            .map(|i| {
                let barrier = barrier.clone();
                run(move || {
                    barrier.wait();
                    i
                })
            })
            .collect();
        let results = futures::executor::block_on(futures::future::join_all(futures));
        assert_eq!(results, (0..n).collect::<Vec<_>>());
        assert!(pool_threads().0 <= MAX_THREADS);
    }

    #[test]
    fn a_dropped_future_drops_the_result_when_the_work_ends() {
        struct Counted(Arc<AtomicUsize>, std::sync::mpsc::Sender<()>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, SeqCst);
                let _ = self.1.send(());
            }
        }
        let dropped = Arc::new(AtomicUsize::new(0));
        let (started, running) = std::sync::mpsc::channel::<()>();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (ended, done) = std::sync::mpsc::channel::<()>();
        let counter = dropped.clone();
        let future = run(move || {
            started.send(()).unwrap();
            wait.recv().unwrap();
            Counted(counter, ended)
        });
        running.recv().unwrap();
        drop(future);
        assert_eq!(dropped.load(SeqCst), 0, "the body is still running");
        release.send(()).unwrap();
        done.recv()
            .expect("the result is dropped when the body ends");
        assert_eq!(dropped.load(SeqCst), 1);
    }
}
