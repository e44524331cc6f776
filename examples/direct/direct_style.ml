(* The example is in direct_example.real.ml (see dune). *)
let () = Direct_example.main ()
