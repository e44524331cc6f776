(* The OCaml type of a Rust type (tools/BINDGEN_SPEC.md, "Type mapping"), and how OCaml types
   are written. *)

open Rust_type

(** An OCaml type: a constructor applied to arguments, or a tuple. *)
type t = Con of t list * string | Tup of t list

(** A type standing alone (a tuple unparenthesised). *)
let rec type_string = function
  | Tup ts -> String.concat " * " (List.map atom_string ts)
  | Con _ as t -> atom_string t

(** A type where a tuple needs parentheses: a type argument, a tuple element, an arrow side. *)
and atom_string = function
  | Tup _ as t -> "(" ^ type_string t ^ ")"
  | Con ([], name) -> name
  | Con ([ t ], name) -> atom_string t ^ " " ^ name
  | Con (ts, name) -> "(" ^ String.concat ", " (List.map type_string ts) ^ ") " ^ name

(** The types a crate's records name besides the built-in ones. *)
type context = {
  objects : string list;  (** the Rust types of the crate's objects *)
  aliases : (string * string) list;
      (** Rust type name -> its OCaml type (#[lwt_rust::ocaml_type], and the data types) *)
}

let last segments = List.nth segments (List.length segments - 1)

let object_type ctx ~self name =
  if Some name = self then "t"
  else if List.mem name ctx.objects then Naming.object_type name
  else raise Bad_type

(** [of_rust ctx ~self t]: the OCaml type of [t], written inside the module of the object [self]
    (where that object is [t]); [Bad_type] if it has none. *)
let rec of_rust ctx ~self t =
  let go = of_rust ctx ~self in
  match t with
  | Tuple [] -> Con ([], "unit")
  | Tuple ts when List.length ts >= 2 && List.length ts <= 4 -> Tup (List.map go ts)
  | Tuple _ -> raise Bad_type
  | Path (segments, args) -> (
    match (last segments, args) with
    | "bool", [] -> Con ([], "bool")
    | "i64", [] -> Con ([], "int")
    | "i32", [] -> Con ([], "int32")
    | "Int64", [] -> Con ([], "int64")
    | "f64", [] -> Con ([], "float")
    | "String", [] -> Con ([], "string")
    | "Bytes", [] -> Con ([], "bytes")
    | "Option", [ a ] -> Con ([ go a ], "option")
    | "Result", [ a; e ] -> Con ([ go a; go e ], "result")
    | "Vec", [ a ] -> Con ([ go a ], "list")
    | "Array", [ a ] -> Con ([ go a ], "array")
    | "OCamlStream", [ a ] -> Con ([ go a ], "Lwt_stream.t")
    | "OCamlFn", [ a; b ] ->
      Con ([], Printf.sprintf "(%s -> %s Lwt.t)" (type_string (go a)) (atom_string (go b)))
    (* ocaml-interop's markers, as OCamlFn's parameters are written. *)
    | "OCamlInt", [] -> Con ([], "int")
    | "OCamlInt32", [] -> Con ([], "int32")
    | "OCamlInt64", [] -> Con ([], "int64")
    | "OCamlFloat", [] -> Con ([], "float")
    | "OCamlBytes", [] -> Con ([], "bytes")
    | "OCamlList", [ a ] -> Con ([ go a ], "list")
    | "OCamlException", [] -> Con ([], "exn")
    (* A data type's recursive member: the box is Rust's, the value OCaml's. *)
    | "Box", [ a ] -> go a
    | x, [] when List.mem_assoc x ctx.aliases ->
      let text = List.assoc x ctx.aliases in
      let simple = String.for_all (fun c -> Naming.is_ident_char c || c = '.' || c = '\'') text in
      Con ([], if simple then text else "(" ^ text ^ ")")
    | "Obj", [ Path (x, []) ] -> Con ([], object_type ctx ~self (last x))
    | x, [] -> Con ([], object_type ctx ~self x)
    | _ -> raise Bad_type)

(** [of_tokens ctx ~self tokens]: the OCaml type of the Rust type [tokens], if it has one. *)
let of_tokens ctx ~self tokens =
  match Rust_type.parse tokens with
  | Some t -> ( try Some (of_rust ctx ~self t) with Bad_type -> None)
  | None -> None
