(* The callback loop as a program: a Rust task calls an OCaml closure returning an Lwt
   promise, awaits it, and loops; an Lwt timer ticks alongside. Prints progress and rates. *)

open Lwt.Infix

let time f =
  let t0 = Unix.gettimeofday () in
  let r = f () in
  (r, Unix.gettimeofday () -. t0)

let run_loop ~name ~n make_promise =
  let calls = ref 0 and ticks = ref 0 and stop = ref false in
  let rec ticker () =
    if !stop then Lwt.return_unit
    else Lwt_unix.sleep 0.01 >>= fun () -> incr ticks; ticker ()
  in
  let step = max 1 (n / 5) in
  let f () =
    incr calls;
    if !calls mod step = 0 then Printf.printf "  %s: %d / %d calls\n%!" name !calls n;
    make_promise ()
  in
  let result, seconds =
    time (fun () ->
        let ticker = ticker () in
        Lwt_main.run
          ( Demo_stubs.callback_loop f n >>= fun result ->
            stop := true;
            ticker >|= fun () -> result ))
  in
  Printf.printf "%s: the Rust task completed %d iterations (F ran %d times) in %.3f s: %.0f iterations/s; \
                 the 10 ms timer ticked %d times meanwhile\n%!"
    name result !calls seconds (float_of_int n /. seconds) !ticks

let many_tasks n =
  let pairs = Array.init n (fun _ -> Lwt.wait ()) in
  let (sum, seconds) =
    time (fun () ->
        let results = Array.map (fun (p, _) -> Demo_stubs.echo p) pairs in
        Array.iteri (fun i (_, u) -> Lwt.wakeup_later u i) pairs;
        Lwt_main.run (Lwt_list.fold_left_s (fun acc p -> p >|= ( + ) acc) 0 (Array.to_list results)))
  in
  Printf.printf "%d Rust tasks, each awaiting its own OCaml promise: sum %d (expected %d) in %.3f s\n%!"
    n sum (n * (n - 1) / 2) seconds

let () =
  Lwt_rust.init ();
  let n = try int_of_string Sys.argv.(1) with _ -> 100_000 in
  run_loop ~name:"Lwt.pause" ~n Lwt.pause;
  run_loop ~name:"Lwt_unix.sleep 0.001" ~n:1_000 (fun () -> Lwt_unix.sleep 0.001);
  many_tasks 10_000;
  let s = Lwt_rust.stats () in
  Printf.printf "stats: %d tasks spawned, %d wakes, %d notifications, %d drains (largest %d); \
                 live: %d tasks, %d roots\n"
    s.spawned s.wakes s.notifications s.drains s.max_batch s.live_tasks s.live_roots
