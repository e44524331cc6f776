(* lwt-rust-staticlib: writes the crate that builds a program's one Rust archive.

   A program links exactly one Rust staticlib (two would clash on the Rust runtime and on
   lwt_rust's own symbols). When several of its OCaml libraries each bring a crate of
   #[lwt_rust::func]s, that archive comes from a crate generated for the program, which
   depends on all of them: this tool writes its Cargo.toml and lib.rs in the current
   directory, and a dune rule builds it with cargo (README, "Several libraries with Rust
   inside").

   lwt-rust-staticlib NAME [--lock FILE] CRATE=SPEC...
     NAME   the generated crate's name: cargo builds libNAME.a and libNAME.so;
     CRATE  a crate to link in; SPEC is what Cargo.toml would say after `CRATE = `, or a bare
            path (starting with . or /) or version;
     --lock a Cargo.lock to start from (the versions it pins are kept where they fit).
   Names cargo would refuse (a leading digit, say), Rust keywords as crate names and a lock
   file it cannot read are refused (exit code 2) before any file is written. *)

let usage =
  "usage: lwt-rust-staticlib NAME [--lock FILE] CRATE=SPEC...\n\
   Writes Cargo.toml and lib.rs (a crate named NAME depending on every CRATE) here."

let fail fmt = Printf.ksprintf (fun s -> prerr_endline ("lwt-rust-staticlib: " ^ s); exit 2) fmt

(* Rust's keywords: a crate of that name cannot be named in the generated lib.rs. *)
let keywords =
  [ "as"; "async"; "await"; "break"; "const"; "continue"; "crate"; "dyn"; "else"; "enum";
    "extern"; "false"; "fn"; "for"; "if"; "impl"; "in"; "let"; "loop"; "match"; "mod"; "move";
    "mut"; "pub"; "ref"; "return"; "self"; "Self"; "static"; "struct"; "super"; "trait"; "true";
    "type"; "unsafe"; "use"; "where"; "while"; "abstract"; "become"; "box"; "do"; "final";
    "gen"; "macro"; "override"; "priv"; "try"; "typeof"; "unsized"; "virtual"; "yield" ]

(* Why cargo would refuse [s] as the name of a package (ours, NAME) or of a dependency (a
   CRATE), if it would: checked before anything is written, rather than failing in cargo
   later. ASCII letters, digits, [-] and [_], not starting with a digit, and (as lib.rs names
   the crates) not a Rust keyword. *)
let name_problem s =
  if s = "" then Some "it is empty"
  else if
    not
      (String.for_all
         (function 'a' .. 'z' | 'A' .. 'Z' | '0' .. '9' | '_' | '-' -> true | _ -> false)
         s)
  then Some "cargo takes only ASCII letters, digits, '-' and '_' in a crate name"
  else if s.[0] >= '0' && s.[0] <= '9' then Some "cargo refuses a crate name starting with a digit"
  else if s.[0] = '-' then Some "cargo refuses a crate name starting with '-'"
  else if List.mem (String.map (function '-' -> '_' | c -> c) s) keywords then
    Some "it is a Rust keyword, which lib.rs could not name"
  else None

let check_name what s =
  match name_problem s with
  | None -> ()
  | Some why -> fail "%s %S is refused: %s\n%s" what s why usage

(* A Cargo.toml dependency value: an inline table or string as given, a path, or a version. *)
let spec_value spec =
  let spec = String.trim spec in
  if spec = "" then fail "empty specification"
  else if spec.[0] = '{' || spec.[0] = '"' then spec
  else if spec.[0] = '.' || spec.[0] = '/' then Printf.sprintf "{ path = %S }" spec
  else Printf.sprintf "%S" spec

let read_file path =
  match open_in_bin path with
  | exception Sys_error e -> fail "cannot read the lock file: %s" e
  | ic -> (
    Fun.protect
      ~finally:(fun () -> close_in_noerr ic)
      (fun () ->
        try really_input_string ic (in_channel_length ic)
        with Sys_error e | Failure e -> fail "cannot read the lock file %s: %s" path e))

let write_file path contents =
  match open_out_bin path with
  | exception Sys_error e -> fail "cannot write %s" e
  | oc -> (
    try
      output_string oc contents;
      close_out oc
    with Sys_error e -> close_out_noerr oc; fail "cannot write %s: %s" path e)

let () =
  let args = List.tl (Array.to_list Sys.argv) in
  let name, args =
    match args with
    | ("-h" | "-help" | "--help") :: _ -> print_endline usage; exit 0
    | name :: rest when String.length name > 0 && name.[0] <> '-' && not (String.contains name '=') ->
      check_name "the package name" name;
      (name, rest)
    | _ -> fail "%s" usage
  in
  let rec parse lock crates = function
    | "--lock" :: file :: rest -> parse (Some file) crates rest
    | [ "--lock" ] -> fail "--lock needs a file\n%s" usage
    | arg :: rest -> (
      match String.index_opt arg '=' with
      | Some i ->
        let crate = String.sub arg 0 i in
        check_name "the crate" crate;
        let spec = String.sub arg (i + 1) (String.length arg - i - 1) in
        if List.mem_assoc crate crates then fail "%s is listed twice" crate;
        parse lock ((crate, spec_value spec) :: crates) rest
      | _ -> fail "not CRATE=SPEC: %s\n%s" arg usage)
    | [] -> (lock, List.rev crates)
  in
  let lock, crates = parse None [] args in
  if crates = [] then fail "no crate given\n%s" usage;
  (* Everything that can fail is done before the first file is written. *)
  let lock = Option.map read_file lock in
  let b = Buffer.create 1024 in
  let line fmt = Printf.bprintf b (fmt ^^ "\n") in
  line "# Generated by lwt-rust-staticlib: the one Rust archive of a program, holding every crate";
  line "# its OCaml libraries bring (and lwt_rust, which they depend on).";
  line "[package]";
  line "name = %S" name;
  line "version = \"0.0.0\"";
  line "edition = \"2021\"";
  line "publish = false";
  line "";
  line "[lib]";
  line "path = \"lib.rs\"";
  line "crate-type = [\"staticlib\", \"cdylib\"]";
  line "";
  line "[dependencies]";
  List.iter (fun (crate, spec) -> line "%s = %s" crate spec) crates;
  line "";
  line "# A workspace of its own, wherever it is generated.";
  line "[workspace]";
  line "";
  line "# Panics are contained (Lwt_rust.Rust_panic): that needs unwinding.";
  line "[profile.release]";
  line "panic = \"unwind\"";
  let cargo_toml = Buffer.contents b in
  Buffer.clear b;
  line "//! Generated by lwt-rust-staticlib: links in every crate below, with the C stubs of their";
  line "//! `#[lwt_rust::func]`s (a crate nothing names would be left out).";
  List.iter
    (fun (crate, _) ->
      let ident = String.map (function '-' -> '_' | c -> c) crate in
      line "pub use %s;" ident)
    crates;
  let lib_rs = Buffer.contents b in
  write_file "Cargo.toml" cargo_toml;
  write_file "lib.rs" lib_rs;
  Option.iter (write_file "Cargo.lock") lock
