(* Rust async functions as Lwt promises: typed values through #[lwt_rust::func], errors,
   cancellation both ways, panic containment, exception identity. *)

open Lwt.Infix
open Demo_stubs
open Support

let outcome p =
  match Lwt.state p with
  | Lwt.Return v -> `Resolved v
  | Lwt.Fail e -> `Failed e
  | Lwt.Sleep -> `Pending

(* Each typed echo, on both the ready path and the task path. *)
let both_paths name testable echo value =
  List.iter
    (fun yield_first ->
      let path = if yield_first then "task path" else "ready path" in
      Alcotest.check testable (name ^ ", " ^ path) value (await (echo value yield_first)))
    [ false; true ]

let typed_values () =
  let open Alcotest in
  both_paths "unit" unit echo_unit ();
  both_paths "bool" bool echo_bool true;
  both_paths "bool" bool echo_bool false;
  List.iter (both_paths "int" int echo_int) [ 0; 1; -1; max_int; min_int ];
  List.iter (both_paths "int32" int32 echo_int32) [ 0l; Int32.max_int; Int32.min_int ];
  List.iter (both_paths "int64" int64 echo_int64) [ 0L; Int64.max_int; Int64.min_int ];
  List.iter (both_paths "float" (float 0.) echo_float) [ 0.; -1.5; 1e300; infinity ];
  List.iter
    (fun y -> Alcotest.(check bool) "nan" true (Float.is_nan (await (echo_float nan y))))
    [ false; true ];
  List.iter (both_paths "string" string echo_string) [ ""; "héllo"; String.make 100_000 'z' ];
  both_paths "bytes" bytes echo_bytes (Bytes.of_string "\000\255 raw");
  List.iter (both_paths "int option" (option int) echo_int_option) [ None; Some 42 ];
  List.iter
    (both_paths "result" (result int string) echo_result)
    [ Ok 7; Error "bad" ];
  List.iter (both_paths "string list" (list string) echo_string_list) [ []; [ "a"; "b"; "c" ] ];
  List.iter (both_paths "int array" (array int) echo_int_array) [ [||]; [| 1; 2; 3 |] ];
  List.iter
    (both_paths "float array" (array (float 0.)) echo_float_array)
    [ [||]; [| 1.5; -2.; 1e-300 |] ];
  both_paths "tuple" (triple int string (float 0.)) echo_tuple (3, "three", 3.);
  both_paths "nested"
    (list (option (pair int (list string))))
    echo_nested
    [ None; Some (1, []); Some (2, [ "x"; "y" ]) ];
  check_nothing_live "after the typed values"

let result_errors () =
  Alcotest.(check int) "Ok resolves" 5 (await (divide 10 2));
  Alcotest.check_raises "Err rejects with Rust_error" (Lwt_rust.Rust_error "cannot divide 1 by 0")
    (fun () -> ignore (await (divide 1 0)));
  check_nothing_live "after the results"

let wrong_types () =
  let rejected_with_invalid_argument name p =
    match await (result_of p) with
    | Error (Invalid_argument msg) ->
      Alcotest.(check bool)
        (name ^ ": the message names the function and the expected type")
        true
        (String.length msg > 5 && String.sub msg 0 5 = "echo_" && contains msg ": argument 1: ")
    | Error e -> Alcotest.failf "%s: unexpected %s" name (Printexc.to_string e)
    | Ok _ -> Alcotest.failf "%s: a value of the wrong type was accepted" name
  in
  rejected_with_invalid_argument "string for int" (echo_int_given_a_string "12" false);
  rejected_with_invalid_argument "int for string" (echo_string_given_an_int 12 false);
  rejected_with_invalid_argument "float array for int array"
    (echo_int_array_given_floats [| 1.; 2. |] false);
  rejected_with_invalid_argument "an int64 for an int32" (echo_int32_given_an_int64 5L false);
  rejected_with_invalid_argument "a string that is not UTF-8 for a Rust String"
    (echo_string "\xff\xfe" false);
  Alcotest.(check bytes) "the same bytes are fine as bytes" (Bytes.of_string "\xff\xfe")
    (await (echo_bytes (Bytes.of_string "\xff\xfe") true));
  check_nothing_live "after the wrong types"

(* A Rust i64 beyond OCaml's 63-bit int is refused, never silently truncated. *)
let out_of_range_values () =
  let refused name p =
    match await (result_of p) with
    | Error (Lwt_rust.Rust_error msg) ->
      Alcotest.(check bool) (name ^ ": says what does not fit") true
        (Support.contains msg "does not fit OCaml's int")
    | Error e -> Alcotest.failf "%s: unexpected %s" name (Printexc.to_string e)
    | Ok _ -> Alcotest.failf "%s: an out-of-range value was returned" name
  in
  refused "2^62, ready path" (out_of_range false);
  refused "2^62, task path" (out_of_range true);
  refused "nested in an option, a tuple and a list" (out_of_range_nested ());
  Alcotest.(check int) "max_int itself fits" max_int (await (echo_int max_int true));
  Alcotest.(check int) "min_int itself fits" min_int (await (echo_int min_int false));
  check_nothing_live "after the out-of-range values"

let ready_future_is_resolved_at_once () =
  let before = Lwt_rust.stats () in
  let p = echo_int 41 false in
  let after = Lwt_rust.stats () in
  Alcotest.(check bool) "already resolved" true (outcome p = `Resolved 41);
  Alcotest.(check int) "no task spawned" before.spawned after.spawned;
  Alcotest.(check int) "no wake" before.wakes after.wakes;
  Alcotest.(check int) "no notification" before.notifications after.notifications;
  let p = echo_int 41 true in
  (* A future that is still pending after its first polls becomes a task; since it woke
     itself, the drain run when the call returns (same Lwt round) completes it. *)
  Alcotest.(check int) "a yielding future is a task" (after.spawned + 1) (Lwt_rust.stats ()).spawned;
  Alcotest.(check int) "which completes" 41 (await p)

