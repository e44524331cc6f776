//! The Rust side of the OCaml library `alpha`.

/// `double : int -> int Lwt.t`.
#[lwt_rust::func(name = "alpha_double")]
pub async fn double(x: i64) -> i64 {
    x * 2
}

/// `greet : string -> string Lwt.t`.
#[lwt_rust::func(name = "alpha_greet")]
pub async fn greet(name: String) -> String {
    format!("hello, {name}")
}
