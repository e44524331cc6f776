(* The data types' declarations and the error types' exceptions, as both files print them: the
   .mli with the doc comments (a type's before it, a field's or constructor's after it), the
   .ml with each exception's constructor registered for the Rust side. *)

open Model.Data

(* [line] followed by the doc comment of [doc] (its first line on the same line, the others
   indented by [indent]), in the .mli. *)
let with_doc ~interface ~doc ~indent line =
  if not interface then [ line ]
  else
    match Odoc.comment doc with
    | [] -> [ line ]
    | first :: rest ->
      (line ^ "  " ^ first) :: List.map (fun l -> if l = "" then l else indent ^ l) rest

(** A record's or inline record's fields, one a line. *)
let fields ~interface ~indent fs =
  List.concat_map
    (fun (f : field) ->
      with_doc ~interface ~doc:f.doc ~indent (Printf.sprintf "%s%s : %s;" indent f.name f.ty))
    fs

(* A type's right-hand side: a record's lines from its [{], a variant's constructors. *)
let body ~interface = function
  | Record fs -> ("{" :: fields ~interface ~indent:"  " fs) @ [ "}" ]
  | Variant cs ->
    List.concat_map
      (fun (c : constructor) ->
        let lines =
          match c.args with
          | Constant -> [ "| " ^ c.name ]
          | Tuple args -> [ Printf.sprintf "| %s of %s" c.name (String.concat " * " args) ]
          | Inline fs ->
            (Printf.sprintf "| %s of {" c.name :: fields ~interface ~indent:"    " fs) @ [ "  }" ]
        in
        (* The constructor's doc goes after its last line. *)
        match List.rev lines with
        | last :: before -> List.rev before @ with_doc ~interface ~doc:c.doc ~indent:"  " last
        | [] -> [])
      cs

(* One [type a = ... and b = ...] declaration. *)
let declaration ~interface types =
  List.concat
    (List.mapi
       (fun i (d : declaration) ->
         let head = Printf.sprintf "%s %s =" (if i = 0 then "type" else "and") d.name in
         let docs = if interface then Odoc.comment d.doc else [] in
         (* A blank line keeps the doc of an [and] from reading as the previous constructor's
            or field's. *)
         let docs = if i > 0 && docs <> [] then "" :: docs else docs in
         match body ~interface d.body with
         | "{" :: fields -> docs @ ((head ^ " {") :: fields)
         | lines -> docs @ (head :: List.map (fun l -> "  " ^ l) lines))
       types)

(** An exception: with its doc comment in the .mli, registered in the .ml. *)
let exception_decl ~interface (e : exception_decl) =
  let decl = Printf.sprintf "exception %s of %s" e.name e.ty in
  if interface then Odoc.comment e.doc @ [ decl ]
  else
    [ decl;
      Printf.sprintf "let () = Callback.register %S (fun (e : %s) -> %s e)" e.registered e.ty
        e.name ]

(** The items (each a list of lines) of the data types' declarations then the exceptions, for
    the .mli ([interface]) or the .ml. *)
let items ~interface (m : Model.t) =
  List.map (declaration ~interface) m.types @ List.map (exception_decl ~interface) m.exceptions
