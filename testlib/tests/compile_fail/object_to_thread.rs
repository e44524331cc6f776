// An object of a type that is not `Send` cannot be handed to another thread.
use std::cell::Cell;

use lwt_rust::Obj;

#[lwt_rust::object]
pub struct Counter {
    n: Cell<i64>,
}

fn send(counter: Obj<Counter>) {
    std::thread::spawn(move || counter.n.get());
}

fn main() {}
