(* Writes the synthetic archives the bindgen tests read: binding records as the proc macros
   embed them (tools/BINDGEN_SPEC.md, format version 3: every OCaml name and type given), among
   junk bytes, some records twice, some of another crate. records.bin is the good input; the
   others each hold one error. *)

let record lines =
  "\000LWT_RUST_BINDINGS_3\n" ^ String.concat "" (List.map (fun l -> l ^ "\n") lines) ^ "\000"

(* The C symbol the macros give an item of [crate] (tools/BINDGEN_SPEC.md). *)
let symbol crate item = Printf.sprintf "lwt_rust_%d_%s_%s" (String.length crate) crate item

(* [params]: "name type" (OCaml); [result]: the whole OCaml result type, or a raw call's whole
   type. *)
let fn ?(crate = "fake") ?(docs = []) ?name ~call rust params result =
  let name = Option.value name ~default:rust in
  record
    ([ "crate " ^ crate; "item function"; "rust " ^ rust; "symbol " ^ symbol crate ("fn_" ^ rust);
       "call " ^ call; "ocaml_name " ^ name ]
    @ List.map (fun p -> "ocaml_param " ^ p) params
    @ (if call = "raw" then [ "ocaml " ^ result ] else [ "ocaml_result " ^ result ])
    @ List.map (fun d -> "doc" ^ d) docs)

let meth ?(docs = []) ?name ~call owner rust params result =
  let name = Option.value name ~default:rust in
  record
    ([ "crate fake"; "item method"; "rust " ^ rust;
       "symbol " ^ symbol "fake" (Printf.sprintf "method_%d_%s_%s" (String.length owner) owner rust);
       "owner " ^ owner; "call " ^ call; "ocaml_name " ^ name ]
    @ List.map (fun p -> "ocaml_param " ^ p) params
    @ (if call = "raw" then [ "ocaml " ^ result ] else [ "ocaml_result " ^ result ])
    @ List.map (fun d -> "doc" ^ d) docs)

let obj ?(docs = []) rust ~modul ~ty =
  record
    ([ "crate fake"; "item object"; "rust " ^ rust; "symbol " ^ symbol "fake" ("close_" ^ rust);
       "ocaml_module " ^ modul; "ocaml_type " ^ ty ]
    @ List.map (fun d -> "doc" ^ d) docs)

(* Bytes around the records: NULs, a near-miss marker, binary noise. *)
let junk n =
  String.init n (fun i -> Char.chr ((i * 37 + 11) land 0xff)) ^ "LWT_RUST_BINDINGS_0\nx\000"

let kv_store =
  obj "KvStore" ~modul:"Kv_store" ~ty:"kv_store"
    ~docs:
      [ " A key-value store kept in Rust: `KvStore::new(path)` opens one.";
        "";
        " Keys are {strings}; see [the crate docs] @ home." ]

(* Every kind of OCaml type the macros write, at most 5 parameters a function. *)
let all_types =
  [ fn "types_a" ~call:"async"
      ~docs:[ " Takes the scalars; returns `Vec<(i64, String)>`." ]
      [ "u unit"; "b bool"; "i int"; "j int32"; "k int64" ]
      "(int * string) list Lwt.t";
    fn "types_b" ~call:"async"
      [ "f float"; "s string"; "s2 string"; "by bytes"; "o int option" ]
      "(int option, string) result Lwt.t";
    fn "types_c" ~call:"async"
      [ "r (string, int) result"; "v (int * string) option list"; "a float array";
        "t2 (int * string)"; "t3 (bool * float * string)" ]
      "(bool * (int * string)) Lwt.t";
    fn "types_d" ~call:"async"
      [ "t4 (int * int32 * (bool * string) * int list)"; "st string Lwt_stream.t";
        "ob kv_store"; "bare other"; "nested (int * bool, string) result option" ]
      "(int * string) Lwt_stream.t Lwt.t" ]

