(* Runs the victim program normally, then pretending another protocol on the OCaml side. *)

let run victim env =
  let stdout_r, stdout_w = Unix.pipe () and stderr_r, stderr_w = Unix.pipe () in
  let env = Array.append env (Unix.environment ()) in
  let pid = Unix.create_process_env victim [| victim |] env Unix.stdin stdout_w stderr_w in
  Unix.close stdout_w;
  Unix.close stderr_w;
  let read fd =
    let ic = Unix.in_channel_of_descr fd in
    let b = Buffer.create 256 in
    (try
       while true do
         Buffer.add_channel b ic 1
       done
     with End_of_file -> ());
    close_in ic;
    Buffer.contents b
  in
  let out = read stdout_r and err = read stderr_r in
  let _, status = Unix.waitpid [] pid in
  (status, out, err)

let contains text sub =
  let n = String.length sub in
  let rec at i = i + n <= String.length text && (String.sub text i n = sub || at (i + 1)) in
  at 0

let fail fmt = Printf.ksprintf (fun s -> prerr_endline ("FAIL " ^ s); exit 1) fmt

let () =
  let victim = Sys.argv.(1) in
  let victim = if Filename.is_implicit victim then Filename.concat "." victim else victim in
  (match run victim [||] with
  | Unix.WEXITED 0, "started", _ -> ()
  | _, out, err -> fail "the matching halves did not start: %S %S" out err);
  (match run victim [| "LWT_RUST_TEST_PROTOCOL=999" |] with
  | Unix.WEXITED 0, _, _ -> fail "started despite another protocol"
  | _, out, err ->
    if out <> "" then fail "the program ran: %S" out;
    List.iter
      (fun sub -> if not (contains err sub) then fail "%S not in %S" sub err)
      [ "Lwt_rust.Setup_failed"; "OCaml library lwt_rust 0.1.0 (protocol 999)";
        "Rust crate lwt_rust 0.1.0 (protocol 5)"; "protocol 999 against 5" ]);
  print_endline "handshake: OK"
