(* Streams both ways: Rust streams read as Lwt_stream.t, Lwt_stream.t read by Rust. A million
   items each way with flat memory, early termination by either side, errors and panics in
   the middle, empty streams, streams that never yield. *)

open Lwt.Infix
open Demo_stubs
open Support

let million = 1_000_000

(* Reads every item with [Lwt_stream.get], calling [f] on each. *)
let rec drain_stream s f =
  Lwt_stream.get s >>= function
  | None -> Lwt.return_unit
  | Some x ->
    f x;
    drain_stream s f

(* The exception a read fails with, or [None] if it succeeds. *)
let read_failure s =
  Lwt.catch (fun () -> Lwt_stream.get s >|= fun _ -> None) (fun exn -> Lwt.return (Some exn))

let check_exn what expected = function
  | Some exn when exn = expected -> ()
  | Some exn -> Alcotest.failf "%s: expected %s, got %s" what (Printexc.to_string expected)
                  (Printexc.to_string exn)
  | None -> Alcotest.failf "%s: expected %s, the read succeeded" what
              (Printexc.to_string expected)

let check_ended what s =
  Alcotest.(check (option int)) (what ^ ": then the stream ends") None (await (Lwt_stream.get s))

(* Memory stays flat while [n] items flow: sampled every [n / 10] items, the RSS growth after
   the first sample, compared with the same measure over a pure-Lwt stream of the same items
   run just before in the same process ([pure_lwt_growth]). The GC grows the heap by its own
   rules: OCaml 5's collector by about 20 MB over a million items, depending on what ran
   before, and as much for a pure-Lwt stream as for the bridge's; OCaml 4's stays within a few
   MB. That growth shows in the reference, or in both runs; the bridge's run may exceed the
   reference's by at most 16 MiB, which a leak of 16 bytes per item over 1M items does. The
   bridge also holds at most [max_roots] roots and no task beyond the one reading. Under
   valgrind (which keeps freed blocks aside and grows its shadow memory), scripts/stress.sh
   sets LWT_RUST_TEST_NO_RSS and only the bridge's counters are checked. *)
let check_rss = Sys.getenv_opt "LWT_RUST_TEST_NO_RSS" = None

let check_rss_growth what ~pure_lwt kb =
  Printf.printf "%s: RSS growth %d kB (pure Lwt: %d kB)\n%!" what kb pure_lwt;
  if check_rss && kb - pure_lwt > 16 * 1024 then
    Alcotest.failf "%s: RSS grew by %d kB, %d kB more than pure Lwt's" what kb (kb - pure_lwt)

(* Sampling every [n / 10]th item: the worst RSS growth over the first sample. *)
let rss_sampler n =
  let first = ref None and worst = ref 0 in
  let sample i =
    if i mod (n / 10) = 0 then begin
      let rss = rss_kb () in
      match !first with
      | None -> first := Some rss
      | Some base -> worst := max !worst (rss - base)
    end
  in
  (sample, fun () -> !worst)

let flat_memory what n ~max_roots ~pure_lwt =
  let sample_rss, worst = rss_sampler n in
  fun i ->
    if i mod (n / 10) = 0 then begin
      let s = Lwt_rust.stats () in
      if s.live_roots > max_roots then
        Alcotest.failf "%s: %d roots live at item %d" what s.live_roots i;
      if s.live_tasks > 1 then Alcotest.failf "%s: %d tasks live at item %d" what s.live_tasks i
    end;
    sample_rss i;
    if i = n - 1 then check_rss_growth what ~pure_lwt (worst ())

(* The reference: [n] items made by [item] through an [Lwt_stream.from] stream, read the
   way the bridge's streams are read, sampled the same way. *)
let pure_lwt_growth n item =
  let k = ref 0 in
  let s = Lwt_stream.from (fun () ->
      let i = !k in
      incr k;
      Lwt.return (if i < n then Some (item i) else None))
  in
  let sample, worst = rss_sampler n in
  let next = ref 0 in
  await (drain_stream s (fun _ -> sample !next; incr next));
  worst ()

(* Rust -> OCaml *)

let rust_million_items () =
  let pure_lwt = pure_lwt_growth million Fun.id in
  let produced = stream_produced () in
  let s = count_stream million in
  let next = ref 0 and sample = flat_memory "count_stream" million ~max_roots:0 ~pure_lwt in
  await
    (drain_stream s (fun x ->
         if x <> !next then Alcotest.failf "item %d read as %d" !next x;
         sample x;
         incr next));
  Alcotest.(check int) "every item read" million !next;
  Alcotest.(check int) "each item produced once" million (stream_produced () - produced);
  check_nothing_live "after a million items"

let rust_items_through_tasks () =
  let n = 100_000 in
  let pure_lwt = pure_lwt_growth n (Printf.sprintf "item %d") in
  let s = yielding_stream n in
  let next = ref 0 and sample = flat_memory "yielding_stream" n ~max_roots:2 ~pure_lwt in
  await
    (drain_stream s (fun item ->
         let expected = Printf.sprintf "item %d" !next in
         if item <> expected then Alcotest.failf "expected %S, read %S" expected item;
         sample !next;
         incr next));
  Alcotest.(check int) "every item read" n !next;
  check_nothing_live "after the yielding stream"

(* The most items one read takes from a Rust stream (BATCH_ITEMS in
   src/rust_to_ocaml/stream/batch.rs). *)
let batch_bound = 64

(* Rust produces items only while OCaml reads, at most one batch ahead, however slowly OCaml
   reads. *)
let slow_reader_is_never_outrun () =
  let produced = stream_produced () in
  let s = count_stream 1000 in
  let read = ref 0 in
  await
    (Lwt_stream.iter_s
       (fun _ ->
         incr read;
         let ahead = stream_produced () - produced - !read in
         if ahead < 0 || ahead >= batch_bound then
           Alcotest.failf "%d items produced ahead of %d read" ahead !read;
         Lwt.pause ())
       s);
  Alcotest.(check int) "all read" 1000 !read;
  check_nothing_live "after the slow reader"

let close_stops_the_rust_stream () =
  let produced = stream_produced () and dropped = streams_dropped () in
  let s = count_stream 1000 in
  let first = await (Lwt_stream.nget 5 s) in
  Alcotest.(check (list int)) "first items" [ 0; 1; 2; 3; 4 ] first;
  Alcotest.(check int) "live streams" 1 (Lwt_rust.stats ()).live_streams;
  Lwt_rust.close_stream s;
  Alcotest.(check int) "the Rust stream is dropped at once" (dropped + 1) (streams_dropped ());
  Alcotest.(check int) "nothing produced beyond the first read's batch" batch_bound
    (stream_produced () - produced);
  check_ended "closed" s;
  Lwt_rust.close_stream s;
  Lwt_rust.close_stream (Lwt_stream.of_list [ 1 ]);
  Alcotest.(check int) "closing again, or another stream, does nothing" (dropped + 1)
    (streams_dropped ());
  check_nothing_live "after close"

(* Not inlined, so that no reference to the stream survives in the caller's frame. *)
let[@inline never] read_a_little make =
  let s = make () in
  ignore (await (Lwt_stream.nget 3 s) : int list)

let unreachable_stream_is_dropped () =
  List.iter
    (fun (what, make) ->
      let dropped = streams_dropped () in
      read_a_little make;
      Gc.full_major ();
      Gc.full_major ();
      (* The finaliser queues the stream; the next turn of the Lwt loop drops it. *)
      await (Lwt_unix.sleep 0.001);
      Alcotest.(check int) (what ^ ": dropped once unreachable") (dropped + 1) (streams_dropped ());
      check_nothing_live what)
    [ ("count_stream", fun () -> count_stream 1000);
      ("yielding_stream", fun () -> Lwt_stream.map String.length (yielding_stream 1000)) ]

let error_in_the_middle () =
  let dropped = streams_dropped () in
  let s = failing_stream 3 in
  Alcotest.(check (list int)) "items before the error" [ 0; 1; 2 ] (await (Lwt_stream.nget 3 s));
  check_exn "the error" (Lwt_rust.Rust_error "stream failed at 3") (await (read_failure s));
  Alcotest.(check int) "the error drops the Rust stream" (dropped + 1) (streams_dropped ());
  check_ended "after the error" s;
  check_nothing_live "after the error"

let failing_start () =
  let s = failing_start true in
  check_exn "Err from the async fn" (Lwt_rust.Rust_error "the stream could not start")
    (await (read_failure s));
  check_ended "after the failed start" s;
  Alcotest.(check (list int)) "Ok from the async fn" [ 1; 2; 3 ]
    (await (Lwt_stream.to_list (failing_start false)));
  check_nothing_live "after the starts"

let panic_in_the_middle () =
  let dropped = streams_dropped () in
  let s = panicking_stream 2 in
  Alcotest.(check (list int)) "items before the panic" [ 0; 1 ] (await (Lwt_stream.nget 2 s));
  (match await (read_failure s) with
   | Some (Lwt_rust.Rust_panic msg) ->
     Alcotest.(check bool) "the panic message" true (contains msg "the stream panicked at 2")
   | Some exn -> Alcotest.failf "expected Rust_panic, got %s" (Printexc.to_string exn)
   | None -> Alcotest.fail "the read after the panic succeeded");
  Alcotest.(check int) "the panic drops the Rust stream" (dropped + 1) (streams_dropped ());
  check_ended "after the panic" s;
  check_nothing_live "after the panic"

(* An item whose conversion to OCaml panics fails its read with Rust_panic, and the stream
   ends there, as after an error: the Rust stream is dropped at the next read. Both ways an
   item can arrive: ready at once, or through a task. *)
let panic_in_an_item_conversion () =
  List.iter
    (fun yield_first ->
      let what = if yield_first then "through a task" else "ready at once" in
      let dropped = streams_dropped () in
      let s = unconvertible_stream yield_first in
      Alcotest.(check (list int)) (what ^ ": items before") [ 0; 1 ] (await (Lwt_stream.nget 2 s));
      (match await (read_failure s) with
       | Some (Lwt_rust.Rust_panic msg) ->
         Alcotest.(check bool)
           (what ^ ": the panic message") true
           (contains msg "deliberate panic converting the item -1")
       | Some exn -> Alcotest.failf "%s: expected Rust_panic, got %s" what (Printexc.to_string exn)
       | None -> Alcotest.failf "%s: the unconvertible item was read" what);
      check_ended (what ^ ": after the panic") s;
      Alcotest.(check int) (what ^ ": the Rust stream is dropped") (dropped + 1) (streams_dropped ());
      check_nothing_live (what ^ ": after the panic"))
    [ false; true ]

let empty_stream () =
  let dropped = streams_dropped () in
  Alcotest.(check (list int)) "no items" [] (await (Lwt_stream.to_list (empty_stream ())));
  Alcotest.(check int) "dropped at its end" (dropped + 1) (streams_dropped ());
  check_nothing_live "after the empty stream"

let never_yielding_stream_cancelled () =
  let dropped = streams_dropped () in
  let s = never_stream () in
  let timeout = Lwt_unix.sleep 0.01 >|= fun () -> `Timeout in
  (match await (Lwt.pick [ (Lwt_stream.get s >|= fun _ -> `Item); timeout ]) with
   | `Timeout -> ()
   | `Item -> Alcotest.fail "a never-yielding stream yielded");
  Alcotest.(check int) "still alive while a read is in flight" dropped (streams_dropped ());
  let waiting = Lwt_stream.get s in
  Lwt_rust.close_stream s;
  Alcotest.(check int) "closing drops it" (dropped + 1) (streams_dropped ());
  Alcotest.(check (option int)) "the waiting read sees the end" None (await waiting);
  check_nothing_live "after the never-yielding stream"

