(* The Lwt side of `make bench-peers` (bench/peers/run.py runs it): peers.exe [BUDGET_SECONDS]
   times each row for about BUDGET seconds and prints one JSON line,
   {"host", "versions", "rows": {row: ns per call}}. Every row checks its sum, so a wrong
   result fails the run instead of timing it. The calls go through the bindings lwt-rust-bindgen
   generated from ../rust (module Lwt_peers), as in a user's program. *)

open Lwt.Infix

let chunk = 1000
let wide = 10_000

let budget =
  if Array.length Sys.argv > 1 then float_of_string Sys.argv.(1) else 0.3

let fail name what =
  Printf.eprintf "peers.exe: %s: %s\n%!" name what;
  exit 1

(* Awaits [call i] for i in 0 .. chunk - 1, chunk after chunk, until [budget] seconds have
   gone; ns per call. [call i] resolves with [i + 1] (the host yield with 0). *)
let sequential name ~want_sum call =
  let t0 = Unix.gettimeofday () in
  let rec chunk_loop calls total =
    let rec loop i total =
      if i = chunk then Lwt.return total else call i >>= fun v -> loop (i + 1) (total + v)
    in
    loop 0 total >>= fun total ->
    let calls = calls + chunk in
    let elapsed = Unix.gettimeofday () -. t0 in
    if elapsed >= budget then Lwt.return (calls, total, elapsed) else chunk_loop calls total
  in
  chunk_loop 0 0 >|= fun (calls, total, elapsed) ->
  if want_sum && total <> calls / chunk * (chunk * (chunk + 1) / 2) then
    fail name (Printf.sprintf "wrong sum %d" total);
  elapsed *. 1e9 /. float_of_int calls

(* [wide] calls started at once and all awaited, again and again until [budget] seconds have
   gone; ns per call. *)
let concurrent name ~want_sum call =
  let t0 = Unix.gettimeofday () in
  let rec loop calls =
    Lwt.all (List.init wide call) >>= fun vs ->
    if want_sum && List.fold_left ( + ) 0 vs <> wide * (wide + 1) / 2 then fail name "wrong sum";
    let calls = calls + wide in
    let elapsed = Unix.gettimeofday () -. t0 in
    if elapsed >= budget then Lwt.return (elapsed *. 1e9 /. float_of_int calls) else loop calls
  in
  loop 0

let host_yield _ = Lwt.pause () >|= fun () -> 0

(* The host's own round trip to another thread: a no-op on Lwt_preemptive's pool. *)
let host_thread_hop _ = Lwt_preemptive.detach (fun () -> 0) ()

let rows () =
  sequential "host_yield" ~want_sum:false host_yield >>= fun host_yield_ns ->
  sequential "host_thread_hop" ~want_sum:false host_thread_hop >>= fun host_thread_hop ->
  sequential "ready" ~want_sum:true (fun i -> Lwt_peers.ready i 1) >>= fun ready ->
  sequential "yield_once" ~want_sum:true (fun i -> Lwt_peers.yield_once i 1) >>= fun yield_once ->
  sequential "tokio_round_trip" ~want_sum:true (fun i -> Lwt_peers.tokio_round_trip i 1)
  >>= fun tokio_round_trip ->
  concurrent "host_yield_10k" ~want_sum:false host_yield >>= fun host_yield_10k ->
  concurrent "concurrent_10k" ~want_sum:true (fun i -> Lwt_peers.yield_once i 1)
  >|= fun concurrent_10k ->
  [ ("host_yield", host_yield_ns); ("host_thread_hop", host_thread_hop); ("ready", ready); ("yield_once", yield_once);
    ("tokio_round_trip", tokio_round_trip); ("host_yield_10k", host_yield_10k);
    ("concurrent_10k", concurrent_10k) ]

let () =
  let rows = Lwt_main.run (rows ()) in
  Printf.printf "{\"host\": \"lwt\", \"versions\": {\"ocaml\": %S}, \"rows\": {%s}}\n"
    Sys.ocaml_version
    (String.concat ", " (List.map (fun (k, v) -> Printf.sprintf "%S: %.6g" k v) rows))
