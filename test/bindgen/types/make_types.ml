(* Writes the synthetic archives of the data type tests: the records #[lwt_rust::record],
   #[lwt_rust::variant] and #[lwt_rust::error] embed (tools/BINDGEN_SPEC.md, "Data types"),
   among junk bytes, with the marker of format version 3 (every OCaml name and type given).
   types.bin is the good input; the others each hold one error. *)

let record lines =
  "\000LWT_RUST_BINDINGS_3\n" ^ String.concat "" (List.map (fun l -> l ^ "\n") lines) ^ "\000"

let symbol crate item = Printf.sprintf "lwt_rust_%d_%s_%s" (String.length crate) crate item

let fn ?(crate = "fake") ~call rust params result =
  record
    ([ "crate " ^ crate; "item function"; "rust " ^ rust; "symbol " ^ symbol crate ("fn_" ^ rust);
       "call " ^ call; "ocaml_name " ^ rust ]
    @ List.map (fun p -> "ocaml_param " ^ p) params
    @ [ "ocaml_result " ^ result ])

(* A data record: [ty] its OCaml type, [exn] an error type's exception, [members] its lines
   after `shape`. *)
let data ?(crate = "fake") ?(docs = []) ?exn rust ~ty shape members =
  record
    ([ "crate " ^ crate; "item data"; "rust " ^ rust; "symbol type_" ^ rust; "ocaml_type " ^ ty ]
    @ (match exn with
      | Some e -> [ Printf.sprintf "exception %s lwt_rust/%s/%s" e crate rust ]
      | None -> [])
    @ List.map (fun d -> "doc" ^ d) docs
    @ [ "shape " ^ shape ]
    @ members)

let obj rust ~modul ~ty =
  record
    [ "crate fake"; "item object"; "rust " ^ rust; "symbol " ^ symbol "fake" ("close_" ^ rust);
      "ocaml_module " ^ modul; "ocaml_type " ^ ty ]

let junk n = String.init n (fun i -> Char.chr ((i * 53 + 7) land 0xff))

let good =
  [ junk 20;
    (* Mutually recursive: Expr uses Stmt (through a list), Stmt uses Expr (through a Box). *)
    data "Stmt" ~ty:"stmt" "record" ~docs:[ " A statement." ]
      [ "field label string"; "member_doc  Its label."; "field body expr" ];
    data "Expr" ~ty:"expr" "variant" ~docs:[ " An expression: see `Stmt`." ]
      [ "constructor Num tuple"; "member_doc  A number."; "arg int"; "constructor Block tuple";
        "arg stmt list"; "constructor Nil unit" ];
    (* Uses Point, declared after it in the archive: comes after it in the output. *)
    data "Shape" ~ty:"shape" "variant"
      [ "constructor Empty unit"; "constructor Circle tuple"; "arg point"; "arg float";
        "constructor Rect record"; "member_doc  A rectangle."; "field w float";
        "member_doc  Width."; "field h float"; "constructor Pair tuple"; "arg (int * int)";
        "constructor Empty2 unit" ];
    data "Point" ~ty:"point" "record" ~docs:[ " A point: a flat float record." ]
      [ "field x float"; "field y float" ];
    (* A keyword field (escaped by the macro), an object, an option of a list. *)
    data "Entry" ~ty:"entry" "record"
      [ "field type_ string"; "field store kv_store"; "field tags string list option" ];
    obj "KvStore" ~modul:"Kv_store" ~ty:"kv_store";
    data "DbError" ~ty:"db_error" "variant" ~exn:"Db_error" ~docs:[ " Why a query failed." ]
      [ "constructor NotFound tuple"; "arg int"; "constructor Closed unit" ];
    fn "find" ~call:"async" [ "key int" ] "entry Lwt.t";
    fn "area" ~call:"sync" [ "s shape" ] "float";
    fn "run" ~call:"async" [ "e expr" ] "(stmt, db_error) result Lwt.t";
    junk 9 ]

let write name parts =
  let oc = open_out_bin name in
  List.iter (output_string oc) parts;
  close_out oc

let () =
  write "types.bin" good;
  (* A function using a type another crate declares. *)
  write "foreign.bin"
    [ data ~crate:"other" "User" ~ty:"user" "record" [ "field id int" ];
      fn "greet" ~call:"async" [ "u user" ] "string Lwt.t" ];
  (* A type named like an object. *)
  write "clash.bin"
    [ obj "KvStore" ~modul:"Kv_store" ~ty:"kv_store";
      data "KvStore" ~ty:"kv_store" "record" [ "field id int" ] ];
  (* Malformed: a field in a tuple constructor (what the member lines mean), a constructor of
     no known kind (the schema's grammar). *)
  write "malformed.bin"
    [ junk 4; data "Shape" ~ty:"shape" "variant" [ "constructor Circle tuple"; "field r float" ] ];
  write "grammar.bin" [ data "Shape" ~ty:"shape" "variant" [ "constructor Circle struct" ] ]