(* A future pending on the call's first probe and finished by its task's first poll, which
   runs before the task's promise is made: the call returns the outcome already settled, and
   the task is gone. *)
let finished_by_the_task_first_poll () =
  let before = Lwt_rust.stats () in
  let p = finish_on_task_poll 41 in
  Alcotest.(check bool) "resolved when the call returns" true (outcome p = `Resolved 42);
  Alcotest.(check int) "through a task" (before.spawned + 1) (Lwt_rust.stats ()).spawned;
  Alcotest.(check int) "which is gone" 0 (Lwt_rust.stats ()).live_tasks;
  (match outcome (finish_on_task_poll 0) with
   | `Failed (Lwt_rust.Rust_error "zero") -> ()
   | _ -> Alcotest.fail "an Err on that poll: not rejected with Rust_error at once");
  (match outcome (finish_on_task_poll (-1)) with
   | `Failed (Lwt_rust.Rust_panic _) -> ()
   | _ -> Alcotest.fail "a panic on that poll: not rejected with Rust_panic at once");
  Alcotest.(check int) "still resolves when awaited" 8 (await (finish_on_task_poll 7));
  check_nothing_live "after the futures finished by their task's first poll"

let cancel_drops_the_future () =
  let before = dropped_futures () in
  let p = never () in
  Alcotest.(check bool) "pending" true (outcome p = `Pending);
  Alcotest.(check int) "one live task" 1 (Lwt_rust.stats ()).live_tasks;
  Lwt.cancel p;
  Alcotest.(check int) "the future was dropped during Lwt.cancel" (before + 1) (dropped_futures ());
  Alcotest.(check bool) "rejected with Canceled" true (outcome p = `Failed Lwt.Canceled);
  (* The task itself is freed by the executor on its next drain. *)
  await (Lwt.pause ());
  check_nothing_live "after the cancel"

let cancel_reaches_the_inner_promise () =
  let inner, _u = Lwt.task () in
  let before = dropped_futures () in
  let outer = guarded_echo inner in
  Lwt.cancel outer;
  Alcotest.(check int) "the Rust future was dropped" (before + 1) (dropped_futures ());
  Alcotest.(check bool) "outer: Canceled" true (outcome outer = `Failed Lwt.Canceled);
  Alcotest.(check bool) "inner (cancelable): Canceled too" true (outcome inner = `Failed Lwt.Canceled);
  (* A promise that is not cancelable is left alone, and its root released. *)
  let inner, u = Lwt.wait () in
  let outer = guarded_echo inner in
  Lwt.cancel outer;
  Alcotest.(check bool) "inner (Lwt.wait): still pending" true (outcome inner = `Pending);
  Lwt.wakeup u 1;
  Alcotest.(check bool) "and settles normally later" true (outcome inner = `Resolved 1);
  await (Lwt.pause ());
  check_nothing_live "after the inner cancels"

let dropping_a_promise_cancels_it () =
  let p1, u1 = Lwt.task () and p2, _ = Lwt.task () in
  let r = first_of p1 p2 in
  Lwt.wakeup_later u1 "first";
  Alcotest.(check string) "the winner's value" "first" (await r);
  Alcotest.(check bool) "the loser, dropped by Rust, was cancelled" true
    (outcome p2 = `Failed Lwt.Canceled);
  let p1, _ = Lwt.wait () and p2, u2 = Lwt.wait () in
  let r = first_of p1 p2 in
  Lwt.wakeup_later_exn u2 Exit;
  Alcotest.check_raises "the winner's exception" Exit (fun () -> await r);
  Alcotest.(check bool) "a loser that is not cancelable stays pending" true (outcome p1 = `Pending);
  check_nothing_live "after select"

let forgotten_task () =
  let before = dropped_futures () in
  let p = forgotten () in
  Lwt_main.run (Lwt.pause () >>= Lwt.pause);
  Alcotest.(check bool) "a future with no waker stays pending" true (outcome p = `Pending);
  Alcotest.(check int) "and alive" before (dropped_futures ());
  Lwt.cancel p;
  Alcotest.(check int) "cancelling drops it" (before + 1) (dropped_futures ());
  await (Lwt.pause ());
  check_nothing_live "after the forgotten task"

