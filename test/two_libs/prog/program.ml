(* Calls both libraries' Rust functions (two of the same name, one in each); exits non-zero
   on a wrong result. *)

let check name expected actual =
  if expected <> actual then begin
    Printf.eprintf "FAIL %s: expected %S, got %S\n" name expected actual;
    exit 1
  end

let () =
  let open Lwt.Syntax in
  let outcome =
    Lwt_main.run
      (let* doubled = Alpha.double 21 in
       let* tripled = Beta.triple 14 in
       let* greeting = Alpha.greet "two libraries" in
       let* failed =
         Lwt.catch
           (fun () -> Lwt.map (fun () -> "resolved") (Beta.fail "refused"))
           (function Lwt_rust.Rust_error m -> Lwt.return m | e -> Lwt.return (Printexc.to_string e))
       in
       Lwt.return
         (Printf.sprintf "%d %d %s; %s; %s %s" doubled tripled greeting failed (Alpha.which ())
            (Beta.which ())))
  in
  check Sys.argv.(0) "42 42 hello, two libraries; refused; alpha beta" outcome;
  Printf.printf "%s: %s\n" (Filename.basename Sys.argv.(0)) outcome
