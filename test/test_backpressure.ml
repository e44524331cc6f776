(* Backpressure on submissions from other threads: with a capacity of 4, try_spawn refuses
   the 5th submission while the OCaml thread has not started any, spawn waits for room, and
   everything runs once the OCaml thread drains. Its own program: the capacity is fixed once
   a handle exists. *)

let () =
  Lwt_rust.set_submission_capacity 4;
  Alcotest.run "lwt_rust backpressure"
    [
      ( "backpressure",
        [
          Alcotest.test_case "capacity 4" `Quick (fun () ->
              Alcotest.check_raises "0 is refused"
                (Invalid_argument "Lwt_rust.set_submission_capacity: the submission capacity must be at least 1")
                (fun () -> Lwt_rust.set_submission_capacity 0);
              let (accepted, full, waiting), ran = Demo_stubs.backpressure_probe 10 in
              Alcotest.(check int) "accepted up to the capacity" 4 accepted;
              Alcotest.(check int) "the rest refused at once" 6 full;
              Alcotest.(check bool) "spawn waits for room" true waiting;
              Alcotest.(check int) "all accepted tasks and the waiting one ran" 5 (Lwt_main.run ran);
              Alcotest.check_raises "fixed once a handle exists"
                (Invalid_argument "Lwt_rust.set_submission_capacity: the submission capacity is fixed once a Handle exists")
                (fun () -> Lwt_rust.set_submission_capacity 8));
        ] );
    ]
