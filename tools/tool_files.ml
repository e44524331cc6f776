(* Reading and writing a whole file, for the three tools: each says what went wrong in its own
   words, so these give the system's reason as an [Error] rather than exiting. *)

(** The contents of the file [path], or why it cannot be read. *)
let read_file path =
  match open_in_bin path with
  | exception Sys_error e -> Error e
  | ic -> (
    Fun.protect
      ~finally:(fun () -> close_in_noerr ic)
      (fun () ->
        try Ok (really_input_string ic (in_channel_length ic))
        with Sys_error e | Failure e -> Error (path ^ ": " ^ e)))

(** Writes [contents] to the file [path] (replacing it), or says why it cannot: a failure to
    close (a full disk shows there) is one too. *)
let write_file path contents =
  match open_out_bin path with
  | exception Sys_error e -> Error e
  | oc -> (
    try
      output_string oc contents;
      close_out oc;
      Ok ()
    with Sys_error e -> close_out_noerr oc; Error (path ^ ": " ^ e))
