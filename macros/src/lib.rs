//! The attributes of `lwt_rust`: Rust functions and objects callable from OCaml, each with a
//! record of its OCaml signature for `lwt-rust-bindgen`, which writes the OCaml bindings.
//!
//! - [`func`]: a free function. An `async fn` becomes an OCaml function returning `'a Lwt.t`;
//!   a plain `fn`, an ordinary OCaml function (with `blocking`, one returning `'a Lwt.t`, the
//!   body run on a blocking pool); with `stream` / `try_stream`, one returning
//!   `'a Lwt_stream.t`.
//! - [`object`]: on a struct or enum, makes it an OCaml abstract type (a module per type); on
//!   its `impl` block, makes every `pub fn` a function of that module (methods take `&self`).
//! - [`external`]: declares the OCaml type of a hand-written stub, so that its binding is
//!   generated too.
//!
//! ```ignore
//! #[lwt_rust::func]
//! pub async fn fetch(url: String, retries: i64) -> Result<String, MyError> { ... }
//! ```
//! becomes, in the generated bindings,
//! ```ocaml
//! external fetch : string -> int -> string Lwt.t = "lwt_rust_8_my_crate_fn_fetch"
//! ```
//!
//! # What a stub does
//!
//! Next to each exported function the macro emits a C stub, exported under a symbol in the
//! crate's own namespace (`lwt_rust_<n>_<crate>_fn_<name>`, methods
//! `lwt_rust_<n>_<crate>_method_<m>_<Type>_<name>`: `tools/BINDGEN_SPEC.md`; never the bare Rust name,
//! which could replace a C library function of the same name), that, on the OCaml thread:
//! 1. checks and converts every argument to Rust (`lwt_rust::conv::OCamlRepr`) before the
//!    future exists, so the future owns Rust values only; an argument of the wrong OCaml type
//!    gives a promise rejected with `Invalid_argument` (a closed object: `Lwt_rust.Closed`);
//! 2. calls the function and hands its future to `lwt_rust::__private::spawn_result_with`
//!    (return type written `Result<..>` or `...::Result<..>`: `Err` rejects the promise) or
//!    `spawn_value_with` (any other return type), as a closure that makes it, so that it is
//!    built in its box (a method's future is kept with the lease on its object:
//!    `Lease::start`); a plain `fn` runs at once
//!    (`lwt_rust::boundary::sync_stub`: the stub itself raises an `Err`, a panic or a refused
//!    argument, once every Rust value of the call is dropped);
//! 3. runs inside `lwt_stub` (or `stream_stub`, `sync_stub`), so a panic anywhere gives a
//!    promise rejected with (or raises) `Lwt_rust.Rust_panic`.
//!
//! The generated code names the `lwt_rust` crate as `::lwt_rust`, and reaches into it through
//! one hidden module only, `lwt_rust::__private`, whose flat names (`lwt_stub`,
//! `from_ocaml_checked`, `spawn_result`, ...) stay put when the modules behind them move. A
//! crate that depends on `lwt_rust` under another name (`my_lwt = { package = "lwt_rust", ...
//! }` in Cargo.toml) says so:
//! `#[my_lwt::func(crate = "my_lwt")]` (any path: `crate = "::my_lwt"`, or
//! `crate = "crate::reexported"` for a re-export).
//!
//! A function with no parameter is an OCaml `unit -> ...`. At most 5 parameters, a method's
//! object included (the native calling convention of OCaml externals without a bytecode
//! variant).
//!
//! Streams: with `#[lwt_rust::func(stream)]` the function (an `async fn` or a plain `fn`)
//! returns a `futures::Stream`, or a `Result` of one, and the binding returns
//! `'a Lwt_stream.t` (`lwt_rust::export_stream`). `stream`: every item is a value (a
//! `Result` item becomes an OCaml `result`); `try_stream`: items are `Result<T, E>` and the
//! first `Err` fails its read and ends the stream. An `Err` from the function itself fails
//! the first read. An argument of the wrong OCaml type fails the first read with
//! `Invalid_argument`. Write the return type `impl Stream<Item = T>` (or a `BoxStream<'_, T>`):
//! the binding's item type is read from it.
//!
//! # Binding records
//!
//! Every exported item also leaves a `#[used] static` in the compiled crate: a few lines of
//! text (`crate`, `item`, `symbol`, the parameters' and result's Rust types, the doc comment)
//! between a marker and a NUL. `lwt-rust-bindgen` finds them in the crate's staticlib (or
//! rlib) and writes the OCaml `.ml` and `.mli`: the types of the bindings come from the Rust
//! signatures, so they cannot disagree with them. The format is in `tools/BINDGEN_SPEC.md`.

