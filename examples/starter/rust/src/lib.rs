//! The Rust side of the starter: async functions OCaml calls as externals returning `'a Lwt.t`
//! (declared in `starter_rust.ml`). Each runs as a task on the OCaml thread, driven by the Lwt
//! loop; tokio's timers, sockets and files work inside them from the first call.

use std::time::{Duration, Instant};

/// `add : int -> int -> int Lwt.t`: a value, ready at once.
#[lwt_rust::func(name = "starter_add")]
pub async fn add(a: i64, b: i64) -> i64 {
    a.wrapping_add(b)
}

/// `divide : int -> int -> int Lwt.t`: an `Err` rejects the promise with
/// `Lwt_rust.Rust_error` carrying its text.
#[lwt_rust::func(name = "starter_divide")]
pub async fn divide(a: i64, b: i64) -> Result<i64, String> {
    a.checked_div(b)
        .ok_or_else(|| format!("cannot divide {a} by {b}"))
}

/// `sleep_ms : int -> int Lwt.t`: a tokio timer; resolves with the milliseconds slept.
#[lwt_rust::func(name = "starter_sleep_ms")]
pub async fn sleep_ms(ms: i64) -> Result<i64, String> {
    let ms = u64::try_from(ms).map_err(|_| format!("negative duration: {ms}"))?;
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(started.elapsed().as_millis() as i64)
}

/// `file_length : string -> int Lwt.t`: reads a file with tokio; a missing file gives
/// `Rust_error` with the system's message.
#[lwt_rust::func(name = "starter_file_length")]
pub async fn file_length(path: String) -> Result<i64, std::io::Error> {
    Ok(tokio::fs::read(&path).await?.len() as i64)
}

/// `countdown : int -> int Lwt_stream.t`: `from`, `from - 1`, ..., `0`, read on demand.
#[lwt_rust::func(stream, name = "starter_countdown")]
pub fn countdown(from: i64) -> impl futures::Stream<Item = i64> {
    futures::stream::iter((0..=from).rev())
}
