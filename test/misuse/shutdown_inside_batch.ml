(* Lwt_rust.shutdown called from inside a Rust stream's poll, in the middle of a batch (the
   Rust stream reads an OCaml stream whose function calls shutdown at its fourth item): the
   read in flight gets its own item (converted before the shutdown, as when the stream is
   closed from inside a batch), the rest of the batch is dropped with the stream, not
   delivered after shutdown: every later read fails with Shut_down; the Rust stream is
   dropped exactly once; nothing is left alive. Its own program: shutdown is final.
   Prints "OK" when it held. *)

open Lwt_rust_testlib

let outcome p =
  match Lwt.state p with
  | Lwt.Return (Some x) -> Printf.sprintf "Some %d" x
  | Lwt.Return None -> "None"
  | Lwt.Fail Lwt_rust.Shut_down -> "Shut_down"
  | Lwt.Fail e -> Printexc.to_string e
  | Lwt.Sleep -> "pending"

(* A read's outcome once the Lwt loop has run (a read may fail at the next turn). *)
let settled read =
  Lwt_main.run (Lwt.catch (fun () -> Lwt.map ignore read) (fun _ -> Lwt.return_unit));
  outcome read

let check what expected got =
  if expected <> got then failwith (Printf.sprintf "%s: %s, expected %s" what got expected)

let () =
  Lwt_rust.init ();
  let dropped = streams_dropped_raw () in
  let i = ref 0 in
  let input =
    Lwt_stream.from (fun () ->
        incr i;
        if !i = 4 then ignore (Lwt_rust.shutdown ());
        Lwt.return (if !i <= 10 then Some !i else None))
  in
  let s = double_stream input in
  let first = Lwt_stream.get s in
  check "the read in flight: its own item" "Some 2" (settled first);
  check "the batch stopped at the shutdown" "4" (string_of_int !i);
  check "a later read" "Shut_down" (settled (Lwt_stream.get s));
  check "the Rust stream dropped once" (string_of_int (dropped + 1))
    (string_of_int (streams_dropped_raw ()));
  Gc.full_major ();
  let st = Lwt_rust.stats () in
  if st.live_tasks <> 0 || st.live_promises <> 0 || st.live_roots <> 0 || st.live_streams <> 0
  then
    failwith
      (Printf.sprintf "left alive: %d tasks, %d promises, %d roots, %d streams" st.live_tasks
         st.live_promises st.live_roots st.live_streams);
  print_endline "shutdown_inside_batch: OK"
