(* Behaviour of the bridge seen from OCaml: the callback loop (a Rust task calling an OCaml
   closure 100 000 times while an Lwt timer keeps ticking), many tasks at once, values and
   exceptions crossing unchanged, misuse, GC and thread safety.

   There is no alcotest-lwt in Debian: each case runs its Lwt code with [Lwt_main.run]. *)

open Lwt.Infix
open Demo_stubs
open Support

(* Runs [loop] (which calls its argument once per iteration) with an independent Lwt timer
   ticking every millisecond, and records the tick count at each quarter of [n] iterations.
   The loop was not starved if the timer ticked within every quarter. *)
let with_ticker ~n loop =
  let ticks = ref 0 and stop = ref false in
  let rec ticker () =
    if !stop then Lwt.return_unit
    else Lwt_unix.sleep 0.001 >>= fun () -> incr ticks; ticker ()
  in
  let ticker = ticker () in
  let calls = ref 0 and at_quarters = ref [] in
  let on_call () =
    incr calls;
    if !calls mod (n / 4) = 0 then at_quarters := !ticks :: !at_quarters
  in
  let result =
    Lwt_main.run
      ( loop on_call >>= fun result ->
        stop := true;
        ticker >|= fun () -> result )
  in
  (result, !calls, List.rev !at_quarters)

let check_loop ~n ~result ~calls ~quarters =
  Alcotest.(check int) "the task handed back N" n result;
  Alcotest.(check int) "F ran exactly N times" n calls;
  Alcotest.(check int) "four quarters recorded" 4 (List.length quarters);
  ignore
    (List.fold_left
       (fun previous ticks ->
         if ticks <= previous then
           Alcotest.failf "the timer did not tick during a quarter of the loop (%s)"
             (String.concat ", " (List.map string_of_int quarters));
         ticks)
       0 quarters)

let callback_loop_pause () =
  let n = 100_000 in
  let result, calls, quarters =
    with_ticker ~n (fun on_call ->
        callback_loop (fun () -> on_call (); Lwt.pause ()) n)
  in
  check_loop ~n ~result ~calls ~quarters;
  check_nothing_live "after the loop"

let callback_loop_sleep () =
  let n = 1_000 in
  let result, calls, quarters =
    with_ticker ~n (fun on_call ->
        callback_loop (fun () -> on_call (); Lwt_unix.sleep 0.001) n)
  in
  check_loop ~n ~result ~calls ~quarters;
  check_nothing_live "after the loop"

exception Numbered of int

let ten_thousand_tasks () =
  let n = 10_000 in
  let before = Lwt_rust.stats () in
  let resolvers = Array.init n (fun _ -> Lwt.wait ()) in
  let results = Array.map (fun (p, _) -> echo p) resolvers in
  let during = Lwt_rust.stats () in
  Alcotest.(check int) "all tasks alive at once" (before.live_tasks + n) during.live_tasks;
  let exns = Array.init n (fun i -> Numbered i) in
  let rejected i = i mod 7 = 3 in
  let order = Array.init n Fun.id in
  Random.init 42;
  for i = n - 1 downto 1 do
    let j = Random.int (i + 1) in
    let t = order.(i) in
    order.(i) <- order.(j);
    order.(j) <- t
  done;
  let outcomes =
    Lwt_main.run
      (let settle =
         Lwt_list.iter_s
           (fun i ->
             let _, u = resolvers.(i) in
             if rejected i then Lwt.wakeup_later_exn u exns.(i) else Lwt.wakeup_later u (i * 3);
             if i mod 100 = 0 then Lwt.pause () else Lwt.return_unit)
           (Array.to_list order)
       in
       settle >>= fun () ->
       Lwt_list.map_p result_of (Array.to_list results))
  in
  List.iteri
    (fun i outcome ->
      match outcome with
      | Ok v when not (rejected i) -> Alcotest.(check int) "own value" (i * 3) v
      | Error e when rejected i ->
        if e != exns.(i) then
          Alcotest.failf "task %d: got %s, not its own exception" i (Printexc.to_string e)
      | Ok v -> Alcotest.failf "task %d: resolved with %d, expected a rejection" i v
      | Error e -> Alcotest.failf "task %d: rejected with %s" i (Printexc.to_string e))
    outcomes;
  check_nothing_live "after 10k tasks"

let resolving_twice () =
  let u, p = pending () in
  Lwt.wakeup_later u 41;
  Alcotest.(check int) "the Rust task saw the value" 42 (Lwt_main.run p);
  Alcotest.check_raises "a second resolution is refused"
    (Invalid_argument "Lwt.wakeup_later") (fun () -> Lwt.wakeup_later u 1);
  check_nothing_live "after the pending promise"

exception Custom of string * int

let same_exception_comes_back () =
  let exn = Custom ("payload", 7) in
  (match Lwt_main.run (result_of (echo (Lwt.fail exn))) with
   | Error e when e == exn -> ()
   | Error (Custom (s, n)) -> Alcotest.failf "a copy came back (%s, %d), not the value" s n
   | Error e -> unexpected e
   | Ok () -> Alcotest.fail "resolved");
  (* The same after the promise settles later, through Lwt.on_any, and a GC in between. *)
  let p, u = Lwt.wait () in
  let result = echo p in
  Gc.compact ();
  Lwt.wakeup_later_exn u Not_found;
  Alcotest.check_raises "Not_found, matchable by constructor" Not_found (fun () ->
      Lwt_main.run result);
  check_nothing_live "after the exceptions"

