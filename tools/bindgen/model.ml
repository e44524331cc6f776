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

(** The declarations of the crate's data types (records and variants) and the exceptions of
    its error types. A submodule: its field names are those of the values' too. *)
module Data = struct
  (** A field of a record type or of a constructor's inline record. *)
  type field = {
    name : string;  (** the OCaml field name *)
    ty : string;  (** its OCaml type *)
    doc : string list;  (** its odoc text (none when empty), after it in the .mli *)
  }

  (** What a constructor carries. *)
  type args =
    | Constant  (** nothing: [| C] *)
    | Tuple of string list
        (** [| C of a * b]: the arguments' OCaml types, each parenthesised if it needs it *)
    | Inline of field list  (** an inline record: [| C of { f : a; ... }] *)

  (** A variant's constructor. *)
  type constructor = {
    name : string;  (** the OCaml constructor *)
    args : args;
    doc : string list;  (** its odoc text, after it in the .mli *)
  }

  (** What a type declaration defines. *)
  type body = Record of field list | Variant of constructor list

  (** One type of a [type ... and ...] declaration. *)
  type declaration = {
    name : string;  (** the OCaml type *)
    doc : string list;  (** its odoc text, before it in the .mli *)
    body : body;
  }

  (** The exception of an error type: [exception Name of ty], its constructor registered (in
      the .ml) under [registered] for the Rust side to raise it. *)
  type exception_decl = {
    name : string;  (** the exception's name *)
    ty : string;  (** the OCaml type it carries *)
    registered : string;
    doc : string list;  (** its odoc text, before it in the .mli *)
  }
end

(** The bindings of one crate. *)
type t = {
  crate : string;
  types : Data.declaration list list;
      (** the data types: one [type ... and ...] declaration a list, a type after the types it
          uses *)
  exceptions : Data.exception_decl list;  (** the error types' exceptions, in name order *)
  top : value list;  (** the functions, in name order *)
  modules : object_module list;  (** in name order *)
}
