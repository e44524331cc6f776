(* The bindings of a crate made from its records, printed by Print_ml and Print_mli. Every
   OCaml name and type is the record's, as the proc macros wrote it: nothing is mapped here.
   What only the whole crate shows is checked: no two values with one name in a scope, no two
   objects or data types with one OCaml type, a method's object present, at most 5 parameters,
   no type of another crate's data types nor one declared nowhere; then the data types' declarations (Data_decls). *)

open Fail

type context = {
  crate : string;
  foreign : (string * string * string) list;
      (** data types of other crates: (OCaml type, Rust name, crate) *)
  local : string list;  (** the OCaml types the bindings declare *)
}

let describe ctx r = Record.describe ~crate:ctx.crate r

(* The type constructors OCaml's Stdlib declares, usable unqualified in any module. *)
let stdlib_types =
  [ "int"; "char"; "string"; "bytes"; "float"; "bool"; "unit"; "exn"; "array"; "list";
    "option"; "result"; "int32"; "int64"; "nativeint"; "lazy_t"; "ref"; "floatarray";
    "in_channel"; "out_channel"; "format"; "format4"; "format6"; "fpclass"; "open_flag";
    "extension_constructor" ]

(* An unqualified type constructor in [ty] that nothing declares where the binding is printed:
   not these bindings (their data types and objects; [t] too in an object's module), not the
   Stdlib. Such a type (a hand-written [OCamlRepr] naming a type no binding declares, say)
   would otherwise fail later, when the generated file is compiled. *)
let undeclared ctx ~in_object ty =
  List.find_opt
    (fun id ->
      (not (String.contains id '.'))
      && id.[0] <> '\''
      && (not (List.mem id stdlib_types))
      && (not (List.mem id ctx.local))
      && not (in_object && id = "t"))
    (Data_decls.identifiers ty)

(* Why the OCaml type [ty] cannot be printed, if it cannot: it names a data type of another
   crate, or a type declared nowhere. *)
let type_problem ctx ~in_object ty =
  match Data_decls.foreign_hint ctx.foreign ~local:ctx.local ty with
  | Some hint -> Some hint
  | None ->
    Option.map
      (fun id ->
        Printf.sprintf
          "the OCaml type `%s` (in `%s`) is declared nowhere: neither by these bindings (a \
           #[lwt_rust::record], variant, error or object of crate %s) nor by OCaml's Stdlib; \
           derive one of those for the Rust type, or name a type qualified by its module in \
           its OCamlRepr's OCAML_TYPE"
          id ty ctx.crate)
      (undeclared ctx ~in_object ty)

(* A record's OCaml type [ty] ([what]: which one, for the message), refused if it cannot be
   printed. *)
let check_type ctx (r : Record.t) what ty =
  match type_problem ctx ~in_object:(r.kind = Method) ty with
  | Some why -> fail "%s: %s: %s" (describe ctx r) what why
  | None -> ty

(* A name in a scope: printed ([value]) or only kept from other values ([None]: a stream's raw
   external), and the Rust item it comes from. *)
type named = { name : string; from : string; value : Model.value option }

(* The OCaml value(s) of a function or method. *)
let binding ctx (r : Record.t) =
  let item = describe ctx r in
  let name = r.ocaml_name in
  let params = List.map (fun (n, ty) -> check_type ctx r ("parameter " ^ n) ty) r.params in
  if List.length params > 5 then
    fail "%s: %d OCaml parameters; an external takes at most 5 (without a bytecode stub)" item
      (List.length params);
  let arrow result = (if params = [] then [ "unit" ] else params) @ [ result ] in
  let result () = check_type ctx r "result" r.result in
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
  | Async | Sync ->
    [ value (External { parts = arrow (result ()); symbol = r.symbol; noalloc = false }) ]
  | Stream ->
    (* The external keeps the name [f__raw]; the function [f] wraps it under the switch. *)
    let raw = name ^ "__raw" in
    [ { name = raw; from = item; value = None };
      value
        (Stream { raw; parts = arrow (result ()); symbol = r.symbol; args = List.map fst r.params })
    ]

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
    ([foreign]: the data types of other crates, {!Data_decls.foreign}); an error if the records
    disagree with each other. *)
let build ~crate ~foreign (records : Record.t list) =
  let objects = List.filter (fun (r : Record.t) -> r.kind = Object) records in
  let data = Data_decls.of_records records in
  let ctx =
    { crate; foreign; local = List.map (fun (o : Record.t) -> o.ocaml_type) objects
                              @ List.map Data_decls.name data }
  in
  Data_decls.check_names ~crate
    ~objects:(List.map (fun (o : Record.t) -> (o.ocaml_type, o.rust)) objects)
    data;
  List.iter
    (fun d ->
      List.iter
        (fun ty ->
          match type_problem ctx ~in_object:false ty with
          | Some why -> fail "%s::%s: %s" crate (Data_decls.rust d) why
          | None -> ())
        (Data_decls.member_types d))
    data;
  let types, exceptions = Data_decls.declarations data in
  check_collisions ~what:"type"
    (List.map (fun (o : Record.t) -> { name = o.ocaml_type; from = describe ctx o; value = None }) objects);
  List.iter
    (fun (r : Record.t) ->
      if r.kind = Method && not (List.exists (fun (o : Record.t) -> o.rust = r.owner) objects) then
        fail "%s: no #[lwt_rust::object] record for its type %s" (describe ctx r) r.owner)
    records;
  (* Data records only declare types. *)
  let functions = List.filter (fun (r : Record.t) -> r.kind = Function) records in
  let top = scope (List.concat_map (binding ctx) functions) in
  let sorted_objects =
    List.sort (fun (a : Record.t) (b : Record.t) -> compare a.ocaml_type b.ocaml_type) objects
  in
  let modules =
    List.map
      (fun (o : Record.t) ->
        let methods =
          List.filter (fun (r : Record.t) -> r.kind = Method && r.owner = o.rust) records
        in
        {
          Model.rust = o.rust;
          type_name = o.ocaml_type;
          module_name = o.ocaml_module;
          doc = Odoc.of_markdown o.docs;
          values =
            scope ~scope:(" in module " ^ o.ocaml_module)
              (List.concat_map (binding ctx) methods @ object_values ctx o);
        })
      sorted_objects
  in
  { Model.crate; types; exceptions; top; modules }
