//! The Rust side of the OCaml library `beta`. It depends on lwt_rust renamed `lwt`, so its
//! functions name the crate: `#[lwt::func(crate = "lwt")]`. lwt-rust-bindgen generates the
//! module `Beta` from this crate (../dune).

/// Three times `x`, after a yield (it completes from the executor's queue).
#[lwt::func(crate = "lwt")]
pub async fn triple(x: i64) -> i64 {
    let mut yielded = false;
    futures_yield(&mut yielded).await;
    x * 3
}

/// Pending once, waking itself.
async fn futures_yield(yielded: &mut bool) {
    std::future::poll_fn(|cx| {
        if *yielded {
            std::task::Poll::Ready(())
        } else {
            *yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

/// Fails: the promise is rejected with `Lwt_rust.Rust_error message`.
#[lwt::func(crate = "::lwt")]
pub async fn fail(message: String) -> Result<(), String> {
    Err(message)
}

/// `"beta"`: the same name as alpha's function, another C symbol.
#[lwt::func(crate = "lwt")]
pub fn which() -> String {
    "beta".to_owned()
}
