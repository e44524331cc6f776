(* Every Rust and OCaml example of the documentation runs here, and every block and link of it
   is checked. The documentation is README.md, ARCHITECTURE.md, CONTRIBUTING.md and docs/*.md.

   A fenced block names its language: rust, ocaml, dune, toml, sh or text. A block whose first
   line is a comment "from PATH" ([// from PATH], [(* from PATH *)], [; from PATH],
   [# from PATH]) shows a real file: the rest of the block is verbatim in PATH. Otherwise a
   rust block is verbatim in testlib/src/docs.rs (compiled into the test crate; the cases below
   call its functions), an ocaml block verbatim in test/docs_examples.ml (compiled here, its
   top-level code run when this program starts, its functions called below), and a dune, toml,
   sh or text block is an illustration, not checked. Relative links [](path#anchor) must point
   to a file or directory that exists and, into a markdown file, to one of its headings. *)

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

let starts_with s prefix =
  String.length s >= String.length prefix && String.sub s 0 (String.length prefix) = prefix

let ends_with s suffix =
  let n = String.length s and k = String.length suffix in
  n >= k && String.sub s (n - k) k = suffix

(* The source tree, where dune runs its actions from (the documentation links to files dune
   does not copy, such as examples/postgres). *)
let root =
  match Sys.getenv_opt "DUNE_SOURCEROOT" with
  | Some dir -> dir
  | None -> (* _build/default/test *) Filename.concat (Filename.dirname Sys.executable_name) "../../.."

let doc_files () =
  let docs =
    Sys.readdir (Filename.concat root "docs")
    |> Array.to_list
    |> List.filter (fun f -> Filename.check_suffix f ".md")
    |> List.sort compare
    |> List.map (fun f -> "docs/" ^ f)
  in
  [ "README.md"; "ARCHITECTURE.md"; "CONTRIBUTING.md" ] @ docs

type block = { file : string; line : int; lang : string; body : string list }

let count_indent line =
  let rec go i = if i < String.length line && line.[i] = ' ' then go (i + 1) else i in
  go 0

(* The fenced blocks of a markdown file, their lines stripped of the fence's indentation. *)
let blocks file =
  let lines = String.split_on_char '\n' (read_file (Filename.concat root file)) in
  let rec scan n lines current acc =
    match (lines, current) with
    | [], Some (line, _, _, _) -> failwith (Printf.sprintf "%s:%d: a block is never closed" file line)
    | [], None -> List.rev acc
    | l :: rest, None ->
        let indent = count_indent l in
        let t = String.sub l indent (String.length l - indent) in
        if starts_with t "```" then
          scan (n + 1) rest (Some (n, String.sub t 3 (String.length t - 3), indent, [])) acc
        else scan (n + 1) rest None acc
    | l :: rest, Some (line, lang, indent, body) ->
        if String.trim l = "```" then
          scan (n + 1) rest None ({ file; line; lang; body = List.rev body } :: acc)
        else
          let l =
            if count_indent l >= indent then String.sub l indent (String.length l - indent) else l
          in
          scan (n + 1) rest (Some (line, lang, indent, l :: body)) acc
  in
  scan 1 lines None []

(* The file a block says it shows, from its first line. *)
let shown_file lang first =
  let between prefix suffix =
    if starts_with first prefix && ends_with first suffix then
      let n = String.length prefix in
      Some (String.trim (String.sub first n (String.length first - n - String.length suffix)))
    else None
  in
  match lang with
  | "rust" -> between "// from " ""
  | "ocaml" -> between "(* from " "*)"
  | "dune" -> between "; from " ""
  | "toml" | "sh" -> between "# from " ""
  | _ -> None

(* Where a block without a "from PATH" line may be: the compiled files that hold the
   documentation's examples (docs/10-your-own-types.md's are with the types' tests). *)
let rust_homes = [ "testlib/src/docs.rs"; "testlib/src/types_doc.rs" ]
let ocaml_homes = [ "test/docs_examples.ml"; "test/types/test_types_doc.ml" ]

(* What is wrong with a block, if anything. *)
let check_block sources b =
  let where = Printf.sprintf "%s, block at line %d (%s)" b.file b.line b.lang in
  let verbatim_in path lines =
    match List.assoc_opt path !sources with
    | Some text -> if contains text (String.concat "\n" lines) then None else Some path
    | None -> (
        match read_file (Filename.concat root path) with
        | text ->
            sources := (path, text) :: !sources;
            if contains text (String.concat "\n" lines) then None else Some path
        | exception Sys_error _ -> Some (path ^ " (no such file)"))
  in
  let shown = match b.body with first :: _ -> shown_file b.lang first | [] -> None in
  match (b.lang, shown) with
  | ("rust" | "ocaml" | "dune" | "toml" | "sh"), Some path -> (
      match verbatim_in path (List.tl b.body) with
      | None -> None
      | Some missing -> Some (Printf.sprintf "%s: not verbatim in %s" where missing))
  | ("rust" | "ocaml"), None ->
      let homes = if b.lang = "rust" then rust_homes else ocaml_homes in
      if List.exists (fun path -> verbatim_in path b.body = None) homes then None
      else
        Some (Printf.sprintf "%s: not verbatim in any of %s" where (String.concat ", " homes))
  | ("dune" | "toml" | "sh" | "text"), None -> None
  | lang, _ ->
      Some
        (Printf.sprintf "%s: the fence names %S, not one of rust, ocaml, dune, toml, sh, text"
           where lang)

(* GitHub's anchor for a heading: lower case, spaces as dashes, other punctuation dropped. *)
let slug heading =
  let b = Buffer.create (String.length heading) in
  String.iter
    (fun c ->
      match c with
      | 'A' .. 'Z' -> Buffer.add_char b (Char.lowercase_ascii c)
      | 'a' .. 'z' | '0' .. '9' | '-' | '_' -> Buffer.add_char b c
      | ' ' -> Buffer.add_char b '-'
      | _ -> ())
    heading;
  Buffer.contents b

let anchors file =
  let in_block = ref false in
  String.split_on_char '\n' (read_file (Filename.concat root file))
  |> List.filter_map (fun l ->
         if starts_with (String.trim l) "```" then (in_block := not !in_block; None)
         else if (not !in_block) && starts_with l "#" then
           let i = count_indent (String.map (fun c -> if c = '#' then ' ' else c) l) in
           Some (slug (String.trim (String.sub l i (String.length l - i))))
         else None)

(* The targets of the inline links [text](target) of a file, with their line numbers, outside
   code blocks and code spans. *)
let links file =
  let in_block = ref false in
  List.concat
    (List.mapi
       (fun i l ->
         if starts_with (String.trim l) "```" then (in_block := not !in_block; [])
         else if !in_block then []
         else
           let found = ref [] and in_code = ref false in
           let n = String.length l in
           let j = ref 0 in
           while !j < n do
             (if l.[!j] = '`' then in_code := not !in_code
              else if (not !in_code) && !j + 1 < n && l.[!j] = ']' && l.[!j + 1] = '(' then
                match String.index_from_opt l (!j + 2) ')' with
                | Some k ->
                    found := (i + 1, String.sub l (!j + 2) (k - !j - 2)) :: !found;
                    j := k
                | None -> ());
             incr j
           done;
           List.rev !found)
       (String.split_on_char '\n' (read_file (Filename.concat root file))))

let check_link file (line, target) =
  let where = Printf.sprintf "%s:%d: link %s" file line target in
  if starts_with target "http://" || starts_with target "https://" || starts_with target "mailto:"
  then None
  else
    let path, anchor =
      match String.index_opt target '#' with
      | Some i -> (String.sub target 0 i, Some (String.sub target (i + 1) (String.length target - i - 1)))
      | None -> (target, None)
    in
    let target_file =
      if path = "" then file
      else Filename.concat (Filename.dirname file) path
    in
    if not (Sys.file_exists (Filename.concat root target_file)) then Some (where ^ ": no such file")
    else
      match anchor with
      | Some a when Filename.check_suffix target_file ".md" && not (List.mem a (anchors target_file))
        ->
          Some (Printf.sprintf "%s: no heading #%s in %s" where a target_file)
      | _ -> None

let check_all what problems =
  match problems with
  | [] -> ()
  | _ -> Alcotest.failf "%d %s:\n%s" (List.length problems) what (String.concat "\n" problems)

let with_file contents f =
  let path = Filename.temp_file "docs" ".txt" in
  let oc = open_out_bin path in
  output_string oc contents;
  close_out oc;
  Fun.protect ~finally:(fun () -> Sys.remove path) (fun () -> f path)

let run = Lwt_main.run

let () =
  Alcotest.run "lwt_rust documentation examples"
    [
      ( "docs",
        [
          Alcotest.test_case "every block is compiled or shows a real file" `Quick (fun () ->
              let sources = ref [] in
              let all = List.concat_map blocks (doc_files ()) in
              let count lang = List.length (List.filter (fun b -> b.lang = lang) all) in
              Alcotest.(check bool) "some Rust blocks" true (count "rust" >= 8);
              Alcotest.(check bool) "some OCaml blocks" true (count "ocaml" >= 8);
              check_all "blocks not checked" (List.filter_map (check_block sources) all));
          Alcotest.test_case "every relative link points to a file and a heading" `Quick
            (fun () ->
              check_all "broken links"
                (List.concat_map
                   (fun file -> List.filter_map (check_link file) (links file))
                   (doc_files ())));
          Alcotest.test_case "add_later (the README's first example)" `Quick (fun () ->
              Alcotest.(check int) "40 + 2" 42 (run (add_later 40 2 10));
              Alcotest.(check int) "a negative wait is none" 1 (run (add_later 0 1 (-5))));
          Alcotest.test_case "scans under a switch, and with_stream" `Quick (fun () ->
              let pool = Resource_pool.create 2 in
              Alcotest.(check (option int)) "first batch" (Some 0)
                (run (Docs_examples.first_batch pool));
              Alcotest.(check int) "given back at turn_off" 2 (Resource_pool.available pool);
              Alcotest.(check (list int)) "first ten" (List.init 10 Fun.id)
                (run (Docs_examples.first_ten pool));
              Alcotest.(check int) "given back when f settled" 2 (Resource_pool.available pool);
              Resource_pool.close pool);
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
              (* The chapter's OCaml lines, as they are there (docs_examples.ml). *)
              let cache, v, gone = run (Docs_examples.ttl_cache_program ()) in
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
