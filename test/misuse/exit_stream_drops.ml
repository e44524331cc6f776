(* Rust streams still alive at exit whose sources' destructors panic, call an OCaml closure,
   or call Handle::current: released at exit inside a stub (the closure runs: its line is in
   the expected output; the panic is contained), never by a thread-local destructor, which
   aborted. Exits 0. *)

let () =
  Lwt_rust.init ();
  let on_drop () =
    print_endline "a stream's destructor called OCaml";
    Lwt.return_unit
  in
  let streams =
    List.map (fun mode -> Lwt_rust_testlib.exit_guarded_stream mode on_drop) [ 0; 1; 2 ]
  in
  assert ((Lwt_rust.stats ()).live_streams = 3);
  at_exit (fun () -> ignore (Sys.opaque_identity streams));
  print_endline "exit_stream_drops: OK"
