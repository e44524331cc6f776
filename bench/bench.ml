(* The benchmarks, in one process: every scenario next to its baseline, each as the
   median (with min and max) of several repetitions. Prints Markdown tables and writes the
   results as JSON. Nothing here is a timed assertion: only the results of the work itself
   (sums, counts, nothing left alive) are checked.

     bench.exe              full sizes, 7 repetitions, writes bench/results.json
     bench.exe --quick      small sizes, 5 repetitions (also QUICK=1 in the environment)
     bench.exe --smoke      tiny sizes, one repetition, no JSON: checks that every scenario
                            ran and computed the right results (run by make test)
     bench.exe --json FILE  where to write the JSON
     bench.exe --only NAME,NAME --reps K
                            only those rows (for profiling; no JSON unless --json)

   See bench/README.md for what each row measures. *)

open Lwt.Infix

type mode = Full | Quick | Smoke

let mode, json_path, only, reps =
  let mode =
    ref (match Sys.getenv_opt "QUICK" with None | Some ("" | "0") -> Full | Some _ -> Quick)
  in
  let json = ref None and only = ref None and reps = ref None in
  let rec parse = function
    | [] -> ()
    | "--quick" :: rest -> mode := Quick; parse rest
    | "--smoke" :: rest -> mode := Smoke; parse rest
    | "--json" :: file :: rest -> json := Some file; parse rest
    | "--only" :: names :: rest -> only := Some (String.split_on_char ',' names); parse rest
    | "--reps" :: k :: rest when int_of_string_opt k <> None && int_of_string k > 0 ->
      reps := int_of_string_opt k;
      parse rest
    | arg :: _ ->
      Printf.eprintf
        "bench: unexpected argument %s\n\
         usage: bench.exe [--quick | --smoke] [--json FILE] [--only NAME,NAME] [--reps K]\n"
        arg;
      exit 2
  in
  parse (List.tl (Array.to_list Sys.argv));
  let json =
    match (!json, !mode, !only) with
    | Some file, _, _ -> Some file
    | None, Smoke, _ | None, _, Some _ -> None
    | None, (Full | Quick), None -> Some "bench/results.json"
  in
  (!mode, json, !only, !reps)

let selected name = match only with None -> true | Some names -> List.mem name names

let mode_name = match mode with Full -> "full" | Quick -> "quick" | Smoke -> "smoke"

(* {1 Sizes} *)

type sizes = {
  reps : int;
  pause : int;  (** lwt_pause_loop, callback_loop_pause *)
  yield : int;  (** call_yield_once *)
  ready : int;  (** call_ready *)
  sync : int;  (** external_sync *)
  detach : int;  (** preemptive_detach *)
  threads : int;  (** preemptive_run_in_main, cross_thread_spawn *)
  per_thread : int;  (** preemptive_run_in_main: calls per thread *)
  spawn_per_thread : int;  (** cross_thread_spawn: tasks per thread *)
  small : int;  (** concurrent_10k: tasks alive at once *)
  large : int;  (** concurrent_1m: tasks alive at once *)
  items : int;  (** stream_items, lwt_stream_of_list, ocaml_stream_items *)
  scan : int;  (** stream_100k_ints, stream_100k_rows and their of_list baselines *)
}

let sizes =
  let sizes =
    match mode with
    | Full ->
      { reps = 7; pause = 1_000_000; yield = 500_000; ready = 2_000_000; sync = 20_000_000;
        detach = 20_000; threads = 4; per_thread = 5_000; spawn_per_thread = 250_000;
        small = 10_000; large = 1_000_000; items = 1_000_000; scan = 100_000 }
    | Quick ->
      { reps = 5; pause = 100_000; yield = 50_000; ready = 200_000; sync = 2_000_000;
        detach = 2_000; threads = 4; per_thread = 500; spawn_per_thread = 250_000;
        small = 10_000; large = 100_000; items = 100_000; scan = 100_000 }
    | Smoke ->
      { reps = 1; pause = 1_000; yield = 1_000; ready = 1_000; sync = 1_000; detach = 50;
        threads = 4; per_thread = 20; spawn_per_thread = 250_000; small = 100;
        large = 1_000; items = 1_000; scan = 1_000 }
  in
  match reps with Some reps -> { sizes with reps } | None -> sizes

(* {1 Measuring} *)

let now = Unix.gettimeofday

exception Inconsistent of string

let expect name ~got ~want =
  if got <> want then raise (Inconsistent (Printf.sprintf "%s: got %d, expected %d" name got want))

