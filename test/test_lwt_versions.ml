(* What differs between the supported Lwts (5.6, 5.9, 6.1) where it touches the bridge, pinned
   down so that the bridge behaves the same on all of them:
   - Lwt 6 makes [Lwt_unix.notification] abstract: the id the bridge hands to Rust is checked
     to be the int Lwt's C side indexes, and a boxed one is refused (Setup_failed);
   - Lwt 6's default exception filter lets [Out_of_memory] and [Stack_overflow] raised by a
     promise's callback escape from the function that resolved the promise (Lwt 5 hands them
     to [Lwt.async_exception_hook]). When the bridge resolves a Rust task's promise, such an
     exception must still reach the hook exactly once, the promise keep its value, and the
     bridge go on with nothing left behind. *)

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

(* [f ()] with [Lwt.async_exception_hook] recording what reaches it. *)
let with_recording_hook f =
  let seen = ref [] in
  let saved = !Lwt.async_exception_hook in
  (Lwt.async_exception_hook := fun exn -> seen := exn :: !seen);
  Fun.protect ~finally:(fun () -> Lwt.async_exception_hook := saved) (fun () -> f seen)

let runtime_exception_in_callback exn () =
  with_recording_hook (fun seen ->
      (* Resolved by Rust from the executor, once the OCaml promise it awaits is. *)
      let inner, u = Lwt.wait () in
      let p = Demo_stubs.echo inner in
      Alcotest.(check bool) "pending when the callback is attached" true (Lwt.state p = Lwt.Sleep);
      Lwt.on_success p (fun _ -> raise exn);
      Lwt.wakeup_later u 41;
      let v = await p in
      Alcotest.(check int) "the promise keeps its value" 41 v;
      Alcotest.(check int) "the hook saw it once" 1 (List.length !seen);
      Alcotest.(check bool) "the hook saw that exception" true (List.hd !seen == exn);
      (* The bridge goes on. *)
      Alcotest.(check int) "a later call" 3 (await (Demo_stubs.add_yield 1 2));
      check_nothing_live "after the callback raised")

let () =
  Alcotest.run "lwt_rust across Lwt versions"
    [
      ( "lwt versions",
        [
          Alcotest.test_case "the notification id is checked" `Quick notification_id;
          Alcotest.test_case "Out_of_memory from a callback of a Rust promise" `Quick
            (runtime_exception_in_callback Out_of_memory);
          Alcotest.test_case "Stack_overflow from a callback of a Rust promise" `Quick
            (runtime_exception_in_callback Stack_overflow);
        ] );
    ]
