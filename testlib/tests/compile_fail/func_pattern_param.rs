// Parameters must be plain names (the stub converts each one by name).
#[lwt_rust::func]
async fn sum((a, b): (i64, i64)) -> i64 {
    a + b
}

fn main() {}
