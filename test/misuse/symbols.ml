(* Rust items named like C library functions, by raw identifiers, or with a leading underscore
   (testlib/src/symbols.rs). Their C symbols are the attributes' own
   (lwt_rust_<n>_<crate>_...), never their bare Rust names: a Rust [write] once replaced the C
   library's for the whole program (OCaml's own [flush] called its stub: a crash at the first
   [print_endline]), a Rust [time] changed [Unix.time]. Here the C library's functions work as
   they should and the Rust ones are called through the generated bindings, natively and in
   bytecode. *)

module T = Lwt_rust_testlib

let failures = ref 0

let check what ok =
  if not ok then begin
    incr failures;
    Printf.printf "FAIL %s\n%!" what
  end

let () =
  (* The C library's write (channels, Unix.write), time and getpid. *)
  print_endline "symbols: print_endline works";
  Printf.printf "symbols: so does printf%!";
  print_newline ();
  prerr_endline "symbols: and prerr_endline";
  let r, w = Unix.pipe () in
  let n = Unix.write_substring w "through a pipe" 0 14 in
  let buf = Bytes.create 14 in
  let got = Unix.read r buf 0 14 in
  Unix.close r;
  Unix.close w;
  check "Unix.write and Unix.read" (n = 14 && got = 14 && Bytes.to_string buf = "through a pipe");
  let now = Unix.time () in
  check
    (Printf.sprintf "Unix.time () = %.0f, the time of day" now)
    (now > 1e9 && Float.abs (now -. Unix.gettimeofday ()) < 5.);
  check "Unix.getpid () is this process" (string_of_int (Unix.getpid ()) = Unix.readlink "/proc/self");
  (* The Rust functions of the same names, and raw and underscored names. *)
  check "Rust time ()" (T.time () = 42);
  check "Rust getpid ()" (T.getpid () = 7);
  check "Rust write" (Lwt_main.run (T.write "hello") = 5);
  check "Rust r#type" (T.type_ "checked" = "type checked");
  check "Rust r#match" (Lwt_main.run (T.match_ 41) = 42);
  check "Rust _private" (T._private () = "private");
  let k = T.Keywords.create () in
  check "Keywords.type_" (T.Keywords.type_ k = "keywords");
  check "Keywords._calls" (T.Keywords._calls k = 1);
  check "Keywords.match_" (Lwt_main.run (T.Keywords.match_ k 10) = 11);
  check "Keywords.write" (T.Keywords.write k "four" = 4);
  T.Keywords.close k;
  check "Keywords.close"
    (match T.Keywords._calls k with _ -> false | exception Lwt_rust.Closed "Keywords" -> true);
  (* A typed echo, whose symbol's item part comes from name = "...". *)
  check "echo_int (name = ...)" (Lwt_main.run (T.echo_int 3 true) = 3);
  flush stdout;
  if !failures > 0 then exit 1;
  print_endline "symbols: the C library's functions and the Rust ones are each their own"
