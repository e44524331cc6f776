(* Rust streams read in batches: one read takes every item the Rust stream has ready, up to a
   bound, and OCaml hands them out one by one. Order, the end, an error or a panic after some
   items of a batch, closing and cancelling in the middle of a batch, slow readers and the
   bound, through the generated bindings as a user calls them. *)

open Lwt.Infix
open Lwt_rust_testlib
open Support

(* The most items one read takes from a Rust stream (BATCH_ITEMS in
   src/rust_to_ocaml/stream/batch.rs). *)
let bound = 64

let range n = List.init n Fun.id

(* Every item up to the end, or the exception that ends the stream, in the order read. *)
type outcome = { items : int list; failure : exn option }

(* Reads [s] to its end with [read] ([Lwt_stream.get] with a step in between), checking after
   every read that Rust has produced at most [bound] items beyond those read. *)
let read_all ?(step = fun () -> Lwt.return_unit) s =
  let produced0 = batch_produced () in
  let rec loop acc =
    Lwt.try_bind
      (fun () -> Lwt_stream.get s)
      (function
        | None -> Lwt.return { items = List.rev acc; failure = None }
        | Some x ->
          let ahead = batch_produced () - produced0 - (List.length acc + 1) in
          if ahead > bound then Alcotest.failf "%d items produced ahead of the reader" ahead;
          step () >>= fun () -> loop (x :: acc))
      (fun exn -> Lwt.return { items = List.rev acc; failure = Some exn })
  in
  loop []

let check_items what expected got = Alcotest.(check (list int)) what expected got

let check_ended what s =
  Alcotest.(check (option int)) (what ^ ": then the stream ends") None (await (Lwt_stream.get s))

(* Patterns of ready (false) and pending (true) items: all ready (one batch per [bound]
   items), all pending (one item per read), and mixtures. *)
let patterns =
  [ ("all ready", List.init 200 (fun _ -> false));
    ("all pending", List.init 50 (fun _ -> true));
    ("every third pending", List.init 150 (fun i -> i mod 3 = 2));
    ("runs", List.init 300 (fun i -> i / 70 mod 2 = 1));
    ("pending first", true :: List.init 99 (fun _ -> false)) ]

let mixed_patterns_keep_order () =
  List.iter
    (fun (what, pattern) ->
      let dropped = batch_streams_dropped () in
      let got = await (read_all (batch_stream pattern 0)) in
      check_items what (range (List.length pattern)) got.items;
      Alcotest.(check bool) (what ^ ": no failure") true (got.failure = None);
      Alcotest.(check int) (what ^ ": dropped once") (dropped + 1) (batch_streams_dropped ());
      check_nothing_live what)
    patterns

(* A batch of ready items takes them in one read: the first read of [k] ready items then an
   error has produced all [k]; they are delivered, then the error, once, then the end. *)
let error_after_items_of_a_batch () =
  List.iter
    (fun k ->
      let what = Printf.sprintf "error after %d ready items" k in
      let produced = batch_produced () and dropped = batch_streams_dropped () in
      let s = batch_stream (List.init k (fun _ -> false)) 1 in
      Alcotest.(check (option int)) (what ^ ": first item") (Some 0) (await (Lwt_stream.get s));
      Alcotest.(check int) (what ^ ": one read took a batch") (min k bound)
        (batch_produced () - produced);
      (* Met by that read (the items before it fit in the batch): the Rust stream goes now. *)
      Alcotest.(check int) (what ^ ": the error dropped the Rust stream")
        (if k < bound then dropped + 1 else dropped)
        (batch_streams_dropped ());
      let rest = await (read_all s) in
      check_items (what ^ ": every item before the error") (List.tl (range k)) rest.items;
      (match rest.failure with
       | Some (Lwt_rust.Rust_error msg) ->
         Alcotest.(check string) (what ^ ": the error") (Printf.sprintf "failed after %d items" k) msg
       | Some exn -> Alcotest.failf "%s: expected Rust_error, got %s" what (Printexc.to_string exn)
       | None -> Alcotest.failf "%s: the stream ended without its error" what);
      check_ended what s;
      check_ended (what ^ ", again") s;
      check_nothing_live what)
    [ 1; 2; 10; bound - 1; bound; bound + 1; 3 * bound ]

