(* Checks every function of rust/src/lib.rs; exits non-zero on the first failure. *)

let check name expected actual =
  if expected <> actual then begin
    Printf.eprintf "FAIL %s: expected %s, got %s\n" name expected actual;
    exit 1
  end

let outcome p =
  Lwt_main.run
    (Lwt.catch
       (fun () -> Lwt.map (fun v -> Ok v) p)
       (function
         | Lwt_rust.Rust_error message -> Lwt.return (Error ("Rust_error: " ^ message))
         | exn -> Lwt.return (Error (Printexc.to_string exn))))

let int_outcome p =
  match outcome p with Ok v -> string_of_int v | Error message -> message

let () =
  (* The first call is a tokio timer: nothing needs calling before. *)
  (match outcome (Starter_rust.sleep_ms 10) with
  | Ok slept -> check "tokio timer on the first call" "true" (string_of_bool (slept >= 10))
  | Error message -> check "tokio timer on the first call" "Ok" message);
  check "add" "42" (int_outcome (Starter_rust.add 40 2));
  check "divide" "3" (int_outcome (Starter_rust.divide 7 2));
  check "divide by zero" "Rust_error: cannot divide 1 by 0"
    (int_outcome (Starter_rust.divide 1 0));
  let file = Filename.temp_file "starter" ".txt" in
  let oc = open_out_bin file in
  output_string oc "twelve bytes";
  close_out oc;
  check "file_length" "12" (int_outcome (Starter_rust.file_length file));
  Sys.remove file;
  (match outcome (Starter_rust.file_length file) with
  | Error message when String.length message > 11 && String.sub message 0 11 = "Rust_error:" -> ()
  | Error message -> check "file_length of a missing file" "Rust_error: ..." message
  | Ok n -> check "file_length of a missing file" "Rust_error: ..." (string_of_int n));
  check "countdown" "3 2 1 0"
    (String.concat " "
       (List.map string_of_int (Lwt_main.run (Lwt_stream.to_list (Starter_rust.countdown 3)))));
  check "live tasks" "0" (string_of_int (Lwt_rust.stats ()).live_tasks);
  print_endline "starter: all checks passed"
