// A method whose output borrows the object is refused: the output is converted to OCaml
// after the method's future, and with it its hold on the object, is gone.
use ocaml_interop::{OCaml, OCamlInt, OCamlRuntime, ToOCaml};

#[lwt_rust::object]
pub struct Keeper {
    n: i64,
}

pub struct View<'a>(&'a i64);

impl lwt_rust::conv::OCamlRepr for View<'static> {
    type Marker = OCamlInt;
    unsafe fn check(_: ocaml::sys::Value) -> bool {
        true
    }
}

// SAFETY: converts the borrowed integer to an OCaml immediate.
unsafe impl ToOCaml<OCamlInt> for View<'static> {
    fn to_ocaml<'a>(&self, cr: &'a mut OCamlRuntime) -> OCaml<'a, OCamlInt> {
        self.0.to_ocaml(cr)
    }
}

#[lwt_rust::object]
impl Keeper {
    pub async fn view(&self) -> View<'_> {
        View(&self.n)
    }
}

fn main() {}
