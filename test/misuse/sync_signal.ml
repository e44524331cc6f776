(* A synchronous Rust function's failure travels with its own call.

   A signal handler calling synchronous functions fires, at a high rate, between any two steps
   of a loop that calls a failing synchronous function and a succeeding one. Every failing call
   must raise its own exception (Rust_error "failed <n>", n its own argument), every successful
   call return its own value: never another call's failure, a lost failure (a value of no
   meaning typed as string), or the failure of a later call. Run in native code and in
   bytecode (where signal handlers run between the instructions of a call's sequence); a
   failure recorded for a later read (the design this replaced) lost thousands of failures a
   second here in bytecode.

   sync_signal.exe [SECONDS]   (default 2) *)

module T = Lwt_rust_testlib

type verdict = Right | Returned of string | Raised of exn

(* What [T.sync_checked n fail] did, checked against what it must do. A string that is really
   an immediate (a lost failure) is reported without being read as a string. *)
let call n fail =
  match T.sync_checked n fail with
  | s when Obj.is_int (Obj.repr s) -> Returned "an immediate typed as string"
  | s -> if (not fail) && s = Printf.sprintf "ok %d" n then Right else Returned s
  | exception Lwt_rust.Rust_error m when fail && m = Printf.sprintf "failed %d" n -> Right
  | exception e -> Raised e

let describe = function
  | Right -> "right"
  | Returned s -> "returned " ^ s
  | Raised e -> "raised " ^ Printexc.to_string e

let () =
  let seconds = if Array.length Sys.argv > 1 then float_of_string Sys.argv.(1) else 2.0 in
  let handled = ref 0 and handler_wrong = ref 0 in
  let calls = ref 0 and wrong = ref 0 and first_wrong = ref None in
  let note what n fail v =
    incr wrong;
    if !first_wrong = None then
      first_wrong :=
        Some (Printf.sprintf "%s: sync_checked %d %b: %s" what n fail (describe v))
  in
  Sys.set_signal Sys.sigalrm
    (Sys.Signal_handle
       (fun _ ->
         incr handled;
         let n = - !handled in
         (* A success, which once cleared a failure recorded by the interrupted call, and a
            failure of its own, which once replaced it. *)
         (match call n false with Right -> () | v -> incr handler_wrong; note "handler" n false v);
         match call n true with Right -> () | v -> incr handler_wrong; note "handler" n true v));
  let tick = { Unix.it_interval = 0.0002; it_value = 0.0002 } in
  ignore (Unix.setitimer Unix.ITIMER_REAL tick);
  let deadline = Unix.gettimeofday () +. seconds in
  while Unix.gettimeofday () < deadline do
    for _ = 1 to 200 do
      incr calls;
      let n = !calls in
      (match call n true with Right -> () | v -> note "loop" n true v);
      match call n false with Right -> () | v -> note "loop" n false v
    done
  done;
  ignore (Unix.setitimer Unix.ITIMER_REAL { Unix.it_interval = 0.; it_value = 0. });
  (* A signal still pending (valgrind delivers them late) must not end the process. *)
  Sys.set_signal Sys.sigalrm Sys.Signal_ignore;
  Printf.printf "sync_signal: %d loop calls of each kind, %d signals handled, %d wrong (%d in the handler)\n%!"
    !calls !handled !wrong !handler_wrong;
  Option.iter (Printf.printf "first wrong: %s\n%!") !first_wrong;
  if !wrong > 0 then exit 1;
  if !handled < 100 then begin
    Printf.printf "too few signals handled to tell (%d)\n" !handled;
    exit 1
  end
