(* Writes the synthetic archives of the data type tests: the records #[lwt_rust::record],
   #[lwt_rust::variant] and #[lwt_rust::error] embed (tools/BINDGEN_SPEC.md, "Data types"),
   among junk bytes, with the marker of format version 2. types.bin is the good input; the
   others each hold one error. *)

let record lines =
  "\000LWT_RUST_BINDINGS_2\n" ^ String.concat "" (List.map (fun l -> l ^ "\n") lines) ^ "\000"

let symbol crate item = Printf.sprintf "lwt_rust_%d_%s_%s" (String.length crate) crate item

let fn ?(crate = "fake") ~call rust params returns =
  record
    ([ "crate " ^ crate; "item function"; "rust " ^ rust; "symbol " ^ symbol crate ("fn_" ^ rust);
       "call " ^ call ]
    @ List.map (fun p -> "param " ^ p) params
    @ [ "returns " ^ returns ])

(* A data record: [members] are its lines after `shape`. *)
let data ?(crate = "fake") ?(docs = []) ?(error = false) rust shape members =
  record
    ([ "crate " ^ crate; "item data"; "rust " ^ rust; "symbol type_" ^ rust ]
    @ (if error then [ Printf.sprintf "exception lwt_rust/%s/%s" crate rust ] else [])
    @ List.map (fun d -> "doc" ^ d) docs
    @ [ "shape " ^ shape ]
    @ members)

let obj rust = record [ "crate fake"; "item object"; "rust " ^ rust; "symbol " ^ symbol "fake" ("close_" ^ rust) ]

let junk n = String.init n (fun i -> Char.chr ((i * 53 + 7) land 0xff))

let good =
  [ junk 20;
    (* Mutually recursive: Expr uses Stmt (through a Vec), Stmt uses Expr (through a Box). *)
    data "Stmt" "record" ~docs:[ " A statement." ]
      [ "field label String"; "member_doc  Its label."; "field body Box < Expr >" ];
    data "Expr" "variant" ~docs:[ " An expression: see `Stmt`." ]
      [ "constructor Num tuple"; "member_doc  A number."; "arg i64"; "constructor Block tuple";
        "arg Vec < Stmt >"; "constructor Nil unit" ];
    (* Uses Point, declared after it in the archive: comes after it in the output. *)
    data "Shape" "variant"
      [ "constructor Empty unit"; "constructor Circle tuple"; "arg Point"; "arg f64";
        "constructor Rect record"; "member_doc  A rectangle."; "field w f64";
        "member_doc  Width."; "field h f64"; "constructor Pair tuple"; "arg (i64 , i64)";
        "constructor Empty2 unit" ];
    data "Point" "record" ~docs:[ " A point: a flat float record." ]
      [ "field x f64"; "field y f64" ];
    (* A keyword field, an object, an option of a list. *)
    data "Entry" "record"
      [ "field r#type String"; "field store lwt_rust :: Obj < KvStore >";
        "field tags Option < Vec < String > >" ];
    obj "KvStore";
    data "DbError" "variant" ~error:true ~docs:[ " Why a query failed." ]
      [ "constructor NotFound tuple"; "arg i64"; "constructor Closed unit" ];
    fn "find" ~call:"async" [ "key i64" ] "Entry";
    fn "area" ~call:"sync" [ "s Shape" ] "f64";
    fn "run" ~call:"async" [ "e Expr" ] "Result < Stmt , DbError >";
    junk 9 ]

let write name parts =
  let oc = open_out_bin name in
  List.iter (output_string oc) parts;
  close_out oc

let () =
  write "types.bin" good;
  (* A function using a type that no record declares. *)
  write "unexported.bin"
    [ data "Point" "record" [ "field x f64" ]; fn "centre" ~call:"sync" [ "u User" ] "Point" ];
  (* A function using a type another crate declares. *)
  write "foreign.bin"
    [ data ~crate:"other" "User" "record" [ "field id i64" ];
      fn "greet" ~call:"async" [ "u User" ] "String" ];
  (* A type named like an object. *)
  write "clash.bin" [ obj "KvStore"; data "KvStore" "record" [ "field id i64" ] ];
  (* Malformed: a field in a tuple constructor (what the member lines mean), a constructor of
     no known kind (the schema's grammar). *)
  write "malformed.bin"
    [ junk 4; data "Shape" "variant" [ "constructor Circle tuple"; "field r f64" ] ];
  write "grammar.bin" [ data "Shape" "variant" [ "constructor Circle struct" ] ]
