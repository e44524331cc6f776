(* Property: under random interleavings of resolve / reject / cancel / drop, in both
   directions, with values of random types,
   - every promise returned by Rust settles exactly once, with the expected outcome (at least
     once: [Lwt.on_any] sees it; at most once: the library's test hook reports a second
     settlement, which Lwt refuses and the bridge otherwise ignores);
   - every Rust future is dropped exactly once;
   - live tasks, live roots and live promises return to 0. *)

open Lwt.Infix
open Demo_stubs

exception Boom of int

(* What the test does to the promise(s) a Rust task awaits. *)
type action =
  | Resolve of int  (** fulfil with the n-th random value *)
  | Reject of int  (** reject with [Boom n] *)
  | Cancel_inner  (** cancel the awaited Lwt.task promise itself *)
  | Cancel_outer  (** cancel the promise Rust returned (drops the Rust future) *)

type case =
  | Echo of action  (** Rust awaits one OCaml promise (OCaml → Rust) *)
  | Race of bool * action
      (** Rust awaits the first of two promises and drops the loser (Rust → OCaml drop);
          the action applies to the first promise if [true] *)
  | Typed of int * bool  (** a typed round trip of the n-th random value, yielding or not *)

(* Values of several OCaml types, compared structurally after the round trip. *)
type value =
  | V_int of int
  | V_string of string
  | V_floats of float array
  | V_nested of (int * string list) option list
  | V_result of (int, string) result

let gen_value =
  let open QCheck.Gen in
  oneof
    [
      map (fun i -> V_int i) int;
      map (fun s -> V_string s) (string_size ~gen:printable (0 -- 40));
      map (fun a -> V_floats a) (array_size (0 -- 8) float);
      map
        (fun l -> V_nested l)
        (list_size (0 -- 4) (Qcheck_compat.option (pair Qcheck_compat.nat_small (list_size (0 -- 3) (string_size ~gen:printable (0 -- 5))))));
      map2
        (fun ok (i, s) -> V_result (if ok then Ok i else Error s))
        bool
        (pair Qcheck_compat.nat_small (string_size ~gen:printable (0 -- 5)));
    ]

let gen_action =
  let open QCheck.Gen in
  Qcheck_compat.weighted
    [
      (4, map (fun n -> Resolve n) Qcheck_compat.nat_small);
      (3, map (fun n -> Reject n) Qcheck_compat.nat_small);
      (2, return Cancel_inner);
      (2, return Cancel_outer);
    ]

let gen_case =
  let open QCheck.Gen in
  Qcheck_compat.weighted
    [
      (4, map (fun a -> Echo a) gen_action);
      (3, map2 (fun first a -> Race (first, a)) bool gen_action);
      (2, map2 (fun n y -> Typed (n, y)) Qcheck_compat.nat_small bool);
    ]

(* A scenario: cases, each acted upon after a random number of Lwt.pause. *)
let gen_scenario =
  let open QCheck.Gen in
  pair (list_size (1 -- 40) (pair gen_case (0 -- 5))) (array_size (return 64) gen_value)

let show_action = function
  | Resolve n -> Printf.sprintf "resolve #%d" n
  | Reject n -> Printf.sprintf "reject Boom %d" n
  | Cancel_inner -> "cancel the awaited promise"
  | Cancel_outer -> "cancel Rust's promise"

let show_case = function
  | Echo a -> "echo: " ^ show_action a
  | Race (first, a) -> Printf.sprintf "race (act on %s): %s" (if first then "first" else "second") (show_action a)
  | Typed (n, y) -> Printf.sprintf "typed #%d%s" n (if y then ", yielding" else "")

let show_state p =
  match Lwt.state p with
  | Lwt.Return _ -> "resolved"
  | Lwt.Fail e -> "failed with " ^ Printexc.to_string e
  | Lwt.Sleep -> "pending"

let print_scenario (cases, _) =
  String.concat "; "
    (List.map (fun (c, d) -> Printf.sprintf "%s after %d pauses" (show_case c) d) cases)

let typed_round_trip value yield_first : bool Lwt.t =
  match value with
  | V_int i -> echo_int i yield_first >|= ( = ) i
  | V_string s -> echo_string s yield_first >|= String.equal s
  | V_floats a ->
    echo_float_array a yield_first >|= fun b ->
    (* Float.equal: nan equals nan, as QCheck generates nans. *)
    Array.length a = Array.length b && Array.for_all2 Float.equal a b
  | V_nested l -> echo_nested l yield_first >|= ( = ) l
  | V_result r -> echo_result r yield_first >|= ( = ) r

let rec pauses n = if n = 0 then Lwt.return_unit else Lwt.pause () >>= fun () -> pauses (n - 1)

let all_settled promises = List.for_all (fun p -> Lwt.state p <> Lwt.Sleep) promises

(* Settlements of a promise that had already settled, seen where Lwt refuses them (inside the
   library, LWT_RUST_TEST_SETTLES, set below): reported as asynchronous exceptions. *)
let second_settlements = ref 0

