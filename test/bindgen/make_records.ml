(* Writes the synthetic archives the bindgen tests read: binding records as the proc macros
   embed them (tools/BINDGEN_SPEC.md), among junk bytes, some records twice, some of another
   crate. records.bin is the good input; the others each hold one error. *)

let record lines =
  "\000LWT_RUST_BINDINGS_2\n" ^ String.concat "" (List.map (fun l -> l ^ "\n") lines) ^ "\000"

(* The C symbol the macros give an item of [crate] (tools/BINDGEN_SPEC.md). *)
let symbol crate item = Printf.sprintf "lwt_rust_%d_%s_%s" (String.length crate) crate item

let fn ?(crate = "fake") ?(docs = []) ~call rust params returns =
  record
    ([ "crate " ^ crate; "item function"; "rust " ^ rust; "symbol " ^ symbol crate ("fn_" ^ rust);
       "call " ^ call ]
    @ List.map (fun p -> "param " ^ p) params
    @ (if call = "raw" then [ "ocaml " ^ returns ] else [ "returns " ^ returns ])
    @ List.map (fun d -> "doc" ^ d) docs)

let meth ?(docs = []) ~call ~receiver owner rust params returns =
  record
    ([ "crate fake"; "item method"; "rust " ^ rust; "symbol " ^ symbol "fake" (Printf.sprintf "method_%d_%s_%s" (String.length owner) owner rust);
       "owner " ^ owner; "call " ^ call; "receiver " ^ if receiver then "yes" else "no" ]
    @ List.map (fun p -> "param " ^ p) params
    @ (if call = "raw" then [ "ocaml " ^ returns ] else [ "returns " ^ returns ])
    @ List.map (fun d -> "doc" ^ d) docs)

let obj ?(docs = []) rust =
  record
    ([ "crate fake"; "item object"; "rust " ^ rust; "symbol " ^ symbol "fake" ("close_" ^ rust) ]
    @ List.map (fun d -> "doc" ^ d) docs)

(* Bytes around the records: NULs, a near-miss marker, binary noise. *)
let junk n =
  String.init n (fun i -> Char.chr ((i * 37 + 11) land 0xff)) ^ "LWT_RUST_BINDINGS_0\nx\000"

let kv_store =
  obj "KvStore"
    ~docs:
      [ " A key-value store kept in Rust: `KvStore::new(path)` opens one.";
        "";
        " Keys are {strings}; see [the crate docs] @ home." ]

(* Every type of the mapping table, at most 5 parameters a function. *)
let all_types =
  [ fn "types_a" ~call:"async"
      ~docs:[ " Takes the scalars; returns `Vec<(i64, String)>`." ]
      [ "u ()"; "b bool"; "i i64"; "j i32"; "k Int64" ]
      "Vec < (i64 , String) >";
    fn "types_b" ~call:"async"
      [ "f f64"; "s std :: string :: String"; "s2 :: std :: string :: String"; "by Bytes";
        "o Option < i64 >" ]
      "Result < Option < i64 > , String >";
    fn "types_c" ~call:"async"
      [ "r Result < String , i64 >"; "v Vec < Option < (i64 , String) > >"; "a Array < f64 >";
        "t2 (i64 , String)"; "t3 (bool , f64 , String)" ]
      "(bool , (i64 , String))";
    fn "types_d" ~call:"async"
      [ "t4 (i64 , i32 , (bool , String) , Vec < i64 >)"; "st OCamlStream < String >";
        "ob lwt_rust :: Obj < KvStore >"; "bare Other";
        "nested Option < Result < (i64 , bool) , String > >" ]
      "OCamlStream < (i64 , String) >" ]

