//! The OCaml type texts of convertible Rust types (`OCamlRepr::OCAML_TYPE`): primitives and
//! nested generics, as the binding records hold them.

use std::marker::PhantomData;

use ocaml_interop::{OCamlFloat, OCamlInt, OCamlList};

use super::*;

/// `T`'s OCaml type, as a `'static` text (a const per type).
fn text<T: OCamlRepr>() -> &'static str {
    struct Text<T>(PhantomData<T>);
    impl<T: OCamlRepr> Text<T> {
        const TYPE: TypeText = T::OCAML_TYPE;
    }
    let t: &'static TypeText = &Text::<T>::TYPE;
    t.as_str()
}

/// A marker's OCaml type (`OCamlFn<A, B>` and `OCamlStream<T>` take theirs from `LwtFn<A, B>`
/// and `LwtStream<T::Marker>`).
fn marker<M: OCamlTypeText>() -> &'static str {
    struct Text<M>(PhantomData<M>);
    impl<M: OCamlTypeText> Text<M> {
        const TYPE: TypeText = M::OCAML_TYPE;
    }
    let t: &'static TypeText = &Text::<M>::TYPE;
    t.as_str()
}

#[test]
fn primitives() {
    assert_eq!(text::<()>(), "unit");
    assert_eq!(text::<bool>(), "bool");
    assert_eq!(text::<i64>(), "int");
    assert_eq!(text::<i32>(), "int32");
    assert_eq!(text::<Int64>(), "int64");
    assert_eq!(text::<f64>(), "float");
    assert_eq!(text::<String>(), "string");
    assert_eq!(text::<Bytes>(), "bytes");
}

#[test]
fn nested_generics_are_parenthesised_where_ocaml_needs_it() {
    assert_eq!(
        text::<Option<Vec<(i64, String)>>>(),
        "(int * string) list option"
    );
    assert_eq!(text::<Vec<Option<i64>>>(), "int option list");
    assert_eq!(
        text::<Result<Vec<i64>, String>>(),
        "(int list, string) result"
    );
    assert_eq!(
        text::<Result<(i64, bool), String>>(),
        "(int * bool, string) result"
    );
    assert_eq!(
        text::<((i64, i64), Array<f64>, Box<bool>)>(),
        "(int * int) * float array * bool"
    );
    assert_eq!(
        text::<Array<(i64, Option<(bool, f64)>)>>(),
        "(int * (bool * float) option) array"
    );
}

#[test]
fn functions_and_streams() {
    assert_eq!(
        marker::<LwtFn<(OCamlInt, String), OCamlList<OCamlFloat>>>(),
        "(int * string -> float list Lwt.t)"
    );
    assert_eq!(
        marker::<LwtFn<(), (OCamlInt, bool)>>(),
        "(unit -> (int * bool) Lwt.t)"
    );
    assert_eq!(
        marker::<LwtStream<Option<OCamlInt>>>(),
        "int option Lwt_stream.t"
    );
    assert_eq!(
        marker::<OCamlList<LwtStream<(OCamlInt, String)>>>(),
        "(int * string) Lwt_stream.t list"
    );
    assert_eq!(
        marker::<Option<LwtFn<OCamlInt, ()>>>(),
        "(int -> unit Lwt.t) option"
    );
    assert_eq!(marker::<Lwt<OCamlList<OCamlInt>>>(), "int list Lwt.t");
}

#[test]
fn the_error_message_text_is_the_const() {
    assert_eq!(<Option<i64> as OCamlRepr>::ocaml_type(), "int option");
    assert_eq!(<String as OCamlRepr>::ocaml_type(), "string (valid UTF-8)");
}
