(* Soak: 10M wakes from 4 threads in one process (tasks handed to the OCaml thread through a
   Handle, in batches of 1000 per thread). RSS is sampled every second; its peak after a
   warm-up of three samples must stay within 5% of the warm-up's peak, and no task, root or
   promise may be left alive at the end. (A leak of even 8 bytes per wake would be 80 MB.)
   Usage: soak.exe [total wakes] (default 10_000_000). Exits 1 on failure. *)

open Lwt.Infix

let rss_kib () =
  let ic = open_in "/proc/self/status" in
  let rec find () =
    match input_line ic with
    | line when String.length line > 6 && String.sub line 0 6 = "VmRSS:" ->
      Scanf.sscanf line "VmRSS: %d kB" Fun.id
    | _ -> find ()
    | exception End_of_file -> 0
  in
  let kib = find () in
  close_in ic;
  kib

let () =
  let total = try int_of_string Sys.argv.(1) with _ -> 10_000_000 in
  let threads = 4 in
  Lwt_rust.init ();
  let samples = ref [] and finished = ref false in
  let rec sampler () =
    if !finished then Lwt.return_unit
    else
      Lwt_unix.sleep 1.0 >>= fun () ->
      let kib = rss_kib () in
      samples := kib :: !samples;
      Printf.printf "  RSS %d KiB after %d s\n%!" kib (List.length !samples);
      sampler ()
  in
  let t0 = Unix.gettimeofday () in
  let ran =
    Lwt_main.run
      (let sampling = sampler () in
       Demo_stubs.soak threads (total / threads) >>= fun ran ->
       finished := true;
       sampling >|= fun () -> ran)
  in
  let seconds = Unix.gettimeofday () -. t0 in
  Gc.full_major ();
  let s = Lwt_rust.stats () in
  let samples = List.rev !samples in
  Printf.printf "soak: %d tasks (wakes) from %d threads in %.1f s; %d notifications, %d drains\n"
    ran threads seconds s.notifications s.drains;
  let failures = ref [] in
  let fail fmt = Printf.ksprintf (fun m -> failures := m :: !failures) fmt in
  if ran <> (total / threads) * threads then fail "%d tasks ran, expected %d" ran total;
  (match samples with
   | a :: b :: c :: (_ :: _ as rest) ->
     let warm = max a (max b c) in
     let peak = List.fold_left max warm rest in
     let growth = float_of_int (peak - warm) /. float_of_int warm *. 100. in
     Printf.printf "RSS after warm-up %d KiB, peak afterwards %d KiB: growth %.2f%%\n" warm peak
       growth;
     if growth >= 5. && peak - warm >= 4096 then
       fail "RSS grew by %.2f%% (%d KiB) after warm-up" growth (peak - warm)
   | _ -> Printf.printf "too short to judge RSS growth (%d samples)\n" (List.length samples));
  if s.live_tasks <> 0 || s.live_roots <> 0 || s.live_promises <> 0 then
    fail "left alive: %d tasks, %d roots, %d promises" s.live_tasks s.live_roots s.live_promises;
  match !failures with
  | [] -> print_endline "soak: OK"
  | l ->
    List.iter (Printf.printf "soak: FAILED: %s\n") l;
    exit 1
