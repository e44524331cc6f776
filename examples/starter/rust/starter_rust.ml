(* The Rust functions of rust/src/lib.rs, as OCaml externals. Declare them as ordinary
   externals (never [@@noalloc]): they allocate the promise they return. *)

external add : int -> int -> int Lwt.t = "starter_add"
external divide : int -> int -> int Lwt.t = "starter_divide"
external sleep_ms : int -> int Lwt.t = "starter_sleep_ms"
external file_length : string -> int Lwt.t = "starter_file_length"
external countdown : int -> int Lwt_stream.t = "starter_countdown"
