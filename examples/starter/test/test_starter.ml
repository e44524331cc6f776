(* Checks every function and the object of rust/src/lib.rs, through the generated bindings;
   exits non-zero on the first failure. *)

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

let string_option_outcome p =
  match outcome p with
  | Ok (Some v) -> Printf.sprintf "Some %S" v
  | Ok None -> "None"
  | Error message -> message

let unit_outcome p = match outcome p with Ok () -> "()" | Error message -> message
let bool_outcome p = match outcome p with Ok b -> string_of_bool b | Error message -> message

(* The object: a store made, used, compared and closed. *)
let check_kv_store () =
  let module Kv = Starter_rust.Kv_store in
  let store = Kv.create () in
  check "new store is empty" "true" (string_of_bool (Kv.is_empty store));
  check "set" "()" (unit_outcome (Kv.set store "a" "1"));
  check "set again" "()" (unit_outcome (Kv.set store "b" "2"));
  check "replace" "()" (unit_outcome (Kv.set store "a" "one"));
  check "get" "Some \"one\"" (string_option_outcome (Kv.get store "a"));
  check "get missing" "None" (string_option_outcome (Kv.get store "c"));
  check "len" "2" (string_of_int (Kv.len store));
  check "remove" "true" (bool_outcome (Kv.remove store "b"));
  check "remove missing" "false" (bool_outcome (Kv.remove store "b"));
  check "len after remove" "1" (string_of_int (Kv.len store));
  (* 50 sets in flight at once, each taking the tokio lock in turn. *)
  let keys = List.init 50 string_of_int in
  ignore (Lwt_main.run (Lwt.all (List.map (fun k -> Kv.set store k ("v" ^ k)) keys)));
  check "len after 50 concurrent sets" "51" (string_of_int (Kv.len store));
  check "get after concurrent sets" "Some \"v42\"" (string_option_outcome (Kv.get store "42"));
  (* A record and an error enum: Kv.entry gives an [entry] or raises [Kv_error]. *)
  let entry_outcome p =
    match outcome p with
    | Ok { Starter_rust.key; value } -> Printf.sprintf "%s=%s" key value
    | Error message -> message
  in
  check "entry" "a=one" (entry_outcome (Kv.entry store "a"));
  check "entry missing" "NotFound c"
    (match Lwt_main.run (Kv.entry store "c") with
    | _ -> "Ok"
    | exception Starter_rust.Kv_error (NotFound { key }) -> "NotFound " ^ key);
  check "entry of the empty key" "EmptyKey"
    (match Lwt_main.run (Kv.entry store "") with
    | _ -> "Ok"
    | exception Starter_rust.Kv_error EmptyKey -> "EmptyKey");
  let entries = Lwt_main.run (Kv.entries store) in
  check "entries" "51" (string_of_int (List.length entries));
  check "entries by key" "0=v0, a=one"
    (let show (e : Starter_rust.entry) = e.key ^ "=" ^ e.value in
     show (List.hd entries) ^ ", " ^ show (List.nth entries 50));
  (* Equality is the Rust object's identity. *)
  let other = Kv.create () in
  check "equal to itself" "true" (string_of_bool (Kv.equal store store));
  check "not equal to another store" "false" (string_of_bool (Kv.equal store other));
  check "compare with itself" "0" (string_of_int (Kv.compare store store));
  check "compare with another store" "true" (string_of_bool (Kv.compare store other <> 0));
  check "hash is stable" "true" (string_of_bool (Kv.hash store = Kv.hash store));
  check "abstract type at the top" "true"
    (string_of_bool (Starter_rust.Kv_store.equal (store : Starter_rust.kv_store) store));
  (* After close: a sync method raises Closed, an async one gives a rejected promise. *)
  Kv.close store;
  Kv.close other;
  check "len after close" "Closed"
    (match Kv.len store with
    | n -> string_of_int n
    | exception Lwt_rust.Closed _ -> "Closed");
  check "get after close" "Closed"
    (match Lwt_main.run (Kv.get store "a") with
    | _ -> "Ok"
    | exception Lwt_rust.Closed _ -> "Closed"
    | exception e -> Printexc.to_string e);
  check "close twice" "ok"
    (match Kv.close store with () -> "ok" | exception e -> Printexc.to_string e)

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
  check_kv_store ();
  check "live tasks" "0" (string_of_int (Lwt_rust.stats ()).live_tasks);
  print_endline "starter: all checks passed"
