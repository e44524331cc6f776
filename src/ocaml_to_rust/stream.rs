//! `OCamlStream<T>`: an OCaml `'a Lwt_stream.t` read by Rust as a `futures::Stream` (the
//! OCaml → Rust direction, for sequences).
//!
//! Each `poll_next` that needs an item takes exactly one from the OCaml stream, through the
//! registered `lwt_rust.stream_next`. When the item is there already (a buffered or
//! `from_direct` stream), OCaml takes it (`Lwt_stream.get`) and hands it over directly, with
//! no promise and no root. Otherwise Rust awaits `Lwt_stream.peek` as a [`Promise`], which
//! does not take the item, and then asks again.
//!
//! Invariants:
//! - pull-driven and exact: Rust takes an item only when its consumer asks for one, so an
//!   `Lwt_stream.from` producer runs only then; an item leaves the OCaml stream only in the
//!   same call that hands it to Rust, so dropping the `OCamlStream` at any point leaves every
//!   item not yet yielded in the OCaml stream: nothing is read ahead, nothing is lost;
//! - the stream ends (`None`) when the OCaml stream does; an exception from its producer, or
//!   an item of the wrong OCaml type, is yielded as one `Err` and ends the stream;
//! - dropping the `OCamlStream` releases its root and its wait, if any;
//! - lives on the OCaml thread (`!Send`), polled there with the runtime lock held (by the
//!   executor, or inside a stub).

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{Future, Stream};
use ocaml::sys;
use ocaml_interop::{FromOCaml, OCaml};

use crate::ocaml_to_rust::promise::Promise;
use crate::runtime::{is_shut_down, with_runtime};
use crate::values::callbacks::{self, FailureKind};
use crate::values::conv::{from_ocaml_checked, ArgError, LwtStream, OCamlRepr, Opaque};
use crate::values::error::{Error, OCamlError};
use crate::values::root::Root;

/// An OCaml `'a Lwt_stream.t` as a Rust [`Stream`] of `T` (the Rust counterpart of `'a`).
///
/// Lives on the OCaml thread (`!Send`). As a `#[lwt_rust::func]` parameter, it receives the
/// `'a Lwt_stream.t` argument.
#[must_use = "an OCamlStream does nothing unless polled"]
pub struct OCamlStream<T: OCamlRepr> {
    /// The OCaml stream; `None` once it ended or failed.
    source: Option<Root<LwtStream<T::Marker>>>,
    /// `Lwt_stream.peek` of the stream, while waiting for its next item.
    waiting: Option<Promise<Opaque>>,
}

// Nothing in an `OCamlStream` is pinned structurally.
impl<T: OCamlRepr> Unpin for OCamlStream<T> {}

impl<T: OCamlRepr> OCamlStream<T> {
    /// Reads the rooted OCaml stream `stream`.
    pub fn new(stream: Root<LwtStream<T::Marker>>) -> Self {
        OCamlStream {
            source: Some(stream),
            waiting: None,
        }
    }
}

/// What one step of reading gave.
enum Step<T> {
    Item(Result<T, Error>),
    End,
    Wait(Promise<Opaque>),
}

/// Tags of the OCaml `step` type in `lib/lwt_rust.ml` (`End` is the immediate 0).
const ITEM: u8 = 0;
const WAIT: u8 = 1;
const FAILED: u8 = 2;

fn wrong_item<T: OCamlRepr>() -> Error {
    Error::Rust(format!(
        "an item of an OCaml stream is not a {}",
        T::ocaml_type()
    ))
}

/// Takes the next item from OCaml if it is there, or starts waiting for it.
fn step<T>(source: &Root<LwtStream<T::Marker>>) -> Step<T>
where
    T: OCamlRepr + FromOCaml<T::Marker>,
{
    with_runtime(|cr| {
        // SAFETY: OCaml context (`with_runtime` checked it). The stream is read from its root
        // just before the call; the step it returns is inspected, and its field converted
        // (which does not allocate on the OCaml heap), attached or rooted before anything
        // else allocates.
        unsafe {
            let step = match callbacks::stream_step(source.raw()) {
                Ok(step) => step,
                Err(exn) => return Step::Item(Err(exception(exn))),
            };
            if !sys::is_block(step) {
                return Step::End;
            }
            let field = sys::field(step, 0).read();
            match sys::tag_val(step) {
                ITEM => Step::Item(match from_ocaml_checked::<T>(cr, field) {
                    Ok(item) => Ok(item),
                    // A closed object (or one released at shutdown) is of the right type:
                    // say what is wrong with it, as an argument would.
                    Err(ArgError::Closed(module)) => {
                        let kind = if is_shut_down() {
                            FailureKind::ShutDown
                        } else {
                            FailureKind::Closed
                        };
                        Err(exception(callbacks::failure_exception(kind, module)))
                    }
                    Err(ArgError::WrongType(_)) => Err(wrong_item::<T>()),
                }),
                WAIT => Step::Wait(Promise::attach_raw(field)),
                FAILED => Step::Item(Err(exception(field))),
                tag => Step::Item(Err(Error::Rust(format!(
                    "lwt_rust: unexpected step (tag {tag}) from Lwt_rust.stream_next"
                )))),
            }
        }
    })
}

/// An OCaml exception as an [`Error`].
///
/// # Safety
/// OCaml context; `exn` is a valid exception read after the last allocation.
unsafe fn exception(exn: sys::Value) -> Error {
    // SAFETY: the caller's contract.
    unsafe { OCamlError::from_raw(exn) }.into()
}

impl<T> Stream for OCamlStream<T>
where
    T: OCamlRepr + FromOCaml<T::Marker>,
{
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            let Some(source) = &this.source else {
                return Poll::Ready(None);
            };
            if let Some(waiting) = &mut this.waiting {
                let peeked = match Pin::new(waiting).poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(peeked) => peeked,
                };
                this.waiting = None;
                if let Err(exn) = peeked {
                    this.source = None;
                    return Poll::Ready(Some(Err(exn.into())));
                }
                // The next item (or the end) is there now: take it with another step.
            }
            let item = match step::<T>(source) {
                Step::Item(item) => Some(item),
                Step::End => None,
                Step::Wait(peek) => {
                    this.waiting = Some(peek);
                    continue;
                }
            };
            if !matches!(item, Some(Ok(_))) {
                // The end, or an error, which ends the stream too.
                this.source = None;
            }
            return Poll::Ready(item);
        }
    }
}

impl<T: OCamlRepr> OCamlRepr for OCamlStream<T> {
    type Marker = LwtStream<T::Marker>;

    fn ocaml_type() -> String {
        format!("{} Lwt_stream.t", T::ocaml_type())
    }

    unsafe fn check(value: ocaml::sys::Value) -> bool {
        // An `Lwt_stream.t` is a record; its items are checked as they are read.
        // SAFETY: `value` is valid (the trait's contract); its tag is read only once
        // `is_block` says it has a header.
        ocaml::sys::is_block(value) && unsafe { ocaml::sys::tag_val(value) } == 0
    }
}

// SAFETY: roots the value, which the caller vouches is an `'a Lwt_stream.t` (OCaml's types,
// or `OCamlRepr::check`).
unsafe impl<T: OCamlRepr> FromOCaml<LwtStream<T::Marker>> for OCamlStream<T> {
    fn from_ocaml(v: OCaml<LwtStream<T::Marker>>) -> Self {
        OCamlStream::new(Root::new(v))
    }
}
