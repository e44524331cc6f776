(* Boxroot on OCaml 4 asks to be set up before any other thread exists, and cannot detect a
   thread created earlier. Here [Early_thread] creates one before [Lwt_rust] is initialised
   (it keeps allocating while the bridge works): the bridge makes every root on the Lwt
   thread, which set boxroot up, so it must still work, with nothing left alive. *)

open Lwt.Infix

let () =
  Lwt_rust.init ();
  let n = 500 in
  let results =
    Lwt_main.run
      (Lwt_list.map_p
         (fun i ->
           let p, u = Lwt.wait () in
           let echoed = Demo_stubs.echo p in
           Lwt.pause () >>= fun () ->
           Gc.full_major ();
           Lwt.wakeup_later u (string_of_int i);
           echoed)
         (List.init n Fun.id))
  in
  List.iteri (fun i s -> if s <> string_of_int i then failwith "a value was lost") results;
  Early_thread.stop ();
  Gc.full_major ();
  let s = Lwt_rust.stats () in
  if s.live_tasks <> 0 || s.live_roots <> 0 || s.live_promises <> 0 then
    failwith "something was left alive";
  print_endline "setup_too_late: OK"
