(* lwt-rust-bindgen: writes the OCaml bindings (.ml and .mli) of a Rust crate's exports.

   The proc macros #[lwt_rust::func], #[lwt_rust::object] and #[lwt_rust::external] embed, for
   every item they export, a binding record in the compiled crate: the item's Rust name, its
   C symbol, how it is called, its OCaml name, its parameters' OCaml names and types, its whole
   OCaml result type, and its doc comment; #[lwt_rust::record], #[lwt_rust::variant] and
   #[lwt_rust::error] embed a data type's OCaml type, fields or constructors, which the
   bindings declare as OCaml records, variants and exceptions. Every name and type is the
   macros' (the compiler's, for a type the macro cannot see): this tool maps nothing. It scans
   compiled archives (a staticlib, an rlib built without LTO, a shared library: any file) for
   those records, keeps the ones of one crate, checks them against the format and against each
   other, and writes the externals, the ordinary functions wrapping synchronous stubs, and one
   module per Rust object type. Generating the bindings from what the compiler embedded keeps
   them in step with the Rust code: a hand-written external can silently disagree with its
   stub. The contract (record format, names, types, output layout) is in
   tools/BINDGEN_SPEC.md; the stages are the modules of the library in tools/bindgen/.

   lwt-rust-bindgen --crate NAME [--ml FILE.ml] [--mli FILE.mli] ARCHIVE...
     NAME    the Rust crate whose records to keep, as CARGO_CRATE_NAME spells it;
     --ml    the implementation to write (default NAME.ml);
     --mli   the interface to write (default NAME.mli).
   Errors (unreadable file, malformed record, two items with one OCaml name, a type of another
   crate's, no record for NAME) exit with code 2 and a message on stderr. *)

open Bindings
open Fail

let usage =
  "usage: lwt-rust-bindgen --crate NAME [--ml FILE.ml] [--mli FILE.mli] ARCHIVE...\n\
   Writes the OCaml bindings of the Rust crate NAME from the binding records in the ARCHIVEs."

let write_file path contents =
  match Tool_files.write_file path contents with
  | Ok () -> ()
  | Error e -> fail "cannot write %s" e

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
  if not (Record.is_ident (String.map (function '-' -> '_' | c -> c) crate)) then
    fail "--crate %s: no crate has that name (letters, digits and _, not starting with a digit)"
      crate;
  if files = [] then fail "no archive given\n%s" usage;
  let found = List.concat_map Archive.scan files in
  let crates = List.sort_uniq compare (List.map Record.crate_of found) in
  let mine = List.filter (fun f -> Record.crate_of f = crate) found in
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
  (* Identical copies of a record are one. The data types of other crates are only named in
     messages (a function of this crate cannot use them). *)
  let rec dedupe seen = function
    | [] -> []
    | (f : Archive.found) :: rest ->
      if List.mem f.body seen then dedupe seen rest else f :: dedupe (f.body :: seen) rest
  in
  let model =
    Of_records.build ~crate ~foreign:(Data_decls.foreign ~crate found)
      (List.map Record.check (dedupe [] mine))
  in
  let ml_text = Print_ml.print model and mli_text = Print_mli.print model in
  write_file (Option.value ml ~default:(crate ^ ".ml")) ml_text;
  write_file (Option.value mli ~default:(crate ^ ".mli")) mli_text