let result_items_are_values () =
  Alcotest.(check (list (result int string)))
    "Result items as OCaml results" [ Ok 1; Error "two"; Ok 3 ]
    (await (Lwt_stream.to_list (result_stream ())));
  check_nothing_live "after the result stream"

let out_of_range_item () =
  let s = out_of_range_stream () in
  Alcotest.(check (option int)) "an item that fits" (Some 1) (await (Lwt_stream.get s));
  (match await (read_failure s) with
   | Some (Lwt_rust.Rust_error msg) ->
     Alcotest.(check bool) "says what does not fit" true (contains msg "does not fit OCaml's int")
   | Some exn -> Alcotest.failf "expected Rust_error, got %s" (Printexc.to_string exn)
   | None -> Alcotest.fail "an out-of-range item was read");
  check_ended "after the out-of-range item" s;
  check_nothing_live "after the out-of-range item"

let two_error_types () =
  check_exn "Err from the fn" (Lwt_rust.Rust_error "cannot count down from -1")
    (await (read_failure (checked_countdown (-1))));
  let s = checked_countdown 3 in
  Alcotest.(check (list int)) "items" [ 3; 2; 1 ] (await (Lwt_stream.nget 3 s));
  (match await (read_failure s) with
   | Some (Lwt_rust.Rust_error _) -> ()
   | Some exn -> Alcotest.failf "expected Rust_error, got %s" (Printexc.to_string exn)
   | None -> Alcotest.fail "the erroring item was read");
  check_ended "after the item error" s;
  check_nothing_live "after the countdowns"

