(* An object whose destructor panics, still held at exit: released at exit (the panic
   contained), never by a thread-local destructor (which aborted). Exits 0. *)

let () =
  Lwt_rust.init ();
  let bomb = Lwt_rust_testlib.Bomb.create true in
  assert (Lwt_rust_testlib.Bomb.armed bomb);
  at_exit (fun () -> ignore (Sys.opaque_identity bomb));
  print_endline "exit_object_panics: OK"
