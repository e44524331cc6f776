(* The few QCheck generators the property test needs, built from primitives every supported
   qcheck has under the same name: Debian 12's qcheck lacks [nat_small] and [oneof_weighted],
   and qcheck 0.91 (Debian forky) deprecates the [small_nat], [small_int], [frequency] and
   [opt] they replace (alerts are errors in dune's dev profile). *)

open QCheck.Gen

(** A small non-negative int, mostly below 100 (as [small_nat] / [nat_small]). *)
let nat_small : int t = oneof [ 0 -- 10; 0 -- 100; 0 -- 1000 ]

(** [weighted [(w, g); ...]] picks [g] with probability proportional to [w] (as [frequency]
    / [oneof_weighted]). The weights are positive. *)
let weighted (l : (int * 'a t) list) : 'a t =
  let total = List.fold_left (fun acc (w, _) -> acc + w) 0 l in
  let rec pick n = function
    | [ (_, g) ] -> g
    | (w, g) :: rest -> if n < w then g else pick (n - w) rest
    | [] -> invalid_arg "Qcheck_compat.weighted: no generator"
  in
  int_bound (total - 1) >>= fun n -> pick n l

(** [None] a quarter of the time, else [Some] of [g] (as [opt] / [option]). *)
let option (g : 'a t) : 'a option t =
  int_bound 3 >>= fun n -> if n = 0 then return None else map (fun x -> Some x) g
