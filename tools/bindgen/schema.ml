(* The binding record format as data, parsed from record_schema.txt (embedded in the tool as
   Schema_text.text): the version, the approved fingerprints, and one row a key. Record checks
   every record against it; the version test compares its fingerprint with the approved one. *)

(** The kinds of item a record describes, as the [item] key spells them. *)
type kind = Function | Method | Object | Data

(** How many lines of a key a record of one kind has. *)
type count =
  | Once  (** exactly one *)
  | Optional  (** at most one *)
  | Any  (** any number *)
  | Never  (** none *)
  | If_raw  (** exactly one when [call] is [raw], none otherwise *)
  | Unless_raw  (** exactly one when [call] is not [raw], none otherwise *)

(** What a key's value may be. *)
type grammar =
  | One_of of string list  (** one of these words *)
  | Ocaml_name  (** an OCaml name: letters, digits, [_] and ['] *)
  | Name_and_ocaml_type  (** an OCaml name, a space, an OCaml type *)
  | Name_and_text  (** an OCaml name, a space, any text *)
  | Name_and_word of string list  (** an OCaml name, a space, one of these words *)
  | Ocaml_type  (** an OCaml type, printed as it is *)
  | Text  (** any text *)

(** One key of the format. *)
type row = {
  key : string;
  counts : (kind * count) list;  (** for each kind of item *)
  shared : bool;
      (** its lines share the place of the row above (a data type's members, which mix) *)
  grammar : grammar;
}

(** The kinds in the order of the table's columns. *)
let columns = [ Function; Method; Object; Data ]

(** The words of a line, its comment (from [#]) dropped. *)
let words line =
  let line = match String.index_opt line '#' with Some i -> String.sub line 0 i | None -> line in
  List.filter (( <> ) "") (String.split_on_char ' ' (String.map (function '\t' -> ' ' | c -> c) line))

(** The rows of the format that define it: [key] lines, normalised (one space between words). *)
let key_lines text =
  List.filter_map
    (fun line ->
      match words line with "key" :: _ as ws -> Some (String.concat " " ws) | _ -> None)
    (String.split_on_char '\n' text)

(** The fingerprint of a schema text: the MD5, in hexadecimal, of its normalised [key] lines
    joined by newlines (comments, spacing, [version] and [approved] lines left out). *)
let fingerprint text = Digest.to_hex (Digest.string (String.concat "\n" (key_lines text)))

let bad fmt = Printf.ksprintf (fun s -> failwith ("record_schema.txt: " ^ s)) fmt

let count_of = function
  | "1" -> Once
  | "?" -> Optional
  | "*" -> Any
  | "-" -> Never
  | "raw" -> If_raw
  | "not-raw" -> Unless_raw
  | c -> bad "unknown count %s" c

let grammar_of = function
  | "ocaml-name" -> Ocaml_name
  | "name-and-ocaml-type" -> Name_and_ocaml_type
  | "name-and-text" -> Name_and_text
  | "ocaml-type" -> Ocaml_type
  | "text" -> Text
  | g when String.length g > 5 && String.sub g 0 5 = "name+" ->
    Name_and_word (String.split_on_char '|' (String.sub g 5 (String.length g - 5)))
  | g when String.contains g '|' -> One_of (String.split_on_char '|' g)
  | g -> bad "unknown grammar %s" g

(** A schema: its version, its approved [(version, fingerprint)] pairs, its rows in order. *)
type t = { version : int; approved : (int * string) list; rows : row list }

(** [parse text] reads a schema text; [Failure] if it is not one. *)
let parse text =
  let version = ref None and approved = ref [] and rows = ref [] in
  List.iter
    (fun line ->
      match words line with
      | [] -> ()
      | [ "version"; v ] -> (
        match int_of_string_opt v with Some v -> version := Some v | None -> bad "version %s" v)
      | [ "approved"; v; fp ] -> (
        match int_of_string_opt v with
        | Some v -> approved := (v, fp) :: !approved
        | None -> bad "approved %s" v)
      | [ "key"; key; f; m; o; d; place; g ] ->
        let counts = List.combine columns (List.map count_of [ f; m; o; d ]) in
        let shared =
          match place with "own" -> false | "shared" -> true | p -> bad "unknown place %s" p
        in
        if shared && !rows = [] then bad "the first row %s cannot share a place" key;
        rows := { key; counts; shared; grammar = grammar_of g } :: !rows
      | ws -> bad "cannot read the line `%s`" (String.concat " " ws))
    (String.split_on_char '\n' text);
  match !version with
  | None -> bad "no version line"
  | Some version -> { version; approved = List.rev !approved; rows = List.rev !rows }

(** The schema this tool reads records with. *)
let current = parse Schema_text.text

(** The format's version, written in every record's marker. *)
let version = current.version

(** What starts every record (after a NUL byte): [LWT_RUST_BINDINGS_<version>] and a
    newline. *)
let marker_prefix = "LWT_RUST_BINDINGS_"

let marker = marker_prefix ^ string_of_int version ^ "\n"

(** The row of [key], if the format has that key. *)
let row key = List.find_opt (fun r -> r.key = key) current.rows

(** Where [key] comes in a record: its place in the rows' order (keys are written in that
    order), rows that share a place having the same one. *)
let position key =
  let rec go place = function
    | [] -> None
    | r :: rest ->
      let place = if r.shared then place else place + 1 in
      if r.key = key then Some place else go place rest
  in
  go 0 current.rows

(** The kind an [item] value names. *)
let kind_of_item = function
  | "function" -> Some Function
  | "method" -> Some Method
  | "object" -> Some Object
  | "data" -> Some Data
  | _ -> None
