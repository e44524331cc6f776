(* The misuse matrix of docs/09-hardening.md (the entries not already exercised by the other suites):
   each misuse gives a named exception or error, never a crash or a hang. *)

open Demo_stubs
open Support

let off_thread_read () =
  let message = await (read_off_thread 7) in
  Alcotest.(check bool) ("reading an OCaml value on another thread is refused: " ^ message) true
    (contains message "outside the OCaml thread");
  (* The root the other thread dropped is released at the OCaml thread's next drain. The reply
     may have come without one (the thread can finish before the reply's task is first
     polled, which then completes at once), so make one: work handed over by another thread
     reaches the OCaml thread through the notification, whose handler drains. *)
  Alcotest.(check int) "a call through another thread" 3 (await (run_in_thread succ 2));
  check_nothing_live "after the off-thread read"

let huge_string () =
  let s = String.init 100_000_000 (fun i -> Char.chr (97 + (i mod 26))) in
  let back = await (echo_string s true) in
  Alcotest.(check int) "100 MB came back" (String.length s) (String.length back);
  Alcotest.(check bool) "unchanged" true (String.equal s back);
  check_nothing_live "after 100 MB"

let nested () =
  Alcotest.(check int) "10k nested spawns, each awaiting the next" 10_000 (await (nested_spawns 10_000));
  check_nothing_live "after the nested spawns"

let million_dropped () =
  let peak, after = drop_pending 1_000_000 in
  Alcotest.(check int) "1M promises existed at once" 1_000_000 peak;
  Alcotest.(check int) "all released when dropped unsettled" 0 after;
  await (Lwt.pause ());
  check_nothing_live "after 1M dropped promises"

let awaited_promise_cancelled () =
  let inner, _ = Lwt.task () in
  let result = echo inner in
  Lwt.cancel inner;
  Alcotest.check_raises "the Rust task sees Canceled and passes it on" Lwt.Canceled (fun () ->
      await result);
  check_nothing_live "after the cancelled inner promise"

(* Each kind of failure of the protocol table, raised by a synchronous stub: built in Rust
   from the constructor Lwt_rust registered for it, it is that exception, with the message. *)
let failure_kinds () =
  let raised kind =
    match Lwt_rust_testlib.raise_failure kind "m" with
    | () -> Alcotest.failf "failure kind %d raised nothing" kind
    | exception e -> e
  in
  let expected =
    [ Lwt_rust.Rust_panic "m"; Lwt_rust.Rust_error "m"; Lwt_rust.Task_dropped "m";
      Invalid_argument "m"; Lwt_rust.Shut_down; Lwt_rust.Wrong_thread "m"; Lwt_rust.Closed "m";
      Invalid_argument "no failure kind 7" ]
  in
  List.iteri
    (fun kind want ->
      let got = raised kind in
      if got <> want then
        Alcotest.failf "failure kind %d raised %s, not %s" kind (Printexc.to_string got)
          (Printexc.to_string want))
    expected

let () =
  Lwt_rust.init ();
  Alcotest.run "lwt_rust misuse"
    [
      ( "misuse",
        [
          Alcotest.test_case "an OCaml value read on another thread" `Quick off_thread_read;
          Alcotest.test_case "a 100 MB string round trip" `Quick huge_string;
          Alcotest.test_case "10k nested spawns" `Quick nested;
          Alcotest.test_case "1M promises dropped unsettled" `Quick million_dropped;
          Alcotest.test_case "awaiting a promise cancelled on the Lwt side" `Quick
            awaited_promise_cancelled;
          Alcotest.test_case "each failure kind is its exception" `Quick failure_kinds;
        ] );
    ]
