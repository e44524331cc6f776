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
//! 2. calls the function and hands its future to `lwt_rust::export_future::spawn_result` (return
//!    type written `Result<..>` or `...::Result<..>`: `Err` rejects the promise) or
//!    `spawn_value` (any other return type); a plain `fn` runs at once
//!    (`lwt_rust::boundary::sync_stub`: the stub itself raises an `Err`, a panic or a refused
//!    argument, once every Rust value of the call is dropped);
//! 3. runs inside `lwt_stub` (or `stream_stub`, `sync_stub`), so a panic anywhere gives a
//!    promise rejected with (or raises) `Lwt_rust.Rust_panic`.
//!
//! The generated code names the `lwt_rust` crate as `::lwt_rust`. A crate that depends on it
//! under another name (`my_lwt = { package = "lwt_rust", ... }` in Cargo.toml) says so:
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

mod data_types;

use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::parse::Parser;
use syn::visit_mut::VisitMut;
use syn::{
    parse_macro_input, Attribute, FnArg, GenericArgument, ImplItem, Item, ItemFn, ItemImpl,
    LitByteStr, LitStr, Pat, PathArguments, ReturnType, Signature, Type, TypeParamBound,
};

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
    match expand_func(attr.into(), function) {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
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
    let result = match item {
        Item::Struct(_) | Item::Enum(_) => expand_object_type(attr.into(), item),
        Item::Impl(block) => expand_object_impl(attr.into(), block),
        other => Err(syn::Error::new_spanned(
            other,
            "#[lwt_rust::object] goes on a struct or enum, and on its `impl` block",
        )),
    };
    match result {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}

/// Declares the OCaml type of a Rust type with a hand-written conversion (its own
/// `lwt_rust::conv::OCamlRepr` impl), so that `lwt-rust-bindgen` can write the bindings of the
/// functions that take or return it: `#[lwt_rust::ocaml_type("int")] pub struct Celsius(i64);`.
/// The item is left unchanged.
#[proc_macro_attribute]
pub fn ocaml_type(attr: TokenStream, item: TokenStream) -> TokenStream {
    let ocaml = parse_macro_input!(attr as LitStr);
    let item = parse_macro_input!(item as Item);
    let ident = match &item {
        Item::Struct(s) => &s.ident,
        Item::Enum(e) => &e.ident,
        Item::Type(t) => &t.ident,
        other => {
            return syn::Error::new_spanned(
                other,
                "#[lwt_rust::ocaml_type] goes on a struct, an enum or a type alias",
            )
            .to_compile_error()
            .into()
        }
    };
    let lines = vec![
        ("crate", crate_name()),
        ("item", "type".to_owned()),
        ("rust", ident.to_string()),
        ("symbol", format!("type_{ident}")),
        ("ocaml", ocaml.value()),
    ];
    let record = record(&format!("{}_type_{ident}", crate_name()), lines);
    quote! {
        #item
        #record
    }
    .into()
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
    match data_types::expand(want, attr.into(), item) {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
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
    match expand_external(attr.into(), function) {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}

/// What the function returns to OCaml.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `'a Lwt.t` (an `async fn`).
    Promise,
    /// `'a Lwt_stream.t` of the items of a `Stream` (`stream`).
    Stream,
    /// `'a Lwt_stream.t` of the `Ok` items of a `Stream` of `Result`s; an `Err` ends it
    /// (`try_stream`).
    TryStream,
    /// The value itself, at once (a plain `fn`).
    Sync,
    /// `'a Lwt.t` of a plain `fn` run on the blocking pool (`blocking`).
    Blocking,
}

impl Kind {
    /// The kind of a function: `stream` / `try_stream` if asked, else by its asyncness.
    fn of(stream: Option<Kind>, sig: &Signature) -> Kind {
        match (stream, sig.asyncness.is_some()) {
            (Some(stream), _) => stream,
            (None, true) => Kind::Promise,
            (None, false) => Kind::Sync,
        }
    }

    fn record(self) -> &'static str {
        match self {
            Kind::Promise => "async",
            Kind::Stream => "stream",
            Kind::TryStream => "try_stream",
            Kind::Sync => "sync",
            // The binding is the same as an async function's.
            Kind::Blocking => "async",
        }
    }
}

/// The arguments of an attribute.
struct Options {
    name: Option<LitStr>,
    stream: Option<Kind>,
    /// The path of the `lwt_rust` crate in the generated code.
    krate: syn::Path,
    skip: bool,
    ocaml: Option<String>,
    /// `result`: a `Result<T, E>` is returned as an OCaml `(t, e) result` value.
    result: bool,
}

fn options(attr: proc_macro2::TokenStream, allowed: &[&str]) -> syn::Result<Options> {
    let mut options = Options {
        name: None,
        stream: None,
        krate: syn::parse_quote!(::lwt_rust),
        skip: false,
        ocaml: None,
        result: false,
    };
    let parser = syn::meta::parser(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(|ident| ident.to_string())
            .unwrap_or_default();
        if !allowed.contains(&key.as_str()) {
            return Err(meta.error(format!(
                "expected one of: {}",
                allowed
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        match key.as_str() {
            "name" => options.name = Some(meta.value()?.parse::<LitStr>()?),
            "crate" => options.krate = meta.value()?.parse::<LitStr>()?.parse()?,
            "ocaml" => options.ocaml = Some(meta.value()?.parse::<LitStr>()?.value()),
            "skip" => options.skip = true,
            "result" => options.result = true,
            _ => {
                if options.stream.is_some() {
                    return Err(
                        meta.error("give one of `stream`, `try_stream` or `blocking`, once")
                    );
                }
                options.stream = Some(match key.as_str() {
                    "stream" => Kind::Stream,
                    "blocking" => Kind::Blocking,
                    _ => Kind::TryStream,
                });
            }
        }
        Ok(())
    });
    parser.parse2(attr)?;
    Ok(options)
}

/// The crate being compiled, as cargo names it for rustc (`CARGO_CRATE_NAME`).
fn crate_name() -> String {
    std::env::var("CARGO_CRATE_NAME").unwrap_or_else(|_| "unknown_crate".to_owned())
}

/// The C symbol of an item of the crate being compiled: `lwt_rust_<n>_<crate>_<item>`, `<n>`
/// being the length of the crate's name. Every symbol the attributes export is one of these:
/// never a bare Rust name (a function named `write` or `time` would replace the C library's for
/// the whole program). The prefix `lwt_rust_` followed by a digit is used by nothing else
/// (`lwt_rust`'s own stubs are `lwt_rust_<word>`), and the length makes the crate's name end
/// unambiguously (a crate name never starts with a digit), so two crates' symbols never meet.
/// Within the crate, `<item>` is `fn_<name>` (a free function), `method_<m>_<Type>_<name>`
/// (`<m>` the length of `Type`) or `close_<Type>` (an object's `close`).
fn c_symbol(item: &str) -> String {
    let krate = crate_name();
    format!("lwt_rust_{}_{krate}_{item}", krate.len())
}

/// The part of a C symbol that `name = "..."` gives: a C identifier's characters only.
fn symbol_part(name: &str, span: proc_macro2::Span) -> syn::Result<String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(syn::Error::new(
            span,
            format!(
                "`name = {name:?}`: the name is part of a C symbol: letters, digits and `_` only"
            ),
        ));
    }
    Ok(name.to_owned())
}

/// An identifier without its `r#` (`r#type` → `type`).
fn unraw(ident: &syn::Ident) -> String {
    use syn::ext::IdentExt;
    ident.unraw().to_string()
}

/// `KvStore` → `kv_store` (a capital starts a word after a lowercase letter or a digit, or
/// before a lowercase letter after a capital: `HTTPClient` → `http_client`).
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let previous = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if previous.is_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_uppercase() && next_lower)
            {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// `kv_store` → `Kv_store`.
fn module_name(snake: &str) -> String {
    let mut chars = snake.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The lines of an item's doc comment.
fn doc_lines(attrs: &[Attribute]) -> Vec<String> {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &attr.meta {
            if let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(text),
                ..
            }) = &nv.value
            {
                lines.extend(text.value().lines().map(str::to_owned));
            }
        }
    }
    lines
}

