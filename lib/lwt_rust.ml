(* The OCaml half of the bridge.

   Rust calls into this module only through the functions registered with [Callback] below
   (see src/callbacks.rs); this module calls Rust only through the externals below (see
   src/stubs.rs). None of the registered functions raises, and the notification handler
   never lets an exception reach the Lwt engine. *)

exception Rust_panic of string
exception Rust_error of string
exception Task_dropped of string
exception Setup_failed of string
exception Shut_down

external setup : unit -> string option = "lwt_rust_setup"
external start : int -> unit = "lwt_rust_start"
external drain : unit -> unit = "lwt_rust_drain"
external promise_fulfilled : int -> 'a -> unit = "lwt_rust_promise_fulfilled"
external promise_rejected : int -> exn -> unit = "lwt_rust_promise_rejected"
external set_budget : int -> bool = "lwt_rust_set_drain_budget"
external raw_stats : unit -> int array = "lwt_rust_stats"
external cancel_task : int -> unit = "lwt_rust_cancel_task"
external shutdown_stub : unit -> unit = "lwt_rust_shutdown"
external set_capacity : int -> string option = "lwt_rust_set_submission_capacity"
external set_workers : int -> string option = "lwt_rust_set_tokio_workers"

(* Boxroot on OCaml 4 must be set up after the threads library and before any other thread
   exists. Referring to [Thread] makes it a dependency, so it is initialised before this
   module; the program's own code, which could create threads, runs after. *)
let () =
  ignore (Thread.self () : Thread.t);
  match setup () with
  | None -> ()
  | Some reason -> raise (Setup_failed reason)

(* Test hook for `make stress`: with LWT_RUST_TEST_COMPACT=n set, every n-th crossing of the
   bridge (drain, attach, settle in either direction) compacts the heap first, moving every
   value Rust might be holding. Off (a no-op) otherwise. *)
let compact_every =
  match Sys.getenv_opt "LWT_RUST_TEST_COMPACT" with
  | Some n -> ( try max 1 (int_of_string n) with _ -> 1)
  | None -> 0

let crossings = ref 0

let[@inline] gc_hook () =
  if compact_every > 0 then begin
    incr crossings;
    if !crossings mod compact_every = 0 then Gc.compact ()
  end

(* The notification handler. [drain] contains every panic and never raises; the [try] keeps
   even an asynchronous exception (Out_of_memory, Stack_overflow) out of the Lwt engine. *)
let handle_notification () =
  try
    gc_hook ();
    drain ()
  with exn -> !Lwt.async_exception_hook exn

(* A drain requested by a wake on this thread: run it when Lwt resumes paused promises, which
   also keeps the engine from blocking meanwhile. No system call. *)
let schedule_drain () = Lwt.on_success (Lwt.pause ()) handle_notification

let notification = ref None

let init () =
  if !notification = None then begin
    let id = Lwt_unix.make_notification handle_notification in
    notification := Some id;
    start id
  end

let shut_down = ref false

let shutdown () =
  if not !shut_down then begin
    shut_down := true;
    shutdown_stub ();
    match !notification with
    | Some id -> Lwt_unix.stop_notification id
    | None -> ()
  end;
  Lwt.return_unit

let refuse what = function
  | None -> ()
  | Some reason -> invalid_arg (Printf.sprintf "Lwt_rust.%s: %s" what reason)

let set_submission_capacity n = refuse "set_submission_capacity" (set_capacity n)
let set_tokio_workers n = refuse "set_tokio_workers" (set_workers n)

let set_drain_budget n =
  if n < 1 then invalid_arg "Lwt_rust.set_drain_budget: the budget must be at least 1";
  init ();
  if not (set_budget n) then
    invalid_arg "Lwt_rust.set_drain_budget: budget refused"

type stats = {
  live_tasks : int;
  live_roots : int;
  live_promises : int;
  spawned : int;
  wakes : int;
  notifications : int;
  local_drains : int;
  drains : int;
  max_batch : int;
  panics : int;
}

let stats () =
  match raw_stats () with
  | [| live_tasks; live_roots; live_promises; spawned; wakes; notifications; local_drains;
       drains; max_batch; panics |] ->
    { live_tasks; live_roots; live_promises; spawned; wakes; notifications; local_drains;
      drains; max_batch; panics }
  | _ -> failwith "Lwt_rust.stats: unexpected counters from the Rust side"

(* Makes the Rust promise slot [key] follow [p]. Already-settled promises report at once. *)
let fulfilled key v =
  gc_hook ();
  promise_fulfilled key v

let rejected key exn =
  gc_hook ();
  promise_rejected key exn

let report p key =
  match Lwt.state p with
  | Lwt.Return v -> fulfilled key v
  | Lwt.Fail exn -> rejected key exn
  | Lwt.Sleep -> ()

(* One closure per awaited promise ([Lwt.on_any] would take two, plus a bigger wrapper): it
   reads the outcome from the promise once it has settled. *)
let attach p key =
  gc_hook ();
  match Lwt.state p with
  | Lwt.Sleep -> Lwt.on_termination p (fun () -> report p key)
  | _ -> report p key

(* [f arg], attached to slot [key]: a Rust task calling an OCaml closure and awaiting its
   promise, in one crossing. An exception from [f] reaches Rust (nothing is attached then). *)
let call_attach f arg key =
  let p = f arg in
  attach p key;
  p

(* Settling the promise of a Rust task. A promise cancelled by OCaml ignores the outcome
   (Lwt.wakeup_later on a cancelled promise is a no-op); it is never settled twice by Rust. *)
let resolve u v =
  gc_hook ();
  try Lwt.wakeup_later u v with Invalid_argument _ -> ()

let reject u exn =
  gc_hook ();
  try Lwt.wakeup_later_exn u exn with Invalid_argument _ -> ()

let failure kind message =
  match kind with
  | 0 -> Rust_panic message
  | 1 -> Rust_error message
  | 2 -> Task_dropped message
  | 3 -> Invalid_argument message
  | _ -> Shut_down

let fail u kind message = reject u (failure kind message)

(* A cancelable promise and its resolver. For the promise of a Rust task ([cancel_key >= 0]),
   cancelling it (Lwt.cancel) drops the Rust future at once. *)
let task cancel_key =
  let p, u = Lwt.task () in
  if cancel_key >= 0 then Lwt.on_cancel p (fun () -> cancel_task cancel_key);
  (p, u)

let () =
  Callback.register "lwt_rust.init" init;
  Callback.register "lwt_rust.task" task;
  Callback.register "lwt_rust.returned" Lwt.return;
  Callback.register "lwt_rust.failed" (fun kind message -> Lwt.fail (failure kind message));
  Callback.register "lwt_rust.failed_with" Lwt.fail;
  Callback.register "lwt_rust.cancel" Lwt.cancel;
  Callback.register "lwt_rust.schedule_drain" schedule_drain;
  Callback.register "lwt_rust.resolve" resolve;
  Callback.register "lwt_rust.reject" reject;
  Callback.register "lwt_rust.fail" fail;
  Callback.register "lwt_rust.attach" attach;
  Callback.register "lwt_rust.call_attach" call_attach;
  Callback.register "lwt_rust.describe_exn" Printexc.to_string