let panic_after_items_of_a_batch () =
  List.iter
    (fun (what, pattern) ->
      let got = await (read_all (batch_stream pattern 2)) in
      check_items (what ^ ": every item before the panic") (range (List.length pattern)) got.items;
      (match got.failure with
       | Some (Lwt_rust.Rust_panic msg) ->
         Alcotest.(check bool) (what ^ ": the panic message") true
           (contains msg (Printf.sprintf "panicked after %d items" (List.length pattern)))
       | Some exn -> Alcotest.failf "%s: expected Rust_panic, got %s" what (Printexc.to_string exn)
       | None -> Alcotest.failf "%s: the stream ended without its panic" what);
      check_nothing_live what)
    [ ("ready", List.init 10 (fun _ -> false)); ("last pending", [ false; false; true ]) ]

(* close_stream after a few items of a batch: the items OCaml holds are dropped with the Rust
   stream, and reads see the end. *)
let close_in_the_middle_of_a_batch () =
  let dropped = batch_streams_dropped () in
  let s = batch_stream (List.init 20 (fun _ -> false)) 0 in
  check_items "two items" [ 0; 1 ] (await (Lwt_stream.nget 2 s));
  Lwt_rust.close_stream s;
  Alcotest.(check int) "dropped at once" (dropped + 1) (batch_streams_dropped ());
  check_ended "closed" s;
  check_nothing_live "after close"

(* close_stream called by the production of an item of a batch (after the read's first item,
   before the buffer holds anything): the read gets its first item, and the items the batch
   took after it are dropped with the stream, as closing drops every item not read yet.
   [double_stream] reads an OCaml stream, whose producer closes the Rust stream. *)
let close_from_inside_a_batch () =
  let dropped = streams_dropped () in
  let doubled = ref None and i = ref 0 in
  let input =
    Lwt_stream.from (fun () ->
        incr i;
        if !i = 4 then Option.iter Lwt_rust.close_stream !doubled;
        Lwt.return (if !i <= 10 then Some !i else None))
  in
  let s = double_stream input in
  doubled := Some s;
  Alcotest.(check (option int)) "the read's own item" (Some 2) (await (Lwt_stream.get s));
  Alcotest.(check int) "the batch stopped at the close" 4 !i;
  check_ended "the rest of the batch dropped by the close" s;
  Alcotest.(check int) "dropped once" (dropped + 1) (streams_dropped ());
  check_nothing_live "after the close from inside the batch"

(* Lwt.cancel of a read waiting for an item, after the items of a batch: nothing is lost or
   reordered, and reading goes on. [double_stream] reads an OCaml stream, so the item after
   the batch waits for as long as the test wants. *)
let cancel_in_the_middle_of_a_batch () =
  let input, push = Lwt_stream.create () in
  List.iter (fun x -> push (Some x)) [ 0; 1; 2 ];
  let s = double_stream input in
  check_items "two items of the batch" [ 0; 2 ] (await (Lwt_stream.nget 2 s));
  check_items "the rest of the batch" [ 4 ] (await (Lwt_stream.nget 1 s));
  let waiting = Lwt_stream.get s in
  Alcotest.(check bool) "the read of a missing item waits" true (Lwt.is_sleeping waiting);
  Lwt.cancel waiting;
  List.iter (fun x -> push (Some x)) [ 3; 4; 5 ];
  push None;
  let rest = await (Lwt_stream.to_list s) in
  (* Whether [Lwt_stream.get]'s promise can be cancelled is Lwt's business: either the read
     was cancelled, or it got the next item; nothing is lost or reordered either way. *)
  let items =
    match Lwt.state waiting with
    | Lwt.Fail Lwt.Canceled -> rest
    | Lwt.Return (Some x) -> x :: rest
    | _ -> Alcotest.fail "the cancelled read neither failed with Canceled nor got an item"
  in
  check_items "nothing lost or reordered" [ 6; 8; 10 ] items;
  check_nothing_live "after the cancelled read"

(* A reader that yields to the Lwt loop between items gets every item, in order, and Rust
   never gets more than a batch ahead of it (checked by [read_all]). *)
let slow_reader_gets_every_item () =
  let pattern = List.init 500 (fun i -> i mod 97 = 0 || i mod 5 = 4) in
  let got = await (read_all ~step:Lwt.pause (batch_stream pattern 0)) in
  check_items "every item" (range 500) got.items;
  check_nothing_live "after the slow reader"

