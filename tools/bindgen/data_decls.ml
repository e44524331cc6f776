(* The OCaml declarations of a crate's data types (tools/BINDGEN_SPEC.md, "Data types"), their
   names and members' types as the records give them: their names checked against each other
   and the objects', in dependency order (a type after the types its members use), mutually
   recursive types as one [type ... and ...], ties broken by name, so that the output depends
   only on the records. Of_records puts them in the Model. *)

open Fail

(** A data type's record and what it describes. *)
type data = { record : Record.t; data : Data_type.t }

(** The data types among [records]. *)
let of_records (records : Record.t list) =
  List.filter_map
    (fun (record : Record.t) -> Option.map (fun data -> { record; data }) record.data)
    records

(** A data type's Rust name. *)
let rust d = d.record.rust

(** A data type's OCaml type, as its record gives it. *)
let name d = d.record.ocaml_type

(** The names in an OCaml type (identifiers, module paths kept whole: [Lwt_stream.t]), to find
    which types a member uses. *)
let identifiers s =
  let b = Buffer.create 16 and out = ref [] in
  let flush () =
    if Buffer.length b > 0 then begin
      out := Buffer.contents b :: !out;
      Buffer.clear b
    end
  in
  String.iter
    (fun c ->
      match c with
      | 'a' .. 'z' | 'A' .. 'Z' | '0' .. '9' | '_' | '\'' | '.' -> Buffer.add_char b c
      | _ -> flush ())
    s;
  flush ();
  !out

(** The OCaml types a data type's members have. *)
let member_types d =
  match d.data.shape with
  | Record fs -> List.map (fun (f : Data_type.field) -> f.ty) fs
  | Variant cs ->
    List.concat_map
      (fun (c : Data_type.constructor) -> c.args @ List.map (fun (f : Data_type.field) -> f.ty) c.fields)
      cs

(** The strongly connected components of the "uses" graph of [types] (their OCaml names),
    each sorted by name, a component after the ones it uses, the ready component with the
    smallest names first. *)
let components types =
  let names = List.sort_uniq compare (List.map name types) in
  let deps n =
    let d = List.find (fun d -> name d = n) types in
    List.sort_uniq compare
      (List.filter (fun n -> List.mem n names) (List.concat_map identifiers (member_types d)))
  in
  (* Tarjan's algorithm. *)
  let index = Hashtbl.create 16 and low = Hashtbl.create 16 and on_stack = Hashtbl.create 16 in
  let stack = ref [] and counter = ref 0 and sccs = ref [] in
  let rec visit v =
    Hashtbl.replace index v !counter;
    Hashtbl.replace low v !counter;
    incr counter;
    stack := v :: !stack;
    Hashtbl.replace on_stack v ();
    List.iter
      (fun w ->
        if not (Hashtbl.mem index w) then begin
          visit w;
          Hashtbl.replace low v (min (Hashtbl.find low v) (Hashtbl.find low w))
        end
        else if Hashtbl.mem on_stack w then
          Hashtbl.replace low v (min (Hashtbl.find low v) (Hashtbl.find index w)))
      (deps v);
    if Hashtbl.find low v = Hashtbl.find index v then begin
      let rec pop acc =
        match !stack with
        | w :: rest ->
          stack := rest;
          Hashtbl.remove on_stack w;
          if w = v then w :: acc else pop (w :: acc)
        | [] -> acc
      in
      sccs := List.sort compare (pop []) :: !sccs
    end
  in
  List.iter (fun v -> if not (Hashtbl.mem index v) then visit v) names;
  (* Kahn's algorithm over the components, the ready one with the smallest names first. *)
  let comp_deps c = List.filter (fun n -> not (List.mem n c)) (List.concat_map deps c) in
  let rec order emitted acc remaining =
    if remaining = [] then List.rev acc
    else
      let ready =
        List.filter (fun c -> List.for_all (fun d -> List.mem d emitted) (comp_deps c)) remaining
      in
      let next = List.hd (List.sort compare ready) in
      order (next @ emitted) (next :: acc) (List.filter (fun c -> c != next) remaining)
  in
  order [] [] !sccs

(** The OCaml type names of [types], checked: none an object's ([objects]: (OCaml type, Rust
    name) pairs), no two alike. *)
let check_names ~crate ~objects types =
  List.iter
    (fun d ->
      match List.assoc_opt (name d) objects with
      | Some other ->
        fail "%s::%s (a data type) and the object %s::%s both become the OCaml type `%s`" crate
          (rust d) crate other (name d)
      | None -> ())
    types;
  let sorted = List.sort compare (List.map (fun d -> (name d, rust d)) types) in
  let rec dup = function
    | (a, ra) :: ((b, rb) :: _ as rest) ->
      if a = b then fail "%s::%s and %s::%s both become the OCaml type `%s`" crate ra crate rb a;
      dup rest
    | _ -> ()
  in
  dup sorted

(** The fields of a record or of an inline record, in the model, as given. *)
let fields (fs : Data_type.field list) =
  List.map
    (fun (f : Data_type.field) -> { Model.Data.name = f.name; ty = f.ty; doc = Odoc.of_markdown f.docs })
    fs

(** A constructor in the model, as given. *)
let constructor (c : Data_type.constructor) =
  let args : Model.Data.args =
    match c.kind with
    | Unit -> Constant
    | Tuple -> Tuple c.args
    | Inline -> Inline (fields c.fields)
  in
  { Model.Data.name = c.cname; args; doc = Odoc.of_markdown c.cdocs }

(** A data type's declaration in the model. *)
let declaration d =
  let body : Model.Data.body =
    match d.data.shape with
    | Record fs -> Record (fields fs)
    | Variant cs -> Variant (List.map constructor cs)
  in
  { Model.Data.name = name d; doc = Odoc.of_markdown d.record.docs; body }

(** [declarations types]: the declarations of [types] in dependency order, one list a
    [type ... and ...], and the exceptions of the error types in name order. *)
let declarations types =
  let find n = List.find (fun d -> name d = n) types in
  let decls = List.map (List.map (fun n -> declaration (find n))) (components types) in
  let exceptions =
    List.sort compare
      (List.filter_map
         (fun d ->
           Option.map
             (fun (exn, registered) ->
               {
                 Model.Data.name = exn;
                 ty = name d;
                 registered;
                 doc =
                   Odoc.of_markdown
                     [ Printf.sprintf
                         "Raised (a promise rejected with it) when a Rust function of this crate \
                          returns the error `Err e` of the Rust type `%s`, with the OCaml value \
                          of `e`."
                         (rust d) ];
               })
             d.data.exn)
         types)
  in
  (decls, exceptions)

(** The data types declared by crates other than [crate] among the records [found]: (OCaml
    type, Rust name, crate), for {!foreign_hint}. *)
let foreign ~crate (found : Archive.found list) =
  List.filter_map
    (fun (f : Archive.found) ->
      if List.assoc_opt "item" f.fields = Some "data" && Record.crate_of f <> crate then
        match List.assoc_opt "ocaml_type" f.fields with
        | Some ty -> Some (String.trim ty, String.trim (Record.one f "rust"), Record.crate_of f)
        | None -> None
      else None)
    found

(** [foreign_hint foreign ~local ty]: the message when the OCaml type [ty] names a data type
    that another crate declares ([foreign]) and this one does not ([local]: the OCaml types
    the bindings declare), or [None]. *)
let foreign_hint foreign ~local ty =
  match
    List.find_opt
      (fun (o, _, _) -> (not (List.mem o local)) && List.mem o (identifiers ty))
      foreign
  with
  | None -> None
  | Some (o, rust, krate) ->
    Some
      (Printf.sprintf
         "the OCaml type `%s` (the Rust type %s) is declared by the crate %s, whose bindings \
          declare it: a crate's bindings declare only its own types, so use it from a function \
          of %s, or declare the type in this crate"
         o rust krate krate)
