(* 8. Lwt_rust.shutdown called during a future's first poll (from an OCaml closure the future
   calls): the future must not escape shutdown as a task. Exit status 0 and "OK" when it
   held. *)

open Demo_stubs

let () =
  Lwt_rust.init ();
  let p =
    callback_loop
      (fun () ->
        ignore (Lwt_rust.shutdown ());
        fst (Lwt.wait ()))
      1
  in
  (match Lwt.state p with
  | Lwt.Fail Lwt_rust.Shut_down -> ()
  | Lwt.Fail e -> failwith ("rejected with " ^ Printexc.to_string e ^ ", expected Shut_down")
  | Lwt.Return _ -> failwith "resolved, expected Shut_down"
  | Lwt.Sleep -> failwith "pending: the future escaped shutdown");
  Gc.full_major ();
  let s = Lwt_rust.stats () in
  if s.live_tasks <> 0 || s.live_promises <> 0 || s.live_roots <> 0 then
    failwith
      (Printf.sprintf "left alive: %d tasks, %d promises, %d roots" s.live_tasks s.live_promises
         s.live_roots);
  print_endline "shutdown_first_poll: OK"