/// A type as the record writes it: its tokens, separated by spaces.
fn type_text(ty: &Type) -> String {
    quote!(#ty).to_string()
}

/// A binding record (see the crate documentation), as a `#[used] static`.
fn record(symbol: &str, lines: Vec<(&str, String)>) -> proc_macro2::TokenStream {
    let mut text = String::from("\0LWT_RUST_BINDINGS_1\n");
    for (key, value) in lines {
        // A value never holds a newline or a NUL: the format is line-based.
        let value = value.replace(['\n', '\r', '\0'], " ");
        text.push_str(key);
        text.push(' ');
        text.push_str(&value);
        text.push('\n');
    }
    text.push('\0');
    let bytes = LitByteStr::new(text.as_bytes(), proc_macro2::Span::call_site());
    let len = text.len();
    let ident = format_ident!(
        "__LWT_RUST_BINDING_{}",
        symbol
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect::<String>()
    );
    quote! {
        #[used]
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        static #ident: [u8; #len] = *#bytes;
    }
}

/// Replaces `Self` with the object type in a signature's types.
struct ReplaceSelf<'a>(&'a syn::Ident);

impl VisitMut for ReplaceSelf<'_> {
    fn visit_type_path_mut(&mut self, path: &mut syn::TypePath) {
        if path.qself.is_none() && path.path.is_ident("Self") {
            path.path = self.0.clone().into();
        } else {
            syn::visit_mut::visit_type_path_mut(self, path);
        }
    }
}