(* An OCaml producer feeding a Rust stream closes that Rust stream's Lwt_stream while Rust is
   polling it for the read's item: the item being produced is delivered, then the stream ends
   (a close after the read's first item, during the rest of its batch, is in
   test_stream_batches.ml). *)
let closed_while_polled () =
  let dropped = streams_dropped () in
  let doubled = ref None and i = ref 0 in
  let input =
    Lwt_stream.from (fun () ->
        incr i;
        if !i = 1 then Option.iter Lwt_rust.close_stream !doubled;
        Lwt.return (Some !i))
  in
  let s = double_stream input in
  doubled := Some s;
  Alcotest.(check (option int)) "the item produced during the close" (Some 2)
    (await (Lwt_stream.get s));
  Alcotest.(check int) "nothing polled after the close" 1 !i;
  check_ended "after a close from inside the poll" s;
  Alcotest.(check int) "dropped once" (dropped + 1) (streams_dropped ());
  check_nothing_live "after the close inside the poll"

(* Reading a Rust stream from inside the production of its own item is refused by name. *)
let reentrant_read () =
  let doubled = ref None and inner = ref None and i = ref 0 in
  let input =
    Lwt_stream.from (fun () ->
        incr i;
        (match (!doubled, !inner) with
         | Some s, None -> inner := Some (result_of (Lwt_stream.get s))
         | _ -> ());
        Lwt.return (if !i <= 3 then Some !i else None))
  in
  let s = double_stream input in
  doubled := Some s;
  Alcotest.(check (option int)) "the outer read" (Some 2) (await (Lwt_stream.get s));
  (match !inner with
   | Some p -> (
     match await p with
     | Error (Invalid_argument msg) ->
       Alcotest.(check bool) "names the problem" true (contains msg "while a read of it was in progress")
     | Error exn -> Alcotest.failf "expected Invalid_argument, got %s" (Printexc.to_string exn)
     | Ok _ -> Alcotest.fail "a re-entrant read succeeded")
   | None -> Alcotest.fail "the producer did not run");
  ignore (await (Lwt_stream.to_list s) : int list);
  check_nothing_live "after the re-entrant read"

