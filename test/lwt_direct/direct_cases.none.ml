(* This toolchain has no Lwt_direct (it needs Lwt 6 on OCaml 5): nothing to check here. *)
let main () = print_endline "test_lwt_direct: no Lwt_direct in this toolchain, skipped"