let good =
  [ junk 300; kv_store ] @ all_types @ [ junk 17;
    fn "count" ~call:"sync" [] "i64" ~docs:[ " How many stores are open." ];
    fn "glued" ~call:"sync"
      [ "x Vec<Option<i64>>"; "y Option<(i64,String)>"; "z ()" ]
      "(i64 , String)";
    fn "events" ~call:"stream" [ "n i64" ] "String";
    fn "lines" ~call:"try_stream" [] "Bytes";
    fn "raw_thing" ~call:"raw" [] "int -> int -> int"
      ~docs:[ " Declared by hand: `#[lwt_rust::external]`." ];
    fn "raw_noalloc" ~call:"raw" [] "int -> int [@@noalloc]";
    record [ "crate fake"; "item type"; "rust Celsius"; "symbol type_Celsius"; "ocaml int" ];
    record [ "crate fake"; "item type"; "rust Pairish"; "symbol type_Pairish"; "ocaml int * int" ];
    fn "warmer" ~call:"async" [ "t Celsius"; "p Option<Pairish>" ] "Celsius";
    fn "call_back" ~call:"async" [ "f OCamlFn < OCamlInt , String >" ] "()";
    obj "HTTPClient";
    meth "HTTPClient" "new" ~call:"sync" ~receiver:false [] "HTTPClient";
    fn "method" ~call:"async" [ "type i64" ] "()";
    fn "match" ~call:"sync" [ "type String"; "r#in i64" ] "bool";
    fn "new" ~call:"async" [] "()";
    fn "nothing" ~call:"async" [] "()"
      ~docs:
        [ " Does nothing, as in:"; ""; " ```rust"; " let f = lwt_rust::func(|x| { x });";
          " assert_eq!(v[0], 1);"; " ```"; ""; " # Errors"; "";
          " Fails with ``a `tick` b`` when 5\" (*) is [late]." ];
    obj "Other" ~docs:[ " Something else." ];
    (* Doc comments the OCaml lexer reads as quoted strings or strings, and a code
       span wrapped across two lines. *)
    fn "quoting" ~call:"sync" [] "()"
      ~docs:
        [ " Quoted extensions: {%ext|a|} and {%%ext.attr|b|}, {%ext id|c|id} and {|d|},";
          " also in code: `{%ext|a|}`, `{%%ext.attr|b|}` and `{id|c|id}`.";
          " The character '\"' then one \" alone; `'\"'` in code then \" again;";
          " a'\"' after an identifier, and '\\\"' escaped.";
          " A code span `wraps across";
          " two lines` and ``another `one";
          " does`` too." ];
    meth "KvStore" "new" ~call:"sync" ~receiver:false [ "path String" ] "KvStore"
      ~docs:[ " Opens the store at `path`." ];
    meth "KvStore" "get" ~call:"async" ~receiver:true [ "key String" ] "Option < String >"
      ~docs:[ " The value of `key`, if any." ];
    meth "KvStore" "len" ~call:"sync" ~receiver:true [] "i64";
    meth "KvStore" "link" ~call:"async" ~receiver:true [ "other Obj < Other >" ] "Obj < KvStore >";
    meth "KvStore" "watch" ~call:"stream" ~receiver:true [ "prefix String" ] "(String , Bytes)";
    meth "KvStore" "raw_get" ~call:"raw" ~receiver:true [] "kv_store -> string -> string";
    meth "KvStore" "method" ~call:"sync" ~receiver:true [ "self_ Other" ] "()";
    meth "Other" "new" ~call:"async" ~receiver:false [] "Other";
    meth "Other" "store" ~call:"sync" ~receiver:true [] "KvStore";
    (* Copies, and another crate (with a type this tool could not map) linked in. *)
    junk 5; kv_store; List.nth all_types 2;
    fn ~crate:"other_crate" "zzz" ~call:"async" [ "m HashMap < i64 , i64 >" ] "()";
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
  write "unknown_type.bin"
    [ junk 10; fn "lookup" ~call:"async" [ "key String"; "m HashMap < String , i64 >" ] "()" ];
  write "collision.bin"
    [ kv_store; meth "KvStore" "new" ~call:"sync" ~receiver:false [] "KvStore";
      meth "KvStore" "create" ~call:"async" ~receiver:false [] "KvStore" ];
  write "too_many.bin"
    [ kv_store;
      meth "KvStore" "put" ~call:"async" ~receiver:true
        [ "a i64"; "b i64"; "c i64"; "d i64"; "e i64" ] "()" ];
  write "malformed.bin"
    [ record [ "crate fake"; "item function"; "rust f"; "call async"; "returns ()" ] ];
  (* Keys out of the format's order. *)
  write "order.bin"
    [ record [ "crate fake"; "item function"; "rust f"; "call async"; "symbol s"; "returns ()" ] ];
  (* A record of another version of the format (a crate built by other proc macros). *)
  write "version.bin"
    [ junk 3; "\000LWT_RUST_BINDINGS_1\ncrate fake\nitem function\n\000"; List.nth all_types 0 ]