let wrong_argument_type () =
  let s = count_stream_given_a_string "ten" in
  (match await (read_failure s) with
   | Some (Invalid_argument msg) ->
     Alcotest.(check bool) "names the function" true
       (contains msg "count_stream: argument 1")
   | Some exn -> Alcotest.failf "expected Invalid_argument, got %s" (Printexc.to_string exn)
   | None -> Alcotest.fail "the read succeeded");
  check_ended "after Invalid_argument" s;
  check_nothing_live "after the wrong argument"

let tcp_lines () =
  let lines = 10_000 in
  await
    (Demo_stubs.Lines_server.with_server ~lines (fun port ->
         Lwt_stream.fold
           (fun line n ->
             let expected = Demo_stubs.Lines_server.line (n + 1) in
             if line <> expected then Alcotest.failf "line %d: %S, expected %S" (n + 1) line expected;
             n + 1)
           (tcp_lines port) 0
         >>= fun read ->
         Alcotest.(check int) "every line, in order" lines read;
         let partial = tcp_lines port in
         Lwt_stream.nget 10 partial >|= fun first ->
         Alcotest.(check int) "a few lines of a second connection" 10 (List.length first);
         Lwt_rust.close_stream partial));
  (match await (read_failure (tcp_lines 1)) with
   | Some (Lwt_rust.Rust_error msg) ->
     Alcotest.(check bool) "a refused connection" true (contains msg "127.0.0.1:1")
   | Some exn -> Alcotest.failf "expected Rust_error, got %s" (Printexc.to_string exn)
   | None -> Alcotest.fail "read from port 1");
  check_nothing_live "after the TCP lines"

