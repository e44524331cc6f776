(* lwt-rust-new: writes a new project from the starter (examples/starter, embedded at build
   time), like `cargo new`, with every name that must agree made to agree: the crate's
   [package] name, the archive names in rust/dune's rule (libNAME.a, dllNAME.so), the
   library's name and foreign_archives, lwt-rust-bindgen's --crate, and the libraries of the
   program and the test.

   lwt-rust-new NAME [--native-only] [--lwt-rust-path PATH]
     NAME             the project's directory (created here) and its crate and library name;
                      the OCaml module of the bindings is NAME capitalised;
     --native-only    no bytecode artefacts: a staticlib only (no cdylib, no dllNAME.so),
                      the library in (modes native), the test native only;
     --lwt-rust-path  the lwt_rust crate by path (a relative PATH is taken from here and
                      written relative to NAME/rust/); the starter's Cargo.lock is kept, so
                      the build (cargo --locked) uses the versions it was tested with.
                      Without it, the crate comes from the registry (version 0.1) and no lock
                      file is written: run `cargo generate-lockfile` in NAME/rust once.
   A name cargo, dune or OCaml would refuse, or an existing NAME, is refused (exit code 2)
   before any file is written. *)

let usage = "usage: lwt-rust-new NAME [--native-only] [--lwt-rust-path PATH]"

let fail fmt = Printf.ksprintf (fun s -> prerr_endline ("lwt-rust-new: " ^ s); exit 2) fmt

