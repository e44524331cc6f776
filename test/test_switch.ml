(* Streams that release what they hold: under a switch ([?switch] of the generated bindings)
   and with [Lwt_rust.with_stream], a Rust stream is dropped (with the resource it holds) as
   soon as the scope ends, not at a later GC. *)

open Lwt.Infix
open Lwt_rust_testlib
open Support

let size = 16

(* Reads [n] rows of [s], then stops reading without closing it. *)
let read_some n s = Lwt_stream.nget n s >|= List.length

let abandoned_scans_under_a_switch () =
  let pool = Resource_pool.create size in
  let switch = Lwt_switch.create () in
  let scans = List.init size (fun _ -> Resource_pool.scan ~switch pool 1_000_000) in
  let read = await (Lwt.all (List.map (read_some 10) scans)) in
  Alcotest.(check (list int)) "10 rows from each scan" (List.init size (fun _ -> 10)) read;
  Alcotest.(check int) "every resource held by an abandoned scan" 0 (Resource_pool.available pool);
  (match await (result_of (Lwt_stream.get (Resource_pool.scan pool 10))) with
   | Error (Lwt_rust.Rust_error msg) ->
     Alcotest.(check string) "a 17th scan is refused" "the pool is exhausted" msg
   | Error e -> unexpected e
   | Ok _ -> Alcotest.fail "a 17th scan got a resource");
  await (Lwt_switch.turn_off switch);
  (* No GC in between: the switch released them. *)
  Alcotest.(check int) "the pool is whole once the switch is off" size
    (Resource_pool.available pool);
  List.iter
    (fun s -> Alcotest.(check bool) "the scan is ended" true (await (Lwt_stream.is_empty s)))
    scans;
  Alcotest.(check int) "a new scan reads to its end" 5
    (await (Lwt_stream.to_list (Resource_pool.scan pool 5) >|= List.length));
  Alcotest.(check int) "and gives its resource back" size (Resource_pool.available pool);
  Resource_pool.close pool;
  check_nothing_live "after the switch"

let a_switch_already_off_is_refused () =
  let pool = Resource_pool.create size in
  let switch = Lwt_switch.create () in
  await (Lwt_switch.turn_off switch);
  Alcotest.check_raises "Lwt_switch.Off, before the Rust function runs" Lwt_switch.Off (fun () ->
      ignore (Resource_pool.scan ~switch pool 10));
  Alcotest.(check int) "nothing taken" size (Resource_pool.available pool);
  Resource_pool.close pool;
  check_nothing_live "after the refusal"

let with_stream_closes_on_every_exit () =
  let pool = Resource_pool.create size in
  let scan () = Resource_pool.scan pool 1_000_000 in
  Alcotest.(check int) "returns f's value" 3
    (await (Lwt_rust.with_stream (scan ()) (read_some 3)));
  Alcotest.(check int) "closed on return" size (Resource_pool.available pool);
  (match
     await (result_of (Lwt_rust.with_stream (scan ()) (fun s -> read_some 2 s >>= fun _ -> failwith "stop")))
   with
   | Error (Failure msg) -> Alcotest.(check string) "the exception goes through" "stop" msg
   | Error e -> unexpected e
   | Ok _ -> Alcotest.fail "resolved");
  Alcotest.(check int) "closed on a carried exception" size (Resource_pool.available pool);
  (match await (result_of (Lwt_rust.with_stream (scan ()) (fun _ -> raise Exit))) with
   | Error Exit -> ()
   | Error e -> unexpected e
   | Ok _ -> Alcotest.fail "resolved");
  Alcotest.(check int) "closed on a raised exception" size (Resource_pool.available pool);
  let never, _ = Lwt.task () in
  let p = Lwt_rust.with_stream (scan ()) (fun s -> read_some 1 s >>= fun _ -> never) in
  await (Lwt.pause ());
  Alcotest.(check int) "held while f runs" (size - 1) (Resource_pool.available pool);
  Lwt.cancel p;
  Alcotest.(check int) "closed on cancellation" size (Resource_pool.available pool);
  Resource_pool.close pool;
  check_nothing_live "after with_stream"

let () =
  Lwt_rust.init ();
  Alcotest.run "lwt_rust streams under a switch"
    [
      ( "switch",
        [
          Alcotest.test_case "16 abandoned scans, the pool whole at turn_off" `Quick
            abandoned_scans_under_a_switch;
          Alcotest.test_case "a switch already off is refused" `Quick
            a_switch_already_off_is_refused;
          Alcotest.test_case "with_stream closes on return, exception, cancel" `Quick
            with_stream_closes_on_every_exit;
        ] );
    ]
