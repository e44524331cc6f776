(* The hostile-user suite: every case is a misuse that once corrupted memory, hung,
   leaked or aborted. Each must now give a clear, named exception or error, lose nothing, and
   leave nothing alive. Hangs are caught by a watchdog ([within]), never by timing. *)

open Demo_stubs

(* [await], [check_nothing_live] (tasks, roots, promises and streams), [contains]: the helpers
   of every suite. *)
open Support

(* [p], or a failure naming [what] if it has not settled after [seconds]: the watchdog of a
   liveness test (a hang fails the test instead of blocking the suite). *)
let within ?(seconds = 20.) what p =
  Lwt.pick
    [ p; Lwt.bind (Lwt_unix.sleep seconds) (fun () -> Alcotest.failf "%s: still pending (hang)" what) ]

(* [p]'s outcome as a result ([Lwt_result.catch] changed its argument in Lwt 5.7). *)
let outcome p = Lwt.catch (fun () -> Lwt.map Result.ok p) (fun e -> Lwt.return (Error e))

let is_wrong_thread = function Lwt_rust.Wrong_thread _ -> true | _ -> false

(* Runs [f ()] on an OCaml systhread while this thread waits in the Lwt loop (releasing the
   runtime lock), and returns what it gave. *)
let on_systhread f =
  let result = ref None in
  let t = Thread.create (fun () -> result := Some (try Ok (f ()) with exn -> Error exn)) () in
  let rec wait () =
    match !result with
    | Some r -> Lwt.return r
    | None -> Lwt.bind (Lwt_unix.sleep 0.001) wait
  in
  let r = await (wait ()) in
  Thread.join t;
  r

(* 1. Safe Rust on another thread holding the runtime lock cannot attach a promise. *)
let foreign_thread_attach () =
  let message = await (attach_from_foreign_thread ()) in
  Alcotest.(check bool) ("refused, naming the rule: " ^ message) true
    (contains message "may only be used from the thread that initialised Lwt_rust");
  check_nothing_live "after the foreign thread"

(* 2. Rust functions, the library's functions, Lwt.cancel and settlements from a systhread. *)
let systhread_calls () =
  (* A ready call and a task-needing call: both refused, before anything runs. *)
  let outcomes =
    on_systhread (fun () ->
        List.map
          (fun p -> match Lwt.state p with Lwt.Fail e -> is_wrong_thread e | _ -> false)
          [ Lwt.map ignore (echo_int 1 false); Lwt.map ignore (echo_int 1 true); yield_n 3 |> Lwt.map ignore ])
  in
  (match outcomes with
  | Ok l -> Alcotest.(check (list bool)) "Rust functions refuse with Wrong_thread" [ true; true; true ] l
  | Error e -> Alcotest.failf "a Rust function raised on a systhread: %s" (Printexc.to_string e));
  (match on_systhread (fun () -> Lwt_rust.stats ()) with
  | Error (Lwt_rust.Wrong_thread _) -> ()
  | _ -> Alcotest.fail "Lwt_rust.stats from a systhread must raise Wrong_thread");
  List.iter
    (fun (what, f) ->
      match on_systhread f with
      | Error (Lwt_rust.Wrong_thread m) when contains m what -> ()
      | Error e -> Alcotest.failf "%s from a systhread raised %s" what (Printexc.to_string e)
      | Ok () -> Alcotest.failf "%s from a systhread must raise Wrong_thread" what)
    [
      ("Lwt_rust.init", Lwt_rust.init);
      ("Lwt_rust.shutdown", fun () -> ignore (Lwt_rust.shutdown ()));
      ("Lwt_rust.set_drain_budget", fun () -> Lwt_rust.set_drain_budget 3);
      ("Lwt_rust.set_submission_capacity", fun () -> Lwt_rust.set_submission_capacity 100);
      ("Lwt_rust.set_tokio_workers", fun () -> Lwt_rust.set_tokio_workers 2);
      ("Lwt_rust.close_stream", fun () -> Lwt_rust.close_stream (Lwt_stream.of_list [ 1 ]));
    ];
  (* A stream function from a systhread: its first read fails with Wrong_thread (the read is
     a promise that fails, possibly a turn later: the same on every Lwt). *)
  let read_fails what make_read =
    match on_systhread make_read with
    | Ok read -> (
      match await (within what (outcome read)) with
      | Error (Lwt_rust.Wrong_thread _) -> ()
      | _ -> Alcotest.failf "%s: not refused with Wrong_thread" what)
    | Error (Lwt_rust.Wrong_thread _) -> ()
    | Error e -> Alcotest.failf "%s raised %s" what (Printexc.to_string e)
  in
  read_fails "a stream made on a systhread" (fun () -> Lwt_stream.get (count_stream 3));
  (* A Rust stream made here, read from a systhread: the read is refused. *)
  let s = count_stream 3 in
  read_fails "a Rust stream read on a systhread" (fun () -> Lwt_stream.get s);
  Lwt_rust.close_stream s;
  (* The main thread is unaffected. *)
  Alcotest.(check int) "main thread still served" 7 (await (yield_n 7));
  (* Lwt.cancel from a systhread: the future is dropped on the main thread. *)
  let dropped = dropped_futures () in
  let inner, _ = Lwt.wait () in
  let p = guarded_echo inner in
  (match on_systhread (fun () -> Lwt.cancel p) with Ok () -> () | Error e -> raise e);
  await (within "forwarded cancel" (Lwt_unix.sleep 0.05));
  Alcotest.(check int) "the cancelled future was dropped" (dropped + 1) (dropped_futures ());
  (* An awaited promise settled on a systhread: the Rust side gets Wrong_thread, not the
     value (keys of another thread's table would name the wrong slot). *)
  let awaited, u = Lwt.wait () in
  let r = echo awaited in
  (match on_systhread (fun () -> Lwt.wakeup u 42) with Ok () -> () | Error e -> raise e);
  (match await (within "settled off thread" (outcome r)) with
  | Error (Lwt_rust.Wrong_thread _) -> ()
  | Ok v -> Alcotest.failf "got %d, expected Wrong_thread" v
  | Error e -> Alcotest.failf "got %s, expected Wrong_thread" (Printexc.to_string e));
  check_nothing_live "after the systhread calls"

(* 3. A Promise dropped inside with_runtime: its cancel (here, a handler that moves the whole
   heap) waits until the borrowed string is no longer in use. *)
let drop_inside_with_runtime () =
  let p, _ = Lwt.task () in
  let cancelled = ref false in
  Lwt.on_cancel p (fun () ->
      cancelled := true;
      ignore (Sys.opaque_identity (Array.make 1000 "garbage"));
      Gc.compact ());
  let read = await (drop_inside_with_runtime p) in
  Alcotest.(check string) "the borrowed string reads intact" "a string borrowed from the runtime" read;
  Alcotest.(check bool) "the promise was cancelled (after with_runtime)" true !cancelled;
  (match await (outcome (invalid_argument_inside_with_runtime ())) with
  | Error (Lwt_rust.Rust_panic m) when contains m "with_runtime" -> ()
  | _ -> Alcotest.fail "invalid_argument inside with_runtime must be refused with a Rust_panic");
  check_nothing_live "after the drops inside with_runtime"

(* 4. A task that wakes itself on every poll does not starve wakes from other threads. *)
let fair_queues () =
  let dropped = dropped_futures () in
  let spinner = spin () in
  let slept =
    await
      (within "a tokio timer under a spinning task"
         (Lwt.map (fun _ -> 3) (Lwt.join [ Lwt.map ignore (tokio_sleep 0.01); Lwt.map ignore (tokio_sleep 0.01); Lwt.map ignore (tokio_sleep 0.01) ])))
  in
  Alcotest.(check int) "three cross-thread wakes served while the spinner runs" 3 slept;
  Lwt.cancel spinner;
  Alcotest.(check int) "the spinner was dropped" (dropped + 1) (dropped_futures ());
  (* Its task is freed by the next drain (it was queued when cancelled). *)
  await (Lwt.pause ());
  check_nothing_live "after the spinner"

(* 5. A scheduled drain that never runs (Lwt abandons paused promises) does not stall later
   same-thread wakes. *)
let lost_drain () =
  Lwt_rust.set_drain_budget 1;
  Fun.protect ~finally:(fun () -> Lwt_rust.set_drain_budget 256) (fun () ->
      let first = yield_n 20 in
      (* Its drain, re-armed through Lwt.pause after a budget of 1, is abandoned. *)
      Lwt.abandon_paused ();
      let second = yield_n 5 in
      let a, b = await (within "wakes after a lost drain" (Lwt.both first second)) in
      Alcotest.(check (pair int int)) "both tasks finished" (20, 5) (a, b));
  check_nothing_live "after the lost drain"

(* 7. A Rust task calling, outside any Lwt_main.run, an OCaml closure that runs Lwt_main.run on
   a promise that needs another Rust task woken on this thread. *)
let nested_run_outside () =
  let inner = ref 0 in
  let outer =
    callback_loop
      (fun () ->
        inner := Lwt_main.run (within "the nested run" (yield_n 4));
        Lwt.return_unit)
      1
  in
  Alcotest.(check int) "the nested run finished" 4 !inner;
  Alcotest.(check int) "and the outer task" 1 (await (within "the outer task" outer));
  check_nothing_live "after the nested run"

(* 7b. The same, but the nested run needs a drain per step: three Rust tasks in sequence, each
   awaiting an [Lwt.pause] (each settlement wakes its task inside the nested run). *)
let paused_echoes n =
  let rec go i acc =
    if i = 0 then Lwt.return acc
    else Lwt.bind (echo (Lwt.bind (Lwt.pause ()) (fun () -> Lwt.return i))) (fun v -> go (i - 1) (acc + v))
  in
  go n 0

let nested_run_many_drains () =
  let inner = ref 0 in
  let outer =
    callback_loop
      (fun () ->
        inner := Lwt_main.run (within ~seconds:10. "the nested run (task)" (paused_echoes 3));
        Lwt.return_unit)
      1
  in
  Alcotest.(check int) "the nested run finished (called by a task)" 6 !inner;
  Alcotest.(check int) "and the outer task" 1 (await (within "the outer task" outer));
  inner := 0;
  call_now (fun () ->
      inner := Lwt_main.run (within ~seconds:10. "the nested run (sync)" (paused_echoes 3));
      Lwt.return_unit);
  Alcotest.(check int) "the nested run finished (called by a sync function)" 6 !inner;
  check_nothing_live "after the nested runs"

(* 10. Another on_cancel handler raises and the hook re-raises: the bridge's cleanup still
   runs. *)
let raising_cancel_handler () =
  let dropped = dropped_futures () in
  let inner, _ = Lwt.wait () in
  let p = guarded_echo inner in
  Lwt.on_cancel p (fun () -> raise Exit);
  let hook = !Lwt.async_exception_hook in
  Lwt.async_exception_hook := (fun exn -> raise exn);
  Fun.protect ~finally:(fun () -> Lwt.async_exception_hook := hook) (fun () ->
      try Lwt.cancel p with Exit -> ());
  Alcotest.(check int) "the future was dropped" (dropped + 1) (dropped_futures ());
  check_nothing_live "after the raising cancel handler"

let () =
  Lwt_rust.init ();
  Alcotest.run "lwt_rust hostile"
    [
      ( "threads",
        [
          Alcotest.test_case "Promise::new on a foreign thread holding the lock" `Quick foreign_thread_attach;
          Alcotest.test_case "calls, cancel and settlements from a systhread" `Quick systhread_calls;
        ] );
      ( "runtime",
        [ Alcotest.test_case "a Promise dropped inside with_runtime" `Quick drop_inside_with_runtime ] );
      ( "liveness",
        [
          Alcotest.test_case "a spinning task and cross-thread wakes" `Quick fair_queues;
          Alcotest.test_case "a lost drain" `Quick lost_drain;
          Alcotest.test_case "a nested Lwt_main.run outside any run" `Quick nested_run_outside;
          Alcotest.test_case "a nested Lwt_main.run needing many drains" `Quick nested_run_many_drains;
        ] );
      ( "exceptions",
        [
          Alcotest.test_case "an on_cancel handler raising through the hook" `Quick raising_cancel_handler;
        ] );
    ]
