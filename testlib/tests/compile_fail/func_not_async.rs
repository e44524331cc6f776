// `#[lwt_rust::func]` wants an `async fn` (or `stream` / `try_stream`).
#[lwt_rust::func]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {}