let exception_from_the_closure () =
  let raised = Custom ("raised by F", 1) in
  let count = ref 0 in
  let f () =
    incr count;
    if !count = 3 then raise raised else Lwt.pause ()
  in
  (match Lwt_main.run (result_of (callback_loop f 10)) with
   | Error e when e == raised -> ()
   | Error e -> unexpected e
   | Ok n -> Alcotest.failf "resolved with %d" n);
  Alcotest.(check int) "F stopped being called" 3 !count;
  let rejected = Custom ("rejected by F's promise", 2) in
  let f () = Lwt.pause () >>= fun () -> Lwt.fail rejected in
  (match Lwt_main.run (result_of (callback_loop f 10)) with
   | Error e when e == rejected -> ()
   | Error e -> unexpected e
   | Ok n -> Alcotest.failf "resolved with %d" n);
  check_nothing_live "after the failing closures"

let panic_and_rust_error () =
  Alcotest.check_raises "a panic becomes Rust_panic"
    (Lwt_rust.Rust_panic "deliberate panic in a Rust task") (fun () ->
      Lwt_main.run (panic_after_await (Lwt.pause ())));
  Alcotest.check_raises "a Rust error becomes Rust_error" (Lwt_rust.Rust_error "no such thing")
    (fun () -> Lwt_main.run (rust_error "no such thing"));
  (* The executor goes on after a panic. *)
  Alcotest.(check int) "later tasks still run" 5
    (Lwt_main.run (callback_loop Lwt.pause 5));
  check_nothing_live "after the failures"

let drain_budget () =
  Alcotest.check_raises "a budget of 0 is refused"
    (Invalid_argument "Lwt_rust.set_drain_budget: the budget must be at least 1") (fun () ->
      Lwt_rust.set_drain_budget 0);
  Lwt_rust.set_drain_budget 4;
  let before = Lwt_rust.stats () in
  let ps = List.init 100 (fun _ -> Lwt.pause ()) in
  let results = List.map echo ps in
  Lwt_main.run (Lwt.join (List.map (fun p -> p >|= ignore) results));
  let after = Lwt_rust.stats () in
  Alcotest.(check bool) "100 wakes needed at least 25 drains of 4" true
    (after.drains - before.drains >= 25);
  Lwt_rust.set_drain_budget 256;
  check_nothing_live "after the budgeted drains"

(* Values survive a moving GC while Rust holds them: a heap value crosses into Rust and
   back with compactions on both sides of every step. *)
let values_survive_compaction () =
  let make i = (String.make (i mod 50 + 1) 'x', [ i; i + 1 ], Some (float_of_int i)) in
  let n = 2_000 in
  let pairs = Array.init n (fun _ -> Lwt.wait ()) in
  let results = Array.map (fun (p, _) -> echo p) pairs in
  Gc.compact ();
  Array.iteri (fun i (_, u) -> Lwt.wakeup_later u (make i)) pairs;
  Gc.compact ();
  let got = Lwt_main.run (Lwt_list.map_s Fun.id (Array.to_list results)) in
  Gc.compact ();
  List.iteri (fun i v -> if v <> make i then Alcotest.failf "value %d changed" i) got;
  let f () = Gc.compact (); Lwt.pause () in
  Alcotest.(check int) "a loop compacting in every call" 200 (Lwt_main.run (callback_loop f 200));
  check_nothing_live "after the compactions"

(* Boxroot was set up before any thread: roots stay valid while other OCaml threads run,
   allocate and trigger collections, and the master lock moves between threads. *)
let roots_with_threads () =
  let stop = ref false in
  let worker () =
    while not !stop do
      ignore (Sys.opaque_identity (List.init 1000 string_of_int));
      Thread.yield ()
    done
  in
  let threads = List.init 3 (fun _ -> Thread.create worker ()) in
  let n = 1_000 in
  let pairs = Array.init n (fun _ -> Lwt.wait ()) in
  let results = Array.map (fun (p, _) -> echo p) pairs in
  let settle =
    Lwt_list.iteri_s
      (fun i (_, u) ->
        Lwt.wakeup_later u (string_of_int i);
        if i mod 10 = 0 then (Gc.full_major (); Lwt_unix.sleep 0.0001) else Lwt.return_unit)
      (Array.to_list pairs)
  in
  let got = Lwt_main.run (settle >>= fun () -> Lwt_list.map_s Fun.id (Array.to_list results)) in
  stop := true;
  List.iter Thread.join threads;
  List.iteri (fun i v -> Alcotest.(check string) "value" (string_of_int i) v) got;
  check_nothing_live "after the threads"

let () =
  Lwt_rust.init ();
  Alcotest.run "lwt_rust"
    [
      ( "scenario",
        [
          Alcotest.test_case "callback loop on Lwt.pause, N = 100_000" `Quick callback_loop_pause;
          Alcotest.test_case "callback loop on Lwt_unix.sleep, N = 1_000" `Quick callback_loop_sleep;
          Alcotest.test_case "10_000 tasks, random order, some rejected" `Quick ten_thousand_tasks;
        ] );
      ( "errors and misuse",
        [
          Alcotest.test_case "resolving a settled promise" `Quick resolving_twice;
          Alcotest.test_case "the same exception comes back" `Quick same_exception_comes_back;
          Alcotest.test_case "an exception from the OCaml closure" `Quick exception_from_the_closure;
          Alcotest.test_case "panic and Rust error" `Quick panic_and_rust_error;
          Alcotest.test_case "drain budget" `Quick drain_budget;
        ] );
      ( "gc and threads",
        [
          Alcotest.test_case "values survive compaction" `Quick values_survive_compaction;
          Alcotest.test_case "roots with other threads running" `Quick roots_with_threads;
        ] );
    ]
