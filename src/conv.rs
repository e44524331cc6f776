//! Type markers for OCaml values the bridge passes around, in ocaml-interop's style: an
//! `OCaml<'gc, Lwt<OCamlInt>>` is an `int Lwt.t`. Conversions of plain data use ocaml-interop's
//! `ToOCaml` / `FromOCaml` traits directly.

use std::marker::PhantomData;

/// The OCaml type `'a Lwt.t`, with `T` the marker of `'a`.
pub struct Lwt<T>(PhantomData<T>);

/// The OCaml type `'a Lwt.u` (a resolver), with `T` the marker of `'a`.
pub struct Resolver<T>(PhantomData<T>);

/// An OCaml value whose type Rust does not look at (an `'a` passed through unchanged).
pub enum Opaque {}

/// The OCaml type `'a -> 'b Lwt.t`.
pub type LwtFn<A, B> = fn(A) -> Lwt<B>;
