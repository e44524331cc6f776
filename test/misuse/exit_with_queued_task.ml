(* 9. A task woken from another thread (a tokio timer) and never drained, at exit after an
   explicit init: the process exits normally (the .mli promises such tasks are abandoned
   quietly), never aborts in a thread-local destructor. *)

let () =
  Lwt_rust.init ();
  let p = Demo_stubs.tokio_sleep 0.01 in
  (* The wake arrives while this thread sleeps outside the Lwt loop: it is queued, not run. *)
  Unix.sleepf 0.2;
  assert (Lwt.state p = Lwt.Sleep);
  print_endline "exit_with_queued_task: OK"