(* A bug of this tool (the starter changed under it), not the user's: exit code 3. *)
let internal fmt =
  Printf.ksprintf (fun s -> prerr_endline ("lwt-rust-new: internal error: " ^ s); exit 3) fmt



(* Package names cargo reserves, and file names Windows reserves (cargo refuses both). *)
let cargo_reserved =
  [ "test"; "std"; "core"; "alloc"; "proc_macro"; "build"; "deps"; "examples";
    "incremental"; "con"; "prn"; "aux"; "nul" ]
  @ List.init 9 (fun i -> Printf.sprintf "com%d" (i + 1))
  @ List.init 9 (fun i -> Printf.sprintf "lpt%d" (i + 1))

(* Libraries and modules a project links with its own: a library of the same name would clash
   with them (two modules of one name in one program). *)
let taken =
  [ "lwt"; "lwt_unix"; "lwt_rust"; "unix"; "threads"; "stdlib"; "str"; "main"; "dune";
    "ocaml"; "futures"; "tokio" ]

(* Why NAME cannot be the project's crate and library name, if it cannot. One name serves as
   the directory, the cargo package, the Rust crate (underscores only: cargo turns '-' into
   '_' in archive names, dune and OCaml take no '-') and the dune library. *)
let name_problem s =
  if s = "" then Some "it is empty"
  else if String.length s > 64 then Some "cargo refuses names longer than 64 characters"
  else if
    not (String.for_all (function 'a' .. 'z' | '0' .. '9' | '_' -> true | _ -> false) s)
  then
    Some
      "use lowercase ASCII letters, digits and '_' only (a '-' would name the crate and the \
       OCaml library differently; an uppercase letter is no OCaml library name)"
  else if not (s.[0] >= 'a' && s.[0] <= 'z') then
    Some "it must start with a letter (cargo refuses a leading digit, OCaml a leading '_')"
  else if List.mem s Tool_keywords.rust then Some "it is a Rust keyword, which cargo refuses"
  else if List.mem s Tool_keywords.ocaml then Some "it is an OCaml keyword"
  else if List.mem s cargo_reserved then Some "cargo reserves it"
  else if List.mem s taken then
    Some "a library or module of that name is linked into the program already"
  else
    let rec has_double_underscore i =
      i + 1 < String.length s && ((s.[i] = '_' && s.[i + 1] = '_') || has_double_underscore (i + 1))
    in
    if has_double_underscore 0 then Some "dune reserves '__' in module names"
    else None

(* [s] with every occurrence of [sub] replaced by [by]; [~must] asserts it occurs. *)
let replace ?(must = true) ~file sub by s =
  let n = String.length sub in
  let b = Buffer.create (String.length s) in
  let found = ref false in
  let i = ref 0 in
  while !i < String.length s do
    if !i + n <= String.length s && String.sub s !i n = sub then begin
      Buffer.add_string b by;
      found := true;
      i := !i + n
    end
    else begin
      Buffer.add_char b s.[!i];
      incr i
    end
  done;
  if must && not !found then internal "%s: %S not found in the starter" file sub;
  Buffer.contents b

(* The lock file with its root package renamed, the packages kept in cargo's order (by name)
   so that `cargo build --locked` finds it unchanged. *)
let rename_in_lock ~name lock =
  let sep = "\n[[package]]\n" in
  let parts =
    let rec split s acc =
      match
        let n = String.length sep in
        let rec find i =
          if i + n > String.length s then None
          else if String.sub s i n = sep then Some i
          else find (i + 1)
        in
        find 0
      with
      | None -> List.rev (s :: acc)
      | Some i ->
        split (String.sub s (i + String.length sep) (String.length s - i - String.length sep))
          (String.sub s 0 i :: acc)
    in
    split lock []
  in
  match parts with
  | [] | [ _ ] -> internal "the starter's Cargo.lock has no package"
  | header :: packages ->
    let root = "name = \"starter_rust\"\n" in
    let is_root p = String.length p >= String.length root && String.sub p 0 (String.length root) = root in
    let roots, others = List.partition is_root packages in
    let renamed =
      match roots with
      | [ r ] -> replace ~file:"rust/Cargo.lock" root (Printf.sprintf "name = %S\n" name) r
      | _ -> internal "the starter's Cargo.lock has no single starter_rust package"
    in
    let name_of p =
      match String.index_opt p '\n' with Some i -> String.sub p 0 i | None -> p
    in
    let rec insert = function
      | [] -> [ renamed ]
      | p :: rest when compare (name_of p) (name_of renamed) > 0 -> renamed :: p :: rest
      | p :: rest -> p :: insert rest
    in
    String.concat sep (header :: insert others)

let transform ~name ~native_only ~lwt_rust_path (path, contents) =
  let module_name = String.capitalize_ascii name in
  let path = if path = "test/test_starter.ml" then "test/test_" ^ name ^ ".ml" else path in
  let contents =
    if path = "rust/Cargo.lock" then rename_in_lock ~name contents
    else
      contents
      |> replace ~must:false ~file:path "starter_rust" name
      |> replace ~must:false ~file:path "Starter_rust" module_name
      |> replace ~must:false ~file:path "test_starter" ("test_" ^ name)
  in
  let contents =
    match path with
    | "rust/Cargo.toml" ->
      let dep =
        match lwt_rust_path with
        | Some p -> Printf.sprintf "lwt_rust = { path = %S, features = [\"tokio\"] }" p
        | None -> "lwt_rust = { version = \"0.1\", features = [\"tokio\"] }"
      in
      let contents =
        replace ~file:path "lwt_rust = { path = \"../../..\", features = [\"tokio\"] }" dep
          contents
      in
      if native_only then
        replace ~file:path "crate-type = [\"staticlib\", \"cdylib\"]"
          "# Native code only (lwt-rust-new --native-only): no cdylib for bytecode.\n\
           crate-type = [\"staticlib\"]"
          contents
      else contents
    | "rust/dune" when native_only ->
      contents
      |> replace ~file:path
           (Printf.sprintf "(targets lib%s.a dll%s.so)" name name)
           (Printf.sprintf "(targets lib%s.a)" name)
      |> replace ~file:path
           (Printf.sprintf
              "    lib%s.a)\n   (run\n    cp\n    %%{env:CARGO_TARGET_DIR=../../../target}/release/lib%s.so\n    dll%s.so))))"
              name name name)
           (Printf.sprintf "    lib%s.a))))" name)
      |> replace ~file:path
           (Printf.sprintf " (foreign_archives %s)" name)
           (Printf.sprintf
              " ; Native code only (lwt-rust-new --native-only): no dll%s.so to build.\n\
              \ (modes native)\n\
              \ (foreign_archives %s)"
              name name)
    | "test/dune" when native_only ->
      contents
      |> replace ~file:path
           "; The same checks in native code and in bytecode. The bytecode program loads the crate's shared\n\
            ; archive, found here through CAML_LD_LIBRARY_PATH (installed programs find it in stublibs).\n"
           "; The checks, in native code only (lwt-rust-new --native-only).\n"
      |> replace ~file:path " (modes byte exe)" " (modes exe)"
      |> replace ~file:path
           (Printf.sprintf
              "  (progn\n   (run %%{dep:test_%s.exe})\n   (setenv\n    CAML_LD_LIBRARY_PATH\n    \"../rust:%%{env:CAML_LD_LIBRARY_PATH=}\"\n    (run %%{dep:test_%s.bc})))))"
              name name)
           (Printf.sprintf "  (run %%{dep:test_%s.exe})))" name)
    | _ -> contents
  in
  (path, contents)

let rec mkdir_p dir =
  if not (Sys.file_exists dir) then begin
    mkdir_p (Filename.dirname dir);
    try Sys.mkdir dir 0o755 with Sys_error e -> fail "cannot create %s: %s" dir e
  end

let write_file path contents =
  mkdir_p (Filename.dirname path);
  match Tool_files.write_file path contents with
  | Ok () -> ()
  | Error e -> fail "cannot write %s" e

let () =
  let name = ref None and native_only = ref false and lwt_rust_path = ref None in
  let rec parse = function
    | [] -> ()
    | "--native-only" :: rest -> native_only := true; parse rest
    | "--lwt-rust-path" :: p :: rest ->
      if p = "" then fail "--lwt-rust-path needs a path\n%s" usage;
      lwt_rust_path := Some p;
      parse rest
    | [ "--lwt-rust-path" ] -> fail "--lwt-rust-path needs a path\n%s" usage
    | ("-h" | "-help" | "--help") :: _ -> print_endline usage; exit 0
    | a :: _ when String.length a > 0 && a.[0] = '-' -> fail "unknown option %s\n%s" a usage
    | a :: rest ->
      if !name <> None then fail "one NAME only (got a second: %s)\n%s" a usage;
      name := Some a;
      parse rest
  in
  parse (List.tl (Array.to_list Sys.argv));
  let name = match !name with Some n -> n | None -> fail "NAME is missing\n%s" usage in
  (match name_problem name with
  | Some why -> fail "the name %S is refused: %s\n%s" name why usage
  | None -> ());
  if Sys.file_exists name then fail "%s exists already: nothing written" name;
  (match !lwt_rust_path with
  | Some p when not (Sys.file_exists (Filename.concat p "Cargo.toml")) ->
    fail "--lwt-rust-path %s: no Cargo.toml there (give the lwt_rust repository's root)" p
  | _ -> ());
  (* A relative path is relative to here; the project's rust/ is two levels below. *)
  let lwt_rust_path =
    Option.map
      (fun p -> if Filename.is_relative p then Filename.concat "../.." p else p)
      !lwt_rust_path
  in
  let files =
    List.map (transform ~name ~native_only:!native_only ~lwt_rust_path) Starter_files.files
    |> List.filter (fun (path, _) -> path <> "rust/Cargo.lock" || lwt_rust_path <> None)
  in
  List.iter (fun (path, contents) -> write_file (Filename.concat name path) contents) files;
  Printf.printf "lwt-rust-new: wrote %s/ (crate and library %s, module %s%s)\n" name name
    (String.capitalize_ascii name)
    (if !native_only then ", native code only" else "");
  if lwt_rust_path = None then
    Printf.printf
      "lwt-rust-new: no Cargo.lock yet: run `cargo generate-lockfile` in %s/rust once, and \
       keep the file (the build uses it with --locked)\n"
      name
