// OCaml records have field names: a tuple struct is refused.
#[lwt_rust::record]
pub struct Meters(pub f64);

fn main() {}
