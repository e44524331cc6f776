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

(* The failure codes the OCaml half knows each give their exception; one it does not know (a
   Rust half out of step, which the handshake should have refused) gives a Rust_panic naming
   the code, never a plausible exception such as Shut_down. *)
let failure_codes () =
  let outcome code =
    match Lwt.state (Lwt_rust_testlib.failed_with_code code "m") with
    | Lwt.Fail e -> e
    | _ -> Alcotest.failf "failure code %d gave no failed promise" code
  in
  (match outcome 4 with
  | Lwt_rust.Shut_down -> ()
  | e -> Alcotest.failf "code 4 gave %s, not Shut_down" (Printexc.to_string e));
  (match outcome 5 with
  | Lwt_rust.Wrong_thread "m" -> ()
  | e -> Alcotest.failf "code 5 gave %s, not Wrong_thread" (Printexc.to_string e));
  List.iter
    (fun code ->
      match outcome code with
      | Lwt_rust.Rust_panic m when contains m (Printf.sprintf "unknown failure code %d" code) -> ()
      | e -> Alcotest.failf "unknown code %d gave %s" code (Printexc.to_string e))
    [ 7; 42; -1 ]

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
          Alcotest.test_case "an unknown failure code" `Quick failure_codes;
        ] );
    ]
