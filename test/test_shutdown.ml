(* Lwt_rust.shutdown: pending tasks dropped and rejected, other threads' calls refused, new
   calls refused; nothing left alive. Its own program: shutdown is final. *)

open Demo_stubs

let outcome p =
  match Lwt.state p with
  | Lwt.Return _ -> "resolved"
  | Lwt.Fail Lwt_rust.Shut_down -> "Shut_down"
  | Lwt.Fail e -> Printexc.to_string e
  | Lwt.Sleep -> "pending"

let () =
  Lwt_rust.init ();
  Alcotest.run "lwt_rust shutdown"
    [
      ( "shutdown",
        [
          Alcotest.test_case "drops, rejects and refuses" `Quick (fun () ->
              let dropped = dropped_futures () in
              Lwt_rust.set_tokio_workers 2;
              Alcotest.(check bool) "tokio runs before the shutdown" true
                (Lwt_main.run (tokio_sleep 0.001) >= 0.001);
              let waiting = echo (fst (Lwt.wait ())) in
              let forever = never () in
              let streams_dropped_before = streams_dropped () in
              let idle_stream = count_stream 10 in
              let reading_stream = never_stream () in
              let read_in_flight = Lwt_stream.get reading_stream in
              Alcotest.(check (option int)) "a stream works before" (Some 0)
                (Lwt_main.run (Lwt_stream.get idle_stream));
              (* A task spawned through a handle, polled once and waiting for a wake that
                 never comes: shutdown must wake it and finish it with an error. *)
              wait_in_handle_task ();
              let rec until_waiting tries =
                if handle_tasks () = 0 && tries > 0 then begin
                  Lwt_main.run (Lwt_unix.sleep 0.01);
                  until_waiting (tries - 1)
                end
              in
              until_waiting 500;
              Alcotest.(check int) "a handle task waits for a wake" 1 (handle_tasks ());
              (* A thread blocked in run_blocking (30 s timeout) while the OCaml thread is
                 not draining: shutdown must release it at once with an error. *)
              block_until_shutdown ();
              Unix.sleepf 0.1;
              Lwt_main.run (Lwt_rust.shutdown ());
              let rec wait_for_thread tries =
                (* Read without a stub frame: synchronous Rust functions raise Shut_down now. *)
                match Lwt_rust_testlib.thread_outcome_raw () with
                | "" when tries > 0 -> Unix.sleepf 0.01; wait_for_thread (tries - 1)
                | "" -> "still blocked after 5 s"
                | outcome -> outcome
              in
              Alcotest.(check string) "the blocked thread got an error, then was refused"
                "lwt_rust was shut down; then refused: shut down" (wait_for_thread 500);
              let rec waiting_outcome tries =
                match Lwt_rust_testlib.waiting_outcome_raw () with
                | "" when tries > 0 -> Unix.sleepf 0.01; waiting_outcome (tries - 1)
                | "" -> "still waiting after 5 s"
                | outcome -> outcome
              in
              Alcotest.(check string) "the waiting handle task was woken and finished"
                "lwt_rust was shut down" (waiting_outcome 500);
              Alcotest.(check string) "a pending task's promise" "Shut_down" (outcome waiting);
              Alcotest.(check string) "a never-ending task's promise" "Shut_down" (outcome forever);
              Alcotest.(check int) "its future was dropped" (dropped + 1)
                (Lwt_rust_testlib.dropped_futures_raw ());
              Alcotest.(check int) "both Rust streams were dropped" (streams_dropped_before + 2)
                (Lwt_rust_testlib.streams_dropped_raw ());
              (* A read that fails at once does so through its promise, at the next turn of
                 the Lwt loop: never by raising out of [Lwt_stream.get], whatever the Lwt
                 (5.7 and later raise when a stream's source fails at once). *)
              let stream_read s =
                let read = Lwt_stream.get s in
                let before = outcome read in
                Lwt_main.run (Lwt.catch (fun () -> Lwt.map ignore read) (fun _ -> Lwt.return_unit));
                before ^ ", then " ^ outcome read
              in
              Alcotest.(check string) "a read in flight" "Shut_down" (outcome read_in_flight);
              Alcotest.(check string) "a later read" "pending, then Shut_down"
                (stream_read idle_stream);
              let dropped_before_new = Lwt_rust_testlib.streams_dropped_raw () in
              Alcotest.(check string) "a new stream's first read" "pending, then Shut_down"
                (stream_read (count_stream 3));
              (* A plain [fn] returning a stream runs user code to build it: not after
                 shutdown (a stream built would have been dropped, and counted). *)
              Alcotest.(check int) "a new stream's body did not run" dropped_before_new
                (Lwt_rust_testlib.streams_dropped_raw ());
              Alcotest.(check string) "a new call" "Shut_down" (outcome (echo_int 1 false));
              Alcotest.(check string) "a new call with a task" "Shut_down"
                (outcome (echo (Lwt.return 1)));
              Lwt_main.run (Lwt_rust.shutdown ());
              Alcotest.check_raises "tokio cannot be reconfigured after use"
                (Invalid_argument "Lwt_rust.set_tokio_workers: the tokio runtime has already started")
                (fun () -> Lwt_rust.set_tokio_workers 2);
              Gc.full_major ();
              let s = Lwt_rust.stats () in
              Alcotest.(check int) "live tasks" 0 s.live_tasks;
              Alcotest.(check int) "live roots" 0 s.live_roots;
              Alcotest.(check int) "live promises" 0 s.live_promises;
              Alcotest.(check int) "live streams" 0 s.live_streams);
        ] );
    ]