(* The bridge's counters that move with work done. *)
type counters = {
  spawned : int;
  wakes : int;
  notifications : int;
  local_drains : int;
  drains : int;
}

let counters () =
  let s = Lwt_rust.stats () in
  { spawned = s.spawned; wakes = s.wakes; notifications = s.notifications;
    local_drains = s.local_drains; drains = s.drains }

let counters_diff a b =
  { spawned = b.spawned - a.spawned; wakes = b.wakes - a.wakes;
    notifications = b.notifications - a.notifications;
    local_drains = b.local_drains - a.local_drains; drains = b.drains - a.drains }

let counters_sum a b =
  { spawned = a.spawned + b.spawned; wakes = a.wakes + b.wakes;
    notifications = a.notifications + b.notifications;
    local_drains = a.local_drains + b.local_drains; drains = a.drains + b.drains }

let zero_counters = { spawned = 0; wakes = 0; notifications = 0; local_drains = 0; drains = 0 }

(* A field of /proc/self/status, in kB ("VmRSS", "VmHWM"). *)
let status_kb field =
  let prefix = field ^ ":" in
  let plen = String.length prefix in
  match open_in "/proc/self/status" with
  | exception Sys_error _ -> None
  | ic ->
    Fun.protect ~finally:(fun () -> close_in_noerr ic) @@ fun () ->
    let rec find () =
      match input_line ic with
      | exception End_of_file -> None
      | line when String.length line > plen && String.sub line 0 plen = prefix ->
        (try Scanf.sscanf (String.sub line plen (String.length line - plen)) " %d kB" Option.some
         with Scanf.Scan_failure _ | Failure _ | End_of_file -> None)
      | _ -> find ()
    in
    find ()

(* Resets VmHWM (the peak RSS) to the current RSS (Linux >= 4.0). *)
let reset_peak_rss () =
  match open_out "/proc/self/clear_refs" with
  | exception Sys_error _ -> false
  | oc -> (
    try output_string oc "5"; close_out oc; true with Sys_error _ -> close_out_noerr oc; false)

type sample = {
  seconds : float;
  counters : counters;
  rss_growth : int option;  (** bytes: peak RSS during the run minus RSS before it *)
}

let sample ~track_rss run =
  Gc.compact ();
  Demo_stubs.trim_malloc ();
  let rss_before =
    if track_rss then begin
      ignore (reset_peak_rss () : bool);
      status_kb "VmRSS"
    end
    else None
  in
  let c0 = counters () in
  let seconds = run () in
  let c1 = counters () in
  let rss_growth =
    match (rss_before, status_kb "VmHWM") with
    | Some before, Some peak -> Some (1024 * max 0 (peak - before))
    | _ -> None
  in
  { seconds; counters = counters_diff c0 c1; rss_growth }

(* Every Rust task, root, awaited promise and stream is gone once a scenario is over (as
   test/support.ml checks in the suites). *)
let check_nothing_live name =
  Gc.full_major ();
  let s = Lwt_rust.stats () in
  expect (name ^ ": live tasks afterwards") ~got:s.live_tasks ~want:0;
  expect (name ^ ": live roots afterwards") ~got:s.live_roots ~want:0;
  expect (name ^ ": live promises afterwards") ~got:s.live_promises ~want:0;
  expect (name ^ ": live streams afterwards") ~got:s.live_streams ~want:0;
  expect (name ^ ": live objects afterwards") ~got:s.live_objects ~want:0

type row = {
  name : string;
  n : int;  (** the scenario's size, as shown *)
  ops : int;  (** operations per repetition (ns/op divides by this) *)
  samples : sample list;  (** empty when skipped *)
  baseline : string option;
  target : float option;  (** the target ratio to the baseline *)
  rss_target : int option;  (** bytes per task *)
  note : string;
  skipped : string option;
  bridge : bool;  (** runs Rust code through the bridge: its counters are reported *)
  run : unit -> float;  (** one repetition: its wall time in seconds *)
  paired_ratios : float list;
      (** ns/op of each repetition over that of the baseline repetition run just before it *)
}

(* With [~paired:b], every repetition of the row runs right after one of its baseline [b] (an
   extra one, not counted in [b]'s own samples), and the row's ratio is the median of these
   pairs' ratios. This VM drifts between a fast and a slow state for seconds at a time; a
   baseline measured in the same few seconds drifts with the row, where a baseline measured
   earlier may not. *)
let run_row ?(track_rss = false) ?(bridge = false) ?paired ?target ?rss_target ~name ~n ~ops
    ~note run =
  let baseline = Option.map (fun b -> b.name) paired in
  (* call_ready_vs_detach reuses call_ready's samples. *)
  let wanted = selected name || (name = "call_ready" && selected "call_ready_vs_detach") in
  let ns_per_op ops (s : sample) = s.seconds *. 1e9 /. float_of_int ops in
  let samples, paired_ratios =
    if not wanted then ([], [])
    else begin
      Printf.eprintf "bench: %-22s %d x N=%d%s%!" name sizes.reps n
        (match paired with Some b -> ", each after a " ^ b.name | None -> "");
      let pairs =
        List.init sizes.reps (fun _ ->
            let base =
              match paired with
              | Some b when b.samples <> [] ->
                Some (ns_per_op b.ops (sample ~track_rss:false b.run))
              | _ -> None
            in
            let own = sample ~track_rss run in
            (own, Option.map (fun base -> ns_per_op ops own /. base) base))
      in
      check_nothing_live name;
      let samples = List.map fst pairs in
      let ns = List.sort compare (List.map (ns_per_op ops) samples) in
      Printf.eprintf "  median %.1f ns/op\n%!" (List.nth ns (List.length ns / 2));
      (samples, List.filter_map snd pairs)
    end
  in
  { name; n; ops; samples; baseline; target; rss_target; note; skipped = None; bridge; run;
    paired_ratios }

(* Runs an Lwt program to completion, timing it. *)
let timed_run program =
  let t0 = now () in
  let result = Lwt_main.run (program ()) in
  (result, now () -. t0)

(* {1 Scenarios} *)

let lwt_pause_loop n () =
  let rec loop i = if i = n then Lwt.return i else Lwt.pause () >>= fun () -> loop (i + 1) in
  let got, seconds = timed_run (fun () -> loop 0) in
  expect "lwt_pause_loop" ~got ~want:n;
  seconds

let callback_loop_pause n () =
  let got, seconds = timed_run (fun () -> Demo_stubs.callback_loop Lwt.pause n) in
  expect "callback_loop_pause" ~got ~want:n;
  seconds

(* [n] calls in sequence, each awaited before the next: [call i] computes [i + 1]. *)
let sum_loop name call n () =
  let rec loop i acc =
    if i = n then Lwt.return acc else call i >>= fun v -> loop (i + 1) (acc + v)
  in
  let got, seconds = timed_run (fun () -> loop 0 0) in
  expect name ~got ~want:(n * (n + 1) / 2);
  seconds

let external_sync = sum_loop "external_sync" (fun i -> Lwt.return (Demo_stubs.add_sync i 1))
let call_ready = sum_loop "call_ready" (fun i -> Demo_stubs.add_ready i 1)

let preemptive_detach =
  sum_loop "preemptive_detach" (fun i -> Lwt_preemptive.detach (fun i -> Demo_stubs.add_sync i 1) i)

let blocking_call = sum_loop "blocking_call" (fun i -> Lwt_rust_testlib.blocking_add i 1)

(* [n] calls, [in_flight] at a time: per-call cost when calls overlap (as in a server). *)
let in_flight_loop name call ~in_flight n () =
  let rec batches done_ acc =
    if done_ >= n then Lwt.return acc
    else
      Lwt.all (List.init in_flight (fun j -> call (done_ + j))) >>= fun vs ->
      batches (done_ + in_flight) (List.fold_left ( + ) acc vs)
  in
  let got, seconds = timed_run (fun () -> batches 0 0) in
  let calls = (n + in_flight - 1) / in_flight * in_flight in
  expect name ~got ~want:(calls * (calls + 1) / 2);
  seconds

let preemptive_detach_in_flight =
  in_flight_loop "preemptive_detach_100" ~in_flight:100 (fun i ->
      Lwt_preemptive.detach (fun i -> Demo_stubs.add_sync i 1) i)

let blocking_call_in_flight =
  in_flight_loop "blocking_call_100" ~in_flight:100 (fun i -> Lwt_rust_testlib.blocking_add i 1)

let call_yield_once = sum_loop "call_yield_once" (fun i -> Demo_stubs.add_yield i 1)

(* Your own types (#[lwt_rust::record], #[lwt_rust::variant], #[lwt_rust::error]): a ready call
   taking and returning a 4-field record, the same data as a tuple, a 3-constructor variant;
   a typed error against a Display error (Rust_error). Each call gives [i + 1] back. *)
module Types = struct
  module T = Lwt_rust_testlib

  let user i = { T.id = i; name = "name"; email = Some "e@example.org"; admin = true }

  let record_ready = sum_loop "record_ready" (fun i -> T.record_ready (user i) >|= fun u -> u.T.id + 1)

  let tuple_ready =
    sum_loop "tuple_ready" (fun i ->
        T.tuple_ready (i, "name", Some "e@example.org", true) >|= fun (id, _, _, _) -> id + 1)

  let variant_ready =
    sum_loop "variant_ready" (fun i ->
        let command = match i mod 3 with 0 -> T.Get "key" | 1 -> T.Set ("key", i) | _ -> T.Quit in
        T.variant_ready command >|= fun _ -> i + 1)

  let typed_error =
    sum_loop "typed_error" (fun i ->
        Lwt.catch
          (fun () -> T.find_user (-1 - i) >|= fun _ -> 0)
          (function T.Db_error (T.NotFound k) -> Lwt.return (-k) | e -> Lwt.fail e))

  let rust_error =
    sum_loop "rust_error" (fun i ->
        Lwt.catch
          (fun () -> T.find_user_text (-1 - i) >|= fun _ -> 0)
          (function Lwt_rust.Rust_error _ -> Lwt.return (i + 1) | e -> Lwt.fail e))
end

(* [threads] Rust threads each spawn [per_thread] tasks on the OCaml thread through a Handle and
   await them all (testlib/src/threads.rs), while the OCaml thread runs the Lwt loop. *)
let cross_thread_spawn ~threads ~per_thread () =
  let (received, distinct), seconds =
    timed_run (fun () -> Demo_stubs.handle_stress threads per_thread)
  in
  expect "cross_thread_spawn: results" ~got:received ~want:(threads * per_thread);
  expect "cross_thread_spawn: distinct results" ~got:distinct ~want:(threads * per_thread);
  seconds

(* [threads] systhreads, each calling [Lwt_preemptive.run_in_main] [per_thread] times with a
   trivial function while the main thread runs the Lwt loop. *)
let preemptive_run_in_main ~threads ~per_thread () =
  let calls = ref 0 in
  let t0 = now () in
  let workers =
    List.init threads (fun _ ->
        let finished, finish = Lwt.wait () in
        let worker () =
          for _ = 1 to per_thread do
            Lwt_preemptive.run_in_main (fun () -> incr calls; Lwt.return_unit)
          done;
          Lwt_preemptive.run_in_main (fun () -> Lwt.wakeup_later finish (); Lwt.return_unit)
        in
        (Thread.create worker (), finished))
  in
  Lwt_main.run (Lwt.join (List.map snd workers));
  let seconds = now () -. t0 in
  List.iter (fun (thread, _) -> Thread.join thread) workers;
  expect "preemptive_run_in_main" ~got:!calls ~want:(threads * per_thread);
  seconds

(* [n] tasks alive at once, each awaiting its own OCaml promise ([await p] makes the task
   of promise [p]); then all the promises are resolved and all the results awaited. The
   harness keeps, per task, the awaited promise's resolver and the task's promise: one array
   slot each. *)
let concurrent_with ?(started = ignore) name await n () =
  let t0 = now () in
  let resolvers = Array.make n (snd (Lwt.wait ())) in
  let results =
    Array.init n (fun i ->
        let p, u = Lwt.wait () in
        resolvers.(i) <- u;
        await p)
  in
  started ();
  Array.iteri (fun i u -> Lwt.wakeup_later u i) resolvers;
  let rec sum i acc =
    if i = n then Lwt.return acc else results.(i) >>= fun v -> sum (i + 1) (acc + v)
  in
  let got = Lwt_main.run (sum 0 0) in
  let seconds = now () -. t0 in
  expect name ~got ~want:(n * (n - 1) / 2);
  seconds

(* Rust tasks: [Demo_stubs.echo p] awaits [p] in a Rust task and returns its value. *)
let concurrent name n =
  let started () =
    expect (name ^ ": tasks alive at once") ~got:(Lwt_rust.stats ()).live_tasks ~want:n
  in
  concurrent_with ~started name Demo_stubs.echo n

(* What Lwt alone costs for the same work: [Lwt.map Fun.id p] is a promise that waits for [p]
   and takes its value. *)
let lwt_map_concurrent name n = concurrent_with name (Lwt.map Fun.id) n

(* Streams: [n] items 0 .. n-1 consumed by the same fold, timed from the stream's creation
   (the list of [Lwt_stream.of_list] is built before, untimed). *)
let sum_items name make n () =
  let t0 = now () in
  let got = Lwt_main.run (Lwt_stream.fold ( + ) (make n) 0) in
  let seconds = now () -. t0 in
  expect name ~got ~want:(n * (n - 1) / 2);
  seconds

let stream_items = sum_items "stream_items" Demo_stubs.count_stream

let lwt_stream_of_list n =
  let items = List.init n Fun.id in
  sum_items "lwt_stream_of_list" (fun _ -> Lwt_stream.of_list items) n

(* A table scan's sizes: [n] small ints, and [n] rows of a 5-field record (int, string,
   float, bool, option), each read from a Rust stream whose items are all ready (the bridge
   reads them in batches) and from an [Lwt_stream.of_list] of the same values (built before,
   untimed). The fold sums the ids. *)
let stream_100k_ints n = sum_items "stream_100k_ints" Demo_stubs.count_stream n

let of_list_100k_ints n =
  let items = List.init n Fun.id in
  sum_items "of_list_100k_ints" (fun _ -> Lwt_stream.of_list items) n

let scan_row i : Lwt_rust_testlib.scan_row =
  { id = i; name = "row"; score = float_of_int i *. 0.5; active = i mod 2 = 0;
    parent = (if i mod 2 = 1 then Some (i - 1) else None) }

let sum_rows name make n () =
  let t0 = now () in
  let sum_ids (row : Lwt_rust_testlib.scan_row) acc = acc + row.id in
  let got = Lwt_main.run (Lwt_stream.fold sum_ids (make n) 0) in
  let seconds = now () -. t0 in
  expect name ~got ~want:(n * (n - 1) / 2);
  seconds

let stream_100k_rows n = sum_rows "stream_100k_rows" Lwt_rust_testlib.scan_rows n

(* What OCaml alone pays for what a Rust stream does: an [Lwt_stream.from] (a promise per item,
   as the bridge's OCaml side) producing each value on demand (a fresh row allocated per
   read, as the bridge's conversion does), against [Lwt_stream.of_list] of values built
   before. *)
let counting make =
  let next = ref 0 in
  fun n ->
    next := 0;
    Lwt_stream.from (fun () ->
        let i = !next in
        if i >= n then Lwt.return_none
        else begin
          next := i + 1;
          Lwt.return (Some (make i))
        end)

let from_100k_ints n = sum_items "from_100k_ints" (counting Fun.id) n
let from_100k_rows n = sum_rows "from_100k_rows" (counting scan_row) n

let of_list_100k_rows n =
  let rows = List.init n scan_row in
  sum_rows "of_list_100k_rows" (fun _ -> Lwt_stream.of_list rows) n

(* The other direction: Rust reads an OCaml [Lwt_stream.of_list] to its end. *)
let ocaml_stream_items n =
  let items = List.init n Fun.id in
  fun () ->
    let got, seconds = timed_run (fun () -> Demo_stubs.sum_stream (Lwt_stream.of_list items)) in
    expect "ocaml_stream_items" ~got ~want:(n * (n - 1) / 2);
    seconds

(* Objects (#[lwt_rust::object]): a ready async method, as [call_ready]; and [n] objects
   alive at once, against [n] OCaml records holding the same two ints. *)
let object_method_ready n () =
  let adder = Lwt_rust_testlib.Adder.create () in
  let seconds = sum_loop "object_method_ready" (fun i -> Lwt_rust_testlib.Adder.add adder i 1) n () in
  Lwt_rust_testlib.Adder.close adder;
  seconds

type pair = { a : int; b : int }

(* Besides the time, prints the OCaml heap each value takes (live words, counted outside the
   timing): the peak RSS growth of later repetitions misses the OCaml heap, which keeps the
   room the first one made (compaction does not give all of it back). *)
let live_at_once name make sum n () =
  Gc.full_major ();
  let live_before = (Gc.stat ()).live_words in
  let t0 = now () in
  let values = Array.init n (fun i -> make i) in
  let got = Array.fold_left (fun acc v -> acc + sum v) 0 values in
  let seconds = now () -. t0 in
  let live_after = (Gc.stat ()).live_words in
  Printf.eprintf " [%s: OCaml heap %.1f B per value, array slot included]%!" name
    (float_of_int (8 * (live_after - live_before)) /. float_of_int n);
  ignore (Sys.opaque_identity values);
  expect name ~got ~want:(n * (n - 1));
  seconds

let objects_1m =
  live_at_once "objects_1m"
    (fun i -> Lwt_rust_testlib.Pair.create i i)
    Lwt_rust_testlib.Pair.sum

let records_1m = live_at_once "records_1m" (fun i -> { a = i; b = i }) (fun r -> r.a + r.b)

let run_all () =
  let s = sizes in
  let pause_loop =
    run_row ~name:"lwt_pause_loop" ~n:s.pause ~ops:s.pause
      ~note:"pure OCaml: Lwt.pause () >>= loop, in one Lwt_main.run" (lwt_pause_loop s.pause)
  in
  let callback =
    run_row ~bridge:true ~name:"callback_loop_pause" ~n:s.pause ~ops:s.pause
      ~paired:pause_loop ~target:1.3
      ~note:"one Rust task calls an OCaml closure returning Lwt.pause () and awaits it, N times"
      (callback_loop_pause s.pause)
  in
  let sync =
    run_row ~name:"external_sync" ~n:s.sync ~ops:s.sync
      ~note:"Lwt.return (add_sync i 1) >>= loop; add_sync is a [@@noalloc] Rust external"
      (external_sync s.sync)
  in
  let ready =
    run_row ~bridge:true ~name:"call_ready" ~n:s.ready ~ops:s.ready ~paired:sync
      ~target:2.5
      ~note:"add_ready i 1 >>= loop: a Rust async fn ready on its first poll (no task)"
      (call_ready s.ready)
  in
  let ready_vs_detach =
    { ready with name = "call_ready_vs_detach"; baseline = Some "preemptive_detach"; paired_ratios = [];
      target = Some 0.02; note = "the call_ready measurement, against Lwt_preemptive.detach" }
  in
  let detach =
    run_row ~name:"preemptive_detach" ~n:s.detach ~ops:s.detach
      ~note:"Lwt_preemptive.detach (fun i -> add_sync i 1) i >>= loop, default pool"
      (preemptive_detach s.detach)
  in
  let blocking =
    run_row ~bridge:true ~name:"blocking_call" ~n:s.detach ~ops:s.detach ~paired:detach
      ~target:0.2
      ~note:
        "blocking_add i 1 >>= loop: a #[lwt_rust::func(blocking)] fn, its body on the blocking \
         pool (the library's own), one call in flight at a time"
      (blocking_call s.detach)
  in
  let detach_in_flight =
    run_row ~name:"preemptive_detach_100" ~n:s.detach ~ops:s.detach
      ~note:"Lwt_preemptive.detach (fun i -> add_sync i 1) i, 100 calls in flight at a time"
      (preemptive_detach_in_flight s.detach)
  in
  let blocking_in_flight =
    run_row ~bridge:true ~name:"blocking_call_100" ~n:s.detach ~ops:s.detach
      ~paired:detach_in_flight ~target:0.2
      ~note:"blocking_add i 1, 100 calls in flight at a time"
      (blocking_call_in_flight s.detach)
  in
  let yield =
    run_row ~bridge:true ~name:"call_yield_once" ~n:s.yield ~ops:s.yield ~paired:pause_loop
      ~target:0.5
      ~note:
        "add_yield i 1 >>= loop: pending for two polls, wakes itself: one task per call, \
         completed by a same-thread drain"
      (call_yield_once s.yield)
  in
  let run_in_main =
    let calls = s.threads * s.per_thread in
    run_row ~name:"preemptive_run_in_main" ~n:calls ~ops:calls
      ~note:
        (Printf.sprintf
           "%d OCaml systhreads x %d calls of Lwt_preemptive.run_in_main (fun () -> \
            Lwt.return_unit); ns per call (wall time / calls)"
           s.threads s.per_thread)
      (preemptive_run_in_main ~threads:s.threads ~per_thread:s.per_thread)
  in
  let cross_thread =
    let tasks = s.threads * s.spawn_per_thread in
    run_row ~bridge:true ~name:"cross_thread_spawn" ~n:tasks ~ops:tasks
      ~paired:run_in_main ~target:0.035
      ~note:
        (Printf.sprintf
           "%d Rust threads each hand %d tiny tasks to the OCaml thread (Handle::spawn, \
            awaiting room), then await every result; ns per task (wall time / tasks)"
           s.threads s.spawn_per_thread)
      (cross_thread_spawn ~threads:s.threads ~per_thread:s.spawn_per_thread)
  in
  let small =
    run_row ~track_rss:true ~bridge:true ~name:"concurrent_10k" ~n:s.small ~ops:s.small
      ~note:
        "N tasks alive at once (Demo_stubs.echo of Lwt.wait promises), all resolved, all \
         awaited; ns per task"
      (concurrent "concurrent_10k" s.small)
  in
  let large =
    run_row ~track_rss:true ~bridge:true ~name:"concurrent_1m" ~n:s.large ~ops:s.large
      ~paired:small ~target:1.5 ~rss_target:500
      ~note:
        "N tasks alive at once (Demo_stubs.echo of Lwt.wait promises), all resolved, all \
         awaited; ns per task; RSS growth = peak RSS (VmHWM) minus RSS before, per task, \
         harness arrays and promises included"
      (concurrent "concurrent_1m" s.large)
  in
  let lwt_map_small =
    run_row ~track_rss:true ~name:"lwt_map_10k" ~n:s.small ~ops:s.small
      ~note:"pure Lwt reference for concurrent_10k (as lwt_map_1m)"
      (lwt_map_concurrent "lwt_map_10k" s.small)
  in
  let lwt_map_large =
    run_row ~track_rss:true ~name:"lwt_map_1m" ~n:s.large ~ops:s.large ~paired:lwt_map_small
      ~note:
        "pure Lwt reference for concurrent_1m: the same harness with Lwt.map Fun.id in place \
         of echo; ns per task; RSS growth per task"
      (lwt_map_concurrent "lwt_map_1m" s.large)
  in
  let of_list =
    run_row ~name:"lwt_stream_of_list" ~n:s.items ~ops:s.items
      ~note:"pure OCaml: Lwt_stream.fold (+) over Lwt_stream.of_list, ns per item"
      (lwt_stream_of_list s.items)
  in
  let rust_items =
    run_row ~bridge:true ~name:"stream_items" ~n:s.items ~ops:s.items
      ~paired:of_list
      ~note:
        "Rust -> OCaml: Lwt_stream.fold (+) over a Rust stream (count_stream: \
         futures::stream::iter, every item ready: one pull per batch of 64); ns per item"
      (stream_items s.items)
  in
  let of_list_ints =
    run_row ~name:"of_list_100k_ints" ~n:s.scan ~ops:s.scan
      ~note:"pure OCaml reference for stream_100k_ints: Lwt_stream.of_list; ns per item"
      (of_list_100k_ints s.scan)
  in
  let scan_ints =
    run_row ~bridge:true ~name:"stream_100k_ints" ~n:s.scan ~ops:s.scan ~paired:of_list_ints
      ~target:1.3
      ~note:"Rust -> OCaml: 100k ready ints (count_stream), read in batches; ns per item"
      (stream_100k_ints s.scan)
  in
  let of_list_rows =
    run_row ~name:"of_list_100k_rows" ~n:s.scan ~ops:s.scan
      ~note:
        "pure OCaml reference for stream_100k_rows: Lwt_stream.of_list of the same records; ns \
         per row"
      (of_list_100k_rows s.scan)
  in
  let scan_rows =
    run_row ~bridge:true ~name:"stream_100k_rows" ~n:s.scan ~ops:s.scan ~paired:of_list_rows
      ~note:
        "Rust -> OCaml: 100k ready rows of a 5-field #[lwt_rust::record] (int, string, float, \
         bool, int option), read in batches; ns per row"
      (stream_100k_rows s.scan)
  in
  let from_ints =
    run_row ~name:"from_100k_ints" ~n:s.scan ~ops:s.scan ~paired:of_list_ints
      ~note:
        "pure OCaml: Lwt_stream.from counting 0 .. n-1 (a promise per item, as a Rust stream's \
         reads), against of_list_100k_ints; ns per item"
      (from_100k_ints s.scan)
  in
  let from_rows =
    run_row ~name:"from_100k_rows" ~n:s.scan ~ops:s.scan ~paired:of_list_rows
      ~note:
        "pure OCaml: Lwt_stream.from making each row as it is read (a promise and a fresh row \
         per item, as a Rust stream's reads), against of_list_100k_rows; ns per row"
      (from_100k_rows s.scan)
  in
  let ocaml_items =
    run_row ~bridge:true ~name:"ocaml_stream_items" ~n:s.items ~ops:s.items
      ~paired:of_list
      ~note:"OCaml -> Rust: a Rust task sums an Lwt_stream.of_list (OCamlStream); ns per item"
      (ocaml_stream_items s.items)
  in
  let method_ready =
    run_row ~bridge:true ~name:"object_method_ready" ~n:s.ready ~ops:s.ready ~paired:ready
      ~target:1.2
      ~note:
        "Adder.add adder i 1 >>= loop: a ready async method of a Rust object, against the free \
         function of call_ready"
      (object_method_ready s.ready)
  in
  let tuple_ready =
    run_row ~bridge:true ~name:"tuple_ready" ~n:s.ready ~ops:s.ready ~paired:ready
      ~note:
        "tuple_ready (i, name, Some email, true) >>= loop: a ready async fn taking and returning \
         a 4-tuple (the data of record_ready)"
      (Types.tuple_ready s.ready)
  in
  let record_ready =
    run_row ~bridge:true ~name:"record_ready" ~n:s.ready ~ops:s.ready ~paired:tuple_ready
      ~target:1.5
      ~note:
        "record_ready { id; name; email; admin } >>= loop: a #[lwt_rust::record] of 4 fields \
         both ways, against the same data as a tuple"
      (Types.record_ready s.ready)
  in
  let variant_ready =
    run_row ~bridge:true ~name:"variant_ready" ~n:s.ready ~ops:s.ready ~paired:tuple_ready
      ~target:1.5
      ~note:
        "variant_ready (Get k | Set (k, i) | Quit, in turn) >>= loop: a #[lwt_rust::variant] of \
         3 constructors both ways, against tuple_ready"
      (Types.variant_ready s.ready)
  in
  let rust_error =
    run_row ~bridge:true ~name:"rust_error" ~n:s.yield ~ops:s.yield
      ~note:"find_user_text (-i) caught: a ready async fn failing with a Display error (Rust_error)"
      (Types.rust_error s.yield)
  in
  let typed_error =
    run_row ~bridge:true ~name:"typed_error" ~n:s.yield ~ops:s.yield ~paired:rust_error
      ~note:
        "find_user (-i) caught as Db_error (NotFound k): a ready async fn failing with a \
         #[lwt_rust::error] enum, its own exception carrying the OCaml value"
      (Types.typed_error s.yield)
  in
  let records =
    run_row ~track_rss:true ~name:"records_1m" ~n:s.large ~ops:s.large
      ~note:"pure OCaml reference for objects_1m: N records { a : int; b : int } in an array"
      (records_1m s.large)
  in
  let objects =
    run_row ~track_rss:true ~bridge:true ~name:"objects_1m" ~n:s.large ~ops:s.large
      ~paired:records
      ~note:
        "N Rust objects (Pair.create i i: two i64) alive at once in an array, each read once \
         with a sync method; ns per object; RSS growth per object (custom block, table entry, \
         Arc allocation)"
      (objects_1m s.large)
  in
  List.filter
    (fun row -> selected row.name)
    [ pause_loop; callback; sync; ready; ready_vs_detach; detach; blocking;
      detach_in_flight; blocking_in_flight; yield; cross_thread; run_in_main;
      small; large; lwt_map_small; lwt_map_large; of_list; rust_items; ocaml_items; of_list_ints;
      scan_ints; of_list_rows; scan_rows; from_ints; from_rows; method_ready;
      records; objects; tuple_ready; record_ready; variant_ready; rust_error; typed_error ]

(* {1 Reporting} *)

let median l =
  let a = Array.of_list l in
  Array.sort compare a;
  let k = Array.length a in
  if k mod 2 = 1 then a.(k / 2) else (a.((k / 2) - 1) +. a.(k / 2)) /. 2.

let ns_samples row = List.map (fun s -> s.seconds *. 1e9 /. float_of_int row.ops) row.samples

type summary = { med : float; lo : float; hi : float }

let summary row =
  match ns_samples row with
  | [] -> None
  | ns ->
    Some { med = median ns; lo = List.fold_left min infinity ns; hi = List.fold_left max 0. ns }

let find rows name = List.find_opt (fun r -> r.name = name) rows

let baseline_summary rows row =
  match row.baseline with None -> None | Some b -> Option.bind (find rows b) summary

(* The row's median over its baseline's median. *)
let ratio_of_medians rows row =
  match (summary row, baseline_summary rows row) with
  | Some s, Some b when b.med > 0. -> Some (s.med /. b.med)
  | _ -> None

(* The median of the paired ratios when the row has them (see [run_row]). *)
let ratio rows row =
  match row.paired_ratios with [] -> ratio_of_medians rows row | rs -> Some (median rs)

(* Per operation, over all repetitions. *)
let counters_per_op row =
  let total = List.fold_left (fun acc s -> counters_sum acc s.counters) zero_counters row.samples in
  let ops = float_of_int (row.ops * List.length row.samples) in
  let per x = float_of_int x /. ops in
  ( per total.spawned, per total.wakes, per total.notifications, per total.local_drains,
    per total.drains )

let rss_per_task row =
  match List.filter_map (fun s -> s.rss_growth) row.samples with
  | [] -> None
  | growths ->
    let per g = float_of_int g /. float_of_int row.n in
    Some (median (List.map per growths), List.fold_left max 0. (List.map per growths))

let fmt_ns x = if x < 100. then Printf.sprintf "%.1f" x else Printf.sprintf "%.0f" x
let fmt_ratio x = Printf.sprintf "%.3g" x
let fmt_target t = "≤ " ^ Printf.sprintf "%g" t

let machine () =
  let model = ref None and cores = ref 0 in
  (match open_in "/proc/cpuinfo" with
   | exception Sys_error _ -> ()
   | ic ->
     Fun.protect ~finally:(fun () -> close_in_noerr ic) @@ fun () ->
     let rec loop () =
       match input_line ic with
       | exception End_of_file -> ()
       | line ->
         (match String.index_opt line ':' with
          | Some i ->
            let key = String.trim (String.sub line 0 i) in
            let value = String.trim (String.sub line (i + 1) (String.length line - i - 1)) in
            if key = "processor" then incr cores
            else if key = "model name" && !model = None then model := Some value
          | None -> ());
         loop ()
     in
     loop ());
  Printf.sprintf "%s, %d cores" (Option.value !model ~default:"unknown CPU") !cores

let print_tables rows =
  let machine = machine () in
  Printf.printf "\n%s; OCaml %s; %s mode, median of %d repetitions%s\n\n" machine
    Sys.ocaml_version mode_name sizes.reps
    (if mode = Smoke then " (sizes far too small for the timings to mean anything)" else "");
  Printf.printf "Ready calls build their Lwt.return block directly: %b.\n"
    (Demo_stubs.direct_return ());
  print_string
    "Ratio: the median, over the row's repetitions, of its ns/op over that of a repetition of \
     its baseline run just before it\n(call_ready_vs_detach: the medians' ratio).\n\n";
  print_string
    "| scenario | N | ns/op (median) | min | max | baseline | baseline ns/op | ratio (paired) | target |\n\
     |---|---:|---:|---:|---:|---|---:|---:|---|\n";
  List.iter
    (fun row ->
      let target =
        match (row.target, ratio rows row) with
        | Some t, Some r ->
          Printf.sprintf "%s (%s)" (fmt_target t) (if r <= t then "met" else "missed")
        | Some t, None -> fmt_target t
        | None, _ -> ""
      in
      let baseline_name = Option.value row.baseline ~default:"—" in
      let baseline_ns =
        match baseline_summary rows row with Some b -> fmt_ns b.med | None -> "—"
      in
      match (row.skipped, summary row) with
      | Some _, _ | None, None ->
        let reason = Option.value row.skipped ~default:"no samples" in
        Printf.printf "| %s | %d | skipped: %s | | | %s | %s | — | %s |\n" row.name row.n reason
          baseline_name baseline_ns target
      | None, Some s ->
        Printf.printf "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n" row.name row.n
          (fmt_ns s.med) (fmt_ns s.lo) (fmt_ns s.hi) baseline_name baseline_ns
          (match ratio rows row with Some r -> fmt_ratio r | None -> "—")
          target)
    rows;
  print_string
    "\nBridge counters (Lwt_rust.stats), per operation:\n\n\
     | scenario | tasks spawned | wakes | eventfd notifications | local drains | drains \
     | ops per drain | eventfd notifications per drain | RSS growth per task (median, max) |\n\
     |---|---:|---:|---:|---:|---:|---:|---:|---|\n";
  List.iter
    (fun row ->
      let spawned, wakes, notifications, local_drains, drains = counters_per_op row in
      if row.skipped = None && row.bridge && row.name <> "call_ready_vs_detach" then
        Printf.printf "| %s | %.3g | %.3g | %.3g | %.3g | %.3g | %s | %s | %s |\n" row.name spawned
          wakes notifications local_drains drains
          (if drains > 0. then Printf.sprintf "%.3g" (1. /. drains) else "—")
          (if drains > 0. then Printf.sprintf "%.3g" (notifications /. drains) else "—")
          (match rss_per_task row with
           | Some (med, hi) ->
             Printf.sprintf "%.0f B, %.0f B%s" med hi
               (match row.rss_target with
                | Some t -> Printf.sprintf " (target ≤ %d B)" t
                | None -> "")
           | None -> "—"))
    rows;
  let measured = List.filter (fun row -> rss_per_task row <> None) rows in
  if measured <> [] then begin
    print_string
      "\nMemory: peak RSS growth per task (harness arrays and promises included):\n\n\
       | scenario | median | max | target |\n|---|---:|---:|---|\n";
    List.iter
      (fun row ->
        match rss_per_task row with
        | Some (med, hi) ->
          Printf.printf "| %s | %.0f B | %.0f B | %s |\n" row.name med hi
            (match row.rss_target with
             | Some t -> Printf.sprintf "≤ %d B (%s)" t (if med <= float t then "met" else "missed")
             | None -> "")
        | None -> ())
      measured
  end;
  print_newline ();
  machine

(* {2 JSON} *)

let json_string s =
  let b = Buffer.create (String.length s + 2) in
  Buffer.add_char b '"';
  String.iter
    (function
      | '"' -> Buffer.add_string b "\\\""
      | '\\' -> Buffer.add_string b "\\\\"
      | '\n' -> Buffer.add_string b "\\n"
      | c when Char.code c < 0x20 -> Buffer.add_string b (Printf.sprintf "\\u%04x" (Char.code c))
      | c -> Buffer.add_char b c)
    s;
  Buffer.add_char b '"';
  Buffer.contents b

let json_float x =
  if Float.is_finite x then Printf.sprintf "%.6g" x else "null"

let json_opt f = function Some x -> f x | None -> "null"

let json_row rows row =
  let fields = ref [] in
  let add k v = fields := (k, v) :: !fields in
  let s = summary row in
  add "name" (json_string row.name);
  add "n" (string_of_int row.n);
  add "ops_per_repetition" (string_of_int row.ops);
  add "ns_per_op" (json_opt (fun s -> json_float s.med) s);
  add "min" (json_opt (fun s -> json_float s.lo) s);
  add "max" (json_opt (fun s -> json_float s.hi) s);
  add "baseline" (json_opt json_string row.baseline);
  add "baseline_ns_per_op" (json_opt (fun b -> json_float b.med) (baseline_summary rows row));
  add "ratio" (json_opt json_float (ratio rows row));
  add "ratio_of_medians" (json_opt json_float (ratio_of_medians rows row));
  if row.paired_ratios <> [] then
    add "paired_ratios" ("[" ^ String.concat ", " (List.map json_float row.paired_ratios) ^ "]");
  add "target" (json_opt json_float row.target);
  add "note" (json_string row.note);
  (match row.skipped with Some reason -> add "skipped" (json_string reason) | None -> ());
  if row.samples <> [] then begin
    add "samples_ns_per_op" ("[" ^ String.concat ", " (List.map json_float (ns_samples row)) ^ "]");
    let spawned, wakes, notifications, local_drains, drains = counters_per_op row in
    add "stats_per_op"
      (Printf.sprintf
         "{\"spawned\": %s, \"wakes\": %s, \"notifications\": %s, \"local_drains\": %s, \
          \"drains\": %s, \"notifications_per_drain\": %s}"
         (json_float spawned) (json_float wakes) (json_float notifications)
         (json_float local_drains) (json_float drains)
         (if drains > 0. then json_float (notifications /. drains) else "null"))
  end;
  (match rss_per_task row with
   | Some (med, hi) ->
     add "rss_bytes_per_task" (json_float med);
     add "rss_bytes_per_task_max" (json_float hi)
   | None -> ());
  (match row.rss_target with
   | Some t -> add "rss_target_bytes_per_task" (string_of_int t)
   | None -> ());
  "    {"
  ^ String.concat ", " (List.rev_map (fun (k, v) -> json_string k ^ ": " ^ v) !fields)
  ^ "}"

let write_json path ~machine rows =
  let text =
    Printf.sprintf
      "{\n  \"machine\": %s,\n  \"ocaml\": %s,\n  \"mode\": %s,\n  \"repetitions\": %d,\n  \
       \"scenarios\": [\n%s\n  ]\n}\n"
      (json_string machine) (json_string Sys.ocaml_version) (json_string mode_name) sizes.reps
      (String.concat ",\n" (List.map (json_row rows) rows))
  in
  match open_out path with
  | exception Sys_error msg -> Printf.eprintf "bench: cannot write the JSON: %s\n%!" msg
  | oc ->
    output_string oc text;
    close_out oc;
    Printf.eprintf "bench: wrote %s\n%!" path

let expected_rows =
  [ "lwt_pause_loop"; "callback_loop_pause"; "external_sync"; "call_ready";
    "call_ready_vs_detach"; "preemptive_detach"; "call_yield_once"; "cross_thread_spawn";
    "preemptive_run_in_main"; "concurrent_10k"; "concurrent_1m"; "lwt_map_10k"; "lwt_map_1m"; "lwt_stream_of_list";
    "stream_items"; "ocaml_stream_items"; "of_list_100k_ints"; "stream_100k_ints";
    "of_list_100k_rows"; "stream_100k_rows" ]

let () =
  Lwt_rust.init ();
  match run_all () with
  | exception Inconsistent msg ->
    Printf.eprintf "\nbench: inconsistent result: %s\n%!" msg;
    exit 1
  | rows ->
    let machine = print_tables rows in
    Option.iter (fun path -> write_json path ~machine rows) json_path;
    let missing =
      List.filter
        (fun name ->
          match find rows name with
          | Some row -> row.skipped = None && row.samples = []
          | None -> true)
        expected_rows
    in
    if only = None && missing <> [] then begin
      Printf.eprintf "bench: scenarios that did not run: %s\n%!" (String.concat ", " missing);
      exit 1
    end;
    if mode = Smoke then
      Printf.printf "bench --smoke: %d scenarios ran (%d skipped), every result consistent\n"
        (List.length (List.filter (fun r -> r.skipped = None) rows))
        (List.length (List.filter (fun r -> r.skipped <> None) rows))
