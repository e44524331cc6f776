(* Calls the Rust functions of rust/src/lib.rs from an Lwt program. *)

let main () =
  let open Lwt.Syntax in
  let* sum = Starter_rust.add 40 2 in
  Printf.printf "add 40 2 = %d\n" sum;
  let* slept = Starter_rust.sleep_ms 20 in
  Printf.printf "tokio slept %d ms\n" slept;
  let* length = Starter_rust.file_length Sys.executable_name in
  Printf.printf "this program is %d bytes\n" length;
  let* () =
    Lwt.catch
      (fun () ->
        let* q = Starter_rust.divide 1 0 in
        Printf.printf "divide 1 0 = %d\n" q;
        Lwt.return_unit)
      (function
        | Lwt_rust.Rust_error message ->
          Printf.printf "divide 1 0 failed: %s\n" message;
          Lwt.return_unit
        | exn -> Lwt.fail exn)
  in
  let* items = Lwt_stream.to_list (Starter_rust.countdown 3) in
  Printf.printf "countdown 3 = [%s]\n" (String.concat "; " (List.map string_of_int items));
  Lwt.return_unit

let () = Lwt_main.run (main ())
