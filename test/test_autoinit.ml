(* A program that never calls [Lwt_rust.init]: its first Rust call initialises the library.
   Kept apart from the main suite, which calls [init] first. *)

let () =
  let before = Lwt_rust.stats () in
  Alcotest.run "lwt_rust auto-init"
    [
      ( "auto-init",
        [
          Alcotest.test_case "a Rust call before init works" `Quick (fun () ->
              Alcotest.(check int) "no task before the first call" 0 before.spawned;
              Alcotest.(check int) "echo" 5 (Lwt_main.run (Demo_stubs.echo (Lwt.pause () |> Lwt.map (fun () -> 5))));
              Alcotest.(check int) "loop" 3
                (Lwt_main.run (Demo_stubs.callback_loop Lwt.pause 3));
              Lwt_rust.init ();
              Alcotest.(check int) "init after use is harmless" 4
                (Lwt_main.run (Demo_stubs.callback_loop Lwt.pause 4)));
        ] );
    ]