// The expansion, by phase: `options` (the attributes' arguments), `model` (an exported
// function and its checks), `naming` (symbols and OCaml names), `types` (the Rust types the
// record writes), `codegen` (the stubs, per function and per object) and `record` (the binding
// records). This file keeps the entry points only.
mod codegen;
mod model;
mod naming;
mod options;
mod record;
mod record_lines;
mod types;
// `#[lwt_rust::record]`, `#[lwt_rust::variant]`, `#[lwt_rust::error]`: a user's types as OCaml
// records and variants, their conversions and declarations.
mod data_types;

#[cfg(test)]
mod tests;

use proc_macro::TokenStream;
use syn::{parse_macro_input, Item, ItemFn};

/// The tokens of an expansion, or of its error.
fn tokens(result: syn::Result<proc_macro2::TokenStream>) -> TokenStream {
    match result {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}

/// Exposes a free function to OCaml (see the crate documentation).
///
/// Arguments: `name = "part"` (the last part of the C symbol, `..._fn_<part>`; default: the
/// function's name), `crate = "path"`, and one of `stream`, `try_stream` or `blocking`.
///
/// `blocking`, on a plain `fn`: the OCaml function returns `'a Lwt.t`; the arguments are
/// converted on the OCaml thread, the body runs on the library's blocking pool
/// (`lwt_rust::blocking`), without the OCaml runtime lock and while Lwt goes on, and its result
/// (a `Result` as for an `async fn`) is converted on the OCaml thread when it is done. The
/// arguments and the result must be `Send`. `Lwt.cancel` rejects the promise at once; a body
/// already running cannot be interrupted: it runs to its end and its result is dropped. A
/// panic in the body rejects the promise with `Lwt_rust.Rust_panic`.
#[proc_macro_attribute]
pub fn func(attr: TokenStream, item: TokenStream) -> TokenStream {
    let function = parse_macro_input!(item as ItemFn);
    tokens(codegen::func(attr.into(), function, &naming::crate_name()))
}

/// Makes a Rust type an OCaml abstract type (on a `struct` or `enum`), and the `pub fn`s of
/// its `impl` block the functions of its OCaml module (on the `impl`).
///
/// ```ignore
/// /// A counter.
/// #[lwt_rust::object]
/// pub struct Counter { n: std::cell::Cell<i64> }
///
/// #[lwt_rust::object]
/// impl Counter {
///     pub fn new(start: i64) -> Self { Counter { n: start.into() } }
///     pub fn get(&self) -> i64 { self.n.get() }
///     pub async fn add_later(&self, k: i64) -> i64 { self.n.set(self.n.get() + k); self.n.get() }
/// }
/// ```
/// gives `module Counter : sig type t val create : int -> t val get : t -> int
/// val add_later : t -> int -> int Lwt.t val close : t -> unit ... end`.
///
/// - The OCaml value holds an [`Obj<Self>`](../lwt_rust/object/struct.Obj.html); a running
///   method holds one too, so the object lives until both are gone. The GC's finaliser hands
///   the object to the OCaml thread, which drops it outside the GC; `close` drops this
///   value's hold at once; `Lwt_rust.shutdown` drops every object.
/// - Methods take `&self`: `&mut self` is refused (OCaml may call a method while another one
///   runs; use `Cell`, `RefCell` or an async mutex inside). A function returning `Self` (or
///   `Result<Self, E>`) is a constructor; `new` is named `create` in OCaml.
/// - Other objects are passed and returned as `Obj<T>` (also inside options, lists, tuples,
///   stream items).
/// - Per method: `#[lwt_rust(name = "part")]` (the last part of its C symbol),
///   `#[lwt_rust(stream)]`,
///   `#[lwt_rust(try_stream)]`, `#[lwt_rust(skip)]` (not exported).
/// - On the type: `#[lwt_rust::object(crate = "path")]`. Generic types are refused.
#[proc_macro_attribute]
pub fn object(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = parse_macro_input!(item as Item);
    let crate_name = naming::crate_name();
    tokens(match item {
        Item::Struct(_) | Item::Enum(_) => codegen::object_type(attr.into(), item, &crate_name),
        Item::Impl(block) => codegen::object_impl(attr.into(), block, &crate_name),
        other => Err(syn::Error::new_spanned(
            other,
            "#[lwt_rust::object] goes on a struct or enum, and on its `impl` block",
        )),
    })
}

/// States the OCaml type of a Rust type with a hand-written conversion (its own
/// `lwt_rust::conv::OCamlRepr` impl): `#[lwt_rust::ocaml_type("int")] pub struct Celsius(i64);`.
/// The bindings of the functions that take or return the type print its
/// `OCamlRepr::OCAML_TYPE` (its marker's unless the impl sets it); this attribute checks, at
/// compile time, that it is the one written, and stops the build otherwise (`crate = "..."`
/// after the type when the `lwt_rust` dependency is renamed). The item is left unchanged.
#[proc_macro_attribute]
pub fn ocaml_type(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = parse_macro_input!(item as Item);
    tokens(codegen::ocaml_type(attr.into(), item))
}

/// Makes a struct with named fields an OCaml record type with the same fields, converted both
/// ways (a value of the wrong shape from OCaml is refused with `Invalid_argument` naming the
/// type), its declaration written by `lwt-rust-bindgen` with the Rust doc comments as odoc.
///
/// ```ignore
/// /// A user.
/// #[lwt_rust::record]
/// pub struct User { pub id: i64, pub name: String, pub email: Option<String> }
/// ```
/// gives `type user = { id : int; name : string; email : string option }`. (Re-exported by
/// `lwt_rust` as `record`.) Every field's type
/// must have an OCaml counterpart (`lwt_rust::conv::OCamlRepr`); a record whose fields are all
/// `f64` is OCaml's flat float record. Generic types and lifetimes are refused. Argument:
/// `crate = "path"`.
#[proc_macro_attribute]
pub fn data_record(attr: TokenStream, item: TokenStream) -> TokenStream {
    data_types_entry(data_types::Want::Record, attr, item)
}

/// Makes an enum an OCaml variant type: a fieldless variant is a constant constructor, a tuple
/// variant a constructor with arguments, a struct variant a constructor with an inline record.
///
/// ```ignore
/// #[lwt_rust::variant]
/// pub enum Shape { Empty, Circle(f64), Rect { w: f64, h: f64 } }
/// ```
/// gives `type shape = Empty | Circle of float | Rect of { w : float; h : float }`.
/// Recursive types go through `Box` or `Vec`. Argument: `crate = "path"`.
#[proc_macro_attribute]
pub fn variant(attr: TokenStream, item: TokenStream) -> TokenStream {
    data_types_entry(data_types::Want::Variant, attr, item)
}

/// [`variant`] (on an enum) or [`data_record`] (on a struct), plus an OCaml exception carrying the
/// value: `#[lwt_rust::error] pub enum DbError { NotFound(i64), Closed }` gives `type db_error
/// = ...` and `exception Db_error of db_error`. A function returning `Result<T, DbError>`
/// rejects its promise (or raises, for a plain `fn`) with `Db_error e`; with
/// `#[lwt_rust::func(result)]` it returns `(t, db_error) result` instead.
#[proc_macro_attribute]
pub fn error(attr: TokenStream, item: TokenStream) -> TokenStream {
    data_types_entry(data_types::Want::Error, attr, item)
}

fn data_types_entry(want: data_types::Want, attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = parse_macro_input!(item as Item);
    tokens(data_types::expand(want, attr.into(), item))
}

/// Declares the OCaml type of a hand-written stub (an `extern "C" fn` taking and returning
/// `ocaml::Raw`), so that `lwt-rust-bindgen` writes its `external` too:
/// `#[lwt_rust::external(ocaml = "'a Lwt.t -> 'a Lwt.t")]`. The function is left unchanged;
/// its symbol is its `#[export_name]`, or its name (`#[no_mangle]`): a symbol the user chose,
/// unlike those of [`func`] and [`object`], which are always in the crate's namespace. Choose
/// one that nothing else in the program has (not a C library function's name).
///
/// The type is trusted: prefer [`func`], whose types come from the Rust signature.
#[proc_macro_attribute]
pub fn external(attr: TokenStream, item: TokenStream) -> TokenStream {
    let function = parse_macro_input!(item as ItemFn);
    tokens(codegen::external(
        attr.into(),
        function,
        &naming::crate_name(),
    ))
}
