(* Objects made and dropped through synchronous calls only, before Lwt_rust.init (so with no
   notification to send): once the GC collected them, one turn of the Lwt loop releases them
   all, without a call to Lwt_rust.stats (which would release them itself). *)

module T = Lwt_rust_testlib

let () =
  for i = 1 to 20_000 do
    ignore (Sys.opaque_identity (T.Counter.create i))
  done;
  Gc.full_major ();
  Gc.full_major ();
  (* One turn of the loop (a promise of [Lwt.pause] alone is resolved before any turn). *)
  Lwt_main.run (Lwt_unix.sleep 0.);
  (* Read without a stub frame: a stub's own exit would release what is left. *)
  let live = T.objects_created_raw () - T.objects_dropped_raw () in
  if live <> 0 then begin
    Printf.eprintf "objects_released_promptly: %d objects still held after a turn of the loop\n"
      live;
    exit 1
  end;
  Lwt_rust.init ();
  (* After init too, with many finalised at once (the request is not lost after the first). *)
  for round = 1 to 3 do
    for i = 1 to 20_000 do
      ignore (Sys.opaque_identity (T.Counter.create i))
    done;
    Gc.full_major ();
    Gc.full_major ();
    Lwt_main.run (Lwt_unix.sleep 0.);
    let live = T.objects_created_raw () - T.objects_dropped_raw () in
    if live <> 0 then begin
      Printf.eprintf "objects_released_promptly: round %d: %d objects still held\n" round live;
      exit 1
    end
  done;
  assert ((Lwt_rust.stats ()).live_objects = 0);
  print_endline "objects_released_promptly: OK"
