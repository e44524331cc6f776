(* The scenario of scripts/example-postgres.sh, against the server it started (empty table
   `items`): inserts, point reads, scans under switches, then the server stopped (requests
   must fail, within a bound, rather than hang) and restarted (requests must succeed again),
   and at the end nothing left in flight on the bridge. Exits non-zero on the first failure.
   PG_CONNINFO: how to connect; PG_STOP, PG_START: shell commands stopping and starting the
   server. *)

open Lwt.Syntax
module Db = Pg_example.Db

let fail fmt = Printf.ksprintf (fun s -> prerr_endline ("FAIL " ^ s); exit 1) fmt
let check name expected actual = if expected <> actual then fail "%s: expected %s, got %s" name expected actual
let env name = match Sys.getenv_opt name with Some v -> v | None -> fail "%s is not set" name
let pool_size = 4
let timeout_ms = 2000
let rows = 1000

(* The guard against a hang: far above the pool's bound, so only a hang trips it. *)
let guard p = Lwt_unix.with_timeout 30. (fun () -> p)

let show_item = function
  | None -> "None"
  | Some (id, name, qty) -> Printf.sprintf "Some (%d, %S, %d)" id name qty

let shell what cmd = if Sys.command cmd <> 0 then fail "%s: %s failed" what cmd

let rec chunks_of n = function
  | [] -> []
  | l -> List.filteri (fun i _ -> i < n) l :: chunks_of n (List.filteri (fun i _ -> i >= n) l)

let ( >|= ) p f = Lwt.map f p

let main () =
  let db = Db.create (env "PG_CONNINFO") pool_size timeout_ms in
  (* Inserts, 50 in flight at a time (the pool of 4 serves them in turn). *)
  let* ids =
    Lwt_list.fold_left_s
      (fun acc group ->
        let+ ids =
          Lwt.all
            (List.map
               (fun i -> Db.insert db (Printf.sprintf "item-%d" i) (i * 10) >|= fun id -> (id, i))
               group)
        in
        acc @ ids)
      [] (chunks_of 50 (List.init rows (fun i -> i + 1)))
  in
  check "inserted ids" (string_of_int rows)
    (string_of_int (List.length (List.sort_uniq compare (List.map fst ids))));
  (* The concurrent inserts took their ids in arrival order: the row of id [id]. *)
  let expected id =
    match List.assoc_opt id ids with
    | Some i -> Printf.sprintf "Some (%d, \"item-%d\", %d)" id i (i * 10)
    | None -> fail "no row was inserted with id %d" id
  in
  let* n = Db.count db in
  check "count" (string_of_int rows) (string_of_int n);
  (* Point reads: the serial ids are 1..rows on a fresh table. *)
  let* item = Db.get db 500 in
  check "get 500" (expected 500) (show_item item);
  let* missing = Db.get db (rows + 1) in
  check "get missing" "None" (show_item missing);
  (* A full scan in batches of 100, under a switch. *)
  let* total, batches =
    Lwt_switch.with_switch (fun switch ->
        Lwt_stream.fold
          (fun batch (total, batches) ->
            (List.fold_left (fun t (_, _, qty) -> t + qty) total batch, batches + 1))
          (Db.scan ~switch db 1 100) (0, 0))
  in
  check "scan total" (string_of_int (10 * rows * (rows + 1) / 2)) (string_of_int total);
  check "scan batches at most 100 rows" "true" (string_of_bool (batches >= rows / 100));
  (* As many scans as the pool has connections, each abandoned after its first batch: the
     switch gives every connection back at once, no GC needed. *)
  let* () =
    Lwt_switch.with_switch (fun switch ->
        let* firsts =
          Lwt.all (List.init pool_size (fun _ -> Lwt_stream.get (Db.scan ~switch db 1 10)))
        in
        check "abandoned scans read" (string_of_int pool_size)
          (string_of_int (List.length (List.filter (( <> ) None) firsts)));
        check "connections held by the scans" "0" (string_of_int (Db.available db));
        Lwt.return_unit)
  in
  check "connections back after the switch" (string_of_int pool_size)
    (string_of_int (Db.available db));
  let* item = guard (Db.get db 7) in
  check "get after the scans" (expected 7) (show_item item);
  (* The server stops: every request fails (Rust_error), within the pool's bound. *)
  shell "stop the server" (env "PG_STOP");
  let started = Unix.gettimeofday () in
  let* outcomes =
    Lwt.all
      (List.init (2 * pool_size) (fun i ->
           Lwt.catch
             (fun () -> guard (Db.get db (i + 1)) >|= fun _ -> "answered")
             (function
               | Lwt_rust.Rust_error _ -> Lwt.return "Rust_error"
               | Lwt_unix.Timeout -> Lwt.return "hung"
               | e -> Lwt.return (Printexc.to_string e))))
  in
  let elapsed_ms = (Unix.gettimeofday () -. started) *. 1000. in
  List.iteri (fun i o -> check (Printf.sprintf "request %d with the server down" i) "Rust_error" o) outcomes;
  Printf.printf "server down: %d requests failed in %.0f ms (bound: %d ms per wait)\n%!"
    (List.length outcomes) elapsed_ms timeout_ms;
  let* scan_down =
    Lwt.catch
      (fun () -> guard (Lwt_stream.to_list (Db.scan db 1 100)) >|= fun _ -> "answered")
      (function Lwt_rust.Rust_error _ -> Lwt.return "Rust_error" | e -> Lwt.return (Printexc.to_string e))
  in
  check "scan with the server down" "Rust_error" scan_down;
  (* Back up: the first request succeeds. *)
  shell "start the server" (env "PG_START");
  let* item = guard (Db.get db 42) in
  check "first get after the restart" (expected 42) (show_item item);
  let* id = guard (Db.insert db "after-restart" 1) in
  let* item = Db.get db id in
  check "insert after the restart" (Printf.sprintf "Some (%d, \"after-restart\", 1)" id) (show_item item);
  let* n = Db.count db in
  check "count after the restart" (string_of_int (rows + 1)) (string_of_int n);
  Db.close db;
  Lwt.return_unit

let () =
  Lwt_main.run (main ());
  Gc.full_major ();
  (* Let the bridge release what the GC found and the closed object held. *)
  Lwt_main.run (Lwt.pause ());
  let s = Lwt_rust.stats () in
  check "live tasks" "0" (string_of_int s.live_tasks);
  check "live streams" "0" (string_of_int s.live_streams);
  check "live objects" "0" (string_of_int s.live_objects);
  check "live promises" "0" (string_of_int s.live_promises);
  print_endline "example-postgres: all checks passed"
