(* Lwt_unix.fork in a process whose blocking pool has an idle thread but whose OCaml thread
   never made a task (every blocking call there was ready at its first poll, here made
   certain by waiting for the pool on the calling thread): the child must still see that it
   was forked and start a pool of its own, rather than queue its call for the parent's idle
   thread, which the child does not have. A hang fails through the child's 30 s Lwt_unix
   sleep (exit 3), or the parent's alarm. *)

let () =
  ignore (Unix.alarm 300);
  Lwt_rust_testlib.warm_blocking_pool ();
  match Lwt_unix.fork () with
  | 0 ->
    let r =
      Lwt_main.run
        (Lwt.pick
           [ Lwt_rust_testlib.blocking_add 20 22; Lwt.map (fun () -> -1) (Lwt_unix.sleep 30.) ])
    in
    exit (if r = 42 then 0 else 3)
  | child -> (
    match Lwt_main.run (Lwt.map snd (Lwt_unix.waitpid [] child)) with
    | Unix.WEXITED 0 -> print_endline "fork_blocking_no_task: OK"
    | Unix.WEXITED n -> failwith (Printf.sprintf "the child exited with %d (3: its call hung)" n)
    | _ -> failwith "the child was killed")
