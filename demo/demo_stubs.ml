(* The Rust functions of the crate's `demo` feature (src/demo.rs), as OCaml externals. *)

external callback_loop : (unit -> unit Lwt.t) -> int -> int Lwt.t
  = "lwt_rust_demo_callback_loop"

external echo : 'a Lwt.t -> 'a Lwt.t = "lwt_rust_demo_echo"
external pending : unit -> int Lwt.u * int Lwt.t = "lwt_rust_demo_pending"
external panic_after_await : unit Lwt.t -> unit Lwt.t = "lwt_rust_demo_panic_after_await"
external rust_error : string -> unit Lwt.t = "lwt_rust_demo_rust_error"