(* OCaml -> Rust *)

(* 1, 2, ..., n, produced on demand; [calls] counts the producer's calls. *)
let counter_direct n =
  let i = ref 0 in
  Lwt_stream.from_direct (fun () ->
      if !i < n then begin
        incr i;
        Some !i
      end
      else None)

let counter_async ?(pause = false) n calls =
  let i = ref 0 in
  Lwt_stream.from (fun () ->
      incr calls;
      (if pause then Lwt.pause () else Lwt.return_unit) >|= fun () ->
      if !i < n then begin
        incr i;
        Some !i
      end
      else None)

let ocaml_million_items () =
  (* The reference: the same sum in OCaml alone. *)
  let rss_before = rss_kb () in
  let pure_sum = await (Lwt_stream.fold ( + ) (counter_direct million) 0) in
  let pure_lwt = rss_kb () - rss_before in
  let rss_before = rss_kb () in
  let sum = await (sum_stream (counter_direct million)) in
  Alcotest.(check int) "sum of a million items" (million * (million + 1) / 2) sum;
  Alcotest.(check int) "the same sum in OCaml" pure_sum sum;
  check_rss_growth "sum_stream" ~pure_lwt (rss_kb () - rss_before);
  check_nothing_live "after a million OCaml items"

let ocaml_items_through_promises () =
  let n = 100_000 and calls = ref 0 in
  let sum = await (sum_stream (counter_async ~pause:true n calls)) in
  Alcotest.(check int) "sum" (n * (n + 1) / 2) sum;
  Alcotest.(check int) "the producer ran once per item, plus the end" (n + 1) !calls;
  check_nothing_live "after the paused producer"

let rust_stops_early () =
  List.iter
    (fun pause ->
      let calls = ref 0 in
      let s = counter_async ~pause 1000 calls in
      Alcotest.(check (list int)) "Rust took 5" [ 1; 2; 3; 4; 5 ] (await (take_stream 5 s));
      Alcotest.(check int) "the producer ran only for them" 5 !calls;
      Alcotest.(check (option int)) "nothing taken ahead was lost" (Some 6)
        (await (Lwt_stream.get s)))
    [ false; true ];
  let s = counter_direct 100 in
  ignore (await (take_stream 10 s) : int list);
  Alcotest.(check (option int)) "a from_direct stream is not read ahead" (Some 11)
    (await (Lwt_stream.get s));
  check_nothing_live "after Rust stopped early"

let ocaml_stops_early () =
  let s, push = Lwt_stream.create () in
  let sum = sum_stream s in
  List.iter (fun x -> push (Some x)) [ 1; 2; 3 ];
  push None;
  Alcotest.(check int) "the end of the OCaml stream ends the Rust one" 6 (await sum);
  Alcotest.(check int) "empty" 0 (await (sum_stream (Lwt_stream.of_list [])));
  Alcotest.(check string) "strings" "a,b,c" (await (concat_stream (Lwt_stream.of_list [ "a"; "b"; "c" ])));
  check_nothing_live "after the OCaml stream ended"

exception Producer_failed of int

let ocaml_error_in_the_middle () =
  let failure = Producer_failed 3 in
  List.iter
    (fun (what, s) ->
      match await (result_of (sum_stream s)) with
      | Error exn ->
        Alcotest.(check bool) (what ^ ": the same exception value") true (exn == failure)
      | Ok sum -> Alcotest.failf "%s: resolved with %d" what sum)
    [ ("from_direct",
       let i = ref 0 in
       Lwt_stream.from_direct (fun () -> incr i; if !i = 3 then raise failure else Some !i));
      ("from",
       let i = ref 0 in
       Lwt_stream.from (fun () ->
           incr i;
           Lwt.pause () >>= fun () -> if !i = 3 then Lwt.fail failure else Lwt.return (Some !i))) ];
  (match await (result_of (sum_stream_of_strings (Lwt_stream.of_list [ "1" ]))) with
   | Error (Lwt_rust.Rust_error msg) ->
     Alcotest.(check bool) "a wrongly typed item is refused" true (contains msg "not a int")
   | Error exn -> Alcotest.failf "expected Rust_error, got %s" (Printexc.to_string exn)
   | Ok _ -> Alcotest.fail "a string item was read as an int");
  check_nothing_live "after the producer failed"

let never_yielding_ocaml_stream_cancelled () =
  let s, push = Lwt_stream.create () in
  let sum = sum_stream s in
  Alcotest.(check int) "Rust is waiting" 1 (Lwt_rust.stats ()).live_tasks;
  Lwt.cancel sum;
  Alcotest.(check int) "cancelling drops the Rust reader" 0 (Lwt_rust.stats ()).live_tasks;
  push (Some 42);
  Alcotest.(check (option int)) "an item pushed later stays in the stream" (Some 42)
    (await (Lwt_stream.get s));
  check_nothing_live "after the cancelled reader"

let both_ways () =
  let calls = ref 0 in
  let doubled = double_stream (counter_async 1000 calls) in
  Alcotest.(check (list int)) "first doubled items" [ 2; 4; 6 ] (await (Lwt_stream.nget 3 doubled));
  Alcotest.(check int) "read on demand through both bridges, one batch ahead" batch_bound !calls;
  let rest = await (Lwt_stream.to_list doubled) in
  Alcotest.(check int) "the rest" 997 (List.length rest);
  Alcotest.(check int) "last" 2000 (List.nth rest 996);
  check_nothing_live "after the round trip"

let () =
  Lwt_rust.init ();
  Alcotest.run "lwt_rust streams"
    [
      ( "rust to ocaml",
        [
          Alcotest.test_case "a million items, flat memory" `Quick rust_million_items;
          Alcotest.test_case "items completed by tasks" `Quick rust_items_through_tasks;
          Alcotest.test_case "a slow reader is never outrun" `Quick slow_reader_is_never_outrun;
          Alcotest.test_case "close_stream drops the Rust stream" `Quick
            close_stops_the_rust_stream;
          Alcotest.test_case "an unreachable stream is dropped" `Quick
            unreachable_stream_is_dropped;
          Alcotest.test_case "an error in the middle" `Quick error_in_the_middle;
          Alcotest.test_case "an async fn returning Result<stream>" `Quick failing_start;
          Alcotest.test_case "a panic in the middle" `Quick panic_in_the_middle;
          Alcotest.test_case "a panic converting an item" `Quick panic_in_an_item_conversion;
          Alcotest.test_case "an empty stream" `Quick empty_stream;
          Alcotest.test_case "a stream that never yields, closed" `Quick
            never_yielding_stream_cancelled;
          Alcotest.test_case "Result items with `stream`" `Quick result_items_are_values;
          Alcotest.test_case "a wrongly typed argument" `Quick wrong_argument_type;
          Alcotest.test_case "fn -> Result<stream> with two error types" `Quick two_error_types;
          Alcotest.test_case "closed while being polled" `Quick closed_while_polled;
          Alcotest.test_case "a re-entrant read is refused" `Quick reentrant_read;
          Alcotest.test_case "an item beyond 63 bits" `Quick out_of_range_item;
          Alcotest.test_case "lines from a tokio TCP reader" `Quick tcp_lines;
        ] );
      ( "ocaml to rust",
        [
          Alcotest.test_case "a million items, flat memory" `Quick ocaml_million_items;
          Alcotest.test_case "items awaited as promises" `Quick ocaml_items_through_promises;
          Alcotest.test_case "Rust stops early, nothing lost" `Quick rust_stops_early;
          Alcotest.test_case "the OCaml stream ends" `Quick ocaml_stops_early;
          Alcotest.test_case "an error in the middle" `Quick ocaml_error_in_the_middle;
          Alcotest.test_case "a stream that never yields, cancelled" `Quick
            never_yielding_ocaml_stream_cancelled;
          Alcotest.test_case "OCaml -> Rust -> OCaml" `Quick both_ways;
        ] );
    ]
