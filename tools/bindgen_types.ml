(* The OCaml declarations of a crate's own types: the records with `item data` that
   #[lwt_rust::record], #[lwt_rust::variant] and #[lwt_rust::error] embed (tools/BINDGEN_SPEC.md,
   "Data types"), made into record and variant declarations and exceptions.

   Pure functions from the records' lines to declaration text: the generator gives the mapping
   of a Rust type to its OCaml type (shared with the functions' bindings), the naming and the
   doc comment printing. Declarations come in dependency order (a type after the types its
   fields use), mutually recursive types as one [type ... and ...], ties broken by name, so
   that the output is deterministic. *)

type field = { name : string; rust_type : string; docs : string list }

type constructor = {
  cname : string;
  kind : [ `Unit | `Tuple | `Record ];
  args : string list;  (** a tuple constructor's argument types (Rust tokens) *)
  fields : field list;  (** an inline record's fields *)
  cdocs : string list;
}

type shape = Record of field list | Variant of constructor list

type t = {
  where : string;
  rust : string;
  registered : string option;  (** the exception's registered name, for an error type *)
  docs : string list;
  shape : shape;
}

(* What the generator lends: its type mapping and printing. *)
type env = {
  crate : string;
  fail : string -> unit;  (** prints the message and exits (code 2) *)
  snake : string -> string;
  keywords : string list;  (** OCaml's reserved words *)
  reserved_types : string list;  (** type names the bindings use themselves *)
  ocaml_type : string -> string option;  (** Rust type tokens -> OCaml type text *)
  doc : string list -> string list;  (** Rust doc lines -> odoc comment lines *)
}

let is_data (fields : (string * string) list) = List.assoc_opt "item" fields = Some "data"

let split_key line =
  match String.index_opt line ' ' with
  | None -> (line, "")
  | Some i -> (String.sub line 0 i, String.sub line (i + 1) (String.length line - i - 1))

(* A record's lines, read in order: `doc` lines before the first member are the type's; a
   `member_doc` line belongs to the field or constructor before it; `field` and `arg` lines
   after a `constructor` line are its own. *)
let parse ~(fail : string -> unit) ~where (lines : (string * string) list) =
  let malformed fmt =
    Printf.ksprintf
      (fun s ->
        fail (Printf.sprintf "%s: malformed binding record: %s" where s);
        assert false)
      fmt
  in
  let one key =
    match List.filter (fun (k, _) -> k = key) lines with
    | [ (_, v) ] -> v
    | [] -> malformed "no `%s` line" key
    | _ -> malformed "more than one `%s` line" key
  in
  let field_of v =
    match split_key (String.trim v) with
    | name, ty when name <> "" && String.trim ty <> "" -> { name; rust_type = String.trim ty; docs = [] }
    | _ -> malformed "`field` is `%s` (a name and a Rust type expected)" v
  in
  let add_doc_to_last_field (fs : field list) d : field list =
    match List.rev fs with
    | (f : field) :: rest -> List.rev ({ f with docs = f.docs @ [ d ] } :: rest)
    | [] -> malformed "`member_doc` before any member"
  in
  let shape = one "shape" in
  (* [last]: what a `member_doc` line documents. *)
  let rec go ~docs ~fields ~ctors ~last = function
    | [] -> (docs, List.rev fields, List.rev ctors)
    | (("crate" | "item" | "rust" | "symbol" | "shape" | "exception"), _) :: rest ->
      go ~docs ~fields ~ctors ~last rest
    | ("doc", d) :: rest -> go ~docs:(docs @ [ d ]) ~fields ~ctors ~last rest
    | ("field", v) :: rest -> (
      let f = field_of v in
      match (shape, ctors) with
      | "record", _ -> go ~docs ~fields:(f :: fields) ~ctors ~last:`Field rest
      | _, c :: cs when c.kind = `Record ->
        go ~docs ~fields ~ctors:({ c with fields = c.fields @ [ f ] } :: cs) ~last:`Ctor_field rest
      | _ -> malformed "`field` outside a record or an inline record")
    | ("arg", v) :: rest -> (
      match ctors with
      | c :: cs when c.kind = `Tuple ->
        go ~docs ~fields ~ctors:({ c with args = c.args @ [ String.trim v ] } :: cs) ~last:`None rest
      | _ -> malformed "`arg` outside a constructor with arguments")
    | ("constructor", v) :: rest ->
      if shape <> "variant" then malformed "`constructor` in a record";
      let cname, kind =
        match split_key (String.trim v) with
        | n, "unit" -> (n, `Unit)
        | n, "tuple" -> (n, `Tuple)
        | n, "record" -> (n, `Record)
        | _ -> malformed "`constructor` is `%s` (a name and unit, tuple or record expected)" v
      in
      go ~docs ~fields ~ctors:({ cname; kind; args = []; fields = []; cdocs = [] } :: ctors) ~last:`Ctor rest
    | ("member_doc", d) :: rest -> (
      match (last, fields, ctors) with
      | `Field, (f : field) :: fs, _ ->
        go ~docs ~fields:({ f with docs = f.docs @ [ d ] } :: fs) ~ctors ~last rest
      | `Ctor, _, c :: cs -> go ~docs ~fields ~ctors:({ c with cdocs = c.cdocs @ [ d ] } :: cs) ~last rest
      | `Ctor_field, _, c :: cs ->
        go ~docs ~fields ~ctors:({ c with fields = add_doc_to_last_field c.fields d } :: cs) ~last rest
      | _ -> go ~docs ~fields ~ctors ~last rest)
    | (k, _) :: _ -> malformed "unexpected key `%s` in a data record" k
  in
  let docs, fields, ctors = go ~docs:[] ~fields:[] ~ctors:[] ~last:`None lines in
  let shape =
    match shape with
    | "record" -> if fields = [] then malformed "a record with no field" else Record fields
    | "variant" ->
      if ctors = [] then malformed "a variant with no constructor";
      List.iter
        (fun c ->
          if c.kind = `Tuple && c.args = [] then malformed "constructor %s: no `arg`" c.cname;
          if c.kind = `Record && c.fields = [] then malformed "constructor %s: no `field`" c.cname)
        ctors;
      Variant ctors
    | v -> malformed "`shape` is `%s` (record or variant expected)" v
  in
  let registered =
    match List.filter (fun (k, _) -> k = "exception") lines with
    | [] -> None
    | [ (_, v) ] -> Some (String.trim v)
    | _ -> malformed "more than one `exception` line"
  in
  { where; rust = String.trim (one "rust"); registered; docs; shape }

(* The Rust type name -> OCaml type name pairs the type mapping needs. *)
let aliases env types = List.map (fun t -> (t.rust, env.snake t.rust)) types

let exception_name env t = String.capitalize_ascii (env.snake t.rust)

(* Identifiers in Rust type tokens (to find which types a field uses). *)
let identifiers s =
  let b = Buffer.create 16 and out = ref [] in
  let flush () = if Buffer.length b > 0 then (out := Buffer.contents b :: !out; Buffer.clear b) in
  String.iter
    (function
      | ('a' .. 'z' | 'A' .. 'Z' | '0' .. '9' | '_') as c -> Buffer.add_char b c | _ -> flush ())
    s;
  flush ();
  !out

let rust_types t =
  match t.shape with
  | Record fs -> List.map (fun f -> f.rust_type) fs
  | Variant cs -> List.concat_map (fun c -> c.args @ List.map (fun f -> f.rust_type) c.fields) cs

(* The strongly connected components of the "uses" graph, dependencies first, each sorted by
   name, ties between ready components broken by their first name. *)
let components types =
  let names = List.sort_uniq compare (List.map (fun t -> t.rust) types) in
  let deps name =
    let t = List.find (fun t -> t.rust = name) types in
    List.sort_uniq compare
      (List.filter (fun n -> List.mem n names) (List.concat_map identifiers (rust_types t)))
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
  (* Kahn's algorithm over the components, the ready one with the smallest name first. *)
  let comps = !sccs in
  let comp_deps c =
    List.filter (fun n -> not (List.mem n c)) (List.concat_map deps c)
  in
  let rec order emitted acc remaining =
    if remaining = [] then List.rev acc
    else
      let ready =
        List.filter (fun c -> List.for_all (fun d -> List.mem d emitted) (comp_deps c)) remaining
      in
      let next = List.hd (List.sort compare ready) in
      order (next @ emitted) (next :: acc) (List.filter (fun c -> c != next) remaining)
  in
  order [] [] comps

let field_name env owner f =
  let n =
    if String.length f.name > 2 && String.sub f.name 0 2 = "r#" then
      String.sub f.name 2 (String.length f.name - 2)
    else f.name
  in
  let n = if List.mem n env.keywords then n ^ "_" else n in
  let ok =
    n <> ""
    && (match n.[0] with 'a' .. 'z' | '_' -> true | _ -> false)
    && String.for_all (function 'a' .. 'z' | 'A' .. 'Z' | '0' .. '9' | '_' | '\'' -> true | _ -> false) n
  in
  if not ok then
    env.fail
      (Printf.sprintf "%s::%s: the field `%s` makes no OCaml field name" env.crate owner f.name);
  n

let type_text env owner what tokens =
  match env.ocaml_type tokens with
  | Some t -> t
  | None ->
    env.fail
      (Printf.sprintf "%s::%s: %s: no OCaml type for the Rust type `%s`" env.crate owner what
         tokens);
    assert false

(* [line] followed by the doc comment of [docs] (its first line on the same line). *)
let with_trailing_doc env ~docs ~indent line =
  match env.doc docs with
  | [] -> [ line ]
  | first :: rest -> (line ^ "  " ^ first) :: List.map (fun l -> if l = "" then l else indent ^ l) rest

(* A parenthesised type where a tuple constructor's arguments need one (a tuple type as one
   argument is written [of (a * b)], which is a different layout: the macro never makes one,
   a Rust tuple argument being a separate field). *)
let paren_if_needed s =
  let depth = ref 0 and top_star = ref false and top_arrow = ref false in
  String.iteri
    (fun i c ->
      match c with
      | '(' -> incr depth
      | ')' -> decr depth
      | '*' when !depth = 0 -> top_star := true
      | '-' when !depth = 0 && i + 1 < String.length s && s.[i + 1] = '>' -> top_arrow := true
      | _ -> ())
    s;
  if !top_star || !top_arrow then "(" ^ s ^ ")" else s

let fields_lines env ~with_docs owner ~indent fields =
  List.concat_map
    (fun f ->
      let line = Printf.sprintf "%s%s : %s;" indent (field_name env owner f) (type_text env owner ("field " ^ f.name) f.rust_type) in
      if with_docs then with_trailing_doc env ~docs:f.docs ~indent line else [ line ])
    fields

(* One type's right-hand side. *)
let body env ~with_docs t =
  match t.shape with
  | Record fields -> ("{" :: fields_lines env ~with_docs t.rust ~indent:"  " fields) @ [ "}" ]
  | Variant ctors ->
    List.concat_map
      (fun c ->
        let cname =
          if String.length c.cname > 2 && String.sub c.cname 0 2 = "r#" then
            String.sub c.cname 2 (String.length c.cname - 2)
          else c.cname
        in
        (match cname.[0] with
        | 'A' .. 'Z' -> ()
        | _ ->
          env.fail
            (Printf.sprintf "%s::%s: the variant `%s` makes no OCaml constructor name" env.crate
               t.rust c.cname));
        let lines =
          match c.kind with
          | `Unit -> [ "| " ^ cname ]
          | `Tuple ->
            [ Printf.sprintf "| %s of %s" cname
                (String.concat " * "
                   (List.mapi
                      (fun i a -> paren_if_needed (type_text env t.rust (Printf.sprintf "%s argument %d" cname (i + 1)) a))
                      c.args)) ]
          | `Record ->
            (Printf.sprintf "| %s of {" cname)
            :: fields_lines env ~with_docs (t.rust ^ "::" ^ cname) ~indent:"    " c.fields
            @ [ "  }" ]
        in
        if with_docs then
          match List.rev lines with
          | last :: before -> List.rev before @ with_trailing_doc env ~docs:c.cdocs ~indent:"  " last
          | [] -> []
        else lines)
      ctors

let check_names env ~taken types =
  List.iter
    (fun t ->
      let ty = env.snake t.rust in
      if List.mem ty env.reserved_types then
        env.fail
          (Printf.sprintf "%s::%s: the OCaml type `%s` of the Rust type %s would hide a type the bindings use"
             env.crate t.rust ty t.rust);
      match List.assoc_opt ty taken with
      | Some other ->
        env.fail
          (Printf.sprintf "%s::%s (a data type) and the object %s::%s both become the OCaml type `%s`"
             env.crate t.rust env.crate other ty)
      | None -> ())
    types;
  let sorted = List.sort compare (List.map (fun t -> (env.snake t.rust, t.rust)) types) in
  let rec dup = function
    | (a, ra) :: ((b, rb) :: _ as rest) ->
      if a = b then
        env.fail
          (Printf.sprintf "%s::%s and %s::%s both become the OCaml type `%s`" env.crate ra env.crate rb a);
      dup rest
    | _ -> ()
  in
  dup sorted

(* The declarations, for the .ml ([with_docs] false) or the .mli ([with_docs] true): the types
   in dependency order, then the exceptions (in the .ml, each registered for the Rust side). *)
let declarations env ~with_docs types =
  let find n = List.find (fun t -> t.rust = n) types in
  let type_blocks =
    List.map
      (fun comp ->
        List.concat
          (List.mapi
             (fun i n ->
               let t = find n in
               let head = Printf.sprintf "%s %s =" (if i = 0 then "type" else "and") (env.snake n) in
               let docs = if with_docs then env.doc t.docs else [] in
               (* A blank line keeps the doc of an [and] from reading as the previous
                  constructor's or field's. *)
               let docs = if i > 0 && docs <> [] then "" :: docs else docs in
               match body env ~with_docs t with
               | "{" :: fields -> docs @ ((head ^ " {") :: fields)
               | lines -> docs @ (head :: List.map (fun l -> "  " ^ l) lines))
             comp))
      (components types)
  in
  let errors =
    List.sort compare
      (List.filter_map (fun t -> Option.map (fun r -> (exception_name env t, (t, r))) t.registered) types)
  in
  let exceptions =
    List.map
      (fun (e, (t, registered)) ->
        let ty = env.snake t.rust in
        let decl = Printf.sprintf "exception %s of %s" e ty in
        if with_docs then
          env.doc
            [ Printf.sprintf
                "Raised (a promise rejected with it) when a Rust function of this crate returns \
                 the error `Err e` of the Rust type `%s`, with the OCaml value of `e`."
                t.rust ]
          @ [ decl ]
        else
          [ decl;
            Printf.sprintf "let () = Callback.register %S (fun (e : %s) -> %s e)" registered ty e ])
      errors
  in
  type_blocks @ exceptions

(* The hint for a Rust type no function of this crate can name: declared by another crate. *)
let foreign : (string * string) list ref = ref []

let foreign_hint tokens =
  match List.find_opt (fun (rust, _) -> List.mem rust (identifiers tokens)) !foreign with
  | None -> ""
  | Some (rust, krate) ->
    Printf.sprintf
      " (the type %s is declared by the crate %s, whose bindings declare it: a crate's bindings \
       declare only its own types, so use it from a function of %s, or declare the type in this \
       crate)"
      rust krate krate
