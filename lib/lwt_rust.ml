(* The OCaml half of the bridge.

   Rust calls into this library only through the functions registered with [Callback] (see
   src/values/callbacks.rs); the library calls Rust only through the externals of [Stubs] (see
   src/ffi/stubs.rs and src/ffi/lifecycle.rs). None of the registered functions raises, and the
   notification handler never lets an exception reach the Lwt engine.

   Reading guide. The sections below are internal modules (structures without a signature of
   their own), in the order module initialisation runs them (it matters: boxroot is set up
   first, the callbacks are registered and checked last); the list below is the table of
   contents. The public values, at the end, only re-export them (see lwt_rust.mli).

   - [Stubs]: every Rust function this library calls.
   - [Owner]: module initialisation of the Rust side, and the owner-thread rule
     ([check_thread]).
   - [Async_exn]: surviving asynchronous exceptions ([report_async], [completing]).
   - [Test_hooks]: [gc_hook], the stress and hostile suites' hooks (off unless asked).
   - [Drain]: the notification handler, [schedule_drain] (a drain through [Lwt.pause]),
     [init] and [shutdown].
   - [Settings]: panic reports, submission capacity, tokio workers, drain budget.
   - [Counters]: [stats].
   - [Awaited]: an Lwt promise awaited by Rust reports its outcome to a Rust slot
     (OCaml -> Rust).
   - [Task_promise]: the promise of a Rust task, and settling it (Rust -> OCaml).
   - [Rust_streams]: Rust streams read by OCaml, their registry and finaliser
     (Rust -> OCaml).
   - [Ocaml_streams]: OCaml streams read by Rust, one step at a time (OCaml -> Rust).
   - [Registration]: the callbacks Rust calls, the handshake, the direct-return probe. *)

exception Rust_panic of string
exception Rust_error of string
exception Task_dropped of string
exception Setup_failed of string
exception Shut_down
exception Wrong_thread of string
exception Closed of string

module Stubs = struct
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
  external stream_pull : int -> Obj.t array Lwt.t = "lwt_rust_stream_pull"
  external stream_close : int -> unit = "lwt_rust_stream_close"
  external probe_direct_return : unit -> unit = "lwt_rust_probe_direct_return"
  external set_panic_mode : int -> unit = "lwt_rust_set_panic_report"
  external handshake : int -> string -> int -> int -> string option = "lwt_rust_handshake"
  external drain_wanted : unit -> bool = "lwt_rust_drain_wanted" [@@noalloc]
  external release_at_exit : unit -> unit = "lwt_rust_release_at_exit"
  external forks : unit -> int = "lwt_rust_forks" [@@noalloc]
  external notify_through_pipe : Unix.file_descr -> unit = "lwt_rust_notify_through_pipe" [@@noalloc]
end

let version = "0.1.0"

(* The protocol spoken with the Rust crate, from the table both halves are generated from
   (src/values/protocol.txt, made into [Protocol] by lib/dune). LWT_RUST_TEST_PROTOCOL pretends
   another one (the handshake test). *)
let protocol =
  match Sys.getenv_opt "LWT_RUST_TEST_PROTOCOL" with
  | Some p -> ( try int_of_string p with _ -> -1)
  | None -> Protocol.protocol

