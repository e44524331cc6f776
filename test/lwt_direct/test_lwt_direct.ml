(* The cases are in direct_cases.real.ml, selected where Lwt_direct exists (see dune). *)
let () = Direct_cases.main ()
