//! Objects (`#[lwt_rust::object]`) for the tests and benchmarks: a counter that lives on the
//! OCaml thread only, a `Send + Sync` store used from other threads, and free functions taking
//! and returning objects (in lists, options, tuples, streams).
//!
//! Every drop is counted, with the context it ran in: the tests check that each object is
//! dropped exactly once, and never inside the GC (where a destructor calling OCaml, as the
//! counter's `on_drop` does, would be unsound).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering::SeqCst};
use std::sync::Mutex;
use std::time::Duration;

use futures::Stream;
use lwt_rust::{Handle, OCamlFn, Obj};

pub(crate) static DROPPED: AtomicI64 = AtomicI64::new(0);
static DROPPED_OUTSIDE_OCAML: AtomicI64 = AtomicI64::new(0);
pub(crate) static COUNTDOWNS_STARTED: AtomicI64 = AtomicI64::new(0);
pub(crate) static CREATED: AtomicI64 = AtomicI64::new(0);

/// Objects of this file made so far.
#[lwt_rust::func]
pub fn objects_created() -> i64 {
    CREATED.load(SeqCst)
}

/// Objects of this file dropped so far.
#[lwt_rust::func]
pub fn objects_dropped() -> i64 {
    DROPPED.load(SeqCst)
}

/// Counters dropped outside the OCaml context (in a GC finaliser, say): must stay 0.
#[lwt_rust::func]
pub fn objects_dropped_outside_ocaml() -> i64 {
    DROPPED_OUTSIDE_OCAML.load(SeqCst)
}

/// A counter, used on the OCaml thread only (not `Send`: it holds a `Cell`).
#[lwt_rust::object]
pub struct Counter {
    value: Cell<i64>,
    /// An OCaml closure called when the counter is dropped (calls OCaml from a destructor).
    on_drop: RefCell<Option<OCamlFn<(), ()>>>,
}

impl Drop for Counter {
    fn drop(&mut self) {
        if !lwt_rust::in_ocaml_context() {
            DROPPED_OUTSIDE_OCAML.fetch_add(1, SeqCst);
        } else if let Some(on_drop) = self.on_drop.borrow_mut().take() {
            // Calls OCaml: only sound outside the GC, where the bridge drops objects.
            let _ = on_drop.call(&());
        }
        DROPPED.fetch_add(1, SeqCst);
    }
}

#[lwt_rust::object]
impl Counter {
    /// A counter starting at `start`.
    pub fn new(start: i64) -> Self {
        CREATED.fetch_add(1, SeqCst);
        Counter {
            value: Cell::new(start),
            on_drop: RefCell::new(None),
        }
    }

    /// A counter starting at `start`, made after one turn of the event loop.
    pub async fn create_later(start: i64) -> Self {
        crate::yield_once().await;
        Self::new(start)
    }

    /// A counter from a non-negative start; `Err` otherwise.
    pub fn checked(start: i64) -> Result<Self, String> {
        if start < 0 {
            return Err(format!("negative start {start}"));
        }
        Ok(Self::new(start))
    }

    /// The current value.
    pub fn get(&self) -> i64 {
        self.value.get()
    }

    /// Adds `k` and returns the new value, at once (the ready path of an async method).
    pub async fn add(&self, k: i64) -> i64 {
        self.value.set(self.value.get() + k);
        self.value.get()
    }

    /// Adds `k` after `ms` milliseconds (tokio) and returns the new value.
    pub async fn add_after(&self, k: i64, ms: i64) -> i64 {
        tokio::time::sleep(Duration::from_millis(ms as u64)).await;
        self.value.set(self.value.get() + k);
        self.value.get()
    }

    /// Adds `k` once the promise `ready ()` returns is fulfilled, and returns the new value.
    pub async fn add_when(&self, k: i64, ready: OCamlFn<(), ()>) -> Result<i64, lwt_rust::Error> {
        let promise = ready.call(&()).map_err(lwt_rust::Error::OCaml)?;
        promise.await.map_err(lwt_rust::Error::OCaml)?;
        self.value.set(self.value.get() + k);
        Ok(self.value.get())
    }

    /// The values from the counter's value down to 0, as a stream (a method's stream owns
    /// what it needs: it cannot borrow the object).
    #[lwt_rust(stream)]
    pub fn countdown(&self) -> impl Stream<Item = i64> {
        futures::stream::iter((0..=self.value.get()).rev())
    }

    /// `countdown`, counting the calls whose body ran (read by `countdowns_started_raw`): a
    /// method body that must not run after shutdown began.
    #[lwt_rust(stream)]
    pub fn countdown_counted(&self) -> impl Stream<Item = i64> {
        COUNTDOWNS_STARTED.fetch_add(1, SeqCst);
        futures::stream::iter((0..=self.value.get()).rev())
    }

    /// Waits until cancelled.
    pub async fn wait_forever(&self) -> i64 {
        futures::future::pending::<()>().await;
        self.value.get()
    }

    /// `Err` for a negative `k`, else the value plus `k`.
    pub fn try_add(&self, k: i64) -> Result<i64, String> {
        if k < 0 {
            return Err(format!("cannot add {k}"));
        }
        self.value.set(self.value.get() + k);
        Ok(self.value.get())
    }

