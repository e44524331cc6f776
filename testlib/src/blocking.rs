//! Blocking functions (`#[lwt_rust::func(blocking)]`): what `test/test_blocking.ml` and the
//! benchmark call. Their bodies run on the blocking pool, off the OCaml thread.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Condvar, Mutex};

/// A number naming the calling thread.
fn thread_tag() -> i64 {
    let mut hasher = DefaultHasher::new();
    std::thread::current().id().hash(&mut hasher);
    (hasher.finish() >> 2) as i64
}

/// `caller_thread : unit -> int`: a number naming the thread this plain `fn` runs on (the
/// OCaml thread).
#[lwt_rust::func]
pub fn caller_thread() -> i64 {
    thread_tag()
}

/// `blocking_thread : unit -> int Lwt.t`: a number naming the thread the body runs on.
#[lwt_rust::func(blocking)]
pub fn blocking_thread() -> i64 {
    thread_tag()
}

/// `blocking_add : int -> int -> int Lwt.t`: `a + b`, computed on the blocking pool.
#[lwt_rust::func(blocking)]
pub fn blocking_add(a: i64, b: i64) -> i64 {
    a + b
}

/// `blocking_concat : string list -> string Lwt.t`: the strings joined, computed on the
/// blocking pool (arguments converted before it leaves, the result after it returns).
#[lwt_rust::func(blocking)]
pub fn blocking_concat(parts: Vec<String>) -> String {
    parts.concat()
}

/// `blocking_divide : int -> int -> int Lwt.t`: `Err` rejects with `Rust_error`.
#[lwt_rust::func(blocking)]
pub fn blocking_divide(a: i64, b: i64) -> Result<i64, String> {
    if b == 0 {
        Err(format!("cannot divide {a} by 0"))
    } else {
        Ok(a / b)
    }
}

/// `blocking_panic : string -> int Lwt.t`: panics on the pool with `message`.
#[lwt_rust::func(blocking)]
pub fn blocking_panic(message: String) -> i64 {
    panic!("{message}")
}

/// A gate blocking bodies wait at, and how many bodies have passed it.
struct Gate {
    open: bool,
    passed: i64,
    waiting: i64,
}

static GATE: Mutex<Gate> = Mutex::new(Gate {
    open: false,
    passed: 0,
    waiting: 0,
});
static GATE_CHANGED: Condvar = Condvar::new();

fn gate() -> std::sync::MutexGuard<'static, Gate> {
    GATE.lock().unwrap_or_else(|p| p.into_inner())
}

/// `gate_set : bool -> unit`: opens or closes the gate.
#[lwt_rust::func]
pub fn gate_set(open: bool) {
    gate().open = open;
    GATE_CHANGED.notify_all();
}

/// `gate_counts : unit -> int * int`: (bodies waiting at the gate, bodies that passed it).
#[lwt_rust::func]
pub fn gate_counts() -> (i64, i64) {
    let gate = gate();
    (gate.waiting, gate.passed)
}

/// `blocking_at_gate : int -> int Lwt.t`: waits (blocking its pool thread) until the gate is
/// open, then returns `value`.
#[lwt_rust::func(blocking)]
pub fn blocking_at_gate(value: i64) -> i64 {
    let mut gate = gate();
    gate.waiting += 1;
    GATE_CHANGED.notify_all();
    while !gate.open {
        gate = GATE_CHANGED.wait(gate).unwrap_or_else(|p| p.into_inner());
    }
    gate.waiting -= 1;
    gate.passed += 1;
    GATE_CHANGED.notify_all();
    value
}

/// `blocking_until_waiting : int -> unit Lwt.t`: blocks until `n` bodies wait at the gate
/// (a blocking call that needs others to run at the same time).
#[lwt_rust::func(blocking)]
pub fn blocking_until_waiting(n: i64) {
    let mut gate = gate();
    while gate.waiting < n {
        gate = GATE_CHANGED.wait(gate).unwrap_or_else(|p| p.into_inner());
    }
}

/// `blocking_until_passed : int -> unit Lwt.t`: blocks until `n` bodies have passed the gate
/// in all.
#[lwt_rust::func(blocking)]
pub fn blocking_until_passed(n: i64) {
    let mut gate = gate();
    while gate.passed < n {
        gate = GATE_CHANGED.wait(gate).unwrap_or_else(|p| p.into_inner());
    }
}

/// `blocking_sees_tokio : unit -> bool Lwt.t`: whether the body runs inside the tokio
/// runtime's context (as a `spawn_blocking` body would).
#[lwt_rust::func(blocking)]
pub fn blocking_sees_tokio() -> bool {
    tokio::runtime::Handle::try_current().is_ok()
}

/// `warm_blocking_pool : unit -> unit`: runs an empty body on the blocking pool and waits for
/// it on the calling thread, so that the pool has an idle thread while no task was ever made
/// on the OCaml thread (what a program leaves behind when its blocking calls all finished
/// before their first poll).
#[lwt_rust::func]
pub fn warm_blocking_pool() {
    futures::executor::block_on(lwt_rust::__private::run_blocking(|| ()));
}
