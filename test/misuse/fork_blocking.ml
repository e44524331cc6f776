(* Lwt_unix.fork after the blocking pool has threads: the child has none of them (fork copies
   only the calling thread), so its blocking calls must start threads of their own rather than
   wait for the parent's. A hang fails through the watchdogs (a 30 s Lwt_unix sleep in the child,
   alarm in the parent). *)

let added_or_hung a b =
  Lwt_main.run
    (Lwt.pick
       [ Demo_stubs.blocking_add a b; Lwt.map (fun () -> -1) (Lwt_unix.sleep 30.) ])

let () =
  ignore (Unix.alarm 300);
  (* Several calls at once: the pool has several threads, idle when the fork happens. *)
  let sums = Lwt_main.run (Lwt.all (List.init 4 (fun i -> Demo_stubs.blocking_add i 1))) in
  if sums <> [ 1; 2; 3; 4 ] then failwith "the parent's blocking calls";
  match Lwt_unix.fork () with
  | 0 ->
    for i = 1 to 5 do
      let t0 = Unix.gettimeofday () in
      let r = added_or_hung i i in
      if r <> 2 * i then (Printf.eprintf "child call %d: got %d after %.1f s\n%!" i r (Unix.gettimeofday () -. t0); exit 3)
    done;
    exit 0
  | child -> (
    let status = Lwt_main.run (Lwt.map snd (Lwt_unix.waitpid [] child)) in
    let parent_again = added_or_hung 20 22 in
    match status with
    | Unix.WEXITED 0 when parent_again = 42 -> print_endline "fork_blocking: OK"
    | Unix.WEXITED 0 -> failwith "the parent's blocking call failed after the fork"
    | Unix.WEXITED n -> failwith (Printf.sprintf "the child exited with %d (3: a call hung)" n)
    | _ -> failwith "the child was killed")
