(* Rust type tokens as the records spell them (`quote!(#ty).to_string()`: usually separated by
   spaces, not always), parsed into a tree the type mapping reads. *)

(** A Rust type: a path with the generic arguments of its last segment, or a tuple ([Tuple []]
    is unit). *)
type t = Path of string list * t list | Tuple of t list

(** Raised by the parser, and by the type mapping for a type it has no OCaml type for. *)
exception Bad_type

let is_ident_char = Naming.is_ident_char
let is_ident = Naming.is_ident

(* Tokens, whether or not spaces separate them (`>>`, `()`, `a::b` are split too). *)
let lex s =
  let n = String.length s in
  let rec go i acc =
    if i >= n then List.rev acc
    else
      match s.[i] with
      | ' ' | '\t' -> go (i + 1) acc
      | ('<' | '>' | '(' | ')' | ',') as c -> go (i + 1) (String.make 1 c :: acc)
      | ':' when i + 1 < n && s.[i + 1] = ':' -> go (i + 2) ("::" :: acc)
      | c when is_ident_char c ->
        let j = ref i in
        while !j < n && is_ident_char s.[!j] do incr j done;
        go !j (String.sub s i (!j - i) :: acc)
      | _ -> raise Bad_type
  in
  go 0 []

let rec parse_type = function
  | "(" :: rest -> parse_paren rest
  | "::" :: rest -> parse_path [] rest
  | toks -> parse_path [] toks

and parse_path segments = function
  | id :: rest when is_ident id -> (
    let segments = id :: segments in
    match rest with
    | "::" :: rest -> parse_path segments rest
    | "<" :: rest ->
      let args, _, rest = parse_list ">" rest in
      if args = [] then raise Bad_type;
      (Path (List.rev segments, args), rest)
    | rest -> (Path (List.rev segments, []), rest))
  | _ -> raise Bad_type

(* After `(`: unit, a parenthesised type, or a tuple. *)
and parse_paren = function
  | ")" :: rest -> (Tuple [], rest)
  | toks -> (
    match parse_list ")" toks with
    | [ t ], false, rest -> (t, rest)
    | ts, _, rest -> (Tuple ts, rest))

(* Types separated by commas up to [close]: the types, whether a comma trails, the rest. *)
and parse_list close toks =
  let rec go acc toks =
    let t, rest = parse_type toks in
    match rest with
    | "," :: c :: rest when c = close -> (List.rev (t :: acc), true, rest)
    | "," :: rest -> go (t :: acc) rest
    | c :: rest when c = close -> (List.rev (t :: acc), false, rest)
    | _ -> raise Bad_type
  in
  go [] toks


(** [parse tokens]: the type the tokens spell, or [None]. *)
let parse s =
  match parse_type (lex s) with
  | t, [] -> Some t
  | _ -> None
  | exception Bad_type -> None