/// The generic arguments of the last segment of `ty`, if it is a path named `name`.
fn generic_args<'a>(ty: &'a Type, name: &str) -> Option<Vec<&'a Type>> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return Some(Vec::new());
    };
    Some(
        args.args
            .iter()
            .filter_map(|arg| match arg {
                GenericArgument::Type(ty) => Some(ty),
                _ => None,
            })
            .collect(),
    )
}

fn is_result(ty: &Type) -> bool {
    generic_args(ty, "Result").is_some()
}

/// The `Ok` type of `Result<T, E>`.
fn ok_type(ty: &Type) -> syn::Result<&Type> {
    generic_args(ty, "Result")
        .and_then(|args| args.first().copied())
        .ok_or_else(|| syn::Error::new_spanned(ty, "expected `Result<T, E>`"))
}

/// The item type of a stream type: `impl Stream<Item = T>` (any bound with an `Item`),
/// `Pin<Box<dyn Stream<Item = T>>>`, `BoxStream<'_, T>` / `LocalBoxStream<'_, T>`.
fn stream_item(ty: &Type) -> Option<&Type> {
    fn in_bounds<'a>(bounds: impl Iterator<Item = &'a TypeParamBound>) -> Option<&'a Type> {
        for bound in bounds {
            if let TypeParamBound::Trait(bound) = bound {
                for segment in &bound.path.segments {
                    if let PathArguments::AngleBracketed(args) = &segment.arguments {
                        for arg in &args.args {
                            if let GenericArgument::AssocType(assoc) = arg {
                                if assoc.ident == "Item" {
                                    return Some(&assoc.ty);
                                }
                            }
                        }
                    }
                }
            }
        }
        None
    }
    match ty {
        Type::ImplTrait(t) => in_bounds(t.bounds.iter()),
        Type::TraitObject(t) => in_bounds(t.bounds.iter()),
        Type::Paren(t) => stream_item(&t.elem),
        Type::Group(t) => stream_item(&t.elem),
        Type::Path(_) => {
            for name in ["BoxStream", "LocalBoxStream"] {
                if let Some(args) = generic_args(ty, name) {
                    return args.first().copied();
                }
            }
            for name in ["Pin", "Box"] {
                if let Some(args) = generic_args(ty, name) {
                    return args.first().and_then(|inner| stream_item(inner));
                }
            }
            None
        }
        _ => None,
    }
}

/// One exported function, free or in an object's `impl`.
struct Export<'a> {
    krate: &'a syn::Path,
    symbol: String,
    /// The item as messages name it: `name`, `Type::name`.
    display: String,
    kind: Kind,
    sig: &'a Signature,
    /// The object type, for a method or associated function.
    owner: Option<&'a syn::Ident>,
    /// Whether the function takes `&self`.
    receiver: bool,
    docs: Vec<String>,
    /// `result`: the `Result` is the value (see [`Options::result`]).
    result: bool,
}

