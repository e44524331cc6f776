(* lwt-rust-bindgen: writes the OCaml bindings (.ml and .mli) of a Rust crate's exports.

   The proc macros #[lwt_rust::func], #[lwt_rust::object] and #[lwt_rust::external] embed, for
   every item they export, a binding record in the compiled crate: the item's Rust name, its
   C symbol, how it is called, its parameter and result types as Rust tokens, and its doc
   comment. This tool scans compiled archives (a staticlib, an rlib built without LTO, a shared
   library: any file) for those records, keeps the ones of one crate, maps their Rust types to
   OCaml types, and writes the externals, the ordinary functions wrapping synchronous stubs, and
   one module per Rust object type. Generating the bindings from what the compiler embedded
   keeps them in step with the Rust code: a hand-written external can silently disagree with
   its stub. The contract (record format, type mapping, naming, output layout) is in
   tools/BINDGEN_SPEC.md.

   lwt-rust-bindgen --crate NAME [--ml FILE.ml] [--mli FILE.mli] ARCHIVE...
     NAME    the Rust crate whose records to keep, as CARGO_CRATE_NAME spells it;
     --ml    the implementation to write (default NAME.ml);
     --mli   the interface to write (default NAME.mli).
   Errors (unreadable file, malformed record, Rust type with no OCaml type, two items with one
   OCaml name, no record for NAME) exit with code 2 and a message on stderr. *)

let usage =
  "usage: lwt-rust-bindgen --crate NAME [--ml FILE.ml] [--mli FILE.mli] ARCHIVE...\n\
   Writes the OCaml bindings of the Rust crate NAME from the binding records in the ARCHIVEs."

let fail fmt = Printf.ksprintf (fun s -> prerr_endline ("lwt-rust-bindgen: " ^ s); exit 2) fmt

let read_file path =
  match open_in_bin path with
  | exception Sys_error e -> fail "cannot read %s" e
  | ic -> (
    Fun.protect
      ~finally:(fun () -> close_in_noerr ic)
      (fun () ->
        try really_input_string ic (in_channel_length ic)
        with Sys_error e | Failure e -> fail "cannot read %s: %s" path e))

let write_file path contents =
  match open_out_bin path with
  | exception Sys_error e -> fail "cannot write %s" e
  | oc -> Fun.protect ~finally:(fun () -> close_out oc) (fun () -> output_string oc contents)

(* ---------- Records ---------- *)

let marker = "LWT_RUST_BINDINGS_1\n"

(* A record as found: where, its bytes, its lines split into (key, value). *)
type found = { where : string; body : string; fields : (string * string) list }

let is_at s i sub =
  let m = String.length sub in
  i + m <= String.length s
  &&
  let rec same k = k = m || (s.[i + k] = sub.[k] && same (k + 1)) in
  same 0

let split_lines body = List.filter (fun l -> l <> "") (String.split_on_char '\n' body)

let split_key line =
  match String.index_opt line ' ' with
  | None -> (line, "")
  | Some i -> (String.sub line 0 i, String.sub line (i + 1) (String.length line - i - 1))

(* ---------- Archive layouts ---------- *)

(* A file whose layout this tool knows (an ar archive: a staticlib, an rlib; an ELF file: a
   shared library, an object) is checked whole before it is scanned: a truncated or damaged
   one would otherwise give the records of some items only, and bindings missing the rest.
   Any other file is scanned as it is. *)

let damaged path fmt =
  Printf.ksprintf
    (fun s ->
      fail "%s: truncated or damaged archive (%s): rebuild it; no bindings were written" path s)
    fmt

