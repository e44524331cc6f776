//! Objects whose destructors do what the bridge must survive wherever it drops them (a drain,
//! `Lwt_rust.stats`, shutdown, exit): panic, use the runtime's handle (`Counter`'s calls OCaml). And a
//! reader of an OCaml stream of objects (a closed one among them).

use std::sync::atomic::{AtomicI64, Ordering::SeqCst};

use futures::Stream;
use futures::StreamExt;
use lwt_rust::{Error, Handle, OCamlFn, OCamlStream, Obj};

use crate::objects::Counter;

static BOMBS_DROPPED: AtomicI64 = AtomicI64::new(0);

/// Bombs whose destructor started (and, for an armed one, panicked).
#[lwt_rust::func(name = "lwt_rust_demo_bombs_dropped")]
pub fn bombs_dropped() -> i64 {
    BOMBS_DROPPED.load(SeqCst)
}

/// An object whose destructor panics (when armed).
#[lwt_rust::object]
pub struct Bomb {
    armed: bool,
}

impl Drop for Bomb {
    fn drop(&mut self) {
        BOMBS_DROPPED.fetch_add(1, SeqCst);
        if self.armed {
            panic!("a Bomb's destructor panicked");
        }
    }
}

#[lwt_rust::object]
impl Bomb {
    /// A bomb, armed or not.
    pub fn new(armed: bool) -> Self {
        Bomb { armed }
    }

    /// Whether it is armed.
    pub fn armed(&self) -> bool {
        self.armed
    }

    /// Panics, so that the object's last lease may go while the panic unwinds.
    pub fn explode(&self) -> bool {
        panic!("a Bomb's method panicked")
    }
}

/// An object whose destructor uses the runtime's handle (`Handle::current`, which panics
/// outside the OCaml context).
#[lwt_rust::object]
pub struct Farewell {
    _private: (),
}

impl Drop for Farewell {
    fn drop(&mut self) {
        let _ = Handle::current();
        FAREWELLS.fetch_add(1, SeqCst);
    }
}

static FAREWELLS: AtomicI64 = AtomicI64::new(0);

#[lwt_rust::object]
impl Farewell {
    /// A new one.
    pub fn new() -> Self {
        Farewell { _private: () }
    }
}

/// Bombs dropped so far, read without a stub frame (usable after `Lwt_rust.shutdown`, which
/// refuses synchronous Rust functions): reads an atomic, allocates nothing.
#[lwt_rust::external(ocaml = "unit -> int")]
#[export_name = "lwt_rust_demo_bombs_dropped_raw"]
pub extern "C" fn bombs_dropped_raw(_unit: ocaml::Raw) -> ocaml::Raw {
    // SAFETY: tagging an integer reads no memory.
    ocaml::Raw(unsafe { ocaml::sys::val_int(BOMBS_DROPPED.load(SeqCst) as isize) })
}

/// The sum of the values of the counters of `items`.
#[lwt_rust::func(name = "lwt_rust_demo_sum_counter_stream")]
pub async fn sum_counter_stream(mut items: OCamlStream<Obj<Counter>>) -> Result<i64, Error> {
    let mut sum = 0;
    while let Some(item) = items.next().await {
        sum += item?.get();
    }
    Ok(sum)
}

/// `objects_dropped`, read without a stub frame (as [`bombs_dropped_raw`]).
#[lwt_rust::external(ocaml = "unit -> int")]
#[export_name = "lwt_rust_demo_objects_dropped_raw"]
pub extern "C" fn objects_dropped_raw(_unit: ocaml::Raw) -> ocaml::Raw {
    // SAFETY: tagging an integer reads no memory.
    ocaml::Raw(unsafe { ocaml::sys::val_int(crate::objects::DROPPED.load(SeqCst) as isize) })
}

/// How many `Counter::countdown_counted` bodies ran, read without a stub frame (as
/// [`bombs_dropped_raw`]).
#[lwt_rust::external(ocaml = "unit -> int")]
#[export_name = "lwt_rust_demo_countdowns_started_raw"]
pub extern "C" fn countdowns_started_raw(_unit: ocaml::Raw) -> ocaml::Raw {
    // SAFETY: tagging an integer reads no memory.
    ocaml::Raw(unsafe {
        ocaml::sys::val_int(crate::objects::COUNTDOWNS_STARTED.load(SeqCst) as isize)
    })
}

