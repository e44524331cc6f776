(* An object whose destructor calls Handle::current (which needs the OCaml context), still
   held at exit: it runs at exit inside a stub; the process exits 0. *)

let () =
  Lwt_rust.init ();
  let f = Lwt_rust_testlib.Farewell.create () in
  at_exit (fun () -> ignore (Sys.opaque_identity f));
  print_endline "exit_object_handle: OK"
