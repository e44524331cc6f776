(* Finding the binding records in compiled files: a file whose layout the tool knows (an ar
   archive: a staticlib, an rlib; an ELF file: a shared library, an object) is checked whole
   before it is scanned, since a truncated or damaged one would otherwise give the records of
   some items only, and bindings missing the rest. Any other file is scanned as it is. Every
   record is the bytes between a NUL and the marker (Schema.marker) and the next NUL. *)

open Fail

let read_file path =
  match Tool_files.read_file path with Ok s -> s | Error e -> fail "cannot read %s" e

(** [is_at s i sub]: [sub] occurs in [s] at [i]. *)
let is_at s i sub =
  let m = String.length sub in
  i + m <= String.length s
  &&
  let rec same k = k = m || (s.[i + k] = sub.[k] && same (k + 1)) in
  same 0

(** A record's lines, blank ones dropped. *)
let split_lines body = List.filter (fun l -> l <> "") (String.split_on_char '\n' body)

(** [split_key "k v w"] is [("k", "v w")]: a line's key and value. *)
let split_key line =
  match String.index_opt line ' ' with
  | None -> (line, "")
  | Some i -> (String.sub line 0 i, String.sub line (i + 1) (String.length line - i - 1))

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

(** A record as found: where (file and byte), its bytes, its lines split into (key, value). *)
type found = { where : string; body : string; fields : (string * string) list }

(* The version a marker at [j] names, and where its record starts: [LWT_RUST_BINDINGS_], digits,
   a newline. *)
let marker_at s j =
  if not (is_at s j Schema.marker_prefix) then None
  else
    let start = j + String.length Schema.marker_prefix in
    let stop = ref start in
    while !stop < String.length s && s.[!stop] >= '0' && s.[!stop] <= '9' do incr stop done;
    if !stop = start || !stop >= String.length s || s.[!stop] <> '\n' then None
    else Some (String.sub s start (!stop - start), !stop + 1)

(** Every record in the file [path], in file order. A record of another version of the format
    (a NUL, then a marker naming another version) is an error: the crate was built by proc
    macros of another release than this tool's. *)
let scan path =
  let s = read_file path in
  check_layout path s;
  let rec go i acc =
    match String.index_from_opt s i Schema.marker_prefix.[0] with
    | None -> List.rev acc
    | Some j -> (
      match marker_at s j with
      | None -> go (j + 1) acc
      | Some (v, start) when v <> string_of_int Schema.version ->
        if j > 0 && s.[j - 1] = '\000' then
          fail
            "%s (byte %d): a binding record of format version %s; this lwt-rust-bindgen reads \
             version %d: build the crate with the lwt_rust crate of the same release as the \
             lwt_rust OCaml package"
            path j v Schema.version
        else go start acc
      | Some (_, start) ->
        let where = Printf.sprintf "%s (byte %d)" path j in
        let stop =
          match String.index_from_opt s start '\000' with
          | Some k -> k
          | None -> fail "%s: malformed binding record: no NUL byte ends it" where
        in
        let body = String.sub s start (stop - start) in
        (* The marker alone is no record: a string constant (this tool's own, say). *)
        if String.trim body = "" then go stop acc
        else go stop ({ where; body; fields = List.map split_key (split_lines body) } :: acc))
  in
  go 0 []