module Owner = struct
  open Stubs

  (* Boxroot on OCaml 4 must be set up after the threads library and before any other thread
     exists. Referring to [Thread] makes it a dependency, so it is initialised before this
     module; the program's own code, which could create threads, runs after. *)
  let () =
    ignore (Thread.self () : Thread.t);
    match setup () with
    | None -> ()
    | Some reason -> raise (Setup_failed reason)

  (* The thread that owns the bridge: this one, which initialised the module (the Rust side
     recorded it in [setup]). The public functions below check it before anything else, so
     that a call from another thread (or, on OCaml 5, another domain) gets [Wrong_thread]
     rather than another thread's view of the Rust tables. *)
  let owner = Thread.id (Thread.self ())

  let check_thread what =
    if Thread.id (Thread.self ()) <> owner then
      raise
        (Wrong_thread
           (what
          ^ ": lwt_rust may only be used from the thread that initialised Lwt_rust and runs \
             Lwt_main.run (not from another thread, systhread or domain)"))
end

module Async_exn = struct
  (* An exception with nowhere to go (an asynchronous one, raised by a finaliser or a signal
     handler at an allocation inside the bridge): Lwt's rule is to hand it to
     [Lwt.async_exception_hook]; a hook that raises in turn is not allowed to stop the bridge. *)
  let report_async exn = try !Lwt.async_exception_hook exn with _ -> ()

  (* Runs [f ()] to completion despite asynchronous exceptions: each one is reported and [f]
     tried again. Only for [f]s that raise nothing of their own and are harmless to repeat
     (settling an already settled promise is caught by [f]), so the bridge never loses a
     settlement or a drain to an exception it did not cause. *)
  let rec completing f =
    match f () with
    | () -> ()
    | exception exn ->
      report_async exn;
      completing f

  (* [completing (fun () -> f x y)] without making that closure: an asynchronous exception
     raised at its allocation, before [completing] could catch anything, would lose the step.
     Nothing is allocated before the handler is in place. *)
  let rec completing2 f x y =
    match f x y with
    | () -> ()
    | exception exn ->
      report_async exn;
      completing2 f x y

  (* Exceptions raised by the user's callbacks while the bridge had Lwt run them (an
     [on_cancel] handler of a promise Rust stopped awaiting, a callback on a promise a Rust
     task settled), waiting to be handed to [Lwt.async_exception_hook]. *)
  let caught = ref []
  let collect exn = caught := exn :: !caught
  let loud = ref []

  (* Hands each exception in [loud] to the hook, oldest first, at the start of a turn of the
     Lwt loop (outside any stub and any Lwt resolution loop), where a hook that raises makes
     [Lwt_main.run] raise, and at exit for those no turn came for: loud, as in pure Lwt. *)
  let rec surface () =
    match !loud with
    | [] -> ()
    | exn :: rest ->
      loud := rest;
      !Lwt.async_exception_hook exn;
      surface ()

  let surfacing = ref false

  (* Puts the hook back first (no allocation before that), then hands the collected
     exceptions to [surface]. *)
  let restore hook outermost =
    if outermost && !Lwt.async_exception_hook == collect then Lwt.async_exception_hook := hook;
    if outermost && !caught <> [] then begin
      loud := !loud @ List.rev !caught;
      caught := [];
      if not !surfacing then begin
        ignore (Lwt_main.Enter_iter_hooks.add_first surface);
        at_exit surface;
        surfacing := true
      end
    end

  (* Runs [f x], a call into Lwt that may run the user's callbacks, with the hook collecting
     rather than called: a hook that raises there (as Lwt's doc suggests to stop the program)
     would leave the raise halfway through Lwt's resolution loop, which then defers every
     later [Lwt.wakeup_later] callback for good, and the exception would reach Rust, which
     can only drop it: the whole program silently wedged. The hook is called for each
     collected exception later, by [surface]. Nested calls collect into the same list; the
     outermost hands it over. A hook the callbacks install is kept. *)
  let shielded f x =
    let hook = !Lwt.async_exception_hook in
    let outermost = hook != collect in
    Lwt.async_exception_hook := collect;
    match f x with
    | () -> restore hook outermost
    | exception exn ->
      restore hook outermost;
      raise exn
end

module Test_hooks = struct
  (* Test hook for `make stress`: with LWT_RUST_TEST_COMPACT=n set, every n-th crossing of the
     bridge (drain, attach, settle in either direction) compacts the heap first, moving every
     value Rust might be holding. Off (a no-op) otherwise. *)
  let compact_every =
    match Sys.getenv_opt "LWT_RUST_TEST_COMPACT" with
    | Some n -> ( try max 1 (int_of_string n) with _ -> 1)
    | None -> 0

  (* Test hook for the hostile suite: with LWT_RUST_TEST_RAISE=n set, every n-th crossing
     raises [Failure] right there, as a finaliser or a signal handler raising at the first
     allocation of the crossing would (an asynchronous exception). Off otherwise. *)
  let raise_every =
    match Sys.getenv_opt "LWT_RUST_TEST_RAISE" with
    | Some n -> ( try max 2 (int_of_string n) with _ -> 2)
    | None -> 0

  let crossings = ref 0

  let[@inline] gc_hook () =
    if compact_every > 0 || raise_every > 0 then begin
      incr crossings;
      if compact_every > 0 && !crossings mod compact_every = 0 then Gc.compact ();
      if raise_every > 0 && !crossings mod raise_every = 0 then
        failwith "Lwt_rust test hook: an asynchronous exception"
    end
end

module Drain = struct
  open Stubs
  open Owner
  open Async_exn
  open Test_hooks

  (* The notification handler. [drain] contains every panic and never raises; the [try] keeps
     even an asynchronous exception (Out_of_memory, Stack_overflow) out of the Lwt engine. *)
  let handle_notification () =
    try
      gc_hook ();
      drain ()
    with exn -> !Lwt.async_exception_hook exn

  (* A drain requested by a wake on this thread: run it when Lwt resumes paused promises, which
     also keeps the engine from blocking meanwhile. No system call. *)
  let schedule_drain () =
    completing (fun () -> Lwt.on_success (Lwt.pause ()) handle_notification)

  (* A drain that a GC finaliser asked for (an object to release) where none could be
     scheduled (before [init], or outside the Lwt loop): the next turn of the loop runs it, if
     no stub call did first. One allocation-free call per turn. *)
  let (_ : Lwt_main.Enter_iter_hooks.hook) =
    Lwt_main.Enter_iter_hooks.add_first (fun () ->
        if drain_wanted () then handle_notification ())

  (* The Rust streams and objects still held at exit are dropped now, inside a stub (their
     destructors may call OCaml or the runtime), not by the Rust thread-local destructors
     after OCaml is gone, which leak them. Registered at module initialisation: runs after the program's own
     [at_exit] functions. *)
  let () = at_exit (fun () -> try release_at_exit () with _ -> ())

  let notification = ref None

  (* The id Rust passes to the C function [lwt_unix_send_notification (intnat)]. Lwt 5 types
     [make_notification]'s result as [int]; Lwt 6 makes [Lwt_unix.notification] abstract, but
     its implementation (lwt_unix.ml, 6.0 to 6.1.2: [type notification = int]) is still the
     same int, the key of the table that the C side's notification buffer indexes. So the
     coercion is sound for every Lwt the opam file allows (5.6 to 6.1). It is checked, not
     assumed: should a later Lwt box the id (a record, a custom block), it is not an immediate
     and the library refuses to start rather than send to a wrong id. *)
  let id_for_rust (id : Obj.t) =
    if Obj.is_int id then Ok (Obj.obj id : int)
    else
      Error
        "Lwt_unix.make_notification returned a boxed value: this Lwt no longer represents \
         notification ids as ints, which lwt_unix_send_notification (called from Rust) needs"

  (* After a fork (Lwt_unix.fork or Unix.fork), at the first turn of the Lwt loop in the
     child: wakes from other threads go through a pipe of the bridge's own from then on, and
     a drain serves what was queued before. Lwt 5.6's [Lwt_unix.fork] keeps the count of
     notifications queued in the parent, so with one queued at the fork the child would never
     hear of another (see src/runtime/mod.rs, "Fork"). The pipe is never closed: another thread
     may be writing it, and a closed fd number could be reused by the program; a fork of the
     child makes a pipe of its own and stops watching this one. *)
  let forks_seen = ref 0
  let own_pipe = ref None

  let after_fork () =
    let forks = forks () in
    if forks <> !forks_seen then begin
      forks_seen := forks;
      (match !own_pipe with
      | Some (_, event) -> Lwt_engine.stop_event event
      | None -> ());
      let r, w = Unix.pipe ~cloexec:true () in
      Unix.set_nonblock r;
      Unix.set_nonblock w;
      let buffer = Bytes.create 64 in
      let rec empty () =
        match Unix.read r buffer 0 64 with
        | 64 -> empty ()
        | _ -> ()
        | exception Unix.Unix_error _ -> ()
      in
      let event =
        Lwt_engine.on_readable r (fun _ ->
            (try empty () with exn -> !Lwt.async_exception_hook exn);
            handle_notification ())
      in
      own_pipe := Some (r, event);
      notify_through_pipe w;
      handle_notification ()
    end

  let init () =
    check_thread "Lwt_rust.init";
    if !notification = None then begin
      let id = Lwt_unix.make_notification handle_notification in
      match id_for_rust (Obj.repr id) with
      | Ok int_id ->
          notification := Some id;
          start int_id;
          forks_seen := forks ();
          ignore
            (Lwt_main.Enter_iter_hooks.add_first (fun () ->
                 try after_fork () with exn -> Async_exn.report_async exn))
      | Error reason ->
          Lwt_unix.stop_notification id;
          raise (Setup_failed reason)
    end

  let shut_down = ref false

  let shutdown () =
    check_thread "Lwt_rust.shutdown";
    if not !shut_down then begin
      shut_down := true;
      shutdown_stub ();
      match !notification with
      | Some id -> Lwt_unix.stop_notification id
      | None -> ()
    end;
    Lwt.return_unit
end

type panic_report = Report_all | Report_first of int | Report_none

module Settings = struct
  open Stubs
  open Owner
  open Drain

  let refuse what = function
    | None -> ()
    | Some reason -> invalid_arg (Printf.sprintf "Lwt_rust.%s: %s" what reason)

  let set_panic_report = function
    | Report_all -> set_panic_mode (-1)
    | Report_first n when n >= 0 -> set_panic_mode n
    | Report_first _ -> invalid_arg "Lwt_rust.set_panic_report: Report_first needs n >= 0"
    | Report_none -> set_panic_mode (-2)

  let () = set_panic_report (Report_first 10)

  (* The thread check first: off the owner thread the stubs only return a fallback. *)
  let set_submission_capacity n =
    check_thread "Lwt_rust.set_submission_capacity";
    refuse "set_submission_capacity" (set_capacity n)

  let set_tokio_workers n =
    check_thread "Lwt_rust.set_tokio_workers";
    refuse "set_tokio_workers" (set_workers n)

  let set_drain_budget n =
    check_thread "Lwt_rust.set_drain_budget";
    if n < 1 then invalid_arg "Lwt_rust.set_drain_budget: the budget must be at least 1";
    init ();
    if not (set_budget n) then
      invalid_arg "Lwt_rust.set_drain_budget: budget refused"
end

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
  live_streams : int;
  live_objects : int;
}

module Counters = struct
  open Stubs
  open Owner

  let stats () =
    check_thread "Lwt_rust.stats";
    (* The fields in the order of the protocol table (a field missing here, or out of its
       order, does not compile). *)
    let make ~live_tasks ~live_roots ~live_promises ~spawned ~wakes ~notifications
        ~local_drains ~drains ~max_batch ~panics ~live_streams ~live_objects =
      { live_tasks; live_roots; live_promises; spawned; wakes; notifications; local_drains;
        drains; max_batch; panics; live_streams; live_objects }
    in
    match Protocol.stats_of_array make (raw_stats ()) with
    | Some stats -> stats
    | None -> failwith "Lwt_rust.stats: unexpected counters from the Rust side"
end

module Awaited = struct
  open Stubs
  open Async_exn
  open Test_hooks

  (* Makes the Rust promise slot [key] follow [p]. Already-settled promises report at once. *)
  let fulfilled key v =
    gc_hook ();
    promise_fulfilled key v

  let rejected key exn =
    gc_hook ();
    promise_rejected key exn

  (* Reports the outcome of [p] to slot [key], repeated until done despite asynchronous
     exceptions, as [completing] does (Rust ignores a second report for a slot). Written out
     rather than through [completing2]: it runs at every await, and the indirect calls cost
     more than the rest of it. *)
  let rec report p key =
    match
      match Lwt.state p with
      | Lwt.Return v -> fulfilled key v
      | Lwt.Fail exn -> rejected key exn
      | Lwt.Sleep -> ()
    with
    | () -> ()
    | exception exn ->
      report_async exn;
      report p key

  (* One closure per awaited promise ([Lwt.on_any] would take two, plus a bigger wrapper): it
     reads the outcome from the promise once it has settled. Repeating it after an
     asynchronous exception may attach twice: Rust ignores a second report for a slot. *)
  let rec attach p key =
    match
      gc_hook ();
      match Lwt.state p with
      | Lwt.Sleep -> Lwt.on_termination p (fun () -> report p key)
      | _ -> report p key
    with
    | () -> ()
    | exception exn ->
      report_async exn;
      attach p key

  (* [f arg], attached to slot [key]: a Rust task calling an OCaml closure and awaiting its
     promise, in one crossing. An exception from [f] reaches Rust (nothing is attached then). *)
  let call_attach f arg key =
    let p = f arg in
    attach p key;
    p
end

module Task_promise = struct
  open Stubs
  open Async_exn
  open Test_hooks

  (* Test hook for the property test: Lwt refuses to settle a promise twice, and the bridge
     ignores the refusal (below) rather than let it reach Rust. With LWT_RUST_TEST_SETTLES set
     (read at each refusal, so a test program may set it after this module is initialised),
     each refusal is also handed to [Lwt.async_exception_hook], so that a second settlement
     from Rust can be seen. A cancelled promise is not refused (Lwt ignores the settlement). *)
  let refused () =
    if Sys.getenv_opt "LWT_RUST_TEST_SETTLES" <> None then
      report_async (Failure "Lwt_rust test hook: a promise was settled twice")

  (* Settling the promise of a Rust task. A promise cancelled by OCaml ignores the outcome
     (Lwt.wakeup_later on a cancelled promise is a no-op); it is never settled twice by Rust. *)
  let resolve_once u v =
    gc_hook ();
    try shielded (Lwt.wakeup_later u) v with Invalid_argument _ -> refused ()

  let reject_once u exn =
    gc_hook ();
    try shielded (Lwt.wakeup_later_exn u) exn with Invalid_argument _ -> refused ()

  let resolve u v = completing2 resolve_once u v
  let reject u exn = completing2 reject_once u exn

  (* A cancelable promise and its resolver. For the promise of a Rust task ([cancel_key >= 0]),
     cancelling it (Lwt.cancel) drops the Rust future at once.

     The bridge's cleanup runs on a private promise, and the caller gets a promise that follows
     it: [Lwt.cancel] on the caller's promise cancels the private one, whose callbacks run
     before the caller's. Handlers on the same promise run newest first, and one that raises
     (with an [async_exception_hook] that re-raises) stops the others: sharing the caller's
     promise, the bridge's cleanup would depend on the user's handlers. The follower is made by
     [Lwt.catch], whose handler is the cleanup: the one callback on the private promise both
     cleans up and settles the caller's (an [on_cancel] handler next to [Lwt.map] cost one more
     callback node per pending task). *)
  let task cancel_key =
    gc_hook ();
    let p, u = Lwt.task () in
    if cancel_key >= 0 then
      ( Lwt.catch
          (fun () -> p)
          (function
            | Lwt.Canceled as exn ->
                cancel_task cancel_key;
                Lwt.fail exn
            | exn -> Lwt.fail exn),
        u )
    else (p, u)