let panics_are_contained () =
  let is_panic = function Lwt_rust.Rust_panic _ -> true | _ -> false in
  List.iter
    (fun yield_first ->
      (match await (result_of (panic_in_drop yield_first)) with
       | Error (Lwt_rust.Rust_panic msg) ->
         Alcotest.(check bool) "the destructor's message" true
           (String.length msg >= 9 && contains msg "destructor")
       | Error e -> unexpected e
       | Ok () -> Alcotest.fail "a panicking destructor went unnoticed");
      match await (result_of (panic_in_conversion yield_first)) with
      | Error e when is_panic e -> ()
      | Error e -> unexpected e
      | Ok _ -> Alcotest.fail "a panicking conversion went unnoticed")
    [ false; true ];
  let p = never_panic_in_drop () in
  Lwt.cancel p;
  Alcotest.(check bool) "cancel with a panicking destructor: still Canceled" true
    (outcome p = `Failed Lwt.Canceled);
  Alcotest.(check int) "the executor still runs tasks" 3 (await (callback_loop Lwt.pause 3));
  await (Lwt.pause ());
  check_nothing_live "after the panics"

exception With_payload of int list * string

let spawn_while_lent () =
  match await (result_of (spawn_inside_with_runtime ())) with
  | Error (Lwt_rust.Rust_panic msg) ->
    Alcotest.(check bool) ("refused: " ^ msg) true (contains msg "inside with_runtime")
  | Error e -> unexpected e
  | Ok _ -> Alcotest.fail "spawning inside with_runtime was accepted"

let exception_identity () =
  let exn = With_payload ([ 1; 2 ], "x") in
  let f () = Lwt.fail exn in
  (match await (result_of (callback_loop f 1)) with
   | Error e -> Alcotest.(check bool) "the very same value" true (e == exn)
   | Ok _ -> Alcotest.fail "resolved");
  (match await (result_of (guarded_echo (Lwt.fail exn))) with
   | Error (With_payload (l, s)) ->
     Alcotest.(check (pair (list int) string)) "matchable by constructor and payload"
       ([ 1; 2 ], "x") (l, s)
   | Error e -> unexpected e
   | Ok _ -> Alcotest.fail "resolved");
  check_nothing_live "after the exceptions"

let () =
  Lwt_rust.init ();
  Alcotest.run "lwt_rust futures"
    [
      ( "values",
        [
          Alcotest.test_case "typed round trips" `Quick typed_values;
          Alcotest.test_case "Result return type" `Quick result_errors;
          Alcotest.test_case "wrong types are refused" `Quick wrong_types;
          Alcotest.test_case "ints beyond 63 bits are refused" `Quick out_of_range_values;
          Alcotest.test_case "a ready future resolves at once" `Quick
            ready_future_is_resolved_at_once;
          Alcotest.test_case "a task's first poll may finish it" `Quick
            finished_by_the_task_first_poll;
        ] );
      ( "cancellation",
        [
          Alcotest.test_case "Lwt.cancel drops the Rust future" `Quick cancel_drops_the_future;
          Alcotest.test_case "and cancels the awaited promise" `Quick
            cancel_reaches_the_inner_promise;
          Alcotest.test_case "dropping a Promise cancels it" `Quick dropping_a_promise_cancels_it;
        ] );
      ( "containment",
        [
          Alcotest.test_case "a future without a waker is freed on cancel" `Quick forgotten_task;
          Alcotest.test_case "panics in poll, drop and conversion" `Quick panics_are_contained;
          Alcotest.test_case "exceptions keep their identity" `Quick exception_identity;
          Alcotest.test_case "spawning inside with_runtime is refused" `Quick spawn_while_lent;
        ] );
    ]
