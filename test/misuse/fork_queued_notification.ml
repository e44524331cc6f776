(* Lwt_unix.fork while the bridge's notification is queued (a wake from a tokio thread sent,
   not yet handled). Lwt 5.6 gives the child a new notification fd but keeps the queued count,
   so the child never hears of a later notification: the bridge moves the child's wakes to a
   pipe of its own at the child's first turn of the Lwt loop, and drains what the parent left
   queued. Both processes' cross-thread wakes must then work. A hang fails through the
   watchdogs (an Lwt_unix sleep in the child, alarm in the parent). *)

open Demo_stubs

let slept_or_hung seconds =
  Lwt_main.run
    (Lwt.pick
       [
         Lwt.map (fun _ -> `Slept) (tokio_sleep seconds);
         Lwt.map (fun () -> `Hung) (Lwt_unix.sleep 5.);
       ])

let () =
  ignore (Unix.alarm 60);
  Lwt_rust.init ();
  ignore (Lwt_main.run (tokio_sleep 0.001));
  (* A task woken from a tokio thread while this thread is out of the Lwt loop: the
     notification is queued when the fork happens. *)
  let queued = tokio_sleep 0.001 in
  Unix.sleepf 0.1;
  match Lwt_unix.fork () with
  | 0 ->
    let check = function `Slept -> () | `Hung -> exit 3 in
    check (Lwt_main.run (Lwt.pick [ Lwt.map (fun _ -> `Slept) queued; Lwt.map (fun () -> `Hung) (Lwt_unix.sleep 5.) ]));
    (* New wakes, several in a row. *)
    for _ = 1 to 5 do
      check (slept_or_hung 0.001)
    done;
    exit 0
  | child -> (
    let status = Lwt_main.run (Lwt.map snd (Lwt_unix.waitpid [] child)) in
    let parent_left = Lwt_main.run (Lwt.map (fun _ -> `Slept) queued) in
    let parent_again = slept_or_hung 0.01 in
    match status with
    | Unix.WEXITED 0 when parent_left = `Slept && parent_again = `Slept ->
      print_endline "fork_queued_notification: OK"
    | Unix.WEXITED 0 -> failwith "the parent's wakes hung after the fork"
    | Unix.WEXITED n -> failwith (Printf.sprintf "the child exited with %d (3: a wake hung)" n)
    | _ -> failwith "the child was killed")
