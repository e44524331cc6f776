(* Other threads and tokio: the Handle, run / run_blocking, the tokio runtime, a TCP echo
   through Lwt_io, pending tasks across Lwt_main.run, and a stress test. *)

open Demo_stubs
open Support

let stress () =
  let threads = 8 and per_thread = 100_000 in
  let before = Lwt_rust.stats () in
  let received, distinct = await (handle_stress threads per_thread) in
  let after = Lwt_rust.stats () in
  let tasks = threads * per_thread in
  Alcotest.(check int) "every result arrived" tasks received;
  Alcotest.(check int) "exactly once" tasks distinct;
  let notifications = after.notifications - before.notifications in
  Printf.printf "%d tasks from %d threads: %d notifications, %d drains\n" tasks threads
    notifications (after.drains - before.drains);
  Alcotest.(check bool) "far fewer notifications than tasks" true (notifications * 10 < tasks);
  check_nothing_live "after the stress test"

let run_from_a_thread () =
  let calls = ref 0 in
  let f x = incr calls; x * 3 in
  Alcotest.(check int) "the OCaml function ran on the OCaml thread" 42 (await (run_in_thread f 14));
  Alcotest.(check int) "once" 1 !calls;
  check_nothing_live "after run"

let fire_and_forget () =
  Alcotest.(check int) "every detached submission ran" 10_000 (await (submit_from_thread 10_000));
  check_nothing_live "after try_submit"

let run_blocking () =
  Alcotest.(check string) "on the OCaml thread: refused at once"
    "run_blocking called on the OCaml thread: it would wait for itself forever"
    (run_blocking_here ());
  Alcotest.(check (pair int string)) "from a thread" (42, "")
    (await (run_blocking_from_thread 21 5.0));
  (* The OCaml thread is busy (not running Lwt) for longer than the timeout. *)
  let p = run_blocking_from_thread 1 0.05 in
  Unix.sleepf 0.3;
  Alcotest.(check (pair int string)) "timeout" (-1, "run_blocking timed out") (await p);
  await (Lwt.pause ());
  Alcotest.(check int) "the timed-out call left nothing registered" 0 (handle_tasks ());
  check_nothing_live "after run_blocking"

let tokio_timer_on_the_ocaml_thread () =
  let slept = await (tokio_sleep 0.02) in
  Alcotest.(check bool) "tokio's timer fired, not early" true (slept >= 0.02);
  check_nothing_live "after the tokio sleep"

(* An Lwt_io echo server on 127.0.0.1, and tokio clients in the same process. *)
let tcp_echo ~connections ~size =
  await (Echo_server.with_server (fun port -> tcp_round_trips port connections size))

let tcp () =
  let connections = 1000 and size = 4096 in
  let ok, bytes, seconds = tcp_echo ~connections ~size in
  Printf.printf "%d concurrent round trips of %d bytes in %.3f s\n" connections size seconds;
  Alcotest.(check int) "every connection round-tripped" connections ok;
  Alcotest.(check int) "every byte checked" (connections * size) bytes;
  check_nothing_live "after tcp"

let pending_across_main_run () =
  let p, u = Lwt.wait () in
  let r = echo p in
  Lwt_main.run (Lwt.return_unit);
  Alcotest.(check int) "still pending after Lwt_main.run returned" 1 (Lwt_rust.stats ()).live_tasks;
  Lwt.wakeup_later u 5;
  Alcotest.(check int) "the next Lwt_main.run resumes it" 5 (await r);
  check_nothing_live "after resuming"

let () =
  Lwt_rust.init ();
  Alcotest.run "lwt_rust threads"
    [
      ( "handle",
        [
          Alcotest.test_case "run from a thread" `Quick run_from_a_thread;
          Alcotest.test_case "run_blocking" `Quick run_blocking;
          Alcotest.test_case "fire and forget" `Quick fire_and_forget;
          Alcotest.test_case "8 threads x 100k tasks" `Quick stress;
        ] );
      ( "tokio",
        [
          Alcotest.test_case "a tokio timer on the OCaml thread" `Quick
            tokio_timer_on_the_ocaml_thread;
          Alcotest.test_case "1000 TCP round trips through Lwt_io" `Quick tcp;
        ] );
      ("lifecycle", [ Alcotest.test_case "pending across Lwt_main.run" `Quick pending_across_main_run ]);
    ]
