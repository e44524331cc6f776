(* The OCaml blocks of docs/10-your-own-types.md, verbatim, run: the generated declarations match the
   first one (a signature the generated module must satisfy), and the example gives what the
   guide says. *)

(* The signature only states what the module has: nothing uses it through this view. *)
[@@@warning "-32"]

(* The declarations the guide shows (not indented: verbatim). *)
module type Generated = sig
type role =
  | Reader
  | Writer of string list
  | Admin of {
      until : float;
    }

type account = {
  id : int;
  login : string;
  role : role;
}

type store_error =
  | NoSuchAccount of int
  | LoginTaken of {
      login : string;
    }

exception Store_error of store_error

type accounts

module Accounts : sig
  type t = accounts

  val create : unit -> t
  val add : t -> string -> role -> account Lwt.t
  val find : t -> int -> (account, store_error) result
  val all : ?switch:Lwt_switch.t -> t -> account Lwt_stream.t
  val close : t -> unit
end
end

module _ : Generated = Lwt_rust_testlib

open Lwt.Syntax
open Lwt_rust_testlib

let accounts_demo () =
  let accounts = Accounts.create () in
  let* alice = Accounts.add accounts "alice" (Writer [ "sales" ]) in
  let* _bob = Accounts.add accounts "bob" (Admin { until = 1.9e9 }) in
  let* again =
    Lwt.catch
      (fun () -> Lwt.map (fun _ -> "added twice") (Accounts.add accounts "alice" Reader))
      (function
        | Store_error (LoginTaken { login }) -> Lwt.return (login ^ " is taken")
        | e -> Lwt.fail e)
  in
  let missing =
    match Accounts.find accounts 42 with
    | Ok account -> account.login
    | Error (NoSuchAccount id) -> Printf.sprintf "no account %d" id
    | Error (LoginTaken _) -> assert false
  in
  let+ everyone = Lwt_stream.to_list (Accounts.all accounts) in
  (alice.id, again, missing, List.map (fun account -> account.login) everyone)

let () =
  let id, again, missing, logins = Lwt_main.run (accounts_demo ()) in
  Alcotest.run "types_doc"
    [ ( "guide",
        [ Alcotest.test_case "the example of docs/10-your-own-types.md" `Quick (fun () ->
              Alcotest.(check int) "alice's key" 1 id;
              Alcotest.(check string) "a typed error, matched" "alice is taken" again;
              Alcotest.(check string) "an Error value" "no account 42" missing;
              Alcotest.(check (list string)) "the stream of records" [ "alice"; "bob" ] logins)
        ] ) ]
