// A method taking `&'static self` is refused: the object lives as long as its OCaml value or
// until `close`, so a reference to it may not outlive the method's future.
#[lwt_rust::object]
pub struct Keeper {
    n: i64,
}

#[lwt_rust::object]
impl Keeper {
    pub async fn keep(&'static self) -> i64 {
        self.n
    }
}

fn main() {}
