(* When Lwt_rust.stats counts a task (lwt_rust.mli, [live_tasks]): while it is pending, and no
   more as soon as its promise has resolved (already in callbacks of the promise) or been
   cancelled. *)

let live () = (Lwt_rust.stats ()).live_tasks

let () =
  Alcotest.run "lwt_rust live tasks"
    [
      ( "live_tasks",
        [
          Alcotest.test_case "when a task stops counting" `Quick (fun () ->
              let before = live () in
              let n = Demo_stubs.never () in
              Alcotest.(check int) "pending: counted" (before + 1) (live ());
              Lwt.cancel n;
              Alcotest.(check int) "cancelled: not counted" before (live ());
              let p = Demo_stubs.add_yield 1 2 in
              let inside = Lwt_main.run (Lwt.map (fun _ -> live ()) p) in
              Alcotest.(check int) "in a callback of its promise: not counted" before inside;
              let q = Demo_stubs.add_yield 1 2 in
              let inside_bind = Lwt_main.run (Lwt.bind q (fun _ -> Lwt.return (live ()))) in
              Alcotest.(check int) "continuing from its promise: not counted" before inside_bind;
              Alcotest.(check int) "after Lwt_main.run: not counted" before (live ()));
        ] );
    ]
