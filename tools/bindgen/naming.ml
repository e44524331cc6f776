(* The OCaml names of Rust items (tools/BINDGEN_SPEC.md, "Naming"): values, parameters, the
   types and modules of objects, and the names the generated code keeps for itself. *)

open Fail

(** A character of an identifier, in Rust and in OCaml (ASCII). *)
let is_ident_char = function 'a' .. 'z' | 'A' .. 'Z' | '0' .. '9' | '_' -> true | _ -> false

(** An identifier: a letter or [_], then identifier characters. *)
let is_ident s =
  s <> ""
  && (match s.[0] with 'a' .. 'z' | 'A' .. 'Z' | '_' -> true | _ -> false)
  && String.for_all is_ident_char s

(** A Rust raw identifier without its [r#]. *)
let strip_raw s =
  if String.length s > 2 && String.sub s 0 2 = "r#" then String.sub s 2 (String.length s - 2)
  else s

(** An OCaml value name: an identifier starting with a lowercase letter or [_], not [_]. *)
let is_lower_ident s =
  is_ident s && (match s.[0] with 'a' .. 'z' | '_' -> true | _ -> false) && s <> "_"

(** [snake "KvStore"] is [kv_store], [snake "HTTPClient"] is [http_client]: a capital starts a
    word after a lowercase letter or a digit, or before a lowercase letter after a capital (the
    macro's rule, which names the module in its messages). *)
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

(** The OCaml type of the Rust object type [rust]: [snake rust]. *)
let object_type rust = snake rust

(** The OCaml module of the Rust object type [rust]: [Kv_store] for [KvStore]. *)
let object_module rust = String.capitalize_ascii (snake rust)

(** Type names the generated code uses for itself: an object's type must not hide them. *)
let reserved_types =
  [ "t"; "unit"; "bool"; "int"; "int32"; "int64"; "float"; "string"; "bytes"; "option";
    "result"; "list"; "array" ]

(** Module names the generated code uses: an object's module must not hide them. *)
let reserved_modules = [ "Stdlib"; "Lwt"; "Lwt_stream"; "Lwt_rust" ]

(** The object type [rust] as an OCaml type and module, checked ([item]: the Rust item, for
    messages). *)
let check_object ~item rust =
  let ty = object_type rust in
  if not (is_lower_ident ty) then fail "%s: the Rust type `%s` makes no OCaml type name" item rust;
  if List.mem ty reserved_types then
    fail "%s: the OCaml type `%s` of the Rust type %s would hide a type the bindings use" item ty
      rust;
  if List.mem (object_module rust) reserved_modules then
    fail "%s: the OCaml module `%s` of the Rust type %s would hide a module the bindings use" item
      (object_module rust) rust

(* An OCaml keyword gets a trailing underscore. *)
let unkeyword n = if List.mem n Tool_keywords.ocaml then n ^ "_" else n

(** The OCaml value of a function or method named [rust] (without [r#], a keyword with a
    trailing [_], a method [new] as [create]); an error if it makes none. *)
let value_name ~item ~is_method rust =
  let plain = strip_raw rust in
  let name = if is_method && plain = "new" then "create" else unkeyword plain in
  if not (is_lower_ident name) then
    fail "%s: the Rust name `%s` is not an OCaml value name" item rust;
  name

(** The parameter names of a binding that wraps its external ([f ?switch x y = ...]): the Rust
    ones ([self] first for a receiver) where they are distinct OCaml identifiers other than
    [raw] (the external's name), else [x1], [x2], ... *)
let param_names ~raw ~receiver params =
  let names = List.map (fun n -> unkeyword (strip_raw n)) params in
  let names = if receiver then "self" :: names else names in
  let ok n = is_lower_ident n && n <> raw in
  let rec distinct = function [] -> true | n :: rest -> (not (List.mem n rest)) && distinct rest in
  if List.for_all ok names && distinct names then names
  else List.mapi (fun i _ -> Printf.sprintf "x%d" (i + 1)) names
