(* Lwt_rust.shutdown drops every object OCaml holds, each exactly once, with the objects held
   by running methods; afterwards every use raises (or rejects with) Shut_down. A program of
   its own: shutdown is for good. *)

module T = Lwt_rust_testlib
module Counter = T.Counter

let () =
  Lwt_rust.init ();
  (* Read without a stub frame: synchronous Rust functions raise Shut_down after shutdown. *)
  let dropped () = T.objects_dropped_raw () in
  let held = List.init 5 Counter.create in
  let store = Lwt_main.run (T.Store.open_ ()) in
  let running = Counter.wait_forever (Counter.create 99) in
  (* Its destructor panics at shutdown: contained, the others still dropped. *)
  let bomb = T.Bomb.create true in
  let bombs_before = T.bombs_dropped () in
  (* Shutdown rejects the pending tasks, which runs their callbacks: one calls a method on
     the value a method used last, while the objects are still held. Refused as any other
     after shutdown: the method's body does not run. *)
  let last = Counter.create 3 in
  let countdowns = T.countdowns_started_raw () in
  let called = ref false in
  Lwt.on_failure (Counter.wait_forever (Counter.create 98)) (fun _ ->
      called := true;
      ignore (Counter.countdown_counted last));
  let created = T.objects_created () in
  Alcotest.(check int) "nothing dropped yet" 0 (dropped ());
  Alcotest.(check int) "the last value a method used" 3 (Counter.get last);
  Lwt_main.run (Lwt_rust.shutdown ());
  Alcotest.(check bool) "the callback ran at shutdown" true !called;
  Alcotest.(check int) "no method body ran once shutdown began" countdowns
    (T.countdowns_started_raw ());
  Alcotest.(check int) "every object dropped at shutdown, once" created (dropped ());
  Alcotest.(check int) "the panicking one too" (bombs_before + 1) (T.bombs_dropped_raw ());
  Alcotest.(check int) "none held any more" 0 (Lwt_rust.stats ()).live_objects;
  Alcotest.(check bool) "its panic counted" true ((Lwt_rust.stats ()).panics >= 1);
  ignore (Sys.opaque_identity bomb);
  Alcotest.(check bool) "the running method was dropped" true
    (match Lwt.state running with Lwt.Fail Lwt_rust.Shut_down -> true | _ -> false);
  let c = List.hd held in
  Alcotest.check_raises "a sync method raises Shut_down" Lwt_rust.Shut_down (fun () ->
      ignore (Counter.get c));
  (match Lwt.state (Counter.add c 1) with
  | Lwt.Fail Lwt_rust.Shut_down -> ()
  | _ -> Alcotest.fail "an async method must be rejected with Shut_down");
  Alcotest.check_raises "a Store method too" Lwt_rust.Shut_down (fun () ->
      ignore (T.Store.len store));
  List.iter Counter.close held;
  Alcotest.check_raises "a constructor raises Shut_down, running no Rust code"
    Lwt_rust.Shut_down (fun () -> ignore (Counter.create 7));
  Alcotest.(check int) "no object made" created (T.objects_created_raw ());
  Alcotest.check_raises "a synchronous function raises Shut_down" Lwt_rust.Shut_down
    (fun () -> ignore (T.objects_created ()));
  (match Lwt.state (Counter.create_later 7) with
  | Lwt.Fail Lwt_rust.Shut_down -> ()
  | _ -> Alcotest.fail "an async constructor must be rejected with Shut_down");
  Gc.full_major ();
  Alcotest.(check int) "dropped once each, in all" (T.objects_created_raw ()) (dropped ());
  print_endline "objects at shutdown: OK"
