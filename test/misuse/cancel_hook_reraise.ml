(* A user's callback that raises, run by the bridge, with an [async_exception_hook] that
   re-raises (as Lwt's documentation suggests to stop the program): an [on_cancel] handler of
   the promise a Rust select stopped awaiting, and a callback on the promise of a Rust task.
   Pure Lwt stops with the exception; the bridge must neither swallow it nor leave Lwt wedged
   (every later [Lwt.wakeup_later] deferred for good): its promises settle, the hook gets the
   exception at the next turn of the Lwt loop, where its raise leaves [Lwt_main.run]. A fresh
   process: a wedged Lwt would spoil every later test. *)

open Demo_stubs

exception Handler_raised of string

let check what cond = if not cond then failwith ("cancel_hook_reraise: " ^ what)

(* [Lwt_main.run] of a sleep: the turn of the loop at which the hook is called. *)
let next_turn () =
  match Lwt_main.run (Lwt_unix.sleep 0.001) with
  | () -> None
  | exception exn -> Some exn

(* [Lwt.wakeup_later] still runs callbacks (Lwt is not wedged). *)
let lwt_works what =
  let p, u = Lwt.wait () in
  let q = Lwt.map succ p in
  Lwt.wakeup_later u 1;
  check (what ^ ": Lwt.wakeup_later still runs callbacks") (Lwt.state q = Lwt.Return 2);
  check (what ^ ": Rust tasks still run") (Lwt_main.run (yield_n 3) = 3)

let () =
  (* The watchdog: a hang kills the program (SIGALRM), which fails the test. *)
  ignore (Unix.alarm 30);
  Lwt_rust.init ();
  Lwt.async_exception_hook := (fun exn -> raise exn);
  (* 1. The loser of a select in Rust, cancelled by the bridge. *)
  let loser, _ = Lwt.task () in
  Lwt.on_cancel loser (fun () -> raise (Handler_raised "on_cancel"));
  let winner = Lwt.bind (Lwt.pause ()) (fun () -> Lwt.return 1) in
  let r = first_of winner loser in
  (match next_turn () with
  | Some (Handler_raised "on_cancel") -> ()
  | Some exn -> failwith ("cancel_hook_reraise: unexpected " ^ Printexc.to_string exn)
  | None -> (
    (* The select may settle in the turn's last step: the hook is then called at the next. *)
    match next_turn () with
    | Some (Handler_raised "on_cancel") -> ()
    | _ -> failwith "cancel_hook_reraise: the on_cancel handler's exception was swallowed"));
  check "the loser was cancelled" (Lwt.state loser = Lwt.Fail Lwt.Canceled);
  check "the select settled with the winner" (Lwt.state r = Lwt.Return 1);
  lwt_works "after the cancel";
  (* 2. A callback on the promise of a Rust task woken from a tokio thread, run when the
     bridge settles it (in the notification handler's drain, outside any resolution loop). *)
  let t = tokio_sleep 0.01 in
  check "the task's promise is pending" (Lwt.state t = Lwt.Sleep);
  Lwt.on_success t (fun _ -> raise (Handler_raised "on_success"));
  let after = Lwt.map (fun _ -> 3) t in
  (match Lwt_main.run (Lwt.bind (Lwt_unix.sleep 0.001) (fun () -> after)) with
  | _ -> (
    match next_turn () with
    | Some (Handler_raised "on_success") -> ()
    | _ -> failwith "cancel_hook_reraise: the callback's exception was swallowed")
  | exception Handler_raised "on_success" -> ());
  check "the task's promise settled" (Lwt.state t <> Lwt.Sleep);
  check "and its other callbacks ran" (Lwt.state after = Lwt.Return 3);
  lwt_works "after the callback";
  Lwt.async_exception_hook := (fun exn -> prerr_endline (Printexc.to_string exn); exit 3);
  Gc.full_major ();
  let s = Lwt_rust.stats () in
  check "nothing left live"
    (s.live_tasks = 0 && s.live_roots = 0 && s.live_promises = 0 && s.live_streams = 0);
  print_endline "cancel_hook_reraise: OK"
