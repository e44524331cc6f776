// A record's OCaml value owns its data: no borrowed fields.
#[lwt_rust::record]
pub struct Name<'a> {
    pub text: &'a str,
}

fn main() {}
