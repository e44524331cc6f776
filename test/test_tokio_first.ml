(* tokio needs no prior call: this program's first Rust call uses tokio sockets directly on the
   OCaml thread, its second a tokio timer. *)

let () =
  Alcotest.run "lwt_rust tokio from the first call"
    [
      ( "tokio",
        [
          Alcotest.test_case "sockets, then a timer" `Quick (fun () ->
              Alcotest.(check string) "loopback" "hello over tokio"
                (Lwt_main.run (Demo_stubs.tokio_loopback "hello over tokio"));
              Alcotest.(check bool) "slept" true (Lwt_main.run (Demo_stubs.tokio_sleep 0.01) >= 0.01));
        ] );
    ]
