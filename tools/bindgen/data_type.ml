(* A data type's record (`item data`: #[lwt_rust::record], #[lwt_rust::variant],
   #[lwt_rust::error]) read into the type it describes: a record's fields, or a variant's
   constructors with their arguments or inline record fields, each with its doc comment, every
   name and type as the macro wrote it in OCaml. The schema has checked the keys, their counts
   and their grammar; what is read here is what the order of the member lines means
   (tools/BINDGEN_SPEC.md, "Data types"). *)

(** A field of a record or of a constructor's inline record. *)
type field = {
  name : string;  (** the OCaml field name *)
  ty : string;  (** its OCaml type *)
  docs : string list;  (** its doc comment's lines (markdown) *)
}

(** What a constructor carries. *)
type kind = Unit | Tuple | Inline

(** A variant's constructor. *)
type constructor = {
  cname : string;  (** the OCaml constructor *)
  kind : kind;
  args : string list;
      (** a [Tuple] constructor's argument types (OCaml, a tuple type parenthesised) *)
  fields : field list;  (** an [Inline] constructor's fields *)
  cdocs : string list;  (** its doc comment's lines (markdown) *)
}

(** A record or a variant. *)
type shape = Record of field list | Variant of constructor list

(** A data type, from its record. *)
type t = {
  exn : (string * string) option;
      (** an error type: its OCaml exception, and the name its constructor is registered
          under *)
  shape : shape;
}

(** The keys of the member lines, which follow the [shape] line in the order the type declares
    its members. *)
let member_keys = [ "field"; "constructor"; "arg"; "member_doc" ]

(* What a `member_doc` line documents: the member line before it. *)
type last = No_member | Field | Ctor | Ctor_field

(** [parse ~where ~shape ~exn lines]: the type whose [shape] line is [shape] and whose
    member lines are [lines] ((key, value), in record order); a malformed record (at [where])
    is an error. A [member_doc] line belongs to the field or constructor before it (one
    after an [arg] line documents a tuple's element, which OCaml cannot: it is dropped);
    [field] and [arg] lines after a [constructor] line are its own. *)
let parse ~where ~shape ~exn lines =
  let fail fmt =
    Printf.ksprintf (fun s -> Fail.fail "%s: malformed binding record: %s" where s) fmt
  in
  let field_of v =
    let name, ty = Archive.split_key (String.trim v) in
    { name; ty = String.trim ty; docs = [] }
  in
  let add_doc_to_last_field (fs : field list) d =
    match List.rev fs with
    | f :: rest -> List.rev ({ f with docs = f.docs @ [ d ] } :: rest)
    | [] -> fail "`member_doc` before any member"
  in
  (* [fields] and [ctors]: last first; a constructor's own lists in order. *)
  let rec go ~fields ~ctors ~last = function
    | [] -> (List.rev fields, List.rev ctors)
    | ("field", v) :: rest -> (
      let f = field_of v in
      match (shape, ctors) with
      | "record", _ -> go ~fields:(f :: fields) ~ctors ~last:Field rest
      | _, c :: cs when c.kind = Inline ->
        go ~fields ~ctors:({ c with fields = c.fields @ [ f ] } :: cs) ~last:Ctor_field rest
      | _ -> fail "`field` outside a record or an inline record")
    | ("arg", v) :: rest -> (
      match ctors with
      | c :: cs when c.kind = Tuple ->
        go ~fields ~ctors:({ c with args = c.args @ [ String.trim v ] } :: cs) ~last:No_member
          rest
      | _ -> fail "`arg` outside a constructor with arguments")
    | ("constructor", v) :: rest ->
      if shape <> "variant" then fail "`constructor` in a record";
      let cname, kind =
        match Archive.split_key (String.trim v) with
        | n, "unit" -> (n, Unit)
        | n, "tuple" -> (n, Tuple)
        | n, "record" -> (n, Inline)
        | _ -> fail "`constructor` is `%s` (a name and unit, tuple or record expected)" v
      in
      go ~fields ~ctors:({ cname; kind; args = []; fields = []; cdocs = [] } :: ctors) ~last:Ctor
        rest
    | ("member_doc", d) :: rest -> (
      match (last, fields, ctors) with
      | Field, f :: fs, _ -> go ~fields:({ f with docs = f.docs @ [ d ] } :: fs) ~ctors ~last rest
      | Ctor, _, c :: cs -> go ~fields ~ctors:({ c with cdocs = c.cdocs @ [ d ] } :: cs) ~last rest
      | Ctor_field, _, c :: cs ->
        go ~fields ~ctors:({ c with fields = add_doc_to_last_field c.fields d } :: cs) ~last rest
      | _ -> go ~fields ~ctors ~last rest)
    | (k, _) :: _ -> fail "unexpected key `%s` among a data type's members" k
  in
  let fields, ctors = go ~fields:[] ~ctors:[] ~last:No_member lines in
  let shape =
    match shape with
    | "record" -> if fields = [] then fail "a record with no field" else Record fields
    | "variant" ->
      if ctors = [] then fail "a variant with no constructor";
      List.iter
        (fun c ->
          if c.kind = Tuple && c.args = [] then fail "constructor %s: no `arg`" c.cname;
          if c.kind = Inline && c.fields = [] then fail "constructor %s: no `field`" c.cname)
        ctors;
      Variant ctors
    | v -> fail "`shape` is `%s` (record or variant expected)" v
  in
  { exn; shape }