/// `objects_created`, read without a stub frame (as [`bombs_dropped_raw`]).
#[lwt_rust::external(ocaml = "unit -> int")]
#[export_name = "lwt_rust_demo_objects_created_raw"]
pub extern "C" fn objects_created_raw(_unit: ocaml::Raw) -> ocaml::Raw {
    // SAFETY: tagging an integer reads no memory.
    ocaml::Raw(unsafe { ocaml::sys::val_int(crate::objects::CREATED.load(SeqCst) as isize) })
}

/// `dropped_futures`, read without a stub frame (after `Lwt_rust.shutdown`).
#[lwt_rust::external(ocaml = "unit -> int")]
#[export_name = "lwt_rust_demo_dropped_futures_raw"]
pub extern "C" fn dropped_futures_raw(_unit: ocaml::Raw) -> ocaml::Raw {
    // SAFETY: tagging an integer reads no memory.
    ocaml::Raw(unsafe { ocaml::sys::val_int(crate::DROPPED.load(SeqCst) as isize) })
}

/// `streams_dropped`, read without a stub frame (after `Lwt_rust.shutdown`).
#[lwt_rust::external(ocaml = "unit -> int")]
#[export_name = "lwt_rust_demo_streams_dropped_raw"]
pub extern "C" fn streams_dropped_raw(_unit: ocaml::Raw) -> ocaml::Raw {
    // SAFETY: tagging an integer reads no memory.
    ocaml::Raw(unsafe { ocaml::sys::val_int(crate::streams::DROPPED.load(SeqCst) as isize) })
}

/// `thread_outcome`, read without a stub frame (after `Lwt_rust.shutdown`): `""` while the
/// thread has recorded nothing.
#[lwt_rust::external(ocaml = "unit -> string")]
#[export_name = "lwt_rust_demo_thread_outcome_raw"]
pub extern "C" fn thread_outcome_raw(_unit: ocaml::Raw) -> ocaml::Raw {
    let outcome = crate::threads::THREAD_OUTCOME
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or_default();
    // SAFETY: OCaml called this function (runtime lock held); one allocation, returned at once.
    ocaml::Raw(unsafe {
        ocaml::sys::caml_alloc_initialized_string(outcome.len(), outcome.as_ptr().cast())
    })
}

/// What an [`ExitGuard`]'s destructor does: panic (0), call its OCaml closure (1), or use the
/// runtime's handle (2), three things a destructor run outside a stub could not survive.
struct ExitGuard {
    mode: i64,
    on_drop: Option<OCamlFn<(), ()>>,
}

impl Drop for ExitGuard {
    fn drop(&mut self) {
        // On stdout, compared with the expected output of the exit tests: which destructors
        // ran (and, from the order of lines, where).
        println!("an exit guard's destructor ran (mode {})", self.mode);
        match self.mode {
            0 => panic!("an exit guard's destructor panicked"),
            1 => {
                if let Some(on_drop) = self.on_drop.take() {
                    let _ = on_drop.call(&());
                }
            }
            _ => {
                let _ = Handle::current();
            }
        }
    }
}

/// A stream that never yields, owning an [`ExitGuard`] of `mode` (see there): for a stream
/// still alive at exit.
#[lwt_rust::func(name = "lwt_rust_demo_exit_guarded_stream", stream)]
pub fn exit_guarded_stream(mode: i64, on_drop: OCamlFn<(), ()>) -> impl Stream<Item = i64> {
    let guard = ExitGuard {
        mode,
        on_drop: Some(on_drop),
    };
    futures::stream::pending::<i64>().map(move |item| {
        let _guard = &guard;
        item
    })
}

/// A task that never finishes, owning an [`ExitGuard`] of `mode` (see there), that waits
/// `ms` milliseconds on a tokio timer first: still pending at exit, and queued if the timer
/// fired while OCaml was not draining.
#[lwt_rust::func(name = "lwt_rust_demo_exit_guarded_task")]
pub async fn exit_guarded_task(mode: i64, on_drop: OCamlFn<(), ()>, ms: i64) -> i64 {
    let _guard = ExitGuard {
        mode,
        on_drop: Some(on_drop),
    };
    tokio::time::sleep(std::time::Duration::from_millis(ms as u64)).await;
    futures::future::pending::<i64>().await
}
