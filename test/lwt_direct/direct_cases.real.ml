(* Lwt_direct (Lwt 6, OCaml 5) with the bridge: direct-style code awaits Rust async functions,
   Rust tasks await promises made by direct-style code, and cancellation works both ways as
   each side documents it:
   - cancelling a Rust promise that direct-style code awaits makes [Lwt_direct.await] raise
     [Lwt.Canceled] there, and drops the Rust future;
   - cancelling a Rust task that awaits a [Lwt_direct.spawn] promise drops the Rust future;
     the direct-style code goes on ([spawn]'s promise cannot be cancelled, as Lwt_direct
     documents), and nothing is left behind;
   - direct-style effects cannot cross the Rust frames of a closure Rust calls: [await] there
     fails with an exception that reaches the caller, never a crash. *)

open Lwt_direct

(* [Lwt_main.run p], kept ticking while [p] is pending. Lwt_direct (6.1.2) runs its tasks in
   Lwt_main's iteration hooks: when a task's last step settles [p] from the hook that runs
   before the engine waits, and nothing else is pending, the engine then waits for I/O that
   never comes. Pure Lwt shows it ([Lwt_main.run (Lwt_direct.spawn (fun () -> 7))] never
   returns); a paused promise per turn keeps the engine from waiting. *)
let run p =
  let rec tick () = if Lwt.is_sleeping p then Lwt.bind (Lwt.pause ()) tick else Lwt.return_unit in
  Lwt_main.run (Lwt.both p (tick ()) |> Lwt.map fst)

let check_nothing_live what =
  Gc.full_major ();
  let s = Lwt_rust.stats () in
  Alcotest.(check (list int))
    (what ^ ": live tasks, roots, promises, streams, objects")
    [ 0; 0; 0; 0; 0 ]
    [ s.live_tasks; s.live_roots; s.live_promises; s.live_streams; s.live_objects ]

let direct_calls_rust () =
  let total =
    run
      (spawn (fun () ->
           let sum = ref 0 in
           for i = 1 to 100 do
             (* A Rust async fn that yields before it answers, awaited in a plain loop. *)
             sum := !sum + await (Demo_stubs.add_yield i 1);
             if i mod 10 = 0 then yield ()
           done;
           !sum))
  in
  Alcotest.(check int) "sum of Rust answers" (5050 + 100) total;
  (match run (spawn (fun () -> try Ok (await (Demo_stubs.panic_after_await Lwt.return_unit)) with e -> Error e)) with
  | Error (Lwt_rust.Rust_panic _) -> ()
  | Ok () -> Alcotest.fail "a panicking Rust function returned"
  | Error e -> Alcotest.failf "unexpected %s" (Printexc.to_string e));
  check_nothing_live "direct calls Rust"

let rust_awaits_direct () =
  let made = spawn (fun () -> yield (); yield (); "from direct style") in
  Alcotest.(check string) "Rust echoes the direct-style promise" "from direct style"
    (run (Demo_stubs.echo made));
  (* A Rust task calling an OCaml closure that starts direct-style code, three times. *)
  let calls = ref 0 in
  let n = run (Demo_stubs.call_n (fun () -> spawn (fun () -> yield (); incr calls)) 3) in
  Alcotest.(check (pair int int)) "closure calls" (3, 3) (n, !calls);
  check_nothing_live "Rust awaits direct style"

let cancel_rust_awaited_by_direct () =
  let p = Demo_stubs.never () in
  let outcome =
    spawn (fun () -> match await p with () -> "resolved" | exception Lwt.Canceled -> "cancelled")
  in
  Alcotest.(check int) "the Rust task is live" 1 (Lwt_rust.stats ()).live_tasks;
  Lwt.cancel p;
  Alcotest.(check string) "await raised Canceled" "cancelled" (run outcome);
  check_nothing_live "Rust promise cancelled"

let cancel_rust_awaiting_direct () =
  let finished = ref false in
  let gate, open_gate = Lwt.wait () in
  let made = spawn (fun () -> await gate; finished := true; 7) in
  let outer = Demo_stubs.echo made in
  Alcotest.(check int) "the Rust task is live" 1 (Lwt_rust.stats ()).live_tasks;
  Lwt.cancel outer;
  Alcotest.(check bool) "Rust's promise is cancelled" true (Lwt.state outer = Lwt.Fail Lwt.Canceled);
  Alcotest.(check int) "the Rust future is dropped" 0 (Lwt_rust.stats ()).live_tasks;
  Lwt.wakeup_later open_gate ();
  Alcotest.(check int) "the direct-style code goes on" 7 (run made);
  Alcotest.(check bool) "to its end" true !finished;
  check_nothing_live "Rust task cancelled"

let effects_do_not_cross_rust () =
  (* Rust calls the closure inside its own frames: the closure's [yield] performs an effect
     that no handler above those frames can take. *)
  let outcome =
    run
      (spawn (fun () ->
           match await (Demo_stubs.call_n (fun () -> yield (); Lwt.return_unit) 1) with
           | _ -> "returned"
           | exception Effect.Unhandled _ -> "Effect.Unhandled"
           | exception e -> Printexc.to_string e))
  in
  Alcotest.(check string) "the effect fails as an exception" "Effect.Unhandled" outcome;
  check_nothing_live "effect inside a Rust frame"

let main () =
  Alcotest.run "lwt_rust with Lwt_direct"
    [
      ( "lwt_direct",
        [
          Alcotest.test_case "direct style awaits Rust" `Quick direct_calls_rust;
          Alcotest.test_case "Rust awaits direct style" `Quick rust_awaits_direct;
          Alcotest.test_case "cancel a Rust promise direct style awaits" `Quick
            cancel_rust_awaited_by_direct;
          Alcotest.test_case "cancel a Rust task awaiting direct style" `Quick
            cancel_rust_awaiting_direct;
          Alcotest.test_case "an effect inside a closure Rust calls" `Quick effects_do_not_cross_rust;
        ] );
    ]
