(* 11. Lwt_unix.fork after tokio started: the child gets a runtime of its own, so tokio sleeps
   there finish instead of hanging on the parent's threads (which the child does not have). *)

open Demo_stubs

let () =
  Lwt_rust.init ();
  ignore (Lwt_main.run (tokio_sleep 0.001));
  match Lwt_unix.fork () with
  | 0 ->
    let outcome =
      Lwt_main.run
        (Lwt.pick
           [
             Lwt.map (fun _ -> `Slept) (tokio_sleep 0.01);
             Lwt.map (fun () -> `Hung) (Lwt_unix.sleep 20.);
           ])
    in
    exit (if outcome = `Slept then 0 else 3)
  | child -> (
    match Lwt_main.run (Lwt_unix.waitpid [] child) with
    | _, Unix.WEXITED 0 ->
      ignore (Lwt_main.run (tokio_sleep 0.001));
      print_endline "fork_tokio: OK"
    | _, Unix.WEXITED n -> failwith (Printf.sprintf "the child exited with %d (3: tokio hung)" n)
    | _ -> failwith "the child was killed")
