(* The bindings as OCaml sees them, every name and type decided: what Print_ml and Print_mli
   print, and all they print. Of_records makes it from the records. *)

(** What a value is in the generated files. *)
type shape =
  | External of { parts : string list; symbol : string; noalloc : bool }
      (** [external name : p1 -> ... -> r = "symbol"] in both files ([parts]: the parameters'
          types then the result's), [[@@noalloc]] after the symbol when [noalloc] *)
  | Stream of { raw : string; parts : string list; symbol : string; args : string list }
      (** an external [raw] (the .ml only) and a function [name ?switch args] calling it
          under the switch *)
  | Close of string  (** an object's [external close : t -> unit = "symbol"], on one line *)
  | Alias of { ty : string; def : string }  (** [let name : ty = def]; [val name : ty] *)

(** A value of the bindings. *)
type value = {
  name : string;  (** the OCaml name *)
  doc : string list;  (** its odoc comment's text (none when empty), before it in the .mli *)
  shape : shape;
}

(** The module of a Rust object type. *)
type object_module = {
  rust : string;  (** the Rust type's name *)
  type_name : string;  (** the OCaml abstract type, at the top *)
  module_name : string;
  doc : string list;  (** the module's odoc text *)
  values : value list;  (** in name order *)
}

(** The bindings of one crate. *)
type t = {
  crate : string;
  top : value list;  (** the functions, in name order *)
  modules : object_module list;  (** in name order *)
}
