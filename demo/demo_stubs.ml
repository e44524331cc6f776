(* The Rust functions of the crate's `demo` feature (src/demo/), as OCaml externals. *)

(* The TCP echo server of the example and the test. *)
module Echo_server = Echo_server

(* The TCP server of numbered lines of examples/lines and the stream tests. *)
module Lines_server = Lines_server

external callback_loop : (unit -> unit Lwt.t) -> int -> int Lwt.t
  = "lwt_rust_demo_callback_loop"

external echo : 'a Lwt.t -> 'a Lwt.t = "lwt_rust_demo_echo"
external pending : unit -> int Lwt.u * int Lwt.t = "lwt_rust_demo_pending"
external panic_after_await : unit Lwt.t -> unit Lwt.t = "lwt_rust_demo_panic_after_await"
external rust_error : string -> unit Lwt.t = "lwt_rust_demo_rust_error"

(* Typed round trips: each returns its first argument, after yielding once if the second is
   true (so both the ready path and the task path are exercised). *)

external echo_unit : unit -> bool -> unit Lwt.t = "lwt_rust_demo_echo_unit"
external echo_bool : bool -> bool -> bool Lwt.t = "lwt_rust_demo_echo_bool"
external echo_int : int -> bool -> int Lwt.t = "lwt_rust_demo_echo_int"
external echo_int32 : int32 -> bool -> int32 Lwt.t = "lwt_rust_demo_echo_int32"
external echo_int64 : int64 -> bool -> int64 Lwt.t = "lwt_rust_demo_echo_int64"
external echo_float : float -> bool -> float Lwt.t = "lwt_rust_demo_echo_float"
external echo_string : string -> bool -> string Lwt.t = "lwt_rust_demo_echo_string"
external echo_bytes : bytes -> bool -> bytes Lwt.t = "lwt_rust_demo_echo_bytes"
external echo_int_option : int option -> bool -> int option Lwt.t = "lwt_rust_demo_echo_int_option"

external echo_result : (int, string) result -> bool -> (int, string) result Lwt.t
  = "lwt_rust_demo_echo_result"

external echo_string_list : string list -> bool -> string list Lwt.t
  = "lwt_rust_demo_echo_string_list"

external echo_int_array : int array -> bool -> int array Lwt.t = "lwt_rust_demo_echo_int_array"

external echo_float_array : float array -> bool -> float array Lwt.t
  = "lwt_rust_demo_echo_float_array"

external echo_tuple : int * string * float -> bool -> (int * string * float) Lwt.t
  = "lwt_rust_demo_echo_tuple"

external echo_nested : (int * string list) option list -> bool -> (int * string list) option list Lwt.t
  = "lwt_rust_demo_echo_nested"

external divide : int -> int -> int Lwt.t = "lwt_rust_demo_divide"

(* Cancellation and containment. *)

external dropped_futures : unit -> int = "lwt_rust_demo_dropped_futures"
external never : unit -> unit Lwt.t = "lwt_rust_demo_never"
external guarded_echo : 'a Lwt.t -> 'a Lwt.t = "lwt_rust_demo_guarded_echo"
external first_of : 'a Lwt.t -> 'a Lwt.t -> 'a Lwt.t = "lwt_rust_demo_first_of"
external forgotten : unit -> unit Lwt.t = "lwt_rust_demo_forgotten"
external panic_in_drop : bool -> unit Lwt.t = "lwt_rust_demo_panic_in_drop"
external never_panic_in_drop : unit -> unit Lwt.t = "lwt_rust_demo_never_panic_in_drop"
external panic_in_conversion : bool -> int Lwt.t = "lwt_rust_demo_panic_in_conversion"

(* Deliberately wrong types, to check that the boundary refuses them. *)

external echo_int_given_a_string : string -> bool -> int Lwt.t = "lwt_rust_demo_echo_int"
external echo_string_given_an_int : int -> bool -> string Lwt.t = "lwt_rust_demo_echo_string"

external echo_int_array_given_floats : float array -> bool -> int array Lwt.t
  = "lwt_rust_demo_echo_int_array"

(* Other threads and tokio (src/demo/threads.rs). *)

external handle_stress : int -> int -> (int * int) Lwt.t = "lwt_rust_demo_handle_stress"
external run_in_thread : (int -> int) -> int -> int Lwt.t = "lwt_rust_demo_run_in_thread"
external run_blocking_here : unit -> string = "lwt_rust_demo_run_blocking_here"

external run_blocking_from_thread : int -> float -> (int * string) Lwt.t
  = "lwt_rust_demo_run_blocking_from_thread"

external backpressure_probe : int -> (int * int * bool) * int Lwt.t
  = "lwt_rust_demo_backpressure_probe"

external tcp_round_trips : int -> int -> int -> (int * int * float) Lwt.t
  = "lwt_rust_demo_tcp_round_trips"

external tokio_sleep : float -> float Lwt.t = "lwt_rust_demo_tokio_sleep"

(* Benchmarks (bench/bench.ml): the same addition as a ready Rust async fn, as one that yields
   once (the task path), and as a plain synchronous external; and glibc's malloc_trim, so that
   RSS measurements start from the same floor. *)

external add_ready : int -> int -> int Lwt.t = "lwt_rust_demo_add_ready"
external add_yield : int -> int -> int Lwt.t = "lwt_rust_demo_add_yield"
external add_sync : int -> int -> int = "lwt_rust_demo_add_sync" [@@noalloc]
external trim_malloc : unit -> unit = "lwt_rust_demo_trim_malloc" [@@noalloc]
external direct_return : unit -> bool = "lwt_rust_demo_direct_return" [@@noalloc]
external soak : int -> int -> int Lwt.t = "lwt_rust_demo_soak"
external read_off_thread : int -> string Lwt.t = "lwt_rust_demo_read_off_thread"
external nested_spawns : int -> int Lwt.t = "lwt_rust_demo_nested_spawns"
external drop_pending : int -> int * int = "lwt_rust_demo_drop_pending"
external block_until_shutdown : unit -> unit = "lwt_rust_demo_block_until_shutdown"
external thread_outcome : unit -> string option = "lwt_rust_demo_thread_outcome"
external handle_tasks : unit -> int = "lwt_rust_demo_handle_tasks"
external spawn_inside_with_runtime : unit -> int Lwt.t = "lwt_rust_demo_spawn_inside_with_runtime"
external echo_int32_given_an_int64 : int64 -> bool -> int32 Lwt.t = "lwt_rust_demo_echo_int32"
external submit_from_thread : int -> int Lwt.t = "lwt_rust_demo_submit_from_thread"

(* Streams (src/demo/streams.rs). *)

external stream_produced : unit -> int = "lwt_rust_demo_stream_produced"
external streams_dropped : unit -> int = "lwt_rust_demo_streams_dropped"
external count_stream : int -> int Lwt_stream.t = "lwt_rust_demo_count_stream"
external yielding_stream : int -> string Lwt_stream.t = "lwt_rust_demo_yielding_stream"
external failing_stream : int -> int Lwt_stream.t = "lwt_rust_demo_failing_stream"
external failing_start : bool -> int Lwt_stream.t = "lwt_rust_demo_failing_start"
external empty_stream : unit -> int Lwt_stream.t = "lwt_rust_demo_empty_stream"
external never_stream : unit -> int Lwt_stream.t = "lwt_rust_demo_never_stream"
external panicking_stream : int -> int Lwt_stream.t = "lwt_rust_demo_panicking_stream"

external unconvertible_stream : bool -> int Lwt_stream.t
  = "lwt_rust_demo_unconvertible_stream"

external result_stream : unit -> (int, string) result Lwt_stream.t
  = "lwt_rust_demo_result_stream"

external sum_stream : int Lwt_stream.t -> int Lwt.t = "lwt_rust_demo_sum_stream"
external take_stream : int -> int Lwt_stream.t -> int list Lwt.t = "lwt_rust_demo_take_stream"
external concat_stream : string Lwt_stream.t -> string Lwt.t = "lwt_rust_demo_concat_stream"
external double_stream : int Lwt_stream.t -> int Lwt_stream.t = "lwt_rust_demo_double_stream"

(* Deliberately wrong types. *)

external count_stream_given_a_string : string -> int Lwt_stream.t
  = "lwt_rust_demo_count_stream"

external sum_stream_of_strings : string Lwt_stream.t -> int Lwt.t = "lwt_rust_demo_sum_stream"

external tcp_lines : int -> string Lwt_stream.t = "lwt_rust_demo_tcp_lines"

(* Rust values that do not fit their OCaml type (an i64 beyond 63 bits). *)

external out_of_range : bool -> int Lwt.t = "lwt_rust_demo_out_of_range"
external out_of_range_nested : unit -> (int * int list) option Lwt.t = "lwt_rust_demo_out_of_range_nested"
external out_of_range_stream : unit -> int Lwt_stream.t = "lwt_rust_demo_out_of_range_stream"
external checked_countdown : int -> int Lwt_stream.t = "lwt_rust_demo_checked_countdown"

(* The misuse suite (src/demo/misuse.rs). *)
external attach_from_foreign_thread : unit -> string Lwt.t = "lwt_rust_demo_attach_from_foreign_thread"
external spin : unit -> unit Lwt.t = "lwt_rust_demo_spin"
external yield_n : int -> int Lwt.t = "lwt_rust_demo_yield_n"
external drop_inside_with_runtime : unit Lwt.t -> string Lwt.t = "lwt_rust_demo_drop_inside_with_runtime"
external invalid_argument_inside_with_runtime : unit -> int Lwt.t
  = "lwt_rust_demo_invalid_argument_inside_with_runtime"
