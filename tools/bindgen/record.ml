(* A binding record checked against the format (Schema): which keys its kind of item has, in
   which order, how many times, and their values' grammar. What it holds is read as it is:
   the OCaml names and types are the proc macros', never mapped here. *)

open Fail

type kind = Schema.kind = Function | Method | Object | Data

(** How a function or method is called: what its binding returns. *)
type call =
  | Async  (** an ['r Lwt.t] *)
  | Stream  (** an ['r Lwt_stream.t] ([stream] and [try_stream]) *)
  | Sync  (** the value itself *)
  | Raw of string  (** the OCaml type given verbatim *)

(** A record of the crate, checked. Every OCaml name and type is the macro's, as given. *)
type t = {
  where : string;  (** file and byte, for messages *)
  kind : kind;
  rust : string;  (** the Rust name, as written, for messages (and an error type's doc) *)
  symbol : string;  (** the C symbol *)
  owner : string;  (** methods: the Rust type; "" otherwise *)
  ocaml_module : string;  (** objects: their OCaml module; "" otherwise *)
  ocaml_type : string;  (** objects and data types: their OCaml type; "" otherwise *)
  call : call;  (** objects: Sync (their close stub); data types: Sync (unused) *)
  ocaml_name : string;  (** functions and methods: the OCaml value; "" otherwise *)
  params : (string * string) list;
      (** OCaml parameter name, OCaml type (a method's object first, as [t]) *)
  result : string;  (** the whole OCaml result type; "" for raw calls, objects and data *)
  docs : string list;  (** the Rust doc comment's lines (markdown) *)
  data : Data_type.t option;  (** data types: the type their record describes *)
}

let malformed (f : Archive.found) fmt =
  Printf.ksprintf (fun s -> fail "%s: malformed binding record: %s" f.where s) fmt

let values (f : Archive.found) key =
  List.filter_map (fun (k, v) -> if k = key then Some v else None) f.fields

let one f key =
  match values f key with
  | [ v ] -> v
  | [] -> malformed f "no `%s` line" key
  | _ -> malformed f "more than one `%s` line" key

(** The crate a found record belongs to. *)
let crate_of f = one f "crate"

(* "a, b or c" *)
let alternatives words =
  match List.rev words with
  | [] -> ""
  | [ w ] -> w
  | last :: rest -> String.concat ", " (List.rev rest) ^ " or " ^ last

(** Whether [s] is an identifier: a letter or [_], then letters, digits and [_] (ASCII). *)
let is_ident s =
  s <> ""
  && (match s.[0] with 'a' .. 'z' | 'A' .. 'Z' | '_' -> true | _ -> false)
  && String.for_all (function 'a' .. 'z' | 'A' .. 'Z' | '0' .. '9' | '_' -> true | _ -> false) s

(* An OCaml name as the macros write it: letters, digits, [_] and [']. *)
let is_ocaml_name s =
  s <> ""
  && String.for_all
       (function 'a' .. 'z' | 'A' .. 'Z' | '0' .. '9' | '_' | '\'' -> true | _ -> false)
       s

(* A value against its key's grammar. *)
let check_value (f : Archive.found) key v =
  let name_and what ok =
    match Archive.split_key (String.trim v) with
    | name, rest when is_ocaml_name name && ok (String.trim rest) -> ()
    | _ -> malformed f "`%s` is `%s` (an OCaml name and %s expected)" key v what
  in
  match Schema.row key with
  | Some { grammar = One_of words; _ } when not (List.mem v words) ->
    malformed f "`%s` is `%s` (%s expected)" key v (alternatives words)
  | Some { grammar = Ocaml_name; _ } when not (is_ocaml_name (String.trim v)) ->
    malformed f "`%s` is `%s` (an OCaml name expected)" key v
  | Some { grammar = Name_and_ocaml_type; _ } -> name_and "an OCaml type" (( <> ) "")
  | Some { grammar = Name_and_text; _ } -> name_and "a text" (( <> ) "")
  | Some { grammar = Name_and_word words; _ } ->
    name_and (alternatives words) (fun w -> List.mem w words)
  | Some { grammar = Ocaml_type; _ } when String.trim v = "" ->
    malformed f "`%s` is empty (an OCaml type expected)" key
  | _ -> ()

(* The lines of every key the record's kind has, as many as the schema says, in its order. *)
let check_keys (f : Archive.found) kind =
  let raw = List.mem_assoc "call" f.fields && one f "call" = "raw" in
  let count_of key =
    match Schema.row key with Some r -> List.assoc kind r.counts | None -> Schema.Never
  in
  List.iter
    (fun (k, _) -> if count_of k = Never then malformed f "unexpected key `%s`" k)
    f.fields;
  ignore
    (List.fold_left
       (fun (last, at) (k, _) ->
         let p = Option.get (Schema.position k) in
         if p < at then malformed f "`%s` after `%s` (the keys in the format's order expected)" k last;
         (k, p))
       ("", 0) f.fields);
  if List.mem_assoc "call" f.fields then check_value f "call" (one f "call");
  List.iter
    (fun (r : Schema.row) ->
      match List.assoc kind r.counts with
      | Once -> ignore (one f r.key)
      | Optional when List.length (values f r.key) > 1 ->
        malformed f "more than one `%s` line" r.key
      | If_raw when raw -> ignore (one f r.key)
      | Unless_raw when not raw -> ignore (one f r.key)
      | If_raw when values f r.key <> [] ->
        malformed f "`%s` in a call that is not raw" r.key
      | Unless_raw when values f r.key <> [] -> malformed f "`%s` in a raw call" r.key
      | Optional | Any | Never | If_raw | Unless_raw -> ())
    Schema.current.rows;
  List.iter (fun (k, v) -> check_value f k v) f.fields

(** [check f]: the record [f] as the generator reads it; a malformed record is an error. *)
let check (f : Archive.found) =
  let item = one f "item" in
  let kind =
    match Schema.kind_of_item item with
    | Some kind -> kind
    | None ->
      check_value f "item" item;
      malformed f "`item` is `%s`" item
  in
  check_keys f kind;
  let call =
    match kind with
    | Object | Data -> Sync
    | Function | Method -> (
      match one f "call" with
      | "async" -> Async
      | "stream" | "try_stream" -> Stream
      | "sync" -> Sync
      | "raw" -> Raw (String.trim (one f "ocaml"))
      | v -> malformed f "`call` is `%s`, which this tool cannot print" v)
  in
  let opt key = match values f key with [ v ] -> String.trim v | _ -> "" in
  {
    where = f.where;
    kind;
    rust = String.trim (one f "rust");
    symbol = one f "symbol";
    owner = opt "owner";
    ocaml_module = opt "ocaml_module";
    ocaml_type = opt "ocaml_type";
    call;
    ocaml_name = opt "ocaml_name";
    params =
      List.map
        (fun v ->
          let name, ty = Archive.split_key (String.trim v) in
          (name, String.trim ty))
        (values f "ocaml_param");
    result = opt "ocaml_result";
    docs = values f "doc";
    data =
      (if kind <> Data then None
       else
         let exn =
           match values f "exception" with
           | [ v ] ->
             let name, registered = Archive.split_key (String.trim v) in
             Some (name, String.trim registered)
           | _ -> None
         in
         Some
           (Data_type.parse ~where:f.where ~shape:(one f "shape") ~exn
              (List.filter (fun (k, _) -> List.mem k Data_type.member_keys) f.fields)));
  }

(** The Rust item of a record, for messages: [crate::Type::name] or [crate::name]. *)
let describe ~crate r =
  match r.kind with
  | Method -> Printf.sprintf "%s::%s::%s" crate r.owner r.rust
  | Function | Object | Data -> Printf.sprintf "%s::%s" crate r.rust