/// How a function's result is turned into what OCaml gets.
enum Wrap {
    /// As it is.
    None,
    /// `Self`: made an object.
    SelfValue,
    /// `Result<Self, E>`: the `Ok` value made an object.
    SelfInResult,
}

impl Export<'_> {
    fn expand(&self) -> syn::Result<proc_macro2::TokenStream> {
        let Export {
            krate,
            symbol,
            display,
            kind,
            sig,
            owner,
            receiver,
            ..
        } = self;
        let kind = *kind;
        let what = if owner.is_some() {
            "#[lwt_rust::object]"
        } else {
            "#[lwt_rust::func]"
        };
        if !sig.generics.params.is_empty() {
            return Err(syn::Error::new_spanned(
                &sig.generics,
                format!("{what} functions cannot be generic: OCaml calls one concrete stub"),
            ));
        }
        if sig.inputs.len() > 5 {
            return Err(syn::Error::new_spanned(
                &sig.inputs,
                format!("{what} supports at most 5 parameters"),
            ));
        }
        let name = &sig.ident;
        let stub = match owner {
            Some(owner) => format_ident!(
                "__lwt_rust_stub_{}_{}",
                snake_case(&owner.to_string()),
                name
            ),
            None => format_ident!("__lwt_rust_stub_{}", name),
        };

        let mut raw_params = Vec::new();
        let mut conversions = Vec::new();
        let mut call_args = Vec::new();
        let mut bound = Vec::new();
        if *receiver {
            let owner = owner.expect("a receiver is in an impl");
            let message = format!(
                "{display}: the {} value: ",
                module_name(&snake_case(&owner.to_string()))
            );
            raw_params.push(quote! { raw_self: #krate::ocaml::Raw });
            conversions.push(quote! {
                // SAFETY: the stub runs in the OCaml context; every argument is converted
                // before anything allocates on the OCaml heap (conversions only read).
                let _ = &cr;
                let this: #krate::object::Lease<#owner> = match unsafe {
                    #krate::object::receiver::<#owner>(raw_self.0)
                } {
                    ::core::result::Result::Ok(value) => value,
                    ::core::result::Result::Err(err) => {
                        return ::core::result::Result::Err((#message, err));
                    }
                };
            });
            bound.push(format_ident!("this"));
        }
        for (position, input) in sig.inputs.iter().enumerate() {
            let FnArg::Typed(typed) = input else {
                continue;
            };
            let Pat::Ident(_) = typed.pat.as_ref() else {
                return Err(syn::Error::new_spanned(
                    &typed.pat,
                    format!("{what} parameters must be plain names"),
                ));
            };
            let ty = &typed.ty;
            let raw = format_ident!("raw_{}", position);
            let value = format_ident!("arg_{}", position);
            let message = format!("{display}: argument {}: ", position + 1);
            raw_params.push(quote! { #raw: #krate::ocaml::Raw });
            conversions.push(quote! {
                // SAFETY: the stub runs in the OCaml context; every argument is converted
                // before anything allocates on the OCaml heap (conversions only read).
                let #value: #ty = match unsafe {
                    #krate::conv::from_ocaml_checked::<#ty>(cr, #raw.0)
                } {
                    ::core::result::Result::Ok(value) => value,
                    ::core::result::Result::Err(err) => {
                        return ::core::result::Result::Err((#message, err));
                    }
                };
            });
            call_args.push(value.clone());
            bound.push(value);
        }
        if raw_params.is_empty() {
            raw_params.push(quote! { _unit: #krate::ocaml::Raw });
        }

        let wrap = self.wrap()?;
        let is_async = sig.asyncness.is_some();
        let function = match owner {
            Some(owner) => quote! { #owner::#name },
            None => quote! { #name },
        };
        let call = if *receiver {
            quote! { #function(&this, #(#call_args),*) }
        } else {
            quote! { #function(#(#call_args),*) }
        };
        let wrapped = |value: proc_macro2::TokenStream| match wrap {
            Wrap::None => value,
            Wrap::SelfValue => quote! { #krate::object::Obj::new(#value) },
            Wrap::SelfInResult => quote! { (#value).map(#krate::object::Obj::new) },
        };
        // The function's result (a future of it for async functions; a plain `fn` returning a
        // stream is wrapped in a ready future).
        let (future, value) = if kind == Kind::Sync {
            (quote! {}, wrapped(call))
        } else if kind == Kind::Blocking {
            // The arguments, converted here on the OCaml thread, move to the pool's thread.
            let result = wrapped(call);
            (quote! { #krate::blocking::run(move || #result) }, quote! {})
        } else if is_async {
            let needs_block = *receiver || !matches!(wrap, Wrap::None);
            let future = if needs_block {
                let result = wrapped(quote! { #call.await });
                quote! { async move { #result } }
            } else {
                call
            };
            (future, quote! {})
        } else {
            let result = wrapped(call);
            (
                quote! { #krate::futures::future::ready(#result) },
                quote! {},
            )
        };
        let fallible = match &sig.output {
            ReturnType::Type(_, ty) => is_result(ty) && !self.result,
            ReturnType::Default => false,
        };
        // The error goes to OCaml as its own exception if it has one (`#[lwt_rust::error]`).
        let (future, value) = match kind {
            Kind::Sync if fallible => (future, data_types::map_typed_errors(krate, false, value)),
            Kind::Promise | Kind::Blocking if fallible => {
                (data_types::map_typed_errors(krate, true, future), value)
            }
            _ => (future, value),
        };
        let (stub_wrapper, refused, start) = match kind {
            Kind::Sync => {
                let finish = if fallible {
                    quote! { #krate::boundary::sync_result(#value) }
                } else {
                    quote! { #krate::boundary::sync_value(#value) }
                };
                (
                    quote! { #krate::boundary::sync_stub },
                    quote! { ::core::result::Result::Err(#krate::boundary::refused_argument_sync(context, err)) },
                    finish,
                )
            }
            Kind::Promise | Kind::Blocking => {
                let spawn = if fallible {
                    quote! { #krate::export_future::spawn_result }
                } else {
                    quote! { #krate::export_future::spawn_value }
                };
                (
                    quote! { #krate::boundary::lwt_stub },
                    quote! { #krate::boundary::refused_argument(context, err) },
                    quote! { #spawn(#future) },
                )
            }
            Kind::Stream | Kind::TryStream => {
                // The items, as a stream of `Result`s: the future's error (if it returns
                // `Result<stream, E>`) and, for `try_stream`, the items' errors end it.
                let items = match (fallible, kind) {
                    (false, Kind::Stream) => quote! {
                        #krate::futures::StreamExt::map(
                            #krate::futures::FutureExt::flatten_stream(#future),
                            ::core::result::Result::Ok::<_, ::std::convert::Infallible>,
                        )
                    },
                    (false, _) => quote! { #krate::futures::FutureExt::flatten_stream(#future) },
                    (true, Kind::Stream) => quote! {
                        #krate::futures::TryFutureExt::try_flatten_stream(
                            #krate::futures::TryFutureExt::map_ok(#future, |items| {
                                #krate::futures::StreamExt::map(
                                    items,
                                    ::core::result::Result::Ok,
                                )
                            }),
                        )
                    },
                    // The function's error and the items' errors may be different types: both
                    // become `lwt_rust::error::Error` first.
                    (true, _) => quote! {
                        #krate::futures::TryFutureExt::try_flatten_stream(
                            #krate::futures::TryFutureExt::map_ok(
                                #krate::futures::TryFutureExt::map_err(
                                    #future,
                                    #krate::boundary::into_error,
                                ),
                                |items| {
                                    #krate::futures::StreamExt::map(items, |item| {
                                        item.map_err(#krate::boundary::into_error)
                                    })
                                },
                            ),
                        )
                    },
                };
                (
                    quote! { #krate::boundary::stream_stub },
                    quote! { #krate::boundary::refused_argument_stream(context, err) },
                    quote! { #krate::export_stream::stream_result(#items) },
                )
            }
        };

        let closure = quote! {
            || {
                let args: ::core::result::Result<
                    _,
                    (&'static str, #krate::conv::ArgError),
                > = #krate::runtime::with_runtime(|cr| {
                    #(#conversions)*
                    ::core::result::Result::Ok((#(#bound,)*))
                });
                match args {
                    ::core::result::Result::Ok((#(#bound,)*)) => #start,
                    ::core::result::Result::Err((context, err)) => #refused,
                }
            }
        };
        // SAFETY (of the generated `unsafe`, around the call only: the function itself is
        // called outside it): `sync_stub` is the whole body of this stub, which OCaml calls as
        // an `external`; the closure is moved into it, so nothing else is alive here when it
        // raises.
        let body = if kind == Kind::Sync {
            quote! {
                let body = #closure;
                unsafe { #stub_wrapper(body) }
            }
        } else {
            quote! { #stub_wrapper(#closure) }
        };
        // The stub's Rust name repeats the function's, which may start with `_`.
        Ok(quote! {
            #[doc(hidden)]
            #[allow(non_snake_case)]
            #[export_name = #symbol]
            pub extern "C" fn #stub(#(#raw_params),*) -> #krate::ocaml::Raw {
                #body
            }
        })
    }

    /// How the result is made an OCaml value: a constructor's `Self` becomes an object.
    fn wrap(&self) -> syn::Result<Wrap> {
        let (Some(owner), ReturnType::Type(_, ty)) = (self.owner, &self.sig.output) else {
            return Ok(Wrap::None);
        };
        let is_owner =
            |ty: &Type| matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident(owner));
        if is_owner(ty) {
            Ok(Wrap::SelfValue)
        } else if is_result(ty) && is_owner(ok_type(ty)?) {
            Ok(Wrap::SelfInResult)
        } else {
            Ok(Wrap::None)
        }
    }

    /// The type OCaml sees as the result's value: the `Ok` type, a stream's item type.
    fn returns(&self) -> syn::Result<String> {
        let ReturnType::Type(_, ty) = &self.sig.output else {
            return Ok("()".to_owned());
        };
        let fallible = is_result(ty) && !self.result;
        let value = if fallible { ok_type(ty)? } else { ty.as_ref() };
        let value = match self.kind {
            Kind::Promise | Kind::Sync | Kind::Blocking => value,
            Kind::Stream | Kind::TryStream => {
                let item = stream_item(value).ok_or_else(|| {
                    syn::Error::new_spanned(
                        value,
                        "cannot read the stream's item type for the OCaml binding: write \
                         `impl Stream<Item = T>` (or `BoxStream<'_, T>`)",
                    )
                })?;
                if self.kind == Kind::TryStream {
                    ok_type(item)?
                } else {
                    item
                }
            }
        };
        Ok(match (&self.wrap()?, self.owner) {
            (Wrap::SelfValue | Wrap::SelfInResult, Some(owner)) => owner.to_string(),
            _ => type_text(value),
        })
    }

    fn record(&self) -> syn::Result<proc_macro2::TokenStream> {
        let mut lines = vec![
            ("crate", crate_name()),
            (
                "item",
                if self.owner.is_some() {
                    "method"
                } else {
                    "function"
                }
                .to_owned(),
            ),
            ("rust", self.sig.ident.to_string()),
            ("symbol", self.symbol.clone()),
        ];
        if let Some(owner) = self.owner {
            lines.push(("owner", owner.to_string()));
        }
        lines.push(("call", self.kind.record().to_owned()));
        if self.owner.is_some() {
            lines.push((
                "receiver",
                if self.receiver { "yes" } else { "no" }.to_owned(),
            ));
        }
        for input in &self.sig.inputs {
            if let FnArg::Typed(typed) = input {
                if let Pat::Ident(ident) = typed.pat.as_ref() {
                    lines.push(("param", format!("{} {}", ident.ident, type_text(&typed.ty))));
                }
            }
        }
        lines.push(("returns", self.returns()?));
        for doc in &self.docs {
            lines.push(("doc", doc.clone()));
        }
        Ok(record(&self.symbol, lines))
    }
}

fn expand_func(
    attr: proc_macro2::TokenStream,
    function: ItemFn,
) -> syn::Result<proc_macro2::TokenStream> {
    let options = options(
        attr,
        &[
            "name",
            "crate",
            "stream",
            "try_stream",
            "blocking",
            "result",
        ],
    )?;
    let sig = &function.sig;
    if options.stream == Some(Kind::Blocking) && sig.asyncness.is_some() {
        return Err(syn::Error::new_spanned(
            sig.asyncness,
            "#[lwt_rust::func(blocking)] goes on a plain `fn` (its body runs on the blocking \
             pool); an `async fn` is awaited on the OCaml thread already",
        ));
    }
    if let Some(FnArg::Receiver(receiver)) = sig.inputs.first() {
        return Err(syn::Error::new_spanned(
            receiver,
            "#[lwt_rust::func] functions cannot take `self` (methods go in an \
             #[lwt_rust::object] impl)",
        ));
    }
    let kind = Kind::of(options.stream, sig);
    let part = match &options.name {
        Some(name) => symbol_part(&name.value(), name.span())?,
        None => unraw(&sig.ident),
    };
    let export = Export {
        krate: &options.krate,
        symbol: c_symbol(&format!("fn_{part}")),
        display: unraw(&sig.ident),
        kind,
        sig,
        owner: None,
        receiver: false,
        docs: doc_lines(&function.attrs),
        result: options.result,
    };
    let stub = export.expand()?;
    let record = export.record()?;
    Ok(quote! {
        #function
        #stub
        #record
    })
}

fn expand_external(
    attr: proc_macro2::TokenStream,
    function: ItemFn,
) -> syn::Result<proc_macro2::TokenStream> {
    let options = options(attr, &["ocaml"])?;
    let Some(ocaml) = options.ocaml else {
        return Err(syn::Error::new(
            proc_macro2::Span::call_site(),
            "#[lwt_rust::external] needs `ocaml = \"<the OCaml type>\"`",
        ));
    };
    let mut symbol = unraw(&function.sig.ident);
    for attr in &function.attrs {
        if attr.path().is_ident("export_name") {
            if let syn::Meta::NameValue(nv) = &attr.meta {
                if let syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(name),
                    ..
                }) = &nv.value
                {
                    symbol = name.value();
                }
            }
        }
    }
    let mut lines = vec![
        ("crate", crate_name()),
        ("item", "function".to_owned()),
        ("rust", function.sig.ident.to_string()),
        ("symbol", symbol.clone()),
        ("call", "raw".to_owned()),
        ("ocaml", ocaml),
    ];
    for doc in doc_lines(&function.attrs) {
        lines.push(("doc", doc));
    }
    let record = record(&symbol, lines);
    Ok(quote! {
        #function
        #record
    })
}

/// The names every object module has already (see `lwt-rust-bindgen`).
const RESERVED: [&str; 4] = ["close", "equal", "compare", "hash"];

fn expand_object_type(
    attr: proc_macro2::TokenStream,
    item: Item,
) -> syn::Result<proc_macro2::TokenStream> {
    let options = options(attr, &["crate"])?;
    let krate = &options.krate;
    let (ident, generics, attrs) = match &item {
        Item::Struct(s) => (&s.ident, &s.generics, &s.attrs),
        Item::Enum(e) => (&e.ident, &e.generics, &e.attrs),
        _ => unreachable!("checked by the caller"),
    };
    if !generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            generics,
            "#[lwt_rust::object] types cannot be generic: OCaml sees one abstract type",
        ));
    }
    let crate_name = crate_name();
    let snake = snake_case(&ident.to_string());
    let module = module_name(&snake);
    let identifier = LitByteStr::new(
        format!("lwt_rust/{crate_name}/{ident}\0").as_bytes(),
        proc_macro2::Span::call_site(),
    );
    let close_symbol = c_symbol(&format!("close_{}", unraw(ident)));
    let close_stub = format_ident!("__lwt_rust_close_{}", snake);
    let mut lines = vec![
        ("crate", crate_name.clone()),
        ("item", "object".to_owned()),
        ("rust", ident.to_string()),
        ("symbol", close_symbol.clone()),
    ];
    for doc in doc_lines(attrs) {
        lines.push(("doc", doc));
    }
    let record = record(&close_symbol, lines);
    Ok(quote! {
        #item

        // SAFETY: `operations` returns this type's own static, made here and nowhere else.
        unsafe impl #krate::object::Object for #ident {
            const OCAML_MODULE: &'static str = #module;
            fn operations() -> &'static #krate::object::ObjectOps {
                static OPERATIONS: #krate::object::ObjectOps =
                    #krate::object::ObjectOps::new(#identifier);
                &OPERATIONS
            }
        }

        // SAFETY (of the `unsafe`): `close_stub` is the whole body of this stub, which OCaml
        // calls as an `external`; the closure is moved into it, so nothing else is alive here
        // when it raises.
        #[doc(hidden)]
        #[allow(non_snake_case)]
        #[export_name = #close_symbol]
        pub extern "C" fn #close_stub(value: #krate::ocaml::Raw) -> #krate::ocaml::Raw {
            unsafe { #krate::boundary::close_stub::<#ident>(value) }
        }

        #record
    })
}

fn expand_object_impl(
    attr: proc_macro2::TokenStream,
    mut block: ItemImpl,
) -> syn::Result<proc_macro2::TokenStream> {
    let options = options(attr, &["crate"])?;
    if !block.generics.params.is_empty() || block.trait_.is_some() {
        return Err(syn::Error::new_spanned(
            &block.self_ty,
            "#[lwt_rust::object] goes on the type's own `impl` block (not generic, not a trait \
             impl)",
        ));
    }
    let owner = match block.self_ty.as_ref() {
        Type::Path(path) if path.qself.is_none() => {
            path.path.get_ident().cloned().ok_or_else(|| {
                syn::Error::new_spanned(&block.self_ty, "expected the type's name")
            })?
        }
        other => return Err(syn::Error::new_spanned(other, "expected the type's name")),
    };
    let owner_name = unraw(&owner);
    let mut generated = Vec::new();
    for item in &mut block.items {
        let ImplItem::Fn(method) = item else { continue };
        // Take our own attributes off the method (the compiler does not know them).
        let mut attr_tokens = Vec::new();
        method.attrs.retain(|attr| {
            if attr.path().is_ident("lwt_rust") {
                attr_tokens.push(attr.clone());
                false
            } else {
                true
            }
        });
        let mut method_options = Options {
            name: None,
            stream: None,
            krate: options.krate.clone(),
            skip: false,
            ocaml: None,
            result: false,
        };
        for attr in attr_tokens {
            let list = attr.meta.require_list()?;
            let parsed = self::options(
                list.tokens.clone(),
                &["name", "stream", "try_stream", "skip", "result"],
            )?;
            method_options.name = parsed.name.or(method_options.name);
            method_options.stream = parsed.stream.or(method_options.stream);
            method_options.skip |= parsed.skip;
            method_options.result |= parsed.result;
        }
        if method_options.skip || !matches!(method.vis, syn::Visibility::Public(_)) {
            continue;
        }
        let receiver = match method.sig.inputs.first() {
            Some(FnArg::Receiver(receiver)) => {
                if receiver.reference.is_none() || receiver.colon_token.is_some() {
                    return Err(syn::Error::new_spanned(
                        receiver,
                        "#[lwt_rust::object] methods take `&self` (the OCaml value keeps the \
                         object; `close` drops it)",
                    ));
                }
                if receiver.mutability.is_some() {
                    return Err(syn::Error::new_spanned(
                        receiver,
                        "#[lwt_rust::object] methods cannot take `&mut self`: OCaml may call a \
                         method while another one is running. Keep the mutable state in a \
                         `Cell`, `RefCell` or an async mutex (`tokio::sync::Mutex`) and take \
                         `&self`",
                    ));
                }
                true
            }
            _ => false,
        };
        let name = unraw(&method.sig.ident);
        if RESERVED.contains(&name.as_str()) {
            return Err(syn::Error::new_spanned(
                &method.sig.ident,
                format!(
                    "every object module has its own `{name}` already (close, equal, compare, \
                     hash): rename this method, or add #[lwt_rust(skip)]"
                ),
            ));
        }
        let mut sig = method.sig.clone();
        ReplaceSelf(&owner).visit_signature_mut(&mut sig);
        let kind = Kind::of(method_options.stream, &sig);
        let part = match &method_options.name {
            Some(symbol) => symbol_part(&symbol.value(), symbol.span())?,
            None => name.clone(),
        };
        let export = Export {
            krate: &options.krate,
            symbol: c_symbol(&format!("method_{}_{owner_name}_{part}", owner_name.len())),
            display: format!("{owner_name}::{name}"),
            kind,
            sig: &sig,
            owner: Some(&owner),
            receiver,
            docs: doc_lines(&method.attrs),
            result: method_options.result,
        };
        generated.push(export.expand()?);
        generated.push(export.record()?);
    }
    Ok(quote! {
        #block
        #(#generated)*
    })
}
