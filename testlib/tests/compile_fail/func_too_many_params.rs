// At most 5 parameters (the stubs take them as separate C arguments).
#[lwt_rust::func]
async fn six(a: i64, b: i64, c: i64, d: i64, e: i64, f: i64) -> i64 {
    a + b + c + d + e + f
}

fn main() {}
