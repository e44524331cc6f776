(* The Rust functions of the test crate (testlib/src/): their OCaml bindings are generated from
   the crate by lwt-rust-bindgen (module Lwt_rust_testlib, testlib/dune), never written here. *)

include Lwt_rust_testlib

(* The TCP echo server of the example and the test. *)
module Echo_server = Echo_server

(* The TCP server of numbered lines of examples/lines and the stream tests. *)
module Lines_server = Lines_server

(* Deliberately wrong types, to check that the boundary refuses them: each forges, on purpose,
   a wrong OCaml type for a generated binding (Obj.magic), which no generated binding can
   have. *)

let echo_int_given_a_string : string -> bool -> int Lwt.t = Obj.magic echo_int
let echo_string_given_an_int : int -> bool -> string Lwt.t = Obj.magic echo_string
let echo_int_array_given_floats : float array -> bool -> int array Lwt.t = Obj.magic echo_int_array
let echo_int32_given_an_int64 : int64 -> bool -> int32 Lwt.t = Obj.magic echo_int32
(* A stream binding takes [?switch] first: applied without it, what is left takes the argument. *)
let count_stream_given_a_string : string -> int Lwt_stream.t = Obj.magic (count_stream ?switch:None)
let sum_stream_of_strings : string Lwt_stream.t -> int Lwt.t = Obj.magic sum_stream
