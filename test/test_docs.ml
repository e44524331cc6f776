(* Every Rust example of the README runs here (testlib/src/readme.rs, which holds them
   verbatim: the first case checks it). *)

(* Their bindings, generated from the crate (testlib/dune). *)
open Lwt_rust_testlib

let read_file path =
  let ic = open_in_bin path in
  let text = really_input_string ic (in_channel_length ic) in
  close_in ic;
  text

let contains text sub =
  let n = String.length sub in
  let rec at i = i + n <= String.length text && (String.sub text i n = sub || at (i + 1)) in
  at 0

(* The bodies of the README's ```rust blocks. *)
let rust_blocks readme =
  let rec scan lines current blocks =
    match (lines, current) with
    | [], _ -> List.rev blocks
    | "```rust" :: rest, None -> scan rest (Some []) blocks
    | "```" :: rest, Some block -> scan rest None (String.concat "\n" (List.rev block) :: blocks)
    | line :: rest, Some block -> scan rest (Some (line :: block)) blocks
    | _ :: rest, None -> scan rest None blocks
  in
  scan (String.split_on_char '\n' readme) None []

let with_file contents f =
  let path = Filename.temp_file "readme" ".txt" in
  let oc = open_out_bin path in
  output_string oc contents;
  close_out oc;
  Fun.protect ~finally:(fun () -> Sys.remove path) (fun () -> f path)

let run = Lwt_main.run

let () =
  Alcotest.run "lwt_rust README examples"
    [
      ( "README",
        [
          Alcotest.test_case "every Rust block is in testlib/src/readme.rs" `Quick (fun () ->
              (* dune's copies, next to this program's directory (it may run from elsewhere). *)
              let root = Filename.concat (Filename.dirname Sys.executable_name) Filename.parent_dir_name in
              let blocks = rust_blocks (read_file (Filename.concat root "README.md")) in
              let source = read_file (Filename.concat root "testlib/src/readme.rs") in
              Alcotest.(check bool) "some blocks" true (List.length blocks >= 4);
              List.iter
                (fun block ->
                  if not (contains source block) then
                    Alcotest.failf "not in testlib/src/readme.rs:\n%s" block)
                blocks);
          Alcotest.test_case "file_len (tokio::fs, the program's first Rust call)" `Quick
            (fun () ->
              with_file "twelve bytes" (fun path ->
                  Alcotest.(check int) "length" 12 (run (file_len path 3));
                  Alcotest.(check int) "on tokio's workers" 12 (run (file_len_on_tokio path)));
              with_file "aaa" (fun path ->
                  Alcotest.(check int) "byte_sum, on the blocking pool" (3 * Char.code 'a')
                    (run (byte_sum path)));
              (match run (byte_sum "/nonexistent/lwt_rust") with
               | _ -> Alcotest.fail "byte_sum read a missing file"
               | exception Lwt_rust.Rust_error _ -> ());
              match run (file_len "/nonexistent/lwt_rust" 2) with
              | _ -> Alcotest.fail "a missing file was read"
              | exception Lwt_rust.Rust_error _ -> ());
          Alcotest.test_case "call_n" `Quick (fun () ->
              let calls = ref 0 in
              let f () = incr calls; Lwt.pause () in
              Alcotest.(check int) "result" 1000 (run (call_n f 1000));
              Alcotest.(check int) "calls" 1000 !calls;
              let failing () = if !calls >= 1002 then Lwt.fail Exit else (incr calls; Lwt.return_unit) in
              Alcotest.check_raises "the same exception" Exit (fun () -> ignore (run (call_n failing 10))));
          Alcotest.test_case "lines and sum" `Quick (fun () ->
              with_file "one\ntwo\nthree\n" (fun path ->
                  Alcotest.(check (list string)) "lines" [ "one"; "two"; "three" ]
                    (run (Lwt_stream.to_list (lines path))));
              Alcotest.(check int) "sum" 6 (run (sum (Lwt_stream.of_list [ 1; 2; 3 ]))));
          Alcotest.test_case "handle_tour" `Quick (fun () ->
              Alcotest.(check int) "result" 42 (run (handle_tour ())));
          Alcotest.test_case "Ttl_cache (an object over tokio)" `Quick (fun () ->
              let ( let* ) = Lwt.bind in
              (* The README's OCaml lines, as they are there. *)
              let program () =
                let cache = Ttl_cache.create 50 in
                let* () = Ttl_cache.set cache "k" "v" in
                let* v = Ttl_cache.get cache "k" in                       (* Some "v" *)
                let* () = Ttl_cache.expiry cache "k" in
                let* gone = Ttl_cache.get cache "k" in                    (* None *)
                Ttl_cache.close cache;                                    (* Ttl_cache.len cache: Lwt_rust.Closed *)
                Lwt.return (cache, v, gone)
              in
              let cache, v, gone = run (program ()) in
              Alcotest.(check (option string)) "set, then get" (Some "v") v;
              Alcotest.(check (option string)) "expired" None gone;
              (match Ttl_cache.len cache with
              | _ -> Alcotest.fail "len after close"
              | exception Lwt_rust.Closed m -> Alcotest.(check string) "Closed" "Ttl_cache" m);
              let live = Ttl_cache.create 1000 in
              run (Ttl_cache.set live "a" "1");
              Alcotest.(check int) "len" 1 (Ttl_cache.len live);
              Ttl_cache.close live;
              match Ttl_cache.create (-1) with
              | _ -> Alcotest.fail "a negative ttl was accepted"
              | exception Lwt_rust.Rust_error m -> Alcotest.(check string) "Err" "negative ttl -1" m);
          Alcotest.test_case "nothing left" `Quick (fun () ->
              Gc.full_major ();
              let s = Lwt_rust.stats () in
              Alcotest.(check (list int)) "live tasks, roots, promises, streams, objects"
                [ 0; 0; 0; 0; 0 ]
                [ s.live_tasks; s.live_roots; s.live_promises; s.live_streams; s.live_objects ]);
        ] );
    ]
