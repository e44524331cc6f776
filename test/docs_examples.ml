(* The OCaml blocks of the documentation, verbatim (test_docs.ml checks that each one is here).
   Blocks of generated signatures are compiled inside module types; blocks of code run when
   this module initialises, or are functions test_docs.ml calls and checks. *)

(* The documentation calls the example crate's module My_crate; here it is the test crate's. *)
module My_crate = Lwt_rust_testlib

(* ---- README.md: a first example *)

let () =
  let sum = Lwt_main.run (My_crate.add_later 40 2 10) in
  Printf.printf "40 + 2 = %d\n" sum

(* ---- docs/01-your-project.md: the starter's generated .mli *)

module type Starter_functions = sig
(** Divides [a] by [b]. An [Err] rejects the promise with [Lwt_rust.Rust_error] carrying its
    text: dividing by zero gives [Rust_error "cannot divide 1 by 0"]. *)
external divide : int -> int -> int Lwt.t = "lwt_rust_12_starter_rust_fn_divide"

(** The stream [from], [from - 1], ..., [0], read on demand. *)
external countdown : int -> int Lwt_stream.t = "lwt_rust_12_starter_rust_fn_countdown"
end

module type Starter_object = sig
(** The Rust type [KvStore]: see {!Kv_store}. *)
type kv_store

(** An in-memory key-value store of strings, behind a tokio [RwLock]. OCaml holds it as
    [Kv_store.t]; [Kv_store.close] drops it, after which every call raises [Lwt_rust.Closed]. *)
module Kv_store : sig
  type t = kv_store

  (** [close v] closes the Rust object: any later use of it from OCaml, through [v] or
      any other value of it, raises [Lwt_rust.Closed]; closing again does nothing. The
      object is dropped at once, or when the last method running on it ends. *)
  external close : t -> unit = "lwt_rust_12_starter_rust_close_KvStore"

  (** An empty store. *)
  external create : unit -> t = "lwt_rust_12_starter_rust_method_7_KvStore_new"

  (** The value of [key], or [None] if it has none. *)
  external get :
    t ->
    string ->
    string option Lwt.t = "lwt_rust_12_starter_rust_method_7_KvStore_get"

  (** The number of keys, at once. Raises [Lwt_rust.Rust_error] if a write is in progress
      (never here: no method holds the lock across an [await]). *)
  external len : t -> int = "lwt_rust_12_starter_rust_method_7_KvStore_len"

  (** Sets [key] to [value], replacing its value if it has one. *)
  external set :
    t ->
    string ->
    string ->
    unit Lwt.t = "lwt_rust_12_starter_rust_method_7_KvStore_set"

  (* ... compare, equal, hash, is_empty, remove *)
end
end

(* ---- docs/02-functions-and-values.md *)

module type File_len = sig
(* in the generated .mli *)
external file_len : string -> int -> int Lwt.t = "lwt_rust_8_my_crate_fn_file_len"
end

let () = Lwt_main.run (Lwt.map (Printf.printf "%d bytes\n") (My_crate.file_len Sys.executable_name 3))

(* ---- docs/03-promises-and-closures.md *)

module type Call_n = sig
external call_n : (unit -> unit Lwt.t) -> int -> int Lwt.t = "lwt_rust_8_my_crate_fn_call_n"   (* generated *)
end

(* ---- docs/04-streams.md *)

module type Streams = sig
(* generated (.mli) *)
val lines : ?switch:Lwt_switch.t -> string -> string Lwt_stream.t
external sum : int Lwt_stream.t -> int Lwt.t = "lwt_rust_8_my_crate_fn_sum"
end

(* The chapter's Db is examples/postgres's: [Db.scan ?switch db from_id batch] streams the rows
   from [from_id] in batches (here: single rows), each scan holding a pooled connection. Here a pool of the test
   crate stands for it: each scan holds one of its resources while its stream lives. *)
module Db = struct
  let scan ?switch pool from_id batch =
    My_crate.Resource_pool.scan ?switch pool (from_id + batch)
end

(* Every stream opened with ~switch is closed, and its Rust state dropped, at turn_off. *)
let first_batch db =
  Lwt_switch.with_switch (fun switch -> Lwt_stream.get (Db.scan ~switch db 0 100))

(* Or one stream: closed when f's promise settles (value, exception, cancellation). *)
let first_ten db = Lwt_rust.with_stream (Db.scan db 0 100) (fun rows -> Lwt_stream.nget 10 rows)

(* ---- docs/05-objects.md *)

module type Ttl_cache_sig = sig
type ttl_cache

(** A key-value store of strings whose entries expire [ttl_ms] milliseconds after they are set. *)
module Ttl_cache : sig
  type t = ttl_cache
  val create : int -> t                                  (* raises Rust_error on Err *)
  external set : t -> string -> string -> unit Lwt.t = "..."
  external get : t -> string -> string option Lwt.t = "..."
  external expiry : t -> string -> unit Lwt.t = "..."
  val len : t -> int
  val close : t -> unit
  val equal : t -> t -> bool
  val compare : t -> t -> int
  val hash : t -> int
end
end

let ttl_cache_program () =
  let open My_crate in
  let ( let* ) = Lwt.bind in
let cache = Ttl_cache.create 50 in
let* () = Ttl_cache.set cache "k" "v" in
let* v = Ttl_cache.get cache "k" in                       (* Some "v" *)
let* () = Ttl_cache.expiry cache "k" in
let* gone = Ttl_cache.get cache "k" in                    (* None *)
Ttl_cache.close cache;                                    (* Ttl_cache.len cache: Lwt_rust.Closed *)
  Lwt.return (cache, v, gone)
