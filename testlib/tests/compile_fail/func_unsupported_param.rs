// Every parameter and result needs an OCaml type (lwt_rust::conv::OCamlRepr): the binding
// record names it, and a HashMap has none.
#[lwt_rust::func]
pub fn lookup(index: std::collections::HashMap<String, i64>) -> i64 {
    index.len() as i64
}

fn main() {}
