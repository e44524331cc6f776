// OCaml sees one concrete record type: no type parameters.
#[lwt_rust::record]
pub struct Pair<T> {
    pub first: T,
    pub second: T,
}

fn main() {}
