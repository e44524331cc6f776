(* The implementation (.ml) of the bindings: the object types, the data types and exceptions,
   the functions, one module per object. *)

open Model

(** The lines of one value. *)
let value (v : value) =
  match v.shape with
  | External { parts; symbol; noalloc } ->
    Layout.declaration ("external " ^ v.name) parts (Layout.symbol_suffix ~noalloc symbol)
  | Stream { raw; parts; symbol; args } ->
    (* [?switch]: the stream is closed when the switch turns off (Lwt_rust.on_switch). The
       variable is [switch__], which no parameter's name can be. *)
    let args = if args = [] then "()" else String.concat " " args in
    Layout.declaration ("external " ^ raw) parts (Layout.symbol_suffix symbol)
    @ [ Printf.sprintf "let %s ?switch:switch__ %s =" v.name args;
        Printf.sprintf "  Lwt_rust.Bindgen.switched_stream switch__ (fun () -> %s %s)" raw args ]
  | Close symbol -> [ Printf.sprintf "external %s : t -> unit = %S" v.name symbol ]
  | Alias { ty; def } -> [ Printf.sprintf "let %s : %s = %s" v.name ty def ]

(** The text of the .ml. *)
let print (m : Model.t) =
  let lines =
    Layout.block ""
      ([ [ Layout.header m ]; List.map (fun o -> "type " ^ o.type_name) m.modules ]
      @ Print_data.items ~interface:false m
      @ List.map value m.top
      @ List.map
          (fun o ->
            [ Printf.sprintf "module %s = struct" o.module_name; "  type t = " ^ o.type_name; "" ]
            @ Layout.block "  " (List.map value o.values)
            @ [ "end" ])
          m.modules)
  in
  String.concat "\n" lines ^ "\n"
