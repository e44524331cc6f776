(* The OCaml declarations of a crate's data types (tools/BINDGEN_SPEC.md, "Data types"): their
   names checked, every field's and argument's type mapped (Ocaml_type, where the data types
   are names too), in dependency order (a type after the types its members use), mutually
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

(** The Rust type name -> OCaml type name pairs the type mapping needs: [User] is [user]. *)
let aliases types = List.map (fun d -> (rust d, Naming.snake (rust d))) types

(** An error type's exception: [Db_error] for [DbError]. *)
let exception_name d = String.capitalize_ascii (Naming.snake (rust d))

(** The identifiers in Rust type tokens, whatever they hold (to find which types a member
    uses). *)
let identifiers s =
  let b = Buffer.create 16 and out = ref [] in
  let flush () =
    if Buffer.length b > 0 then begin
      out := Buffer.contents b :: !out;
      Buffer.clear b
    end
  in
  String.iter (fun c -> if Naming.is_ident_char c then Buffer.add_char b c else flush ()) s;
  flush ();
  !out

(** The Rust types (tokens) a data type's members use. *)
let rust_types d =
  match d.data.shape with
  | Record fs -> List.map (fun (f : Data_type.field) -> f.rust_type) fs
  | Variant cs ->
    List.concat_map
      (fun (c : Data_type.constructor) ->
        c.args @ List.map (fun (f : Data_type.field) -> f.rust_type) c.fields)
      cs

(** The strongly connected components of the "uses" graph of [types] (Rust names), each
    sorted by name, a component after the ones it uses, the ready component with the smallest
    names first. *)
let components types =
  let names = List.sort_uniq compare (List.map rust types) in
  let deps name =
    let d = List.find (fun d -> rust d = name) types in
    List.sort_uniq compare
      (List.filter (fun n -> List.mem n names) (List.concat_map identifiers (rust_types d)))
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

(** The OCaml type names of [types], checked: none a type the bindings use, none an object's
    ([objects]: their Rust names), no two alike. *)
let check_names ~crate ~objects types =
  let taken = List.map (fun name -> (Naming.object_type name, name)) objects in
  List.iter
    (fun d ->
      let ty = Naming.snake (rust d) in
      if List.mem ty Naming.reserved_types then
        fail "%s::%s: the OCaml type `%s` of the Rust type %s would hide a type the bindings use"
          crate (rust d) ty (rust d);
      match List.assoc_opt ty taken with
      | Some other ->
        fail "%s::%s (a data type) and the object %s::%s both become the OCaml type `%s`" crate
          (rust d) crate other ty
      | None -> ())
    types;
  let sorted = List.sort compare (List.map (fun d -> (Naming.snake (rust d), rust d)) types) in
  let rec dup = function
    | (a, ra) :: ((b, rb) :: _ as rest) ->
      if a = b then fail "%s::%s and %s::%s both become the OCaml type `%s`" crate ra crate rb a;
      dup rest
    | _ -> ()
  in
  dup sorted

(** A field's OCaml name: a keyword gets a trailing [_] ([owner]: the type, and constructor,
    for the message); an error if it makes none. *)
let field_name ~crate owner (f : Data_type.field) =
  let n = Naming.unkeyword (Naming.strip_raw f.name) in
  let ok =
    n <> ""
    && (match n.[0] with 'a' .. 'z' | '_' -> true | _ -> false)
    && String.for_all (fun c -> Naming.is_ident_char c || c = '\'') n
  in
  if not ok then fail "%s::%s: the field `%s` makes no OCaml field name" crate owner f.name;
  n

(** The OCaml type of a member's Rust type [tokens] ([what]: which member, for the message); an
    error if it has none. *)
let type_of ~crate ctx owner what tokens =
  match Ocaml_type.of_tokens ctx ~self:None tokens with
  | Some t -> t
  | None -> fail "%s::%s: %s: no OCaml type for the Rust type `%s`" crate owner what tokens

(** The fields of a record or of an inline record, in the model. *)
let fields ~crate ctx owner (fs : Data_type.field list) =
  List.map
    (fun (f : Data_type.field) ->
      (* The type is checked before the name. *)
      let ty = Ocaml_type.type_string (type_of ~crate ctx owner ("field " ^ f.name) f.rust_type) in
      { Model.Data.name = field_name ~crate owner f; ty; doc = Odoc.of_markdown f.docs })
    fs

(** A constructor in the model; an error if its name is no OCaml constructor. *)
let constructor ~crate ctx owner (c : Data_type.constructor) =
  let name = Naming.strip_raw c.cname in
  (match name.[0] with
  | 'A' .. 'Z' -> ()
  | _ -> fail "%s::%s: the variant `%s` makes no OCaml constructor name" crate owner c.cname);
  let args : Model.Data.args =
    match c.kind with
    | Unit -> Constant
    | Tuple ->
      (* One type an argument: a tuple type is parenthesised, one argument of the layout the
         Rust side builds. *)
      Tuple
        (List.mapi
           (fun i a ->
             Ocaml_type.atom_string
               (type_of ~crate ctx owner (Printf.sprintf "%s argument %d" name (i + 1)) a))
           c.args)
    | Inline -> Inline (fields ~crate ctx (owner ^ "::" ^ name) c.fields)
  in
  { Model.Data.name; args; doc = Odoc.of_markdown c.cdocs }

(** A data type's declaration in the model. *)
let declaration ~crate ctx d =
  let body : Model.Data.body =
    match d.data.shape with
    | Record fs -> Record (fields ~crate ctx (rust d) fs)
    | Variant cs -> Variant (List.map (constructor ~crate ctx (rust d)) cs)
  in
  { Model.Data.name = Naming.snake (rust d); doc = Odoc.of_markdown d.record.docs; body }

(** [declarations ~crate ctx types]: the declarations of [types] in dependency order, one list
    a [type ... and ...], and the exceptions of the error types in name order ([ctx]: the type
    mapping); an error if a member's name or type makes no OCaml one. *)
let declarations ~crate ctx types =
  let find n = List.find (fun d -> rust d = n) types in
  let decls = List.map (List.map (fun n -> declaration ~crate ctx (find n))) (components types) in
  let exceptions =
    List.sort compare
      (List.filter_map
         (fun d ->
           Option.map
             (fun registered ->
               {
                 Model.Data.name = exception_name d;
                 ty = Naming.snake (rust d);
                 registered;
                 doc =
                   Odoc.of_markdown
                     [ Printf.sprintf
                         "Raised (a promise rejected with it) when a Rust function of this crate \
                          returns the error `Err e` of the Rust type `%s`, with the OCaml value \
                          of `e`."
                         (rust d) ];
               })
             d.data.registered)
         types)
  in
  (decls, exceptions)

(** The data types declared by crates other than [crate] among the records [found]: (Rust
    name, crate) pairs, for {!foreign_hint}. *)
let foreign ~crate (found : Archive.found list) =
  List.filter_map
    (fun (f : Archive.found) ->
      if List.assoc_opt "item" f.fields = Some "data" && Record.crate_of f <> crate then
        Some (String.trim (Record.one f "rust"), Record.crate_of f)
      else None)
    found

(** What the message of a Rust type [tokens] with no OCaml type adds when one of its types is
    declared by another crate ([foreign]), or [""]. *)
let foreign_hint foreign tokens =
  match List.find_opt (fun (rust, _) -> List.mem rust (identifiers tokens)) foreign with
  | None -> ""
  | Some (rust, krate) ->
    Printf.sprintf
      " (the type %s is declared by the crate %s, whose bindings declare it: a crate's bindings \
       declare only its own types, so use it from a function of %s, or declare the type in this \
       crate)"
      rust krate krate
