(* Build-time helper of lwt-rust-new: prints an OCaml module holding the files of
   examples/starter, so that the installed scaffold command carries the starter it was
   tested with. Arguments: RELPATH=FILE, where RELPATH is the file's path in a project. *)

let read file =
  let ic = open_in_bin file in
  let s = really_input_string ic (in_channel_length ic) in
  close_in ic;
  s

let () =
  print_string
    "(* Generated from examples/starter by gen_starter_files.ml at build time. *)\n\n\
     (** The starter's files: (path in the project, contents). *)\nlet files = [\n";
  for i = 1 to Array.length Sys.argv - 1 do
    let arg = Sys.argv.(i) in
    match String.index_opt arg '=' with
    | None -> prerr_endline ("gen_starter_files: not RELPATH=FILE: " ^ arg); exit 2
    | Some j ->
      let rel = String.sub arg 0 j and file = String.sub arg (j + 1) (String.length arg - j - 1) in
      Printf.printf "  (%S, %S);\n" rel (read file)
  done;
  print_string "]\n"
