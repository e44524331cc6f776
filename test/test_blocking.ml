(* Blocking functions (#[lwt_rust::func(blocking)]): the body runs on the blocking pool, off
   the OCaml thread, and its result comes back as a promise: values, errors, panics,
   cancellation, many calls in flight. *)

open Lwt.Infix
open Lwt_rust_testlib
open Support

let outcome p =
  match Lwt.state p with
  | Lwt.Return v -> `Resolved v
  | Lwt.Fail e -> `Failed e
  | Lwt.Sleep -> `Pending

let values () =
  Alcotest.(check int) "a + b" 5 (await (blocking_add 2 3));
  Alcotest.(check string) "arguments and result converted" "abc"
    (await (blocking_concat [ "a"; "b"; "c" ]));
  let here = caller_thread () in
  let there = await (blocking_thread ()) in
  Alcotest.(check bool) "the body ran on another thread" true (here <> there);
  Alcotest.(check bool) "inside the tokio runtime's context" true (await (blocking_sees_tokio ()));
  check_nothing_live "after the values"

let errors_and_panics () =
  Alcotest.(check int) "Ok resolves" 5 (await (blocking_divide 10 2));
  Alcotest.check_raises "Err rejects with Rust_error" (Lwt_rust.Rust_error "cannot divide 1 by 0")
    (fun () -> ignore (await (blocking_divide 1 0)));
  (match await (result_of (blocking_panic "deliberate, on the pool")) with
   | Error (Lwt_rust.Rust_panic msg) ->
     Alcotest.(check bool) "the panic's message" true (contains msg "deliberate, on the pool")
   | Error e -> unexpected e
   | Ok _ -> Alcotest.fail "a panicking body resolved");
  Alcotest.(check int) "the pool still works after a panic" 3 (await (blocking_add 1 2));
  check_nothing_live "after the errors"

(* While a body blocks, the OCaml thread keeps running Lwt: here it is the OCaml side that
   opens the gate the body waits at. *)
let the_ocaml_thread_is_free () =
  gate_set false;
  let p = blocking_at_gate 7 in
  await (blocking_until_waiting 1);
  Alcotest.(check bool) "still pending while the body blocks" true (outcome p = `Pending);
  await (Lwt.pause ());
  gate_set true;
  Alcotest.(check int) "resolved once the gate opens" 7 (await p);
  check_nothing_live "after the gate"

let cancellation () =
  gate_set false;
  let _, passed = gate_counts () in
  let p = blocking_at_gate 1 in
  await (blocking_until_waiting 1);
  Lwt.cancel p;
  Alcotest.(check bool) "cancelled at once, the body still running" true
    (outcome p = `Failed Lwt.Canceled);
  Alcotest.(check (pair int int)) "the body is still blocked" (1, passed) (gate_counts ());
  check_nothing_live "right after the cancel (no task waits for the body)";
  gate_set true;
  await (blocking_until_passed (passed + 1));
  Alcotest.(check bool) "the promise stays cancelled" true (outcome p = `Failed Lwt.Canceled);
  check_nothing_live "after the body ended"

(* Bodies that block until all of them are blocking at once: they complete only if they run
   concurrently; then many short calls in flight at once. *)
let concurrency () =
  gate_set false;
  let n = 8 in
  let ps = List.init n (fun i -> blocking_at_gate i) in
  await (blocking_until_waiting n);
  gate_set true;
  Alcotest.(check (list int)) "every blocked call" (List.init n Fun.id) (await (Lwt.all ps));
  let many = 2_000 in
  let sum = await (Lwt.all (List.init many (fun i -> blocking_add i 1)) >|= List.fold_left ( + ) 0) in
  Alcotest.(check int) "2000 calls in flight" (many * (many + 1) / 2) sum;
  check_nothing_live "after the concurrent calls"

let () =
  Lwt_rust.init ();
  Alcotest.run "lwt_rust blocking functions"
    [
      ( "blocking",
        [
          Alcotest.test_case "values, on another thread" `Quick values;
          Alcotest.test_case "Err and panics" `Quick errors_and_panics;
          Alcotest.test_case "the OCaml thread runs Lwt meanwhile" `Quick the_ocaml_thread_is_free;
          Alcotest.test_case "cancellation" `Quick cancellation;
          Alcotest.test_case "many in flight" `Quick concurrency;
        ] );
    ]
