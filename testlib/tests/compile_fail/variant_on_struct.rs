// #[lwt_rust::variant] goes on an enum.
#[lwt_rust::variant]
pub struct Point {
    pub x: f64,
}

fn main() {}
