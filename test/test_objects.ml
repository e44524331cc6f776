(* Rust objects held by OCaml values (#[lwt_rust::object], testlib/src/objects.rs), through
   their generated bindings (Lwt_rust_testlib.Counter, .Store): methods, constructors, errors,
   close, release by the GC exactly once and outside it, a method keeping its object alive,
   cancellation, objects inside lists, options, tuples and streams, identity, other threads. *)

open Support
module T = Lwt_rust_testlib
module Counter = T.Counter
module Store = T.Store

let is_closed = function Lwt_rust.Closed _ -> true | _ -> false

(* Runs the event loop until [cond ()] holds (a drain releases what the GC finalised). *)
let until ?(tries = 200) cond =
  let rec go n =
    if cond () then Lwt.return_true
    else if n = 0 then Lwt.return_false
    else Lwt.bind (Lwt_unix.sleep 0.005) (fun () -> go (n - 1))
  in
  await (go tries)

(* The objects dropped so far, once the GC ran and what it finalised was released (reading
   the stats releases it, as the next drain would). *)
let dropped_now () =
  Gc.full_major ();
  Gc.full_major ();
  ignore (Lwt_rust.stats ());
  T.objects_dropped ()

(* Objects dropped since [before], once the GC ran and a drain released what it found. *)
let collect_and_count before expected =
  Gc.full_major ();
  Gc.full_major ();
  ignore (until (fun () -> T.objects_dropped () - before >= expected));
  T.objects_dropped () - before

let test_methods () =
  let c = Counter.create 5 in
  Alcotest.(check int) "sync method" 5 (Counter.get c);
  Alcotest.(check int) "async method, ready" 8 (await (Counter.add c 3));
  Alcotest.(check int) "async method, tokio timer" 10 (await (Counter.add_after c 2 5));
  Alcotest.(check int) "async constructor" 7 (Counter.get (await (Counter.create_later 7)));
  Alcotest.(check int) "Result constructor" 3 (Counter.get (Counter.checked 3));
  Alcotest.(check int) "object argument" 13 (Counter.plus c (Counter.create 3));
  Alcotest.(check (list int)) "stream method" [ 10; 9; 8; 7; 6; 5; 4; 3; 2; 1; 0 ]
    (await (Lwt_stream.to_list (Counter.countdown c)));
  Counter.close c

let test_errors () =
  let c = Counter.create 1 in
  (match Counter.checked (-1) with
  | _ -> Alcotest.fail "checked (-1) must raise"
  | exception Lwt_rust.Rust_error m -> Alcotest.(check string) "constructor Err" "negative start -1" m);
  (match Counter.try_add c (-2) with
  | _ -> Alcotest.fail "try_add (-2) must raise"
  | exception Lwt_rust.Rust_error m -> Alcotest.(check string) "method Err" "cannot add -2" m);
  Alcotest.(check int) "Ok after an Err" 3 (Counter.try_add c 2);
  (match Counter.explode c "boom" with
  | _ -> Alcotest.fail "explode must raise"
  | exception Lwt_rust.Rust_panic m -> Alcotest.(check bool) "panic message" true (contains m "boom"));
  Alcotest.(check int) "usable after a panic" 3 (Counter.get c);
  (match await (result_of (Counter.explode_later c "later")) with
  | Error (Lwt_rust.Rust_panic m) -> Alcotest.(check bool) "async panic" true (contains m "later")
  | _ -> Alcotest.fail "explode_later must reject with Rust_panic");
  (* A value of another object type, forged on purpose: refused, never misread. *)
  let store = await (Store.open_ ()) in
  (match Counter.get (Obj.magic store : Counter.t) with
  | _ -> Alcotest.fail "a Store passed as a Counter must be refused"
  | exception Invalid_argument m -> Alcotest.(check bool) "names the type" true (contains m "Counter.t"));
  (match await (result_of (Counter.add (Obj.magic 42 : Counter.t) 1)) with
  | Error (Invalid_argument _) -> ()
  | _ -> Alcotest.fail "an int passed as a Counter must be refused");
  Alcotest.check_raises "not marshallable"
    (Invalid_argument "output_value: abstract value (Custom)") (fun () ->
      ignore (Marshal.to_string c []));
  Counter.close c;
  Store.close store

let test_close () =
  let before = dropped_now () in
  let c = Counter.create 1 in
  let c' = T.same_counter c in
  (* A method on [c'] first, which the receiver check then remembers: closing [c] must make
     it forget, as the object is closed through another value. *)
  Alcotest.(check int) "the other value works" 1 (Counter.get c');
  Counter.close c;
  Alcotest.(check bool) "close raises Closed afterwards" true
    (match Counter.get c with _ -> false | exception e -> is_closed e);
  Alcotest.(check bool) "another value of the same object is closed too" true
    (match Counter.get c' with _ -> false | exception e -> is_closed e);
  (match await (result_of (Counter.add c 1)) with
  | Error (Lwt_rust.Closed m) -> Alcotest.(check string) "names the type" "Counter" m
  | _ -> Alcotest.fail "an async method of a closed object must reject with Closed");
  (match await (result_of (T.sum_counters [ Counter.create 1; c ])) with
  | Error (Lwt_rust.Closed _) -> ()
  | _ -> Alcotest.fail "a closed object inside a list must be refused with Closed");
  Counter.close c;
  Counter.close c';
  Alcotest.(check int) "dropped exactly once, at once (plus the list's new counter)" 2
    (collect_and_count before 2)

let test_gc_releases_on_the_ocaml_thread () =
  let before = dropped_now () in
  let calls = ref 0 in
  let n = 1000 in
  for i = 1 to n do
    let c = Counter.create i in
    (* The destructor calls this OCaml closure: only sound outside the GC. *)
    Counter.on_drop c (fun () -> incr calls; Lwt.return_unit)
  done;
  Alcotest.(check int) "each dropped once" n (collect_and_count before n);
  Alcotest.(check int) "each destructor called OCaml" n !calls;
  Alcotest.(check int) "none dropped outside the OCaml context" 0 (T.objects_dropped_outside_ocaml ());
  check_nothing_live "after the GC released them"

let test_running_method_keeps_its_object () =
  let before = dropped_now () in
  (* The OCaml value is unreachable at once; the method's future holds the object until
     [ready] is fulfilled. *)
  let ready, go = Lwt.wait () in
  let p = Counter.add_when (Counter.create 1) 2 (fun () -> ready) in
  for _ = 1 to 3 do
    Gc.full_major ();
    ignore (await (Lwt_unix.sleep 0.002))
  done;
  Alcotest.(check int) "not dropped while the method runs" 0 (T.objects_dropped () - before);
  Lwt.wakeup go ();
  Alcotest.(check int) "the method finished correctly" 3 (await p);
  Alcotest.(check int) "dropped once the method ended" 1 (collect_and_count before 1);
  (* Close while a method runs: the method finishes, then the object is dropped. *)
  let c = Counter.create 10 in
  let p = Counter.add_after c 5 20 in
  Counter.close c;
  Alcotest.(check int) "a method running at close finishes" 15 (await p);
  Alcotest.(check int) "then dropped, once" 2 (collect_and_count before 2);
  (* Two methods running at close, each through one of two values of the object, both
     closed: the object is dropped with the last lease, not the first, and once. *)
  let c = Counter.create 1 in
  let c' = T.same_counter c in
  let ready1, go1 = Lwt.wait () and ready2, go2 = Lwt.wait () in
  let p1 = Counter.add_when c 1 (fun () -> ready1) in
  let p2 = Counter.add_when c' 2 (fun () -> ready2) in
  Counter.close c;
  Counter.close c';
  Lwt.wakeup go1 ();
  Alcotest.(check int) "the first method finishes" 2 (await p1);
  Gc.full_major ();
  ignore (Lwt_rust.stats ());
  Alcotest.(check int) "not dropped while the second runs" 2 (T.objects_dropped () - before);
  Lwt.wakeup go2 ();
  Alcotest.(check int) "the second method finishes" 4 (await p2);
  Alcotest.(check int) "then dropped, once" 3 (collect_and_count before 3)

(* Object functions called by an OCaml closure that Rust calls (inside the runtime Rust lent
   to that call): a nested stub, which works as any other. *)
let test_nested () =
  let c = Counter.create 1 in
  let seen = ref [] in
  let f () =
    seen := Counter.get c :: !seen;
    Lwt.map (fun v -> seen := v :: !seen) (Counter.add c 1)
  in
  Alcotest.(check int) "three nested rounds" 3 (await (T.call_n f 3));
  Alcotest.(check (list int)) "each saw the last" [ 4; 3; 3; 2; 2; 1 ] !seen;
  Counter.close c;
  Alcotest.(check bool) "close, nested too" true
    (await (T.call_n (fun () -> Counter.close c; Lwt.return_unit) 1) = 1)

let test_cancel () =
  let before = dropped_now () in
  let c = Counter.create 1 in
  let p = Counter.wait_forever c in
  Lwt.cancel p;
  Alcotest.(check bool) "cancelled" true (Lwt.state p = Lwt.Fail Lwt.Canceled);
  Counter.close c;
  Alcotest.(check int) "the cancelled future released the object" 1 (collect_and_count before 1)

let test_in_values () =
  let cs = T.counters 4 in
  Alcotest.(check (list int)) "a list of objects" [ 0; 1; 2; 3 ] (List.map Counter.get cs);
  Alcotest.(check int) "a list argument" 6 (await (T.sum_counters cs));
  let c = List.nth cs 2 in
  (match T.inspect_counter (Some c) with
  | Some (2, c') ->
    Alcotest.(check bool) "equal: the same Rust object" true (Counter.equal c c');
    Alcotest.(check bool) "( = ) agrees" true (c = c');
    Alcotest.(check int) "hash agrees" (Counter.hash c) (Counter.hash c');
    Alcotest.(check int) "compare agrees" 0 (Counter.compare c c')
  | _ -> Alcotest.fail "inspect_counter (Some c)");
  Alcotest.(check bool) "None" true (T.inspect_counter None = None);
  let a = List.nth cs 0 and b = List.nth cs 1 in
  Alcotest.(check bool) "distinct objects differ" false (Counter.equal a b);
  Alcotest.(check bool) "compare is antisymmetric" true (Counter.compare a b = - Counter.compare b a);
  let table = Hashtbl.create 4 in
  List.iter (fun c -> Hashtbl.replace table c (Counter.get c)) (cs @ [ T.same_counter c ]);
  Alcotest.(check int) "Hashtbl keys by identity" 4 (Hashtbl.length table);
  let items = await (Lwt_stream.to_list (T.counter_stream 3)) in
  Alcotest.(check (list int)) "objects as stream items" [ 0; 1; 2 ] (List.map Counter.get items);
  List.iter Counter.close (cs @ items)

let test_store_across_threads () =
  let s = await (Store.open_ ()) in
  Alcotest.(check bool) "empty" true (Store.is_empty s);
  await (Store.set s "k" "v");
  Alcotest.(check (option string)) "get on a tokio worker" (Some "v") (await (Store.get s "k"));
  Alcotest.(check (option string)) "missing key" None (await (Store.get s "nope"));
  let set, s' = await (T.store_from_threads s 4 250) in
  Alcotest.(check int) "keys the threads set" 1000 set;
  Alcotest.(check bool) "the same object came back through the handle" true (Store.equal s s');
  Alcotest.(check int) "seen from OCaml" 1001 (Store.len s);
  Store.close s;
  Alcotest.(check bool) "closed for both values" true
    (match Store.len s' with _ -> false | exception e -> is_closed e)

(* From a systhread: refused with Wrong_thread, and values the GC finalised there are still
   released on the OCaml thread. *)
let test_systhread () =
  let before = dropped_now () in
  let c = Counter.create 1 in
  for i = 1 to 10 do
    ignore (Counter.create i)
  done;
  let outcome = ref [] in
  let attempt what f =
    let r =
      match f () with
      | () -> "no exception"
      | exception Lwt_rust.Wrong_thread _ -> "wrong thread"
      | exception e -> Printexc.to_string e
    in
    outcome := (what ^ ": " ^ r) :: !outcome
  in
  let t =
    Thread.create
      (fun () ->
        attempt "method" (fun () -> ignore (Counter.get c));
        attempt "constructor" (fun () -> ignore (Counter.create 2));
        attempt "close" (fun () -> Counter.close c);
        (* The ten counters above are finalised on this thread. *)
        Gc.full_major ())
      ()
  in
  Thread.join t;
  Alcotest.(check (list string)) "refused from a systhread"
    [ "method: wrong thread"; "constructor: wrong thread"; "close: wrong thread" ]
    (List.rev !outcome);
  Alcotest.(check int) "usable again on the owner thread" 1 (Counter.get c);
  Alcotest.(check int) "finalised on the systhread, dropped on the owner" 10 (collect_and_count before 10);
  Counter.close c;
  Alcotest.(check int) "and the owner's counter at close" 11 (collect_and_count before 11)

module Bomb = T.Bomb

let panics_counted () = (Lwt_rust.stats ()).panics

(* Destructors that panic, wherever the bridge runs them: a drain at a stub's exit (two in one
   drain), inside [Lwt_rust.stats], at [close] (raised there), at the last lease. The panics
   are contained and counted, and the bridge goes on. *)
let test_destructor_panics () =
  let p0 = panics_counted () in
  let d0 = T.bombs_dropped () in
  let make () = ignore (Sys.opaque_identity (Bomb.create true)) in
  make ();
  make ();
  Gc.full_major ();
  Gc.full_major ();
  (* The next stub's exit drains, which releases both. *)
  ignore (T.objects_created ());
  Alcotest.(check int) "both destructors ran" 2 (T.bombs_dropped () - d0);
  Alcotest.(check int) "both panics counted" 2 (panics_counted () - p0);
  make ();
  Gc.full_major ();
  Gc.full_major ();
  let s = Lwt_rust.stats () in
  Alcotest.(check int) "released inside stats, which still works" 3 (s.panics - p0);
  Alcotest.(check int) "dropped" 3 (T.bombs_dropped () - d0);
  let b = Bomb.create true in
  (match Bomb.close b with
  | () -> Alcotest.fail "close must raise the destructor's panic"
  | exception Lwt_rust.Rust_panic m ->
    Alcotest.(check string) "its message" "a Bomb's destructor panicked" m);
  (match Bomb.armed b with
  | _ -> Alcotest.fail "closed"
  | exception Lwt_rust.Closed _ -> ());
  let quiet = Bomb.create false in
  (match Bomb.explode quiet with
  | _ -> Alcotest.fail "explode panics"
  | exception Lwt_rust.Rust_panic _ -> ());
  Bomb.close quiet;
  Alcotest.(check int) "the executor goes on" 8 (await (Counter.add (Counter.create 5) 3))

(* A copy of an object's block (Obj.dup) outliving the object: its methods raise Closed,
   never reach freed memory. *)
let test_dup () =
  let c = Counter.create 1 in
  let d : Counter.t = Obj.obj (Obj.dup (Obj.repr c)) in
  Alcotest.(check int) "the copy works while the object lives" 1 (Counter.get d);
  Counter.close c;
  (match Counter.get d with
  | _ -> Alcotest.fail "a sync method on the copy of a closed object"
  | exception Lwt_rust.Closed _ -> ());
  (match Lwt.state (Counter.add d 1) with
  | Lwt.Fail (Lwt_rust.Closed _) -> ()
  | _ -> Alcotest.fail "an async method on the copy of a closed object");
  Counter.close d;
  let dup_of_fresh () =
    let e = Counter.create 2 in
    let f : Counter.t = Obj.obj (Obj.dup (Obj.repr e)) in
    (* A method called on the copy while the original lives: the receiver check remembers
       the last value it confirmed, which the release of the collected original must forget. *)
    Alcotest.(check int) "the copy works while the object lives" 3 (await (Counter.add f 1));
    ignore (Sys.opaque_identity e);
    f
  in
  let f = dup_of_fresh () in
  Gc.full_major ();
  Gc.full_major ();
  ignore (Lwt_rust.stats ());
  (match Counter.get f with
  | _ -> Alcotest.fail "a sync method on the copy of a collected object"
  | exception Lwt_rust.Closed _ -> ());
  match Lwt.state (Counter.add f 1) with
  | Lwt.Fail (Lwt_rust.Closed _) -> ()
  | _ -> Alcotest.fail "an async method on the copy of a collected object"

(* A closed object read by Rust from an OCaml stream: Closed, not "is not a Counter.t". *)
let test_closed_in_stream () =
  let a = Counter.create 1 and b = Counter.create 2 in
  Alcotest.(check int) "both open" 3 (await (T.sum_counter_stream (Lwt_stream.of_list [ a; b ])));
  Counter.close b;
  (match await (T.sum_counter_stream (Lwt_stream.of_list [ a; b ])) with
  | _ -> Alcotest.fail "a closed object in the stream"
  | exception Lwt_rust.Closed m -> Alcotest.(check string) "its module" "Counter" m);
  Counter.close a

let () =
  Lwt_rust.init ();
  Alcotest.run "objects"
    [
      ( "objects",
        [
          Alcotest.test_case "constructors and methods" `Quick test_methods;
          Alcotest.test_case "errors, panics and wrong types" `Quick test_errors;
          Alcotest.test_case "close" `Quick test_close;
          Alcotest.test_case "the GC releases them on the OCaml thread" `Quick
            test_gc_releases_on_the_ocaml_thread;
          Alcotest.test_case "a running method keeps its object" `Quick
            test_running_method_keeps_its_object;
          Alcotest.test_case "nested in an OCaml closure Rust calls" `Quick test_nested;
          Alcotest.test_case "cancellation" `Quick test_cancel;
          Alcotest.test_case "in lists, options, tuples, streams; identity" `Quick test_in_values;
          Alcotest.test_case "Send + Sync object across threads" `Quick test_store_across_threads;
          Alcotest.test_case "systhread" `Quick test_systhread;
          Alcotest.test_case "destructors that panic" `Quick test_destructor_panics;
          Alcotest.test_case "Obj.dup of an object outliving it" `Quick test_dup;
          Alcotest.test_case "a closed object in an OCaml stream" `Quick test_closed_in_stream;
          Alcotest.test_case "nothing left" `Quick (fun () -> check_nothing_live "objects");
        ] );
    ]
