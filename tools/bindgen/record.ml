(* A binding record checked against the format (Schema): which keys its kind of item has, in
   which order, how many times, and their values' grammar. *)

open Fail

type kind = Schema.kind = Function | Method | Object | Type_alias | Data

(** How a function or method is called: what its binding returns. *)
type call =
  | Async  (** an ['r Lwt.t] *)
  | Stream  (** an ['r Lwt_stream.t] ([stream] and [try_stream]) *)
  | Sync  (** the value itself *)
  | Raw of string  (** the OCaml type given verbatim *)

(** A record of the crate, checked. *)
type t = {
  where : string;  (** file and byte, for messages *)
  kind : kind;
  rust : string;  (** the Rust name, as written (a raw identifier keeps its [r#]) *)
  symbol : string;  (** the C symbol *)
  owner : string;  (** methods: the Rust type; "" otherwise *)
  call : call;
      (** objects: Sync (their close stub); types: Raw (their OCaml type); data types: Sync
          (unused) *)
  receiver : bool;  (** a method taking [&self] *)
  params : (string * string) list;  (** Rust name, Rust type tokens *)
  returns : string;  (** Rust type tokens; "" for raw calls, objects and types *)
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

(* A value against its key's grammar. *)
let check_value (f : Archive.found) key v =
  match Schema.row key with
  | Some { grammar = One_of words; _ } when not (List.mem v words) ->
    malformed f "`%s` is `%s` (%s expected)" key v (alternatives words)
  | Some { grammar = Name_and_type; _ } -> (
    match Archive.split_key (String.trim v) with
    | name, ty when name <> "" && String.trim ty <> "" -> ()
    | _ -> malformed f "`%s` is `%s` (a name and a Rust type expected)" key v)
  | Some { grammar = Name_and_word words; _ } -> (
    match Archive.split_key (String.trim v) with
    | name, word when name <> "" && List.mem word words -> ()
    | _ -> malformed f "`%s` is `%s` (a name and %s expected)" key v (alternatives words))
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
    | Type_alias -> Raw (String.trim (one f "ocaml"))
    | Function | Method -> (
      match one f "call" with
      | "async" -> Async
      | "stream" | "try_stream" -> Stream
      | "sync" -> Sync
      | "raw" -> Raw (String.trim (one f "ocaml"))
      | v -> malformed f "`call` is `%s`, which this tool cannot print" v)
  in
  {
    where = f.where;
    kind;
    rust = (if kind = Data then String.trim (one f "rust") else one f "rust");
    symbol = one f "symbol";
    owner = (if kind = Method then one f "owner" else "");
    call;
    receiver = kind = Method && one f "receiver" = "yes";
    params =
      List.map
        (fun v ->
          let name, ty = Archive.split_key (String.trim v) in
          (name, String.trim ty))
        (values f "param");
    returns =
      (match (kind, call) with
      | (Object | Type_alias | Data), _ | _, Raw _ -> ""
      | _ -> String.trim (one f "returns"));
    docs = values f "doc";
    data =
      (if kind <> Data then None
       else
         let registered = match values f "exception" with [ v ] -> Some v | _ -> None in
         Some
           (Data_type.parse ~where:f.where ~shape:(one f "shape") ~registered
              (List.filter (fun (k, _) -> List.mem k Data_type.member_keys) f.fields)));
  }

(** The Rust item of a record, for messages: [crate::Type::name] or [crate::name]. *)
let describe ~crate r =
  match r.kind with
  | Method -> Printf.sprintf "%s::%s::%s" crate r.owner r.rust
  | Function | Object | Type_alias | Data -> Printf.sprintf "%s::%s" crate r.rust