let good =
  [ junk 300; kv_store ] @ all_types @ [ junk 17;
    fn "count" ~call:"sync" [] "int" ~docs:[ " How many stores are open." ];
    fn "glued" ~call:"sync"
      [ "x int option list"; "y (int * string) option"; "z unit" ]
      "(int * string)";
    fn "events" ~call:"stream" [ "n int" ] "string Lwt_stream.t";
    fn "lines" ~call:"try_stream" [] "bytes Lwt_stream.t";
    fn "raw_thing" ~call:"raw" [] "int -> int -> int"
      ~docs:[ " Declared by hand: `#[lwt_rust::external]`." ];
    fn "raw_noalloc" ~call:"raw" [] "int -> int [@@noalloc]";
    fn "warmer" ~call:"async" [ "t int"; "p (int * int) option" ] "int Lwt.t";
    fn "call_back" ~call:"async" [ "f (int -> string Lwt.t)" ] "unit Lwt.t";
    obj "HTTPClient" ~modul:"Http_client" ~ty:"http_client";
    meth "HTTPClient" "new" ~name:"create" ~call:"sync" [] "t";
    fn "method" ~name:"method_" ~call:"async" [ "type_ int" ] "unit Lwt.t";
    fn "match" ~name:"match_" ~call:"sync" [ "type_ string"; "in_ int" ] "bool";
    fn "new" ~name:"new_" ~call:"async" [] "unit Lwt.t";
    fn "nothing" ~call:"async" [] "unit Lwt.t"
      ~docs:
        [ " Does nothing, as in:"; ""; " ```rust"; " let f = lwt_rust::func(|x| { x });";
          " assert_eq!(v[0], 1);"; " ```"; ""; " # Errors"; "";
          " Fails with ``a `tick` b`` when 5\" (*) is [late]." ];
    obj "Other" ~modul:"Other" ~ty:"other" ~docs:[ " Something else." ];
    (* Doc comments the OCaml lexer reads as quoted strings or strings, and a code
       span wrapped across two lines. *)
    fn "quoting" ~call:"sync" [] "unit"
      ~docs:
        [ " Quoted extensions: {%ext|a|} and {%%ext.attr|b|}, {%ext id|c|id} and {|d|},";
          " also in code: `{%ext|a|}`, `{%%ext.attr|b|}` and `{id|c|id}`.";
          " The character '\"' then one \" alone; `'\"'` in code then \" again;";
          " a'\"' after an identifier, and '\\\"' escaped.";
          " A code span `wraps across";
          " two lines` and ``another `one";
          " does`` too." ];
    meth "KvStore" "new" ~name:"create" ~call:"sync" [ "path string" ] "t"
      ~docs:[ " Opens the store at `path`." ];
    meth "KvStore" "get" ~call:"async" [ "self t"; "key string" ] "string option Lwt.t"
      ~docs:[ " The value of `key`, if any." ];
    meth "KvStore" "len" ~call:"sync" [ "self t" ] "int";
    meth "KvStore" "link" ~call:"async" [ "self t"; "other other" ] "t Lwt.t";
    meth "KvStore" "watch" ~call:"stream" [ "self t"; "prefix string" ]
      "(string * bytes) Lwt_stream.t";
    meth "KvStore" "raw_get" ~call:"raw" [] "kv_store -> string -> string";
    meth "KvStore" "method" ~name:"method_" ~call:"sync" [ "self t"; "self_ other" ] "unit";
    meth "Other" "new" ~name:"create" ~call:"async" [] "t Lwt.t";
    meth "Other" "store" ~call:"sync" [ "self t" ] "kv_store";
    (* Copies, and another crate linked in. *)
    junk 5; kv_store; List.nth all_types 2;
    fn ~crate:"other_crate" "zzz" ~call:"async" [ "m (int, int) Hashtbl.t" ] "unit Lwt.t";
    junk 64 ]

let write name parts =
  let oc = open_out_bin name in
  List.iter (output_string oc) parts;
  close_out oc

(* An ar archive (a staticlib's, an rlib's layout) of [members]. *)
let ar members =
  "!<arch>\n"
  ^ String.concat ""
      (List.map
         (fun (name, data) ->
           Printf.sprintf "%-16s%-12s%-6s%-6s%-8s%-10d`\n" (name ^ "/") "0" "0" "0" "644"
             (String.length data)
           ^ data
           ^ if String.length data land 1 = 1 then "\n" else "")
         members)

(* The first 64 bytes of a 64-bit little-endian ELF file whose section header table (3
   entries of 64 bytes) is at byte 1048576. *)
let elf_header =
  let b = Bytes.make 64 '\000' in
  Bytes.blit_string "\127ELF\002\001\001" 0 b 0 7;
  Bytes.set b 0x2a '\016' (* e_shoff = 0x100000 *);
  Bytes.set b 0x3a '\064' (* e_shentsize = 64 *);
  Bytes.set b 0x3c '\003' (* e_shnum = 3 *);
  Bytes.to_string b

let () =
  write "records.bin" good;
  (* The same records in an ar archive, which is checked whole first: cut short, it
     is refused; so is an ELF file whose section headers lie past its end. *)
  let archive = ar [ ("junk.o", junk 33); ("records.o", String.concat "" good) ] in
  write "records.a" [ archive ];
  write "truncated.a" [ String.sub archive 0 (String.length archive - 100) ];
  write "truncated.so" [ elf_header; String.concat "" good ];
  write "collision.bin"
    [ kv_store; meth "KvStore" "new" ~name:"create" ~call:"sync" [] "t";
      meth "KvStore" "create" ~call:"async" [] "t Lwt.t" ];
  write "too_many.bin"
    [ kv_store;
      meth "KvStore" "put" ~call:"async"
        [ "self t"; "a int"; "b int"; "c int"; "d int"; "e int" ] "unit Lwt.t" ];
  (* A type no binding declares (a hand-written OCamlRepr naming a type of its own, say). *)
  write "undeclared.bin"
    [ kv_store; fn "lookup" ~call:"async" [ "key string" ] "widget option Lwt.t" ];
  write "malformed.bin"
    [ record [ "crate fake"; "item function"; "rust f"; "call async"; "ocaml_name f";
               "ocaml_result unit Lwt.t" ] ];
  (* Keys out of the format's order. *)
  write "order.bin"
    [ record [ "crate fake"; "item function"; "rust f"; "call async"; "symbol s"; "ocaml_name f";
               "ocaml_result unit Lwt.t" ] ];
  (* Names and types no Rust name or type would map to: printed exactly as given (the
     generator maps nothing). *)
  write "as_given.bin"
    [ record
        [ "crate fake"; "item object"; "rust KvStore"; "symbol s_close"; "ocaml_module Store";
          "ocaml_type kv" ];
      record
        [ "crate fake"; "item method"; "rust open"; "symbol s_open"; "owner KvStore";
          "call async"; "ocaml_name connect"; "ocaml_param self t";
          "ocaml_param table (int, string) Hashtbl.t"; "ocaml_result t option Lwt.t" ];
      fn "original" ~name:"renamed" ~call:"sync" [ "switch Lwt_switch.t" ] "kv";
      fn "ticks" ~name:"ticks" ~call:"stream" [ "every float" ] "(kv * int) Lwt_stream.t" ];
  (* A record of another version of the format (a crate built by other proc macros). *)
  write "version.bin"
    [ junk 3; "\000LWT_RUST_BINDINGS_2\ncrate fake\nitem function\n\000"; List.nth all_types 0 ]
