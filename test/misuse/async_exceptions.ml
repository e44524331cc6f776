(* 6. Asynchronous exceptions inside the bridge. Run with LWT_RUST_TEST_RAISE=n (see
   lib/lwt_rust.ml): every n-th crossing of the bridge raises where a finaliser or a signal
   handler raising at an allocation would. Whatever they interrupt (making a task's promise,
   attaching to a promise, settling one, scheduling a drain, making a rejected promise,
   releasing a Rust stream, a Rust object's method), every promise settles exactly once, every Rust object is dropped once, nothing is left alive, and the process neither hangs nor
   aborts. Each exception goes to Lwt.async_exception_hook. *)

open Demo_stubs

let outcome p = Lwt.catch (fun () -> Lwt.map (fun _ -> `Settled) p) (fun _ -> Lwt.return `Settled)

let () =
  if Sys.getenv_opt "LWT_RUST_TEST_RAISE" = None then failwith "run me with LWT_RUST_TEST_RAISE=n";
  let hooked = ref 0 in
  Lwt.async_exception_hook := (fun _ -> incr hooked);
  Lwt_rust.init ();
  let rounds = 3000 in
  let promises = ref [] in
  let keep p = promises := outcome p :: !promises in
  let loop =
    let rec go i =
      if i > rounds then Lwt.return_unit
      else begin
        let waiting, u = Lwt.wait () in
        keep (echo waiting);
        keep (echo (Lwt.return i));
        keep (yield_n (i mod 4));
        keep (echo_int i (i mod 2 = 0));
        keep (rust_error "expected");
        keep (Lwt_stream.to_list (count_stream (i mod 3)));
        (* Streams never read to their end: one closed, one left to the GC (released, with
           the others found unreachable, at the next turn of the Lwt loop). *)
        (try
           let s = count_stream 3 in
           keep (Lwt_stream.get s);
           if i mod 2 = 0 then Lwt_rust.close_stream s
         with _ -> ());
        (try ignore (Sys.opaque_identity (count_stream 2)) with _ -> ());
        if i mod 100 = 0 then Gc.full_major ();
        (* Rust objects: a ready method, one that panics later, a synchronous failure; every
           other one closed, the rest left to the GC. *)
        (try
           let c = Counter.create i in
           keep (Counter.add c 1);
           keep (Counter.explode_later c "expected");
           (try ignore (Counter.try_add c (-1)) with _ -> ());
           if i mod 2 = 0 then Counter.close c
         with _ -> ());
        Lwt.wakeup_later u i;
        if i mod 10 = 0 then Lwt.bind (Lwt.pause ()) (fun () -> go (i + 1)) else go (i + 1)
      end
    in
    go 1
  in
  let watchdog = Lwt.bind (Lwt_unix.sleep 60.) (fun () -> failwith "hang: a promise never settled") in
  Lwt_main.run (Lwt.pick [ Lwt.bind loop (fun () -> Lwt.map ignore (Lwt.all !promises)); watchdog ]);
  Gc.full_major ();
  Lwt_main.run (Lwt.pause ());
  Gc.full_major ();
  let s = Lwt_rust.stats () in
  if s.live_tasks <> 0 || s.live_promises <> 0 || s.live_roots <> 0 || s.live_streams <> 0
     || s.live_objects <> 0
  then
    failwith
      (Printf.sprintf "left alive: %d tasks, %d promises, %d roots, %d streams, %d objects"
         s.live_tasks s.live_promises s.live_roots s.live_streams s.live_objects);
  if objects_dropped () <> objects_created () then
    failwith
      (Printf.sprintf "objects: %d made, %d dropped" (objects_created ()) (objects_dropped ()));
  if !hooked = 0 then failwith "the hook never fired: nothing was interrupted";
  Printf.printf "async_exceptions: OK (%d promises, %d exceptions reported to the hook)\n"
    (List.length !promises) !hooked