(* A million ready items are not converted ahead of the reader: at most one batch. *)
let bound_is_respected () =
  let produced = batch_produced () in
  let s = ready_ints 1_000_000 in
  Alcotest.(check (option int)) "first item" (Some 0) (await (Lwt_stream.get s));
  Alcotest.(check int) "the first read took one batch" bound (batch_produced () - produced);
  let first = await (Lwt_stream.nget 1000 s) in
  check_items "the next thousand" (List.init 1000 (fun i -> i + 1)) first;
  let ahead = batch_produced () - produced - 1001 in
  if ahead < 0 || ahead >= bound then Alcotest.failf "%d items produced ahead of 1001 read" ahead;
  Lwt_rust.close_stream s;
  check_nothing_live "after a million-item stream closed"

(* A stream's destructor that panics is reported and counted in stats.panics. *)
let destructor_panic_is_counted () =
  let panics = (Lwt_rust.stats ()).panics in
  let s = panicking_drop_stream () in
  check_items "ready items" [ 0; 1; 2 ] (await (Lwt_stream.nget 3 s));
  Lwt_rust.close_stream s;
  Alcotest.(check int) "the destructor's panic counted" (panics + 1) (Lwt_rust.stats ()).panics;
  check_ended "after close" s;
  check_nothing_live "after the panicking destructor"

(* Random patterns of ready and pending items, random endings, random reading steps: every
   item arrives in order, then the ending, once. *)
let property =
  let gen =
    QCheck.Gen.(
      triple
        (list_size (0 -- 300) (map (fun n -> n = 0) (int_bound 3)))
        (int_bound 2) (int_bound 3))
  in
  let print (pattern, ending, reader) =
    Printf.sprintf "pattern %s, ending %d, reader %d"
      (String.concat "" (List.map (fun p -> if p then "P" else ".") pattern))
      ending reader
  in
  QCheck.Test.make ~name:"batched reads keep order and endings" ~count:300
    (QCheck.make ~print gen)
    (fun (pattern, ending, reader) ->
      let step =
        match reader with
        | 0 -> fun () -> Lwt.return_unit
        | 1 -> Lwt.pause
        | 2 -> fun () -> Lwt_unix.sleep 0.
        | _ ->
          let k = ref 0 in
          fun () ->
            incr k;
            if !k mod 7 = 0 then Lwt.pause () else Lwt.return_unit
      in
      let s = batch_stream pattern ending in
      let got = await (read_all ~step s) in
      let n = List.length pattern in
      if got.items <> range n then QCheck.Test.fail_reportf "items out of order or lost";
      (match (ending, got.failure) with
       | 0, None -> ()
       | 1, Some (Lwt_rust.Rust_error _) -> ()
       | 2, Some (Lwt_rust.Rust_panic _) -> ()
       | _, Some exn -> QCheck.Test.fail_reportf "unexpected %s" (Printexc.to_string exn)
       | _, None -> QCheck.Test.fail_reportf "the ending %d was not delivered" ending);
      if await (Lwt_stream.get s) <> None then QCheck.Test.fail_reportf "read after the end";
      let st = Lwt_rust.stats () in
      if st.live_streams <> 0 || st.live_tasks <> 0 then
        QCheck.Test.fail_reportf "left live: %d streams, %d tasks" st.live_streams st.live_tasks;
      true)

let () =
  Lwt_rust.init ();
  Lwt_rust.set_panic_report (Lwt_rust.Report_first 2);
  Alcotest.run "lwt_rust stream batches"
    [
      ( "batches",
        [
          Alcotest.test_case "mixed ready and pending items keep order" `Quick
            mixed_patterns_keep_order;
          Alcotest.test_case "an error after items of a batch" `Quick error_after_items_of_a_batch;
          Alcotest.test_case "a panic after items of a batch" `Quick panic_after_items_of_a_batch;
          Alcotest.test_case "close in the middle of a batch" `Quick close_in_the_middle_of_a_batch;
          Alcotest.test_case "close from inside a batch" `Quick close_from_inside_a_batch;
          Alcotest.test_case "cancel in the middle of a batch" `Quick
            cancel_in_the_middle_of_a_batch;
          Alcotest.test_case "a slow reader gets every item" `Quick slow_reader_gets_every_item;
          Alcotest.test_case "the bound is respected" `Quick bound_is_respected;
          Alcotest.test_case "a destructor's panic is counted" `Quick destructor_panic_is_counted;
          Alcotest.test_case "random patterns (qcheck)" `Quick (fun () ->
              QCheck.Test.check_exn property);
        ] );
    ]