    /// Panics.
    pub fn explode(&self, message: String) -> i64 {
        panic!("{message}")
    }

    /// Panics in an async method.
    pub async fn explode_later(&self, message: String) -> i64 {
        crate::yield_once().await;
        panic!("{message}")
    }

    /// Calls `f ()` when this counter is dropped.
    pub fn on_drop(&self, f: OCamlFn<(), ()>) {
        *self.on_drop.borrow_mut() = Some(f);
    }

    /// The sum of this counter and `other`.
    pub fn plus(&self, other: Obj<Counter>) -> i64 {
        self.raw_value() + other.raw_value()
    }

    /// Not exported (`skip`): no binding is generated for it.
    #[lwt_rust(skip)]
    pub fn raw_value(&self) -> i64 {
        self.value.get()
    }
}

/// `n` counters, starting at 0, 1, ...
#[lwt_rust::func]
pub fn counters(n: i64) -> Vec<Obj<Counter>> {
    (0..n).map(|i| Obj::new(Counter::new(i))).collect()
}

/// The same counter (another OCaml value of the same object).
#[lwt_rust::func]
pub fn same_counter(counter: Obj<Counter>) -> Obj<Counter> {
    counter
}

/// The sum of the counters' values.
#[lwt_rust::func]
pub async fn sum_counters(counters: Vec<Obj<Counter>>) -> i64 {
    counters.iter().map(|c| c.get()).sum()
}

/// The counter's value and the counter, if any.
#[lwt_rust::func]
pub fn inspect_counter(counter: Option<Obj<Counter>>) -> Option<(i64, Obj<Counter>)> {
    counter.map(|c| (c.get(), c))
}

/// A stream of `n` new counters.
#[lwt_rust::func(stream)]
pub fn counter_stream(n: i64) -> impl Stream<Item = Obj<Counter>> {
    futures::stream::iter((0..n).map(|i| Obj::new(Counter::new(i))))
}

/// A key-value store, `Send + Sync`: usable from other threads.
#[lwt_rust::object]
pub struct Store {
    entries: Mutex<HashMap<String, String>>,
}

impl Drop for Store {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, SeqCst);
    }
}

impl Store {
    fn insert(&self, key: String, value: String) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, value);
    }
}

#[lwt_rust::object]
impl Store {
    /// An empty store, after a tokio timer tick.
    pub async fn open() -> Self {
        tokio::time::sleep(Duration::from_millis(1)).await;
        CREATED.fetch_add(1, SeqCst);
        Store {
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The value of `key`, looked up on a tokio worker thread.
    pub async fn get(&self, key: String) -> Option<String> {
        let value = self
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        tokio::task::spawn(async move { value })
            .await
            .unwrap_or(None)
    }

    /// Sets `key` to `value`.
    pub async fn set(&self, key: String, value: String) {
        self.insert(key, value);
    }

    /// The number of entries.
    pub fn len(&self) -> i64 {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len() as i64
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Hands `store` to `threads` other threads, each setting `per_thread` keys, then hands it
/// back to the OCaml thread through a [`Handle`] task, which returns it with the number of
/// keys the threads set.
#[lwt_rust::func]
pub async fn store_from_threads(
    store: Obj<Store>,
    threads: i64,
    per_thread: i64,
) -> Result<(i64, Obj<Store>), String> {
    let handle = Handle::current();
    let (tx, rx) = futures::channel::oneshot::channel();
    std::thread::spawn(move || {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..per_thread {
                        store.insert(format!("t{t}-{i}"), format!("{i}"));
                    }
                })
            })
            .collect();
        for worker in workers {
            let _ = worker.join();
        }
        // Back to the OCaml thread, where the object is converted to an OCaml value.
        let joined = handle.try_spawn(async move { (threads * per_thread, store) });
        let _ = tx.send(joined.map_err(|_| "the bridge refused the task".to_owned()));
    });
    let joined = rx.await.map_err(|_| "the thread died".to_owned())??;
    joined.await.map_err(|err| err.to_string())
}

/// For the benchmarks: an object whose async method is ready on its first poll, as
/// `add_ready` is for free functions.
#[lwt_rust::object]
pub struct Adder {
    offset: i64,
}

#[lwt_rust::object]
impl Adder {
    /// An adder of nothing more than its two arguments.
    pub fn new() -> Self {
        Adder { offset: 0 }
    }

    /// `a + b` (plus the offset, 0), ready at once.
    pub async fn add(&self, a: i64, b: i64) -> i64 {
        a + b + self.offset
    }
}

/// For the benchmarks: two ints, as an object (its memory against an OCaml record's).
#[lwt_rust::object]
pub struct Pair {
    a: i64,
    b: i64,
}

#[lwt_rust::object]
impl Pair {
    /// The pair `(a, b)`.
    pub fn new(a: i64, b: i64) -> Self {
        Pair { a, b }
    }

    /// `a + b`.
    pub fn sum(&self) -> i64 {
        self.a + self.b
    }
}
