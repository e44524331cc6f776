(* Rust tasks still pending at exit whose futures' destructors panic, call an OCaml closure,
   or call Handle::current, some queued (woken by a tokio timer while OCaml was not
   draining), some waiting: abandoned without running their destructors (the closure never
   runs: no line of it in the expected output), never dropped by a thread-local destructor.
   Exits 0. *)

let () =
  Lwt_rust.init ();
  let on_drop () =
    print_endline "a task's destructor called OCaml";
    Lwt.return_unit
  in
  let tasks =
    List.concat_map
      (fun ms -> List.map (fun mode -> Lwt_rust_testlib.exit_guarded_task mode on_drop ms) [ 0; 1; 2 ])
      [ 10; 1_000_000 ]
  in
  (* The timers fire while this thread sleeps outside the Lwt loop: those wakes are queued. *)
  Unix.sleepf 0.2;
  assert (List.for_all (fun p -> Lwt.state p = Lwt.Sleep) tasks);
  assert ((Lwt_rust.stats ()).live_tasks = 6);
  at_exit (fun () -> ignore (Sys.opaque_identity tasks));
  print_endline "exit_task_drops: OK"
