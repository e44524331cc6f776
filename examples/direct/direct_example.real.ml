(* Direct-style Lwt code (Lwt_direct) calling Rust async functions, and a Rust task awaiting a
   promise made by direct-style code. The Rust functions are the test crate's (testlib/):
   [add_yield a b] is an [async fn] that yields once and returns [a + b]; [tokio_sleep s]
   awaits a tokio timer; [echo p] is a Rust task awaiting the OCaml promise [p]. *)

open Lwt_direct

(* A direct-style loop: each [await] suspends this task (not the thread) until Rust answers. *)
let sum_with_rust n =
  let total = ref 0 in
  for i = 1 to n do
    total := await (Demo_stubs.add_yield !total i)
  done;
  !total

(* A timeout in direct style: the first of a tokio timer and a Rust computation. *)
let with_timeout seconds p =
  match await (Lwt.pick [ Lwt.map Option.some p; Lwt.map (fun _ -> None) (Demo_stubs.tokio_sleep seconds) ]) with
  | Some v -> Ok v
  | None -> Error "timed out"

let main () =
  (* Lwt_direct runs its tasks from Lwt_main's iteration hooks; a paused promise per turn
     keeps the engine from waiting for I/O once the last task has settled the run's promise
     (README, "OCaml 5", Lwt_direct). *)
  let run p =
    let rec tick () = if Lwt.is_sleeping p then Lwt.bind (Lwt.pause ()) tick else Lwt.return_unit in
    Lwt_main.run (Lwt.map fst (Lwt.both p (tick ())))
  in
  let sum = run (spawn (fun () -> sum_with_rust 1000)) in
  Printf.printf "direct_style: 1 + ... + 1000 through Rust = %d\n" sum;
  assert (sum = 500500);
  (* Rust awaits a promise that direct-style code settles. *)
  let made = spawn (fun () -> yield (); "made in direct style") in
  let echoed = run (Demo_stubs.echo made) in
  Printf.printf "direct_style: Rust echoed %S\n" echoed;
  assert (echoed = "made in direct style");
  (match run (spawn (fun () -> with_timeout 5.0 (Demo_stubs.add_yield 20 22))) with
  | Ok 42 -> print_endline "direct_style: answered before the timeout"
  | Ok n -> failwith (Printf.sprintf "direct_style: wrong answer %d" n)
  | Error e -> failwith ("direct_style: " ^ e));
  let s = Lwt_rust.stats () in
  assert (s.live_tasks = 0 && s.live_promises = 0);
  print_endline "direct_style: OK"
