(* Starts (Lwt_rust's initialisation runs the handshake), then checks that the OCaml library and
   the crate linked in have the same version. *)

let () =
  let crate = Demo_stubs.crate_version () in
  if crate <> Lwt_rust.version then begin
    Printf.eprintf "versions differ: OCaml library %s, crate %s\n" Lwt_rust.version crate;
    exit 1
  end;
  print_string "started"
