// A `&mut self` method is refused: OCaml may call a method while another one is running.
use std::cell::Cell;

#[lwt_rust::object]
pub struct Counter {
    n: Cell<i64>,
}

#[lwt_rust::object]
impl Counter {
    pub fn bump(&mut self) -> i64 {
        self.n.set(self.n.get() + 1);
        self.n.get()
    }
}

fn main() {}