let property (cases, values) =
  second_settlements := 0;
  let value n = values.(n mod Array.length values) in
  let boom = Array.init 64 (fun i -> Boom i) in
  let dropped_before = dropped_futures () in
  let guarded = ref 0 in
  (* Each case gives: the promise Rust returned, a checker of its outcome, and the action. *)
  let prepared =
    List.map
      (fun (case, delay) ->
        let settled = ref 0 in
        let watch p = Lwt.on_any p (fun _ -> incr settled) (fun _ -> incr settled) in
        let act_on (inner, u) outer = function
          | Resolve n -> Lwt.wakeup_later u (value n)
          | Reject n -> Lwt.wakeup_later_exn u boom.(n mod 64)
          | Cancel_inner -> Lwt.cancel inner
          | Cancel_outer -> Lwt.cancel outer
        in
        let expect action (result : value Lwt.t) =
          match (action, Lwt.state result) with
          (* [compare], not [=]: the values hold floats, and QCheck generates nans. *)
          | Resolve n, Lwt.Return v -> compare v (value n) = 0
          | Reject n, Lwt.Fail e -> e == boom.(n mod 64)
          | (Cancel_inner | Cancel_outer), Lwt.Fail Lwt.Canceled -> true
          | _ -> false
        in
        match case with
        | Echo action ->
          incr guarded;
          let inner = Lwt.task () in
          let outer = guarded_echo (fst inner) in
          watch outer;
          ( outer |> Lwt.map ignore,
            settled,
            (fun () -> expect action outer || (Printf.eprintf "%s: %s\n" (show_case case) (show_state outer); false)),
            fun () -> pauses delay >|= fun () -> act_on inner outer action )
        | Race (first, action) ->
          incr guarded;
          let a = Lwt.task () and b = Lwt.task () in
          let outer = first_of (fst a) (fst b) in
          watch outer;
          let chosen, other = if first then (a, b) else (b, a) in
          let loser_cancelled () =
            (* Rust dropped the loser, or the whole future was dropped: either way the
               other (cancelable) promise was cancelled. *)
            Lwt.state (fst other) = Lwt.Fail Lwt.Canceled
          in
          ( outer |> Lwt.map ignore,
            settled,
            (fun () ->
              (expect action outer && loser_cancelled ())
              || (Printf.eprintf "%s: %s, loser %s\n" (show_case case) (show_state outer) (show_state (fst other)); false)),
            fun () -> pauses delay >|= fun () -> act_on chosen outer action )
        | Typed (n, yield_first) ->
          let ok = ref false in
          let p = typed_round_trip (value n) yield_first >|= fun b -> ok := b in
          watch p;
          ( p,
            settled,
            (fun () -> !ok || (Printf.eprintf "%s: %s\n" (show_case case) (show_state p); false)),
            fun () -> Lwt.return_unit ))
      cases
  in
  Lwt_main.run (Lwt.join (List.map (fun (_, _, _, act) -> act ()) prepared));
  (* Let every task finish: wait until all settled, with a bound so a bug fails, not hangs. *)
  let results = List.map (fun (p, _, _, _) -> p) prepared in
  let rec settle n =
    if all_settled results || n = 0 then Lwt.return_unit
    else Lwt.pause () >>= fun () -> settle (n - 1)
  in
  Lwt_main.run (settle 10_000 >>= fun () -> pauses 3);
  Gc.full_major ();
  let s = Lwt_rust.stats () in
  (* A second settlement is refused by Lwt, so [settled] above cannot see it: the library's
     test hook reports it (see [second_settlements]). *)
  if !second_settlements <> 0 then
    QCheck.Test.fail_reportf "%d promises settled twice by Rust" !second_settlements;
  List.iteri
    (fun i (_, settled, check, _) ->
      if !settled <> 1 then QCheck.Test.fail_reportf "case %d settled %d times" i !settled;
      if not (check ()) then QCheck.Test.fail_reportf "case %d: unexpected outcome" i)
    prepared;
  if dropped_futures () - dropped_before <> !guarded then
    QCheck.Test.fail_reportf "%d Rust futures dropped, expected %d"
      (dropped_futures () - dropped_before) !guarded;
  if s.live_tasks <> 0 || s.live_roots <> 0 || s.live_promises <> 0 then
    QCheck.Test.fail_reportf "leak: %d tasks, %d roots, %d promises live" s.live_tasks
      s.live_roots s.live_promises;
  true

let () =
  Unix.putenv "LWT_RUST_TEST_SETTLES" "1";
  let previous_hook = !Lwt.async_exception_hook in
  (Lwt.async_exception_hook :=
     fun exn ->
       match exn with
       | Failure m when Support.contains m "settled twice" -> incr second_settlements
       | exn -> previous_hook exn);
  Lwt_rust.init ();
  let test =
    QCheck.Test.make ~name:"settle once, drop once, leak nothing" ~count:500
      (QCheck.make ~print:print_scenario gen_scenario)
      property
  in
  exit (QCheck_base_runner.run_tests ~verbose:false [ test ])
