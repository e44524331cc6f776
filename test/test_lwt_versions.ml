(* What differs between the supported Lwts (5.6, 5.9, 6.1) where it touches the bridge, pinned
   down so that the bridge behaves the same on all of them:
   - Lwt 6 makes [Lwt_unix.notification] abstract: the id the bridge hands to Rust is checked
     to be the int Lwt's C side indexes, and a boxed one is refused (Setup_failed);
   - Lwt 6's default exception filter lets [Out_of_memory] and [Stack_overflow] raised by a
     promise's callback escape from the function that resolved the promise (Lwt 5 hands them
     to [Lwt.async_exception_hook]): test/misuse/runtime_exn_callback.ml checks, in a process
     of its own, that such an exception still reaches the hook when the bridge settles the
     promise. *)

open Support

let notification_id () =
  let check = Lwt_rust.Internal_for_tests.notification_id in
  Alcotest.(check (result int string)) "an int id is passed on" (Ok 7) (check (Obj.repr 7));
  (match check (Obj.repr (ref 7)) with
  | Ok _ -> Alcotest.fail "a boxed id was accepted"
  | Error reason ->
    Alcotest.(check bool) "the refusal says why" true (contains reason "no longer represents"));
  (* What this Lwt's make_notification really returns passes the check. *)
  let id = Lwt_unix.make_notification ignore in
  let checked = check (Obj.repr id) in
  Lwt_unix.stop_notification id;
  match checked with Ok _ -> () | Error reason -> Alcotest.fail reason

let () =
  Alcotest.run "lwt_rust across Lwt versions"
    [
      ( "lwt versions",
        [
          Alcotest.test_case "the notification id is checked" `Quick notification_id;
        ] );
    ]
