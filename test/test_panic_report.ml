(* Lwt_rust.set_panic_report: what panics print on stderr is bounded (100k panicking calls with
   RUST_BACKTRACE=1 print a few hundred lines under the default), while every call still fails
   with Rust_panic carrying the message. stderr is redirected to a file for each phase. *)

let stderr_of f =
  let file = Filename.temp_file "panic_report" ".txt" in
  let fd = Unix.openfile file [ Unix.O_WRONLY; Unix.O_TRUNC ] 0o600 in
  let saved = Unix.dup Unix.stderr in
  flush stderr;
  Unix.dup2 fd Unix.stderr;
  Unix.close fd;
  let result = Fun.protect f ~finally:(fun () -> flush stderr; Unix.dup2 saved Unix.stderr; Unix.close saved) in
  let ic = open_in_bin file in
  let text = really_input_string ic (in_channel_length ic) in
  close_in ic;
  Sys.remove file;
  (result, text)

(* [n] calls panicking with [message]: how many failed with [Rust_panic message]. *)
let panics n message =
  let calls = List.init n (fun _ -> Demo_stubs.panic message) in
  Lwt_main.run
    (Lwt_list.fold_left_s
       (fun count p ->
         Lwt.catch
           (fun () -> Lwt.map (fun () -> count) p)
           (function
             | Lwt_rust.Rust_panic m when m = message -> Lwt.return (count + 1)
             | _ -> Lwt.return count))
       0 calls)

let count_lines text = List.length (String.split_on_char '\n' text) - 1

let occurrences sub text =
  let n = String.length sub in
  let count = ref 0 in
  for i = 0 to String.length text - n do
    if String.sub text i n = sub then incr count
  done;
  !count

let () =
  Unix.putenv "RUST_BACKTRACE" "1";
  Alcotest.run "lwt_rust panic reports"
    [
      ( "panic reports",
        [
          Alcotest.test_case "100k panics, default: bounded" `Quick (fun () ->
              let failed, text = stderr_of (fun () -> panics 100_000 "boom") in
              Alcotest.(check int) "every call fails with Rust_panic" 100_000 failed;
              Alcotest.(check int) "10 printed in full" 10 (occurrences "panicked at" text);
              Alcotest.(check int) "one summary line" 1 (occurrences "not printed in full" text);
              if count_lines text > 2000 || String.length text > 150_000 then
                Alcotest.failf "%d lines, %d bytes printed" (count_lines text) (String.length text));
          Alcotest.test_case "Report_first 3: three, then one line" `Quick (fun () ->
              Lwt_rust.set_panic_report (Lwt_rust.Report_first 3);
              let failed, text = stderr_of (fun () -> panics 1000 "three") in
              Alcotest.(check int) "every call fails" 1000 failed;
              Alcotest.(check int) "3 in full" 3 (occurrences "panicked at" text);
              Alcotest.(check int) "one summary line" 1 (occurrences "not printed in full" text);
              Alcotest.(check int) "at the first one left out" 1
                (occurrences ": 1 panic(s) not printed" text));
          Alcotest.test_case "Report_none: nothing" `Quick (fun () ->
              Lwt_rust.set_panic_report Lwt_rust.Report_none;
              let failed, text = stderr_of (fun () -> panics 1000 "quiet") in
              Alcotest.(check int) "every call fails" 1000 failed;
              Alcotest.(check string) "nothing printed" "" text);
          Alcotest.test_case "Report_all: every one" `Quick (fun () ->
              Lwt_rust.set_panic_report Lwt_rust.Report_all;
              let failed, text = stderr_of (fun () -> panics 100 "loud") in
              Alcotest.(check int) "every call fails" 100 failed;
              Alcotest.(check int) "100 in full" 100 (occurrences "panicked at" text);
              Lwt_rust.set_panic_report (Lwt_rust.Report_first 10));
          Alcotest.test_case "two 10 MB messages: each report cut" `Quick (fun () ->
              Lwt_rust.set_panic_report Lwt_rust.Report_all;
              let message = String.make 10_000_000 'x' in
              let outcomes, text =
                stderr_of (fun () ->
                    List.map
                      (fun p ->
                        Lwt_main.run
                          (Lwt.catch (fun () -> Lwt.map (fun () -> None) p) (fun e -> Lwt.return (Some e))))
                      [ Demo_stubs.panic message; Demo_stubs.panic message ])
              in
              Lwt_rust.set_panic_report (Lwt_rust.Report_first 10);
              Alcotest.(check int) "2 in full" 2 (occurrences "panicked at" text);
              Alcotest.(check int) "each says it was cut" 2 (occurrences "panic message cut at 4096 of its 10000000 bytes" text);
              (* Each report: the cut message and a backtrace (RUST_BACKTRACE=1). *)
              if String.length text > 60_000 then Alcotest.failf "%d bytes printed" (String.length text);
              List.iter
                (function
                  | Some (Lwt_rust.Rust_panic m) ->
                    Alcotest.(check bool) "Rust_panic carries the message, cut" true
                      (String.length m < 4200 && String.sub m 0 4096 = String.sub message 0 4096)
                  | _ -> Alcotest.fail "expected Rust_panic")
                outcomes);
          Alcotest.test_case "Report_first (-1) refused" `Quick (fun () ->
              Alcotest.check_raises "invalid"
                (Invalid_argument "Lwt_rust.set_panic_report: Report_first needs n >= 0")
                (fun () -> Lwt_rust.set_panic_report (Lwt_rust.Report_first (-1))));
        ] );
    ]
