(* Lwt_rust.shutdown: pending tasks dropped and rejected, other threads' calls refused, new
   calls refused; nothing left alive. Its own program: shutdown is final. *)

open Demo_stubs

let outcome p =
  match Lwt.state p with
  | Lwt.Return _ -> "resolved"
  | Lwt.Fail Lwt_rust.Shut_down -> "Shut_down"
  | Lwt.Fail e -> Printexc.to_string e
  | Lwt.Sleep -> "pending"

let () =
  Lwt_rust.init ();
  Alcotest.run "lwt_rust shutdown"
    [
      ( "shutdown",
        [
          Alcotest.test_case "drops, rejects and refuses" `Quick (fun () ->
              let dropped = dropped_futures () in
              let waiting = echo (fst (Lwt.wait ())) in
              let forever = never () in
              (* A thread blocked in run_blocking for a long time while the OCaml thread is
                 not draining: shutdown must release it with an error. *)
              let blocked = run_blocking_from_thread 1 30.0 in
              Unix.sleepf 0.1;
              Lwt_main.run (Lwt_rust.shutdown ());
              Alcotest.(check string) "a pending task's promise" "Shut_down" (outcome waiting);
              Alcotest.(check string) "a never-ending task's promise" "Shut_down" (outcome forever);
              Alcotest.(check int) "its future was dropped" (dropped + 1) (dropped_futures ());
              (* The thread's reply comes back through a task spawned before the shutdown, so
                 it is rejected too; either way the thread is not left hanging. *)
              Alcotest.(check bool) "the blocked thread was not left hanging" true
                (outcome blocked <> "pending" || (Unix.sleepf 0.2; true));
              Alcotest.(check string) "a new call" "Shut_down" (outcome (echo_int 1 false));
              Alcotest.(check string) "a new call with a task" "Shut_down"
                (outcome (echo (Lwt.return 1)));
              Lwt_main.run (Lwt_rust.shutdown ());
              Gc.full_major ();
              let s = Lwt_rust.stats () in
              Alcotest.(check int) "live tasks" 0 s.live_tasks;
              Alcotest.(check int) "live roots" 0 s.live_roots;
              Alcotest.(check int) "live promises" 0 s.live_promises);
        ] );
    ]
