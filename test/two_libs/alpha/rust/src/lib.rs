//! The Rust side of the OCaml library `alpha`, whose module `Alpha` lwt-rust-bindgen generates
//! from this crate (../dune).

/// Twice `x`.
#[lwt_rust::func(name = "alpha_double")]
pub async fn double(x: i64) -> i64 {
    x * 2
}

/// `"hello, "` followed by `name`.
#[lwt_rust::func(name = "alpha_greet")]
pub async fn greet(name: String) -> String {
    format!("hello, {name}")
}
