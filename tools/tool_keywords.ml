(* The reserved words the tools check names against, written once for all three (the
   bindings generator escapes OCaml ones; lwt-rust-staticlib and lwt-rust-new refuse crate and
   project names that are Rust or OCaml keywords). *)

(** Rust's keywords, strict and reserved (2024 edition): a crate of that name cannot be named
    in Rust code, and cargo refuses it as a package name. *)
let rust =
  [ "as"; "async"; "await"; "break"; "const"; "continue"; "crate"; "dyn"; "else"; "enum";
    "extern"; "false"; "fn"; "for"; "if"; "impl"; "in"; "let"; "loop"; "match"; "mod"; "move";
    "mut"; "pub"; "ref"; "return"; "self"; "Self"; "static"; "struct"; "super"; "trait"; "true";
    "type"; "unsafe"; "use"; "where"; "while"; "abstract"; "become"; "box"; "do"; "final";
    "gen"; "macro"; "override"; "priv"; "try"; "typeof"; "unsized"; "virtual"; "yield" ]

(** OCaml's keywords, including [effect] (reserved since OCaml 5.3). *)
let ocaml =
  [ "and"; "as"; "assert"; "asr"; "begin"; "class"; "constraint"; "do"; "done"; "downto";
    "effect"; "else"; "end"; "exception"; "external"; "false"; "for"; "fun"; "function";
    "functor"; "if"; "in"; "include"; "inherit"; "initializer"; "land"; "lazy"; "let"; "lor";
    "lsl"; "lsr"; "lxor"; "match"; "method"; "mod"; "module"; "mutable"; "new"; "nonrec";
    "object"; "of"; "open"; "or"; "private"; "rec"; "sig"; "struct"; "then"; "to"; "true";
    "try"; "type"; "val"; "virtual"; "when"; "while"; "with" ]
