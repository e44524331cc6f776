(* An object whose destructor calls an OCaml closure, still held at exit: the closure runs at
   exit (its line is in the expected output), the process exits 0. *)

let () =
  Lwt_rust.init ();
  let c = Lwt_rust_testlib.Counter.create 1 in
  Lwt_rust_testlib.Counter.on_drop c (fun () ->
      print_endline "the destructor called OCaml";
      Lwt.return_unit);
  at_exit (fun () -> ignore (Sys.opaque_identity c));
  print_endline "exit_object_calls_ocaml: OK"
