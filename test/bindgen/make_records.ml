(* Writes the synthetic archives the bindgen tests read: binding records as the proc macros
   embed them (tools/BINDGEN_SPEC.md), among junk bytes, some records twice, some of another
   crate. records.bin is the good input; the others each hold one error. *)

let record lines =
  "\000LWT_RUST_BINDINGS_1\n" ^ String.concat "" (List.map (fun l -> l ^ "\n") lines) ^ "\000"

let fn ?(crate = "fake") ?(docs = []) ~call rust params returns =
  record
    ([ "crate " ^ crate; "item function"; "rust " ^ rust; "symbol lwt_rust_" ^ crate ^ "_" ^ rust;
       "call " ^ call ]
    @ List.map (fun p -> "param " ^ p) params
    @ (if call = "raw" then [ "ocaml " ^ returns ] else [ "returns " ^ returns ])
    @ List.map (fun d -> "doc" ^ d) docs)

let meth ?(docs = []) ~call ~receiver owner rust params returns =
  record
    ([ "crate fake"; "item method"; "rust " ^ rust; "symbol lwt_rust_fake_" ^ owner ^ "_" ^ rust;
       "owner " ^ owner; "call " ^ call; "receiver " ^ if receiver then "yes" else "no" ]
    @ List.map (fun p -> "param " ^ p) params
    @ (if call = "raw" then [ "ocaml " ^ returns ] else [ "returns " ^ returns ])
    @ List.map (fun d -> "doc" ^ d) docs)

let obj ?(docs = []) rust =
  record
    ([ "crate fake"; "item object"; "rust " ^ rust; "symbol lwt_rust_fake_" ^ rust ^ "_close" ]
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

let () =
  write "records.bin" good;
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
    [ record [ "crate fake"; "item function"; "rust f"; "call async"; "returns ()" ] ]
