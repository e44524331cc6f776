(* This toolchain has no Lwt_direct (it needs Lwt 6 on OCaml 5). *)
let main () = print_endline "direct_style: no Lwt_direct in this toolchain (Lwt 6 on OCaml 5 has it)"