end

module Rust_streams = struct
  open Stubs
  open Owner
  open Async_exn
  open Test_hooks

  (* Rust streams read by OCaml (src/rust_to_ocaml/stream/). A Rust stream is a source [key]; its
     [Lwt_stream.t] reads one item at a time from the source's buffer [batch], and pulls the
     next batch from Rust when that is empty: every item the Rust stream has ready, up to a
     bound, as an array (empty: the end of the stream). The Rust stream is dropped when it ends, when
     [close_stream] is called, or when the [Lwt_stream.t] becomes unreachable: the [source]
     record below is reachable exactly as long as the stream's pull function, so its finaliser
     runs then. A stale key (already ended or closed) is ignored by Rust.

     [close_stream] needs the source of a stream: the registry maps slots to (stream, source)
     pairs through weak pointers, so that it keeps neither alive. The source is reachable from
     the stream, so while a stream can be compared with the one given to [close_stream] (which
     keeps it alive), the source in its slot is there too. Weak arrays are one API on OCaml 4
     and 5 (the imperative [Ephemeron.K1] one is gone in 5).

     A finaliser runs at whatever allocation the GC happens to be at, possibly in the middle of
     the registry code below, or of Rust code calling OCaml. So it only pushes the source on
     [unreachable] (one read and one write of a ref around one allocation: nothing else writes
     it except [release_unreachable], which takes one source off it without allocating), and the sources there are released
     at well-defined points: the next turn of the Lwt loop (an [Enter_iter_hooks] hook), the
     next Rust stream, the next [close_stream]. *)
  type source = {
    key : int;
    mutable slot : int;
    mutable batch : Obj.t array;
        (* The items of the last pull not yet read, from [next] on. [Obj.t]: the items of
           every stream share the one record type; Rust builds the array with tag 0 (a
           float item is boxed), which [Obj.t array]'s generic accesses read as it is. *)
    mutable next : int;
  }

  (* What a stream's pull function returns instead of a promise that has already failed: a
     pending one, failed with the same exception at the next turn of the Lwt loop. Lwt 5.7 and
     later re-raise an already-failed pull synchronously out of [Lwt_stream.get] (Lwt 5.6 fails
     the promise [get] returns); with this, a failed read of a lwt_rust stream is a promise that
     fails, on every Lwt. Except [Wrong_thread]: off the owner thread nothing of Lwt may be
     touched (not even its queue of paused promises), so it is raised at once, on every Lwt, as
     the library's functions raise it. *)
  let settle_later p =
    match Lwt.state p with
    | Lwt.Fail (Wrong_thread _ as exn) -> raise exn
    | Lwt.Fail exn -> Lwt.bind (Lwt.pause ()) (fun () -> Lwt.fail exn)
    | Lwt.Return _ | Lwt.Sleep -> p

  let registry_streams : Obj.t Weak.t ref = ref (Weak.create 0)
  let registry_sources : source Weak.t ref = ref (Weak.create 0)
  let free_slots = ref []
  let unreachable = ref []

  let unregister slot =
    Weak.set !registry_streams slot None;
    Weak.set !registry_sources slot None;
    free_slots := slot :: !free_slots

  (* Leaves the registry, then drops the Rust stream (whose destructor may call back into
     OCaml, even create another Rust stream: the registry is consistent by then). Repeated
     until done after an asynchronous exception: the slot is marked free before anything
     allocates (an exception there loses at most the slot's reuse), and closing a closed key
     again is ignored by Rust, so the Rust stream is always dropped. *)
  let release_once source =
    gc_hook ();
    source.batch <- [||];
    if source.slot >= 0 then begin
      let slot = source.slot in
      source.slot <- -1;
      unregister slot
    end;
    stream_close source.key

  let rec release source =
    match release_once source with
    | () -> ()
    | exception exn ->
      report_async exn;
      release source

  (* One source at a time, taken off the list with no allocation in between: an asynchronous
     exception can no longer drop the sources taken but not yet released. *)
  let rec release_unreachable () =
    match !unreachable with
    | [] -> ()
    | source :: rest ->
      unreachable := rest;
      release source;
      release_unreachable ()

  let register stream source =
    release_unreachable ();
    let slot =
      match !free_slots with
      | slot :: rest ->
        free_slots := rest;
        slot
      | [] ->
        let size = Weak.length !registry_streams in
        let grow old =
          let bigger = Weak.create (max 8 (2 * size)) in
          Weak.blit old 0 bigger 0 size;
          bigger
        in
        registry_streams := grow !registry_streams;
        registry_sources := grow !registry_sources;
        for i = Weak.length !registry_streams - 1 downto size + 1 do
          free_slots := i :: !free_slots
        done;
        size
    in
    Weak.set !registry_streams slot (Some (Obj.repr stream));
    Weak.set !registry_sources slot (Some source);
    slot

  let release_hook = ref None

  (* A pulled batch's first item, the rest kept in the buffer; [None] for the empty batch.
     The rest is kept only while the stream is open: a poll of the batch may have closed the
     stream (or shut the library down) from inside, when the buffer was still empty, and
     closing drops the items not read yet. The first item is the read's in every case. *)
  let first_of source batch =
    if Array.length batch = 0 then None
    else begin
      if Array.length batch > 1 && source.slot >= 0 && not !Drain.shut_down then begin
        source.batch <- batch;
        source.next <- 1
      end;
      Some (Obj.obj (Array.unsafe_get batch 0))
    end

  let rust_stream key =
    if !release_hook = None then
      release_hook :=
        Some
          (Lwt_main.Enter_iter_hooks.add_first (fun () ->
               if !unreachable <> [] then release_unreachable ()));
    let source = { key; slot = -1; batch = [||]; next = 0 } in
    (* The closure must capture [source] itself (not just its key): that is what ties the
       finaliser to the stream's reachability. An item of the buffer is returned at once; an
       empty buffer pulls a batch, whose first item is the read's. *)
    let pull () =
      let source = Sys.opaque_identity source in
      let i = source.next in
      let batch = source.batch in
      if i < Array.length batch then begin
        source.next <- i + 1;
        if i + 1 = Array.length batch then source.batch <- [||];
        Lwt.return (Some (Obj.obj (Array.unsafe_get batch i)))
      end
      else
        let p = stream_pull source.key in
        match Lwt.state p with
        | Lwt.Return batch -> Lwt.return (first_of source batch)
        | Lwt.Fail _ -> Lwt.map (first_of source) (settle_later p)
        | Lwt.Sleep -> Lwt.map (first_of source) p
    in
    let stream = Lwt_stream.from pull in
    source.slot <- register stream source;
    Gc.finalise (fun source -> unreachable := source :: !unreachable) source;
    stream

  (* A stream whose first read fails with [exn], then ends. *)
  let failing_stream exn =
    let failed = ref false in
    Lwt_stream.from (fun () ->
        if !failed then Lwt.return_none
        else begin
          failed := true;
          settle_later (Lwt.fail exn)
        end)

  (* Registered for Rust, so it must not raise: an asynchronous exception ([Out_of_memory],
     one raised by a signal handler or a finaliser) arriving while the stream is made drops
     the Rust stream, and the stream's first read fails with it. *)
  let rust_stream key =
    try rust_stream key
    with exn ->
      stream_close key;
      failing_stream exn

  (* At shutdown every Rust stream is dropped (by Rust), and its items still buffered here with
     it: a later read fails with [Shut_down], as the read of a buffer emptied before. *)
  let drop_buffers () =
    for slot = 0 to Weak.length !registry_sources - 1 do
      match Weak.get !registry_sources slot with
      | Some source -> source.batch <- [||]
      | None -> ()
    done

  let close_stream stream =
    check_thread "Lwt_rust.close_stream";
    release_unreachable ();
    let target = Obj.repr stream in
    let found = ref None in
    for slot = 0 to Weak.length !registry_streams - 1 do
      match Weak.get !registry_streams slot with
      | Some s when s == target -> found := Weak.get !registry_sources slot
      | _ -> ()
    done;
    Option.iter release !found
end

module Ocaml_streams = struct
  open Test_hooks

  (* Rust reading an OCaml stream (src/ocaml_to_rust/stream.rs), one item per step. An item already
     there is taken and handed over at once, with no promise. Otherwise Rust waits on
     [Lwt_stream.peek], which does not take the item: if Rust stops reading before it comes
     back for it, the item stays in the stream. Never raises. The constructors' order is read
     by Rust (tags 0, 1, 2; [End] the immediate 0). *)
  type 'a step = Item of 'a | Wait of 'a option Lwt.t | Failed of exn | End

  let stream_next stream =
    try
      gc_hook ();
      let next = Lwt_stream.peek stream in
      match Lwt.state next with
      | Lwt.Return (Some _) -> (
        match Lwt.state (Lwt_stream.get stream) with
        | Lwt.Return (Some x) -> Item x
        | _ -> Failed (Failure "Lwt_rust: an OCaml stream lost an item it had just shown"))
      | Lwt.Return None -> End
      | Lwt.Fail exn -> Failed exn
      | Lwt.Sleep -> Wait next
    with exn -> Failed exn
end

module Registration = struct
  open Stubs
  open Test_hooks
  open Drain
  open Awaited
  open Task_promise
  open Rust_streams
  open Ocaml_streams

  (* Made now, while nothing can interrupt: what a Rust function returns (a rejected promise
     or stream) or raises (a synchronous one) when making its own failure was itself
     interrupted by asynchronous exceptions. *)
  let interrupted =
    Rust_panic
      "Lwt_rust: an asynchronous exception (raised by a finaliser or a signal handler) \
       interrupted the bridge twice while it reported a failure"

  let () =
    (* One argument per row of the protocol table: a callback the table lists and this
       library does not give (or the other way round) does not compile. *)
    Protocol.register_callbacks ~init ~task ~returned:Lwt.return
      ~failed:(fun exn ->
        gc_hook ();
        Lwt.fail exn)
      ~failed_with:Lwt.fail
      (* [Lwt.cancel] of a promise Rust stopped awaiting runs the user's [on_cancel] handlers. *)
      ~cancel:(fun p -> Async_exn.shielded Lwt.cancel p)
      ~schedule_drain ~resolve ~reject ~attach ~call_attach ~describe_exn:Printexc.to_string
      ~rust_stream ~failed_stream:failing_stream ~stream_next
      (* Rust checks with it that the promise block it builds for [Lwt.return v] reads as
         one. *)
      ~is_returned:(fun p v -> match Lwt.state p with Lwt.Return x -> x == v | _ -> false)
      ~interrupted_promise:(Lwt.fail interrupted)
      ~interrupted_stream:(Lwt_stream.from (fun () -> settle_later (Lwt.fail interrupted)))
      ~interrupted_exception:interrupted ();
    (* The exception of each kind of failure: Rust builds it from the constructor, calling no
       OCaml code. *)
    Protocol.register_failures
      ~rust_panic:(fun m -> Rust_panic m)
      ~rust_error:(fun m -> Rust_error m)
      ~task_dropped:(fun m -> Task_dropped m)
      ~invalid_argument:(fun m -> Invalid_argument m)
      ~shut_down:Shut_down
      ~wrong_thread:(fun m -> Wrong_thread m)
      ~closed:(fun m -> Closed m)
      ();
    (* After the callbacks above: the crate checks they are all registered. *)
    (match handshake protocol version Protocol.failure_kinds Protocol.stats_fields with
    | None -> ()
    | Some reason -> raise (Setup_failed reason));
    (* Needs the callbacks above: it compares what Lwt.return builds with what Rust builds. *)
    probe_direct_return ()
end

(* The public interface (lwt_rust.mli). *)

let init = Drain.init
let shutdown () =
  let stopped = Drain.shutdown () in
  Rust_streams.drop_buffers ();
  stopped
let set_panic_report = Settings.set_panic_report
let set_submission_capacity = Settings.set_submission_capacity
let set_tokio_workers = Settings.set_tokio_workers
let set_drain_budget = Settings.set_drain_budget
let stats = Counters.stats
let close_stream = Rust_streams.close_stream

(* [Lwt.finalize] runs [close_stream] whichever way [f]'s promise settles: value, exception
   (raised or carried), or [Lwt.cancel] (a rejection with [Canceled]). *)
let with_stream s f =
  Lwt.finalize
    (fun () -> f s)
    (fun () ->
      close_stream s;
      Lwt.return_unit)

let on_switch switch s =
  (match switch with
   | None -> ()
   | Some _ ->
     (* The hook keeps the stream reachable until the switch turns off; closing an ended
        stream then does nothing. *)
     Lwt_switch.add_hook switch (fun () ->
         close_stream s;
         Lwt.return_unit));
  s

(* What the generated bindings call besides their externals. *)
module Bindgen = struct
  let switched_stream switch make =
    (* Checked before the Rust function runs, so that a refused call leaves nothing to
       release. *)
    Lwt_switch.check switch;
    on_switch switch (make ())
end

module Internal_for_tests = struct
  let notification_id = Drain.id_for_rust
end
