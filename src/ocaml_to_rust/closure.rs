//! OCaml closures held and called by Rust tasks.
//!
//! Invariants: an [`OCamlFn`] roots its closure until dropped; it is called only in the OCaml
//! context (a task polled by the executor, or a stub). Lives on the OCaml thread (`!Send`).

use ocaml_interop::{OCaml, ToOCaml};

use crate::ocaml_to_rust::promise::Promise;
use crate::runtime::with_runtime;
use crate::values::callbacks;
use crate::values::conv::{tag, LwtFn};
use crate::values::error::OCamlError;
use crate::values::root::Root;

/// A rooted OCaml closure of type `'a -> 'b Lwt.t`, with `A` and `B` the markers of `'a`, `'b`.
pub struct OCamlFn<A: 'static, B: 'static> {
    closure: Root<LwtFn<A, B>>,
}

impl<A: 'static, B: 'static> OCamlFn<A, B> {
    /// Roots `closure`.
    pub fn new(closure: OCaml<'_, LwtFn<A, B>>) -> Self {
        OCamlFn {
            closure: Root::new(closure),
        }
    }

    /// Calls the closure with `arg` (converted with `ToOCaml<A>`) and returns the promise it
    /// returned, as a Rust future. An exception raised by the call itself (before any promise
    /// exists) is returned as `Err`.
    ///
    /// # Panics
    /// Outside the OCaml context.
    pub fn call<R: ToOCaml<A>>(&self, arg: &R) -> Result<Promise<B>, OCamlError> {
        with_runtime(|cr| {
            // SAFETY: OCaml context; the argument is made first (it may allocate), then the
            // slot is reserved (Rust memory only) and the closure read from its root, and all
            // are passed at once; the call's result is used before any further allocation.
            unsafe {
                let arg = arg.to_ocaml(cr).raw();
                let key = Promise::<B>::reserve();
                // One callback: OCaml calls the closure and attaches its promise to the slot.
                match callbacks::call_and_attach(self.closure.raw(), arg, key as isize) {
                    Ok(promise) => Ok(Promise::made(key, promise)),
                    Err(exn) => {
                        Promise::<B>::not_made(key);
                        Err(OCamlError::from_raw(exn))
                    }
                }
            }
        })
    }
}

/// An `'a -> 'b Lwt.t` argument of a `#[lwt_rust::func]`: the closure, rooted.
impl<A, B> crate::values::conv::OCamlRepr for OCamlFn<A, B>
where
    A: crate::values::conv::OCamlTypeText + 'static,
    B: crate::values::conv::OCamlTypeText + 'static,
{
    type Marker = LwtFn<A, B>;

    fn ocaml_type() -> String {
        "_ -> _ Lwt.t".to_owned()
    }

    unsafe fn check(value: ocaml::sys::Value) -> bool {
        // A closure, or a pointer into a block of mutually recursive ones (an infix pointer).
        // Its argument and result types cannot be checked.
        // SAFETY: the caller's contract: runtime lock held, `value` valid.
        unsafe {
            ocaml::sys::is_block(value)
                && matches!(ocaml::sys::tag_val(value), tag::CLOSURE | tag::INFIX)
        }
    }
}

// SAFETY: roots the value, which the caller vouches is a closure of type `'a -> 'b Lwt.t`
// (OCaml's types, or `OCamlRepr::check`).
unsafe impl<A: 'static, B: 'static> ocaml_interop::FromOCaml<LwtFn<A, B>> for OCamlFn<A, B> {
    fn from_ocaml(v: OCaml<LwtFn<A, B>>) -> Self {
        OCamlFn::new(v)
    }
}
