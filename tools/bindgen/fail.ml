(* How the generator stops on an error: a message on stderr, exit code 2, nothing written (the
   files are written last, once everything is checked). *)

(** [fail fmt ...] prints [lwt-rust-bindgen: <message>] on stderr and exits with code 2. *)
let fail fmt =
  Printf.ksprintf
    (fun s ->
      prerr_endline ("lwt-rust-bindgen: " ^ s);
      exit 2)
    fmt
