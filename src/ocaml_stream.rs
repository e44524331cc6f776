//! `OCamlStream<T>`: an OCaml `'a Lwt_stream.t` read by Rust as a `futures::Stream` (the
//! OCaml → Rust direction, for sequences).
//!
//! Each `poll_next` that needs an item takes exactly one from the OCaml stream
//! (`Lwt_stream.get`, through the registered `lwt_rust.stream_next`). When the item is there
//! already (a buffered or `from_direct` stream), OCaml hands it over directly, with no
//! promise and no root; otherwise Rust awaits the `'a option Lwt.t` as a [`Promise`].
//!
//! Invariants:
//! - pull-driven and exact: Rust takes an item only when its consumer asks for one, so an
//!   `Lwt_stream.from` producer runs only then, and dropping the `OCamlStream` leaves every
//!   item not yet yielded in the OCaml stream: nothing is read ahead, nothing is lost;
//! - the stream ends (`None`) when the OCaml stream does; an exception from its producer, or
//!   an item of the wrong OCaml type, is yielded as one `Err` and ends the stream;
//! - dropping the `OCamlStream` releases its root and drops a read in progress, cancelling it
//!   where Lwt allows (an item that arrives later stays in the OCaml stream);
//! - lives on the OCaml thread (`!Send`), polled there with the runtime lock held (by the
//!   executor, or inside a stub).

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{Future, Stream};
use ocaml::sys;
use ocaml_interop::{FromOCaml, OCaml, OCamlException};

use crate::callbacks;
use crate::conv::{from_ocaml_checked, LwtStream, OCamlRepr};
use crate::error::{Error, OCamlError};
use crate::promise::Promise;
use crate::root::Root;
use crate::runtime::with_runtime;

/// An OCaml `'a Lwt_stream.t` as a Rust [`Stream`] of `T` (the Rust counterpart of `'a`).
///
/// Lives on the OCaml thread (`!Send`). As a `#[lwt_rust::func]` parameter, it receives the
/// `'a Lwt_stream.t` argument.
#[must_use = "an OCamlStream does nothing unless polled"]
pub struct OCamlStream<T: OCamlRepr> {
    /// The OCaml stream; `None` once it ended or failed.
    source: Option<Root<LwtStream<T::Marker>>>,
    /// The read in progress, when the next item was not there yet.
    reading: Option<Promise<Option<T::Marker>>>,
}

// Nothing in an `OCamlStream` is pinned structurally.
impl<T: OCamlRepr> Unpin for OCamlStream<T> {}

impl<T: OCamlRepr> OCamlStream<T> {
    /// Reads the rooted OCaml stream `stream`.
    pub fn new(stream: Root<LwtStream<T::Marker>>) -> Self {
        OCamlStream {
            source: Some(stream),
            reading: None,
        }
    }
}

/// What one step of reading gave.
enum Step<T: OCamlRepr> {
    Item(Result<T, Error>),
    End,
    Wait(Promise<Option<T::Marker>>),
}

/// Tags of the OCaml `step` type in `lib/lwt_rust.ml` (`End` is the immediate 0).
const ITEM: u8 = 0;
const WAIT: u8 = 1;

impl<T> OCamlStream<T>
where
    T: OCamlRepr + FromOCaml<T::Marker>,
{
    /// Takes the next item from OCaml if it is there, or starts waiting for it.
    fn step(source: &Root<LwtStream<T::Marker>>) -> Step<T> {
        with_runtime(|cr| {
            // SAFETY: OCaml context (`with_runtime` checked it). The stream is read from its
            // root just before the call; the step it returns is inspected, and its item
            // converted (which does not allocate on the OCaml heap) or its promise attached,
            // before anything else allocates.
            unsafe {
                let step = callbacks::stream_next(source.raw());
                if !sys::is_block(step) {
                    return Step::End;
                }
                let field = sys::field(step, 0).read();
                match sys::tag_val(step) {
                    ITEM => Step::Item(from_ocaml_checked::<T>(cr, field).map_err(|_| {
                        Error::Rust(format!(
                            "an item of an OCaml stream is not a {}",
                            T::ocaml_type()
                        ))
                    })),
                    WAIT => Step::Wait(Promise::attach_raw(field)),
                    _ => {
                        let exn: Root<OCamlException> = Root::from_raw(field);
                        let message = callbacks::describe_exn(exn.raw());
                        Step::Item(Err(OCamlError::new(exn, message).into()))
                    }
                }
            }
        })
    }
}

impl<T> Stream for OCamlStream<T>
where
    T: OCamlRepr + FromOCaml<T::Marker>,
{
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let Some(source) = &this.source else {
            return Poll::Ready(None);
        };
        let item = match &mut this.reading {
            None => match Self::step(source) {
                Step::Item(item) => Some(item),
                Step::End => None,
                Step::Wait(promise) => {
                    this.reading = Some(promise);
                    // Poll it now, so that it registers this task's waker.
                    return Pin::new(this).poll_next(cx);
                }
            },
            Some(reading) => {
                let read = match Pin::new(reading).poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(read) => read,
                };
                this.reading = None;
                match read {
                    Err(exn) => Some(Err(exn.into())),
                    Ok(value) => with_runtime(|cr| {
                        // SAFETY: OCaml context; the value is read from its root and
                        // converted without allocating on the OCaml heap.
                        unsafe { from_ocaml_checked::<Option<T>>(cr, value.raw()) }
                            .map_err(|_| {
                                Error::Rust(format!(
                                    "an item of an OCaml stream is not a {}",
                                    T::ocaml_type()
                                ))
                            })
                            .transpose()
                    }),
                }
            }
        };
        if !matches!(item, Some(Ok(_))) {
            // The end, or an error, which ends the stream too.
            this.source = None;
        }
        Poll::Ready(item)
    }
}

impl<T: OCamlRepr> OCamlRepr for OCamlStream<T> {
    type Marker = LwtStream<T::Marker>;

    fn ocaml_type() -> String {
        format!("{} Lwt_stream.t", T::ocaml_type())
    }

    unsafe fn check(value: ocaml::sys::Value) -> bool {
        // An `Lwt_stream.t` is a record; its items are checked as they are read.
        ocaml::sys::is_block(value) && ocaml::sys::tag_val(value) == 0
    }
}

// SAFETY: roots the value, which the caller vouches is an `'a Lwt_stream.t` (OCaml's types,
// or `OCamlRepr::check`).
unsafe impl<T: OCamlRepr> FromOCaml<LwtStream<T::Marker>> for OCamlStream<T> {
    fn from_ocaml(v: OCaml<LwtStream<T::Marker>>) -> Self {
        OCamlStream::new(Root::new(v))
    }
}
