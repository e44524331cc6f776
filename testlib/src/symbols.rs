//! Items whose names once broke a program, exercised by `test/misuse/symbols.ml`:
//! free functions named like C library functions (their C symbol was the bare Rust name, which
//! replaced the C library's function for the whole program: OCaml's own `flush` called `write`'s
//! stub), raw identifiers (the C symbol held the `r#`: a link error), and a leading underscore
//! (the stub's Rust name drew a `non_snake_case` warning; this crate denies the
//! `nonstandard_style` lints).

use std::cell::Cell;

/// `write : string -> int Lwt.t`: the length of `text`. Named like the C library's `write`,
/// which OCaml's channels call.
#[lwt_rust::func]
pub async fn write(text: String) -> i64 {
    text.len() as i64
}

/// `time : unit -> int`: 42, whatever the time. Named like the C library's `time`, which
/// `Unix.time` calls.
#[lwt_rust::func]
pub fn time() -> i64 {
    42
}

/// `getpid : unit -> int`: 7. Named like the C library's `getpid`, which `Unix.getpid` calls.
#[lwt_rust::func]
pub fn getpid() -> i64 {
    7
}

/// `type_ : string -> string`: `"type "` and `in`. A raw identifier (`r#type`), with a
/// parameter named by one.
#[lwt_rust::func]
pub fn r#type(r#in: String) -> String {
    format!("type {in}")
}

/// `match_ : int -> int Lwt.t`: `fn + 1`, after a yield (a task).
#[lwt_rust::func]
pub async fn r#match(r#fn: i64) -> i64 {
    crate::yield_once().await;
    r#fn + 1
}

/// `_private : unit -> string`: `"private"`. A leading underscore.
#[lwt_rust::func]
pub fn _private() -> String {
    "private".to_owned()
}

/// An object whose functions have raw and underscored names.
#[lwt_rust::object]
pub struct Keywords {
    calls: Cell<i64>,
}

#[lwt_rust::object]
impl Keywords {
    /// `Keywords.create : unit -> t` (a raw `r#new`).
    pub fn r#new() -> Self {
        Keywords {
            calls: Cell::new(0),
        }
    }

    /// `Keywords.type_ : t -> string`.
    pub fn r#type(&self) -> String {
        self.calls.set(self.calls.get() + 1);
        "keywords".to_owned()
    }

    /// `Keywords.match_ : t -> int -> int Lwt.t`: `in` plus the calls so far.
    pub async fn r#match(&self, r#in: i64) -> i64 {
        r#in + self.calls.get()
    }

    /// `Keywords._calls : t -> int`.
    pub fn _calls(&self) -> i64 {
        self.calls.get()
    }

    /// `Keywords.write : t -> string -> int`: a method named like `write` (methods were
    /// always in their type's namespace).
    pub fn write(&self, text: String) -> i64 {
        text.len() as i64
    }
}
