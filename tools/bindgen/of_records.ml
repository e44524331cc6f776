(* The bindings of a crate made from its records: every OCaml name (Naming) and type
   (Ocaml_type) decided here, checked (no two values with one name in a scope, no object hiding
   a type or module the bindings use, at most 5 parameters), the data types' declarations
   (Data_decls) included, then printed by Print_ml and Print_mli. *)

open Fail

type context = {
  crate : string;
  types : Ocaml_type.context;
  foreign : (string * string) list;  (** data types of other crates: (Rust name, crate) *)
}

let describe ctx r = Record.describe ~crate:ctx.crate r

(* The OCaml type of a record's Rust type [tokens] ([what]: which one, for the message). *)
let type_of ctx ~self (r : Record.t) what tokens =
  match Ocaml_type.of_tokens ctx.types ~self tokens with
  | Some t -> Ocaml_type.atom_string t
  | None ->
    fail "%s: %s: no OCaml type for the Rust type `%s`%s" (describe ctx r) what tokens
      (Data_decls.foreign_hint ctx.foreign tokens)

(* A name in a scope: printed ([value]) or only kept from other values ([None]: a stream's raw
   external), and the Rust item it comes from. *)
type named = { name : string; from : string; value : Model.value option }

(* The OCaml value(s) of a function or method. *)
let binding ctx ~self (r : Record.t) =
  let item = describe ctx r in
  let name = Naming.value_name ~item ~is_method:(r.kind = Method) r.rust in
  let params = List.map (fun (n, ty) -> type_of ctx ~self r ("parameter " ^ n) ty) r.params in
  let params = if r.receiver then "t" :: params else params in
  if List.length params > 5 then
    fail "%s: %d OCaml parameters; an external takes at most 5 (without a bytecode stub)" item
      (List.length params);
  let arrow result = (if params = [] then [ "unit" ] else params) @ [ result ] in
  let result () = type_of ctx ~self r "result" r.returns in
  let doc = Odoc.of_markdown r.docs in
  let value shape = { name; from = item; value = Some { Model.name; doc; shape } } in
  match r.call with
  | Raw ocaml ->
    (* A trusted type may end with [@@noalloc] (a stub that neither allocates nor calls
       OCaml): the attribute goes after the symbol. *)
    let noalloc = "[@@noalloc]" in
    let n = String.length ocaml and k = String.length noalloc in
    let with_noalloc = n > k && String.sub ocaml (n - k) k = noalloc in
    let ocaml = if with_noalloc then String.trim (String.sub ocaml 0 (n - k)) else ocaml in
    [ value (External { parts = [ ocaml ]; symbol = r.symbol; noalloc = with_noalloc }) ]
  | Async ->
    [ value (External { parts = arrow (result () ^ " Lwt.t"); symbol = r.symbol; noalloc = false }) ]
  | Stream ->
    let raw = name ^ "__raw" in
    let args = Naming.param_names ~raw ~receiver:r.receiver (List.map fst r.params) in
    [ { name = raw; from = item; value = None };
      value (Stream { raw; parts = arrow (result () ^ " Lwt_stream.t"); symbol = r.symbol; args }) ]
  | Sync ->
    (* The stub returns the value or raises the failure itself. *)
    [ value (External { parts = arrow (result ()); symbol = r.symbol; noalloc = false }) ]

(* close, equal, compare, hash of an object's module. *)
let object_values ctx (o : Record.t) =
  let from what = Printf.sprintf "the %s that every object gets (%s::%s)" what ctx.crate o.rust in
  let named name doc shape = { name; from = from name; value = Some { Model.name; doc; shape } } in
  [ named "close"
      [ "[close v] closes the Rust object: any later use of it from OCaml, through [v] or";
        "any other value of it, raises [Lwt_rust.Closed]; closing again does nothing. The";
        "object is dropped at once, or when the last method running on it ends." ]
      (Close o.symbol);
    named "equal"
      [ "[equal a b] is [true] when [a] and [b] are the same Rust object: identity, not";
        "structure (two distinct objects holding equal data are not equal)." ]
      (Alias { ty = "t -> t -> bool"; def = "Stdlib.( = )" });
    named "compare"
      [ "A total order on Rust objects by identity, not structure, consistent with";
        "{!equal}: for [Set.Make] and [Map.Make]." ]
      (Alias { ty = "t -> t -> int"; def = "Stdlib.compare" });
    named "hash"
      [ "A hash of the Rust object's identity, consistent with {!equal}: for";
        "[Hashtbl.Make]." ]
      (Alias { ty = "t -> int"; def = "Stdlib.Hashtbl.hash" }) ]

(* Two names alike in one scope: an error naming both Rust items. *)
let check_collisions ?(scope = "") ~what names =
  let sorted = List.stable_sort (fun a b -> compare a.name b.name) names in
  let rec go = function
    | a :: (b :: _ as rest) ->
      if a.name = b.name then
        fail "%s and %s both become the OCaml %s `%s`%s" a.from b.from what a.name scope;
      go rest
    | _ -> ()
  in
  go sorted

(* The values of one scope, checked, in name order (the names only kept dropped). *)
let scope ?scope names =
  check_collisions ?scope ~what:"value" names;
  List.filter_map (fun n -> n.value) (List.stable_sort (fun a b -> compare a.name b.name) names)

(** [build ~crate ~foreign records]: the bindings of [crate] from its checked records
    ([foreign]: the data types of other crates, named in messages, {!Data_decls.foreign}); an
    error if a record's name or type makes no OCaml one. *)
let build ~crate ~foreign (records : Record.t list) =
  let objects =
    List.filter_map (fun (r : Record.t) -> if r.kind = Object then Some (r.rust, r) else None) records
  in
  let aliases =
    List.filter_map
      (fun (r : Record.t) ->
        match (r.kind, r.call) with Type_alias, Raw ocaml -> Some (r.rust, ocaml) | _ -> None)
      records
  in
  (* The data types are names of the type mapping: [User] is [user]. *)
  let data = Data_decls.of_records records in
  let aliases = aliases @ Data_decls.aliases data in
  let ctx = { crate; types = { objects = List.map fst objects; aliases }; foreign } in
  Data_decls.check_names ~crate ~objects:(List.map fst objects) data;
  let types, exceptions = Data_decls.declarations ~crate ctx.types data in
  List.iter (fun (name, o) -> Naming.check_object ~item:(describe ctx o) name) objects;
  check_collisions ~what:"type"
    (List.map
       (fun (name, o) -> { name = Naming.object_type name; from = describe ctx o; value = None })
       objects);
  List.iter
    (fun (r : Record.t) ->
      if r.kind = Method && not (List.mem_assoc r.owner objects) then
        fail "%s: no #[lwt_rust::object] record for its type %s" (describe ctx r) r.owner)
    records;
  (* Type_alias and Data records only name types. *)
  let functions = List.filter (fun (r : Record.t) -> r.kind = Function) records in
  let top = scope (List.concat_map (binding ctx ~self:None) functions) in
  let sorted_objects =
    List.sort (fun (a, _) (b, _) -> compare (Naming.object_type a) (Naming.object_type b)) objects
  in
  let modules =
    List.map
      (fun (name, (o : Record.t)) ->
        let module_name = Naming.object_module name in
        let methods =
          List.filter (fun (r : Record.t) -> r.kind = Method && r.owner = name) records
        in
        {
          Model.rust = name;
          type_name = Naming.object_type name;
          module_name;
          doc = Odoc.of_markdown o.docs;
          values =
            scope ~scope:(" in module " ^ module_name)
              (List.concat_map (binding ctx ~self:(Some name)) methods @ object_values ctx o);
        })
      sorted_objects
  in
  { Model.crate; types; exceptions; top; modules }
