// OCaml sees one concrete variant type: no type parameters.
#[lwt_rust::variant]
pub enum Maybe<T> {
    Nothing,
    Just(T),
}

fn main() {}
