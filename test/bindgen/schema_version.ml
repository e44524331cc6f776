(* The record format's version test: the schema (tools/bindgen/record_schema.txt) has the
   fingerprint approved for its version, so that changing the format without bumping the
   version fails here. Also: what the fingerprint covers (any change of a key row, not comments
   or spacing), the history of versions, and the marker naming the version. *)

open Bindings

let failures = ref 0

let check what ok =
  if not ok then begin
    incr failures;
    Printf.eprintf "schema_version: FAILED: %s\n" what
  end

(* [text] with the first [sub] replaced by [by]; [text] itself if [sub] is not in it. *)
let replace text sub by =
  let n = String.length text and m = String.length sub in
  let rec find i = if i + m > n then None else if String.sub text i m = sub then Some i else find (i + 1) in
  match find 0 with
  | None -> failwith ("schema_version: no `" ^ sub ^ "` in the schema")
  | Some i -> String.sub text 0 i ^ by ^ String.sub text (i + m) (n - i - m)

let () =
  let text = Schema_text.text in
  let schema = Schema.current in
  let fingerprint = Schema.fingerprint text in
  (* The format as it is has the fingerprint approved for its version. *)
  (match List.assoc_opt schema.version schema.approved with
  | Some approved when approved = fingerprint -> ()
  | Some approved ->
    check
      (Printf.sprintf
         "the record format changed (its fingerprint is %s, version %d was approved with %s): \
          bump `version` to %d in tools/bindgen/record_schema.txt, add `approved %d %s`, and make \
          the proc macros write and check version %d (tools/BINDGEN_SPEC.md, \"Versions\")"
         fingerprint schema.version approved (schema.version + 1) (schema.version + 1) fingerprint
         (schema.version + 1))
      false
  | None ->
    check
      (Printf.sprintf "version %d has no `approved` line: add `approved %d %s`" schema.version
         schema.version fingerprint)
      false);
  (* The history: versions 1, 2, ... up to the current one, each with its own fingerprint. *)
  check "the approved versions are 1, 2, ... up to `version`"
    (List.map fst schema.approved = List.init schema.version (fun i -> i + 1));
  let fps = List.map snd schema.approved in
  check "every approved version has its own fingerprint"
    (List.length (List.sort_uniq compare fps) = List.length fps);
  (* The marker names the version: what the proc macros must write. *)
  check "the marker is LWT_RUST_BINDINGS_<version>"
    (Schema.marker = Printf.sprintf "LWT_RUST_BINDINGS_%d\n" schema.version);
  (* What the fingerprint covers: every change of the format changes it... *)
  let changed what text' =
    check (what ^ " changes the fingerprint")
      (match Lazy.force text' with
      | t -> Schema.fingerprint t <> fingerprint
      | exception Failure _ -> false)
  in
  changed "a count" (lazy (replace text "key owner         -" "key owner         *"));
  changed "a place" (lazy (replace text "*      shared  ocaml-type" "*      own     ocaml-type"));
  changed "a grammar" (lazy (replace text "record|variant" "record|variant|maybe"));
  changed "a key's name" (lazy (replace text "key doc " "key docs "));
  changed "a row removed" (lazy (replace text "key doc " "# key doc "));
  changed "a row added" (lazy (text ^ "\nkey extra * * * * own text\n"));
  changed "two rows swapped"
    (lazy
      (let t = replace text "key ocaml_result " "key OCAML_RESULT " in
       let t = replace t "key ocaml " "key ocaml_result " in
       replace t "key OCAML_RESULT " "key ocaml "));
  (* ... and nothing else does. *)
  let same what text' =
    check (what ^ " leaves the fingerprint alone")
      (match Lazy.force text' with
      | t -> Schema.fingerprint t = fingerprint
      | exception Failure _ -> false)
  in
  same "a comment" (lazy (replace text "# Columns:" "# The columns:"));
  same "spacing" (lazy (replace text "key crate         1" "key   crate 1"));
  same "the approved lines" (lazy (text ^ "\napproved 99 0\n"));
  (* Every key the generator reads is in the format. *)
  List.iter
    (fun key -> check ("the format has the key " ^ key) (Schema.row key <> None))
    [ "crate"; "item"; "rust"; "symbol"; "owner"; "ocaml_module"; "ocaml_type"; "exception"; "call";
      "ocaml_name"; "ocaml_param"; "ocaml_result"; "ocaml"; "doc"; "shape"; "field"; "constructor";
      "arg"; "member_doc" ];
  (* A data type's member lines share one place in the order (they mix as the type declares
     its members), after `shape`; the other keys each have their own. *)
  let place = Schema.position in
  check "field, constructor, arg and member_doc share one place"
    (List.for_all (fun k -> place k = place "field") [ "constructor"; "arg"; "member_doc" ]);
  check "the members come after shape, shape after doc"
    (place "doc" < place "shape" && place "shape" < place "field");
  check "the other keys each have their own place"
    (let own =
       List.map place
         [ "crate"; "item"; "rust"; "symbol"; "owner"; "ocaml_module"; "ocaml_type"; "exception";
           "call"; "ocaml_name"; "ocaml_param"; "ocaml_result"; "ocaml"; "doc"; "shape" ]
     in
     List.length (List.sort_uniq compare own) = List.length own);
  if !failures > 0 then exit 1;
  Printf.printf "schema_version: format version %d, fingerprint %s: approved\n" schema.version
    fingerprint
