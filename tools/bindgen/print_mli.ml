(* The interface (.mli) of the bindings: the same items as the .ml with their odoc comments
   (the Rust doc comments), a stream's raw external hidden. *)

open Model

(** The lines of one value. *)
let value (v : value) =
  Odoc.comment v.doc
  @
  match v.shape with
  | External { parts; symbol; noalloc } ->
    Layout.declaration ("external " ^ v.name) parts (Layout.symbol_suffix ~noalloc symbol)
  | Stream { parts; _ } -> Layout.declaration ("val " ^ v.name) ("?switch:Lwt_switch.t" :: parts) ""
  | Close symbol -> [ Printf.sprintf "external %s : t -> unit = %S" v.name symbol ]
  | Alias { ty; _ } -> [ Printf.sprintf "val %s : %s" v.name ty ]

(** The text of the .mli. *)
let print (m : Model.t) =
  let type_docs =
    List.map
      (fun o ->
        Odoc.comment [ Printf.sprintf "The Rust type [%s]: see {!%s}." o.rust o.module_name ]
        @ [ "type " ^ o.type_name ])
      m.modules
  in
  let lines =
    Layout.block ""
      ([ [ Layout.header m ];
         Odoc.comment [ Printf.sprintf "OCaml bindings of the Rust crate [%s]." m.crate ] ]
      @ type_docs
      @ Print_data.items ~interface:true m
      @ List.map value m.top
      @ List.map
          (fun o ->
            Odoc.comment o.doc
            @ [ Printf.sprintf "module %s : sig" o.module_name; "  type t = " ^ o.type_name; "" ]
            @ Layout.block "  " (List.map value o.values)
            @ [ "end" ])
          m.modules)
  in
  String.concat "\n" lines ^ "\n"
