// Every field needs an OCaml counterpart (lwt_rust::conv::OCamlRepr): a HashMap has none.
#[lwt_rust::record]
pub struct Index {
    pub entries: std::collections::HashMap<String, i64>,
}

fn main() {}
