// `#[lwt_rust::ocaml_type]` says what the type is in OCaml; its OCamlRepr must agree, since
// the bindings print the OCamlRepr's type.
#[lwt_rust::ocaml_type("float")]
pub struct Celsius(i64);

impl lwt_rust::conv::OCamlRepr for Celsius {
    type Marker = lwt_rust::__private::ocaml_interop::OCamlInt;
    unsafe fn check(_: ocaml::sys::Value) -> bool {
        true
    }
}

fn main() {}