(* The unsigned integer of [width] bytes at [at], little- or big-endian; [None] past the end
   or beyond OCaml's int. *)
let uint s ~big at width =
  if at < 0 || at + width > String.length s then None
  else
    let rec go k acc =
      if k = width then Some acc
      else
        let byte = Char.code s.[if big then at + k else at + width - 1 - k] in
        if acc > (max_int - byte) / 256 then None else go (k + 1) ((acc * 256) + byte)
    in
    go 0 0

(* An ar archive: 8 bytes of magic, then members, each a 60-byte header (its size in decimal
   at bytes 48 to 57, then a backquote and a newline) and its data, padded to an even
   length. *)
let check_ar path s =
  let n = String.length s in
  let rec member at =
    if at < n then begin
      if at + 60 > n then damaged path "the member header at byte %d ends at byte %d" at n;
      if String.sub s (at + 58) 2 <> "`\n" then
        damaged path "the member header at byte %d is not one" at;
      let size =
        match int_of_string_opt (String.trim (String.sub s (at + 48) 10)) with
        | Some size when size >= 0 -> size
        | _ -> damaged path "the member at byte %d has no size" at
      in
      let stop = at + 60 + size in
      if stop > n then
        damaged path "the member at byte %d holds %d bytes, the file ends after %d" at size
          (n - at - 60);
      member (stop + (stop land 1))
    end
  in
  member 8

(* An ELF file: its header, program headers and section headers, and every segment and
   section they place in the file, lie inside it. *)
let check_elf path s =
  let n = String.length s in
  if n < 6 then damaged path "the ELF header ends at byte %d" n;
  let wide = s.[4] = '\002' and big = s.[5] = '\002' in
  let field at width =
    match uint s ~big at width with
    | Some v -> v
    | None -> damaged path "the ELF field at byte %d is past the end of the file or too large" at
  in
  let word = if wide then 8 else 4 in
  let header = if wide then 64 else 52 in
  if n < header then damaged path "the ELF header ends at byte %d" n;
  let phoff = field (if wide then 0x20 else 0x1c) word in
  let shoff = field (if wide then 0x28 else 0x20) word in
  let phentsize = field (if wide then 0x36 else 0x2a) 2 in
  let phnum = field (if wide then 0x38 else 0x2c) 2 in
  let shentsize = field (if wide then 0x3a else 0x2e) 2 in
  let shnum = field (if wide then 0x3c else 0x30) 2 in
  let inside what at size =
    if at < 0 || size < 0 || at > n || size > n - at then
      damaged path "%s at byte %d, %d bytes long, goes past the end of the file (%d bytes)" what
        at size n
  in
  let table what off entsize count (place : int -> unit) =
    if off > 0 && count > 0 then begin
      if entsize = 0 then damaged path "the %s table has entries of no size" what;
      inside ("the " ^ what ^ " table") off (if count > n then n + 1 else entsize * count);
      for i = 0 to count - 1 do place (off + (i * entsize)) done
    end
  in
  table "program header" phoff phentsize phnum (fun at ->
      let offset = field (at + if wide then 0x08 else 0x04) word in
      let filesz = field (at + if wide then 0x20 else 0x10) word in
      inside "a segment" offset filesz);
  (* More sections than the header's field holds: the count is section 0's size. *)
  let shnum =
    if shnum = 0 && shoff > 0 then begin
      inside "the section header table" shoff shentsize;
      field (shoff + if wide then 0x20 else 0x14) word
    end
    else shnum
  in
  table "section header" shoff shentsize shnum (fun at ->
      let kind = field (at + 4) 4 in
      let offset = field (at + if wide then 0x18 else 0x10) word in
      let size = field (at + if wide then 0x20 else 0x14) word in
      (* SHT_NULL and SHT_NOBITS occupy nothing in the file. *)
      if kind <> 0 && kind <> 8 then inside "a section" offset size)

let check_layout path s =
  if is_at s 0 "!<arch>\n" then check_ar path s
  else if is_at s 0 "!<thin>\n" then
    fail
      "%s: a thin archive, which holds only the names of its members: give the member files, \
       or build an ordinary archive"
      path
  else if is_at s 0 "\127ELF" then check_elf path s

(* Every record in one file, in file order. *)
let scan path =
  let s = read_file path in
  check_layout path s;
  let rec go i acc =
    match String.index_from_opt s i marker.[0] with
    | None -> List.rev acc
    | Some j when not (is_at s j marker) -> go (j + 1) acc
    | Some j ->
      let start = j + String.length marker in
      let where = Printf.sprintf "%s (byte %d)" path j in
      let stop =
        match String.index_from_opt s start '\000' with
        | Some k -> k
        | None -> fail "%s: malformed binding record: no NUL byte ends it" where
      in
      let body = String.sub s start (stop - start) in
      (* The marker alone is no record: a string constant (this tool's own, say). *)
      if String.trim body = "" then go stop acc
      else go stop ({ where; body; fields = List.map split_key (split_lines body) } :: acc)
  in
  go 0 []

type call = Async | Stream | Sync | Raw of string

type kind = Function | Object | Method | Type_alias

(* A record of the crate, checked. *)
type record = {
  where : string;
  kind : kind;
  rust : string;
  symbol : string;
  owner : string;  (** methods: the Rust type; "" otherwise *)
  call : call;  (** objects: Sync (their close stub) *)
  receiver : bool;
  params : (string * string) list;  (** Rust name, Rust type tokens *)
  returns : string;  (** Rust type tokens; "" for raw calls and objects *)
  docs : string list;
}

let malformed (f : found) fmt =
  Printf.ksprintf (fun s -> fail "%s: malformed binding record: %s" f.where s) fmt

let values f key = List.filter_map (fun (k, v) -> if k = key then Some v else None) f.fields

let one f key =
  match values f key with
  | [ v ] -> v
  | [] -> malformed f "no `%s` line" key
  | _ -> malformed f "more than one `%s` line" key

let crate_of f = one f "crate"

let check (f : found) =
  let kind =
    match one f "item" with
    | "function" -> Function
    | "object" -> Object
    | "method" -> Method
    | "type" -> Type_alias
    | v -> malformed f "`item` is `%s` (function, object, method or type expected)" v
  in
  let allowed =
    [ "crate"; "item"; "rust"; "symbol"; "doc" ]
    @
    match kind with
    | Function -> [ "call"; "param"; "returns"; "ocaml" ]
    | Method -> [ "owner"; "call"; "receiver"; "param"; "returns"; "ocaml" ]
    | Object -> []
    | Type_alias -> [ "ocaml" ]
  in
  List.iter
    (fun (k, _) -> if not (List.mem k allowed) then malformed f "unexpected key `%s`" k)
    f.fields;
  let call =
    if kind = Object then Sync
    else if kind = Type_alias then Raw (String.trim (one f "ocaml"))
    else
      match one f "call" with
      | "async" -> Async
      | "stream" | "try_stream" -> Stream
      | "sync" -> Sync
      | "raw" -> Raw (String.trim (one f "ocaml"))
      | v -> malformed f "`call` is `%s` (async, stream, try_stream, sync or raw expected)" v
  in
  (match call with
  | Raw _ -> if values f "returns" <> [] then malformed f "`returns` in a raw call"
  | _ -> if values f "ocaml" <> [] then malformed f "`ocaml` in a call that is not raw");
  let params =
    List.map
      (fun v ->
        match split_key (String.trim v) with
        | name, ty when name <> "" && String.trim ty <> "" -> (name, String.trim ty)
        | _ -> malformed f "`param` is `%s` (a name and a Rust type expected)" v)
      (values f "param")
  in
  {
    where = f.where;
    kind;
    rust = one f "rust";
    symbol = one f "symbol";
    owner = (if kind = Method then one f "owner" else "");
    call;
    receiver =
      (kind = Method
      &&
      match one f "receiver" with
      | "yes" -> true
      | "no" -> false
      | v -> malformed f "`receiver` is `%s` (yes or no expected)" v);
    params;
    returns =
      (match (kind, call) with
      | (Object | Type_alias), _ | _, Raw _ -> ""
      | _ -> String.trim (one f "returns"));
    docs = values f "doc";
  }

(* ---------- Rust types ---------- *)

(* A Rust type as the tokens spell it: a path with the generic arguments of its last segment,
   or a tuple ([Tuple []] is unit). *)
type rust_type = Path of string list * rust_type list | Tuple of rust_type list

exception Bad_type

let is_ident_char = function 'a' .. 'z' | 'A' .. 'Z' | '0' .. '9' | '_' -> true | _ -> false

let is_ident s =
  s <> "" && (match s.[0] with 'a' .. 'z' | 'A' .. 'Z' | '_' -> true | _ -> false)
  && String.for_all is_ident_char s

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

let parse_rust_type s =
  match parse_type (lex s) with
  | t, [] -> Some t
  | _ -> None
  | exception Bad_type -> None

(* ---------- OCaml types and names ---------- *)

type ocaml_type = Con of ocaml_type list * string | Tup of ocaml_type list

(* A type standing alone (a tuple unparenthesised). *)
let rec type_string = function
  | Tup ts -> String.concat " * " (List.map atom_string ts)
  | Con _ as t -> atom_string t

(* A type where a tuple needs parentheses: a type argument, a tuple element, an arrow side. *)
and atom_string = function
  | Tup _ as t -> "(" ^ type_string t ^ ")"
  | Con ([], name) -> name
  | Con ([ t ], name) -> atom_string t ^ " " ^ name
  | Con (ts, name) -> "(" ^ String.concat ", " (List.map type_string ts) ^ ") " ^ name


let strip_raw s =
  if String.length s > 2 && String.sub s 0 2 = "r#" then String.sub s 2 (String.length s - 2)
  else s

let is_lower_ident s =
  is_ident s && (match s.[0] with 'a' .. 'z' | '_' -> true | _ -> false) && s <> "_"

(* `KvStore` -> `kv_store`, `HTTPClient` -> `http_client`: a capital starts a word after a
   lowercase letter or a digit, or before a lowercase letter after a capital (the macro's rule,
   which names the module in its messages). *)
let snake s =
  let b = Buffer.create (String.length s + 4) in
  let n = String.length s in
  let upper c = c >= 'A' && c <= 'Z' and lower c = c >= 'a' && c <= 'z' in
  let digit c = c >= '0' && c <= '9' in
  String.iteri
    (fun i c ->
      if i > 0 && upper c then begin
        let prev = s.[i - 1] in
        let next_lower = i + 1 < n && lower s.[i + 1] in
        if lower prev || digit prev || (upper prev && next_lower) then Buffer.add_char b '_'
      end;
      Buffer.add_char b (Char.lowercase_ascii c))
    s;
  Buffer.contents b

(* Names the generated code uses for itself: an object's type or module must not hide them. *)
let reserved_types =
  [ "t"; "unit"; "bool"; "int"; "int32"; "int64"; "float"; "string"; "bytes"; "option";
    "result"; "list"; "array" ]

let reserved_modules = [ "Stdlib"; "Lwt"; "Lwt_stream"; "Lwt_rust" ]

(* ---------- The bindings ---------- *)

type value = {
  name : string;  (** the OCaml name *)
  from : string;  (** the Rust item, for messages *)
  ml : string list;
  mli : string list;
}

(* The odoc text of a Rust doc comment (markdown): code spans to [code], fenced blocks to
   {[ ]}, headings to bold, other odoc-special characters escaped. A paragraph (lines up to a
   blank line, a heading or a fence) is read as one text, so that a code span may wrap across
   two lines of the comment (markdown turns its line break into a space). *)
let odoc_of_markdown lines =
  let strip l = if l <> "" && l.[0] = ' ' then String.sub l 1 (String.length l - 1) else l in
  (* [text] may hold line breaks: outside code spans they are kept. *)
  let inline text =
    let b = Buffer.create (String.length text + 8) in
    let n = String.length text in
    let run_at i =
      let j = ref i in
      while !j < n && text.[!j] = '`' do incr j done;
      !j - i
    in
    (* The end of a code span opened by [k] backticks at [i]: the next run of exactly [k]. *)
    let rec closing k i =
      if i >= n then None
      else if text.[i] = '`' then
        let r = run_at i in
        if r = k then Some i else closing k (i + r)
      else closing k (i + 1)
    in
    (* A code span's text as markdown reads it: line breaks are spaces, and one space goes at
       each end when both ends have one (and it is not all spaces). *)
    let span_text code =
      let code = String.map (function '\n' -> ' ' | c -> c) code in
      let m = String.length code in
      if m >= 2 && code.[0] = ' ' && code.[m - 1] = ' ' && String.trim code <> "" then
        String.sub code 1 (m - 2)
      else code
    in
    let rec go i =
      if i < n then
        match text.[i] with
        | '`' -> (
          let k = run_at i in
          match closing k (i + k) with
          | None ->
            Buffer.add_string b (String.sub text i k);
            go (i + k)
          | Some j ->
            Buffer.add_char b '[';
            String.iter
              (function
                | ('[' | ']') as c -> Buffer.add_char b '\\'; Buffer.add_char b c
                | c -> Buffer.add_char b c)
              (span_text (String.sub text (i + k) (j - i - k)));
            Buffer.add_char b ']';
            go (j + k))
        | ('{' | '}' | '[' | ']' | '@') as c ->
          Buffer.add_char b '\\';
          Buffer.add_char b c;
          go (i + 1)
        | c ->
          Buffer.add_char b c;
          go (i + 1)
    in
    go 0;
    Buffer.contents b
  in
  let heading line =
    let n = String.length line in
    let i = ref 0 in
    while !i < n && line.[!i] = '#' do incr i done;
    if !i > 0 && !i <= 6 && !i < n && line.[!i] = ' ' then
      Some (String.trim (String.sub line !i (n - !i)))
    else None
  in
  let is_fence l =
    let l = String.trim l in
    String.length l >= 3 && String.sub l 0 3 = "```"
  in
  (* [para]: the lines of the paragraph being read, last first. *)
  let flush para acc =
    if para = [] then acc
    else
      List.rev_append
        (String.split_on_char '\n' (inline (String.concat "\n" (List.rev para))))
        acc
  in
  let rec go in_code para acc = function
    | [] ->
      let acc = flush para acc in
      List.rev (if in_code then "]}" :: acc else acc)
    | l :: rest when is_fence l ->
      go (not in_code) [] ((if in_code then "]}" else "{[") :: flush para acc) rest
    | l :: rest when in_code -> go in_code [] (l :: acc) rest
    | l :: rest when String.trim l = "" -> go in_code [] (l :: flush para acc) rest
    | l :: rest -> (
      match heading l with
      | Some h -> go in_code [] (("{b " ^ inline h ^ "}") :: flush para acc) rest
      | None -> go in_code (l :: para) acc rest)
  in
  let out = go false [] [] (List.map strip lines) in
  (* Blank lines at either end go. *)
  let rec drop_blank = function l :: rest when String.trim l = "" -> drop_blank rest | ls -> ls in
  List.rev (drop_blank (List.rev (drop_blank out)))

(* Where a string literal that does not end starts in [s], read as OCaml's lexer reads the
   inside of a comment, once [s] holds no character literal of a double quote (see
   [comment_safe]): every double quote then opens or closes a string, and inside a string a
   backslash escapes the next character. *)
let unterminated_string s =
  let n = String.length s in
  let rec outside i =
    if i >= n then None else if s.[i] = '"' then inside i (i + 1) else outside (i + 1)
  and inside start i =
    if i >= n then Some start
    else match s.[i] with '"' -> outside (i + 1) | '\\' -> inside start (i + 2) | _ -> inside start (i + 1)
  in
  outside 0

(* The OCaml lexer reads inside comments too: a nested comment, a quoted string (opened by a
   brace, an optional extension name after one or two percent signs, an optional lowercase
   delimiter and a bar) or a string that does not end would break the file. A space goes after
   the parenthesis that opens a comment, the star that closes one and the brace that opens a
   quoted string. Whether a double quote between two single quotes is a character literal or
   opens a string depends on what precedes it (an identifier takes the single quotes it ends
   with, and OCaml 5.4's identifiers take non-ASCII letters): a space after the first single
   quote makes it open a string for every lexer. Then a double quote opening a string that
   does not end becomes two single quotes, until every string ends. *)
let comment_safe text =
  let rec fix s =
    let b = Buffer.create (String.length s) in
    let n = String.length s in
    let changed = ref false in
    String.iteri
      (fun i c ->
        Buffer.add_char b c;
        if i + 1 < n then
          match (c, s.[i + 1]) with
          | '(', '*' | '*', ')' | '{', '%' -> Buffer.add_char b ' '; changed := true
          | '{', _ ->
            (* A delimiter is lowercase letters (OCaml 5 takes more): any identifier
               characters, or bytes of non-ASCII ones. *)
            let j = ref (i + 1) in
            let delimiter = function
              | 'a' .. 'z' | 'A' .. 'Z' | '0' .. '9' | '_' | '\'' | '\128' .. '\255' -> true
              | _ -> false
            in
            while !j < n && delimiter s.[!j] do incr j done;
            if !j < n && s.[!j] = '|' then (Buffer.add_char b ' '; changed := true)
          | _ -> ())
      s;
    if !changed then fix (Buffer.contents b) else s
  in
  let replace_all s sub by =
    let m = String.length sub in
    let b = Buffer.create (String.length s) in
    let rec go i =
      if i >= String.length s then ()
      else if i + m <= String.length s && String.sub s i m = sub then (Buffer.add_string b by; go (i + m))
      else (Buffer.add_char b s.[i]; go (i + 1))
    in
    go 0;
    Buffer.contents b
  in
  let rec no_quote_chars s =
    let s' = replace_all (replace_all s "'\"'" "' \"'") "'\\\"'" "'\\ \"'" in
    if s' = s then s else no_quote_chars s'
  in
  let rec strings s =
    let s = no_quote_chars s in
    match unterminated_string s with
    | None -> s
    | Some i -> strings (String.sub s 0 i ^ "''" ^ String.sub s (i + 1) (String.length s - i - 1))
  in
  strings (fix text)

(* A doc comment; nothing if [lines] says nothing. *)
let doc_comment lines =
  match lines with
  | [] -> []
  | _ ->
    let lines = String.split_on_char '\n' (comment_safe (String.concat "\n" lines)) in
    let last = List.length lines - 1 in
    List.mapi
      (fun i l ->
        let l = if i = 0 then "(** " ^ l else if l = "" then "" else "    " ^ l in
        if i = last then l ^ " *)" else l)
      lines

type context = {
  crate : string;
  objects : (string * record) list;  (** Rust type name -> object record *)
  aliases : (string * string) list;
      (** Rust type name -> its OCaml type (#[lwt_rust::ocaml_type]) *)
}

let object_type ctx ~self name =
  if Some name = self then "t"
  else if List.mem_assoc name ctx.objects then snake name
  else raise Bad_type

(* The OCaml type of a Rust type (see the table of the spec); [self]: the object whose module
   the type is written in. *)
let rec ocaml_type ctx ~self t =
  let go = ocaml_type ctx ~self in
  match t with
  | Tuple [] -> Con ([], "unit")
  | Tuple ts when List.length ts >= 2 && List.length ts <= 4 -> Tup (List.map go ts)
  | Tuple _ -> raise Bad_type
  | Path (segments, args) -> (
    match (List.nth segments (List.length segments - 1), args) with
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
    | "Box", [ a ] -> go a
    | x, [] when List.mem_assoc x ctx.aliases ->
      let text = List.assoc x ctx.aliases in
      let simple = String.for_all (fun c -> is_ident_char c || c = '.' || c = '\'') text in
      Con ([], if simple then text else "(" ^ text ^ ")")
    | "Obj", [ Path (x, []) ] -> Con ([], object_type ctx ~self (List.nth x (List.length x - 1)))
    | x, [] -> Con ([], object_type ctx ~self x)
    | _ -> raise Bad_type)

let item_name ctx (r : record) =
  match r.kind with
  | Method -> Printf.sprintf "%s::%s::%s" ctx.crate r.owner r.rust
  | Function | Object | Type_alias -> Printf.sprintf "%s::%s" ctx.crate r.rust

let type_of ctx ~self (r : record) what tokens =
  let t =
    match parse_rust_type tokens with
    | Some t -> ( try Some (ocaml_type ctx ~self t) with Bad_type -> None)
    | None -> None
  in
  match t with
  | Some t -> t
  | None ->
    fail "%s: %s: no OCaml type for the Rust type `%s`%s" (item_name ctx r) what tokens
      (Bindgen_types.foreign_hint tokens)

let value_name ctx (r : record) =
  let rust = strip_raw r.rust in
  let name =
    if r.kind = Method && rust = "new" then "create"
    else if List.mem rust Tool_keywords.ocaml then rust ^ "_"
    else rust
  in
  if not (is_lower_ident name) then
    fail "%s: the Rust name `%s` is not an OCaml value name" (item_name ctx r) r.rust;
  name

(* [head : t1 -> t2 -> r suffix] on one line, or one type a line when that is too long. *)
let declaration head parts suffix =
  let line = head ^ " : " ^ String.concat " -> " parts ^ suffix in
  if String.length line <= 96 then [ line ]
  else
    let last = List.length parts - 1 in
    (head ^ " :")
    :: List.mapi (fun i p -> "  " ^ p ^ if i = last then suffix else " ->") parts

(* The parameter names of a binding that wraps its external ([f ?switch x y = ...]): the Rust
   ones where they are distinct OCaml identifiers, else x1, x2, ... *)
let param_names ~raw (r : record) =
  let names =
    List.map
      (fun (n, _) ->
        let n = strip_raw n in
        if List.mem n Tool_keywords.ocaml then n ^ "_" else n)
      r.params
  in
  let names = if r.receiver then "self" :: names else names in
  let ok n = is_lower_ident n && n <> raw in
  let rec distinct = function [] -> true | n :: rest -> (not (List.mem n rest)) && distinct rest in
  if List.for_all ok names && distinct names then names
  else List.mapi (fun i _ -> Printf.sprintf "x%d" (i + 1)) names

(* The OCaml value(s) of a function or method. *)
let binding ctx ~self (r : record) =
  let name = value_name ctx r in
  let params =
    List.map (fun (n, ty) -> atom_string (type_of ctx ~self r ("parameter " ^ n) ty)) r.params
  in
  let params = if r.receiver then "t" :: params else params in
  if List.length params > 5 then
    fail "%s: %d OCaml parameters; an external takes at most 5 (without a bytecode stub)"
      (item_name ctx r) (List.length params);
  let arrow result = (if params = [] then [ "unit" ] else params) @ [ result ] in
  let result () = atom_string (type_of ctx ~self r "result" r.returns) in
  let ext name parts = declaration ("external " ^ name) parts (Printf.sprintf " = %S" r.symbol) in
  let from = item_name ctx r in
  match r.call with
  | Raw ocaml ->
    (* A trusted type may end with [@@noalloc] (a stub that neither allocates nor calls
       OCaml): the attribute goes after the symbol. *)
    let noalloc = "[@@noalloc]" in
    let n = String.length ocaml and k = String.length noalloc in
    let ocaml, suffix =
      if n > k && String.sub ocaml (n - k) k = noalloc then
        (String.trim (String.sub ocaml 0 (n - k)), " " ^ noalloc)
      else (ocaml, "")
    in
    let e = declaration ("external " ^ name) [ ocaml ] (Printf.sprintf " = %S%s" r.symbol suffix) in
    [ { name; from; ml = e; mli = e } ]
  | Async ->
    let e = ext name (arrow (result () ^ " Lwt.t")) in
    [ { name; from; ml = e; mli = e } ]
  | Stream ->
    (* [?switch]: the stream is closed when the switch turns off (Lwt_rust.on_switch). The
       variable is [switch__], which no parameter's name can be. *)
    let raw = name ^ "__raw" in
    let ty = arrow (result () ^ " Lwt_stream.t") in
    let args = param_names ~raw r in
    let args = if args = [] then "()" else String.concat " " args in
    [
      { name = raw; from; ml = []; mli = [] };
      {
        name;
        from;
        ml =
          ext raw ty
          @ [ Printf.sprintf "let %s ?switch:switch__ %s =" name args;
              Printf.sprintf "  Lwt_rust.Bindgen.switched_stream switch__ (fun () -> %s %s)" raw
                args ];
        mli = declaration ("val " ^ name) ("?switch:Lwt_switch.t" :: ty) "";
      };
    ]
  | Sync ->
    (* The stub returns the value or raises the failure itself. *)
    let e = ext name (arrow (result ())) in
    [ { name; from; ml = e; mli = e } ]

(* Two values with one OCaml name in one scope: an error naming both Rust items. *)
let check_collisions ?(scope = "") ~what values =
  let sorted = List.stable_sort (fun a b -> compare a.name b.name) values in
  let rec go = function
    | a :: (b :: _ as rest) ->
      if a.name = b.name then
        fail "%s and %s both become the OCaml %s `%s`%s" a.from b.from what a.name scope;
      go rest
    | _ -> ()
  in
  go sorted

(* The values of one scope, checked, in name order (the names only reserved dropped). *)
let scope_items ?scope values =
  check_collisions ?scope ~what:"value" values;
  List.filter
    (fun v -> v.ml <> [] || v.mli <> [])
    (List.stable_sort (fun a b -> compare a.name b.name) values)

(* close, equal, compare, hash of an object's module. *)
let object_values ctx (o : record) =
  let from what = Printf.sprintf "the %s that every object gets (%s::%s)" what ctx.crate o.rust in
  let plain name ty def doc =
    {
      name;
      from = from name;
      ml = [ Printf.sprintf "let %s : %s = %s" name ty def ];
      mli = doc_comment doc @ [ Printf.sprintf "val %s : %s" name ty ];
    }
  in
  let close = Printf.sprintf "external close : t -> unit = %S" o.symbol in
  [
    {
      name = "close";
      from = from "close";
      ml = [ close ];
      mli =
        doc_comment
          [ "[close v] closes the Rust object: any later use of it from OCaml, through [v] or";
            "any other value of it, raises [Lwt_rust.Closed]; closing again does nothing. The";
            "object is dropped at once, or when the last method running on it ends." ]
        @ [ close ];
    };
    plain "equal" "t -> t -> bool" "Stdlib.( = )"
      [ "[equal a b] is [true] when [a] and [b] are the same Rust object: identity, not";
        "structure (two distinct objects holding equal data are not equal)." ];
    plain "compare" "t -> t -> int" "Stdlib.compare"
      [ "A total order on Rust objects by identity, not structure, consistent with";
        "{!equal}: for [Set.Make] and [Map.Make]." ];
    plain "hash" "t -> int" "Stdlib.Hashtbl.hash"
      [ "A hash of the Rust object's identity, consistent with {!equal}: for";
        "[Hashtbl.Make]." ];
  ]

(* The Rust doc comment of [r] before the interface of [v]. *)
let with_doc (r : record) v =
  if v.mli = [] then v else { v with mli = doc_comment (odoc_of_markdown r.docs) @ v.mli }

(* The lines of a sequence of items, a blank line between two. *)
let block indent items =
  List.concat
    (List.mapi
       (fun i lines ->
         (if i > 0 then [ "" ] else [])
         @ List.map (fun l -> if l = "" then l else indent ^ l) lines)
       (List.filter (fun ls -> ls <> []) items))

let generate ?(types = ([], [])) ctx records =
  let objects = ctx.objects in
  (* Object types and modules. *)
  List.iter
    (fun (name, o) ->
      let ty = snake name in
      if not (is_lower_ident ty) then
        fail "%s: the Rust type `%s` makes no OCaml type name" (item_name ctx o) name;
      if List.mem ty reserved_types then
        fail "%s: the OCaml type `%s` of the Rust type %s would hide a type the bindings use"
          (item_name ctx o) ty name;
      if List.mem (String.capitalize_ascii ty) reserved_modules then
        fail "%s: the OCaml module `%s` of the Rust type %s would hide a module the bindings use"
          (item_name ctx o) (String.capitalize_ascii ty) name)
    objects;
  check_collisions ~what:"type"
    (List.map
       (fun (name, o) -> { name = snake name; from = item_name ctx o; ml = []; mli = [] })
       objects);
  List.iter
    (fun (r : record) ->
      if r.kind = Method && not (List.mem_assoc r.owner objects) then
        fail "%s: no #[lwt_rust::object] record for its type %s" (item_name ctx r) r.owner)
    records;
  let functions = List.filter (fun (r : record) -> r.kind = Function) records in
  (* [Type_alias] records only name types. *)
  let top =
    scope_items
      (List.concat_map (fun r -> List.map (with_doc r) (binding ctx ~self:None r)) functions)
  in
  let sorted_objects = List.sort (fun (a, _) (b, _) -> compare (snake a) (snake b)) objects in
  let modules =
    List.map
      (fun (name, (o : record)) ->
        let m = String.capitalize_ascii (snake name) in
        let methods = List.filter (fun (r : record) -> r.kind = Method && r.owner = name) records in
        let values =
          scope_items
            ~scope:(" in module " ^ m)
            (List.concat_map
               (fun r -> List.map (with_doc r) (binding ctx ~self:(Some name) r))
               methods
            @ object_values ctx o)
        in
        (name, o, m, values))
      sorted_objects
  in
  let header =
    Printf.sprintf
      "(* Generated by lwt-rust-bindgen from the Rust crate `%s`: do not edit. *)" ctx.crate
  in
  (* .ml *)
  let type_decls = List.map (fun (name, _) -> "type " ^ snake name) sorted_objects in
  let ml =
    block ""
      ([ [ header ]; type_decls ]
      @ fst types
      @ List.map (fun v -> v.ml) top
      @ List.map
          (fun (name, _, m, values) ->
            [ Printf.sprintf "module %s = struct" m; "  type t = " ^ snake name; "" ]
            @ block "  " (List.map (fun v -> v.ml) values)
            @ [ "end" ])
          modules)
  in
  (* .mli *)
  let type_docs =
    List.map
      (fun (name, _) ->
        doc_comment
          [ Printf.sprintf "The Rust type [%s]: see {!%s}." name
              (String.capitalize_ascii (snake name)) ]
        @ [ "type " ^ snake name ])
      sorted_objects
  in
  let mli =
    block ""
      ([ [ header ];
         doc_comment [ Printf.sprintf "OCaml bindings of the Rust crate [%s]." ctx.crate ] ]
      @ type_docs
      @ snd types
      @ List.map (fun v -> v.mli) top
      @ List.map
          (fun (name, (o : record), m, values) ->
            doc_comment (odoc_of_markdown o.docs)
            @ [ Printf.sprintf "module %s : sig" m; "  type t = " ^ snake name; "" ]
            @ block "  " (List.map (fun v -> v.mli) values)
            @ [ "end" ])
          modules)
  in
  (String.concat "\n" ml ^ "\n", String.concat "\n" mli ^ "\n")

(* ---------- Main ---------- *)

let () =
  let rec parse crate ml mli files = function
    | "--crate" :: v :: rest -> parse (Some v) ml mli files rest
    | "--ml" :: v :: rest -> parse crate (Some v) mli files rest
    | "--mli" :: v :: rest -> parse crate ml (Some v) files rest
    | [ ("--crate" | "--ml" | "--mli") as option ] -> fail "%s needs a value\n%s" option usage
    | ("-h" | "-help" | "--help") :: _ -> print_endline usage; exit 0
    | "--" :: rest -> (crate, ml, mli, List.rev_append files rest)
    | arg :: _ when String.length arg > 1 && arg.[0] = '-' -> fail "unknown option %s\n%s" arg usage
    | file :: rest -> parse crate ml mli (file :: files) rest
    | [] -> (crate, ml, mli, List.rev files)
  in
  let crate, ml, mli, files = parse None None None [] (List.tl (Array.to_list Sys.argv)) in
  let crate = match crate with Some c when c <> "" -> c | _ -> fail "no --crate given\n%s" usage in
  (* A name no crate can have (cargo refuses it) is said so, rather than found in no file. *)
  if not (is_ident (String.map (function '-' -> '_' | c -> c) crate)) then
    fail "--crate %s: no crate has that name (letters, digits and _, not starting with a digit)"
      crate;
  if files = [] then fail "no archive given\n%s" usage;
  let found = List.concat_map scan files in
  let crates = List.sort_uniq compare (List.map crate_of found) in
  let mine = List.filter (fun f -> crate_of f = crate) found in
  if mine = [] then begin
    let underscored = String.map (function '-' -> '_' | c -> c) crate in
    fail
      "no binding records of the crate %s in %s (%s).%s\n\
       Likely causes: %s is not the crate's name as Rust spells it (CARGO_CRATE_NAME: \
       underscores, not dashes); the crate exports nothing with #[lwt_rust::func], \
       #[lwt_rust::object] or #[lwt_rust::external]; or the file holds no machine code for it \
       (an rlib built with LTO holds bitcode only)."
      crate (String.concat ", " files)
      (if crates = [] then "no records of any crate"
       else "records of the crates " ^ String.concat ", " crates)
      (if underscored <> crate && List.mem underscored crates then
         Printf.sprintf " Did you mean --crate %s?" underscored
       else "")
      crate
  end;
  (* Identical copies of a record are one. *)
  let rec dedupe seen = function
    | [] -> []
    | (f : found) :: rest ->
      if List.mem f.body seen then dedupe seen rest else f :: dedupe (f.body :: seen) rest
  in
  (* Data types (#[lwt_rust::record], #[lwt_rust::variant], #[lwt_rust::error]): their
     declarations, by Bindgen_types. *)
  let data, mine = List.partition (fun (f : found) -> Bindgen_types.is_data f.fields) (dedupe [] mine) in
  let data =
    List.map (fun (f : found) -> Bindgen_types.parse ~fail:(fail "%s") ~where:f.where f.fields) data
  in
  Bindgen_types.foreign :=
    List.filter_map
      (fun (f : found) ->
        if Bindgen_types.is_data f.fields && crate_of f <> crate then
          Some (one f "rust", crate_of f)
        else None)
      found;
  let records = List.map check mine in
  let objects =
    List.filter_map
      (fun (r : record) -> if r.kind = Object then Some (r.rust, r) else None)
      records
  in
  let aliases =
    List.filter_map
      (fun (r : record) ->
        match (r.kind, r.call) with Type_alias, Raw ocaml -> Some (r.rust, ocaml) | _ -> None)
      records
  in
  let type_env =
    {
      Bindgen_types.crate;
      fail = fail "%s";
      snake;
      keywords = Tool_keywords.ocaml;
      reserved_types;
      ocaml_type = (fun _ -> None);
      doc = (fun lines -> doc_comment (odoc_of_markdown lines));
    }
  in
  let aliases = aliases @ Bindgen_types.aliases type_env data in
  let ctx = { crate; objects; aliases } in
  let type_env =
    {
      type_env with
      ocaml_type =
        (fun tokens ->
          match parse_rust_type tokens with
          | Some t -> ( try Some (type_string (ocaml_type ctx ~self:None t)) with Bad_type -> None)
          | None -> None);
    }
  in
  Bindgen_types.check_names type_env
    ~taken:(List.map (fun (name, _) -> (snake name, name)) objects)
    data;
  let types =
    (Bindgen_types.declarations type_env ~with_docs:false data,
     Bindgen_types.declarations type_env ~with_docs:true data)
  in
  let ml_text, mli_text = generate ~types ctx records in
  write_file (Option.value ml ~default:(crate ^ ".ml")) ml_text;
  write_file (Option.value mli ~default:(crate ^ ".mli")) mli_text
