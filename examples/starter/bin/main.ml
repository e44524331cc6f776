(* Calls the Rust functions and the Rust object of rust/src/lib.rs from an Lwt program, through
   the bindings generated from the crate (_build/default/rust/starter_rust.mli). *)

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
  let store = Starter_rust.Kv_store.create () in
  let* () = Starter_rust.Kv_store.set store "language" "OCaml" in
  let* () = Starter_rust.Kv_store.set store "runtime" "tokio" in
  let* language = Starter_rust.Kv_store.get store "language" in
  let* missing = Starter_rust.Kv_store.get store "missing" in
  let show = function Some v -> Printf.sprintf "Some %S" v | None -> "None" in
  Printf.printf "kv_store: %d keys, language = %s, missing = %s\n"
    (Starter_rust.Kv_store.len store) (show language) (show missing);
  let* entries = Starter_rust.Kv_store.entries store in
  List.iter
    (fun { Starter_rust.key; value } -> Printf.printf "entry %s = %s\n" key value)
    entries;
  let* () =
    Lwt.catch
      (fun () ->
        let* entry = Starter_rust.Kv_store.entry store "missing" in
        Printf.printf "entry missing = %s\n" entry.value;
        Lwt.return_unit)
      (function
        | Starter_rust.Kv_error (NotFound { key }) ->
          Printf.printf "no entry for %S (Kv_error NotFound)\n" key;
          Lwt.return_unit
        | exn -> Lwt.fail exn)
  in
  Starter_rust.Kv_store.close store;
  Lwt.return_unit

let () = Lwt_main.run (main ())
