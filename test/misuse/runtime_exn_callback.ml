(* Out_of_memory raised by a callback of a promise the bridge settles (from a drain, after a
   tokio timer woke the task). Lwt 5 catches it and calls [Lwt.async_exception_hook]; Lwt 6's
   default exception filter lets it escape from the [Lwt.wakeup_later] that ran the callback,
   leaving Lwt's state inconsistent (as Lwt documents). On every Lwt it must reach the hook, so
   that a program with Lwt's default hook (print, exit 2) stops loudly: here a hook that
   exits 0 when it sees it. A run that never calls the hook fails. *)

let () =
  (Lwt.async_exception_hook :=
     fun exn ->
       match exn with
       | Out_of_memory ->
         print_endline "runtime_exn_callback: the hook saw Out_of_memory";
         exit 0
       | exn ->
         Printf.printf "runtime_exn_callback: unexpected %s\n" (Printexc.to_string exn);
         exit 1);
  (* A sleep still pending when its call returns (the timer may fire before the call's
     second poll on a loaded machine: then try again). *)
  let rec pending_sleep tries =
    let p = Demo_stubs.tokio_sleep 0.02 in
    if Lwt.state p = Lwt.Sleep then p
    else if tries > 0 then pending_sleep (tries - 1)
    else (print_endline "runtime_exn_callback: never pending"; exit 1)
  in
  let p = pending_sleep 100 in
  Lwt.on_success p (fun _ -> raise Out_of_memory);
  (try Lwt_main.run (Lwt.map ignore p) with exn -> !Lwt.async_exception_hook exn);
  (* The bridge may hand it over at the next turn of the loop. *)
  (try Lwt_main.run (Lwt_unix.sleep 0.05) with exn -> !Lwt.async_exception_hook exn);
  print_endline "runtime_exn_callback: the hook was never called";
  exit 1
