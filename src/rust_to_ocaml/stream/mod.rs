//! Rust streams surfaced to OCaml as `'a Lwt_stream.t` (the Rust → OCaml direction, for
//! sequences).
//!
//! A Rust stream becomes a *source*: an entry in a thread-local table holding the pinned
//! stream, under a generation-checked key. OCaml wraps the key in `Lwt_stream.from`; when the
//! Lwt stream wants an element and OCaml's buffer of the source is empty, it calls the pull
//! stub, which asks the Rust stream for a [`batch`] through
//! [`crate::rust_to_ocaml::future::spawn`]: the first item, then every item ready right after
//! it, up to [`batch::BATCH_ITEMS`], as one `'a array` (empty: the end). A first item available at
//! once is an already resolved promise (no task, no queue), otherwise a task finishes that
//! one read. So the Rust stream is polled only while OCaml is reading, and a slow consumer
//! never makes Rust buffer more than one batch.
//!
//! Invariants:
//! - at most one pull is in flight per source (`Lwt_stream.from` never calls its function
//!   again before the previous promise settled); a second one is refused with
//!   `Invalid_argument`;
//! - a read delivers its items in order, and a failure after them (an error, a panic, an
//!   item whose conversion panicked) is the next read's, once ([`Failure`]);
//! - the Rust stream is dropped exactly once: when the stream ends, right after it yields an
//!   error (the error ends the Lwt stream), when it panics, at the read after an item whose
//!   conversion to OCaml panicked (the conversion runs with the runtime lent, where the
//!   stream's destructor could not call OCaml), when OCaml closes it
//!   (`Lwt_rust.close_stream`, or the finaliser that runs once the `Lwt_stream.t` is
//!   unreachable), or at shutdown. A pull in flight at that moment completes with
//!   end-of-stream. The source leaves the table with it, or when the failure it keeps for the
//!   next read is delivered. A destructor's panic is reported and counted in `stats.panics`;
//! - the table holds no OCaml value, so it never keeps an `Lwt_stream.t` alive. A pull in
//!   flight does (its task roots the promise's resolver, and the promise's callbacks reach the
//!   stream): a stream someone is waiting on is never collected;
//! - everything here runs on the OCaml thread, in the OCaml context (`!Send`).

mod batch;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures::Stream;
use ocaml_interop::{OCamlUniformArray, ToOCaml};

use crate::engine::keyed::KeyedSlab;
use crate::runtime::{assert_may_call_ocaml, is_shut_down};
use crate::rust_to_ocaml::direct_return;
use crate::rust_to_ocaml::future::spawn;
use crate::values::callbacks::{self, FailureKind};
use crate::values::conv::OCamlRepr;
use crate::values::error::Error;
use crate::values::error::{fitting, into_error};
use crate::values::panic_report::{count_contained_panic, panic_message, Panic};

use batch::Batch;

type BoxedStream<T> = Pin<Box<dyn Stream<Item = Result<T, Error>>>>;

/// What the pull and close stubs see of a source, whatever its item type.
trait Source {
    /// Starts the pull of a batch; returns the `'a array Lwt.t` for it.
    fn pull(self: Rc<Self>) -> ocaml::Raw;
    /// Drops the Rust stream; a pull in flight completes with end-of-stream.
    fn close(&self);
}

thread_local! {
    /// `ManuallyDrop`: the thread-local's destructor (the process exiting, outside any stub,
    /// where a stream's destructor could neither call OCaml nor use the runtime, and its panic
    /// would abort) drops nothing: what [`release_at_exit`] left is leaked.
    static SOURCES: ManuallyDrop<RefCell<KeyedSlab<Rc<dyn Source>>>> =
        const { ManuallyDrop::new(RefCell::new(KeyedSlab::new())) };
}

/// A failure met after some items of a batch, kept for the next read.
enum Failure {
    /// The stream's `Err` item: the read fails with its exception.
    Error(Error),
    /// A panic of the stream's poll or of an item's conversion: the read fails with
    /// `Rust_panic` (the payload is raised again inside the read's containment).
    Panic(Panic),
}

/// A Rust stream read by OCaml, one batch per pull.
struct StreamSource<T> {
    key: Cell<i64>,
    stream: RefCell<Option<BoxedStream<T>>>,
    /// Whether a pull is in flight.
    pulling: Cell<bool>,
    /// The waker of the pull in flight, once it is pending: closing wakes it.
    puller: RefCell<Option<Waker>>,
    /// Set when a close arrives while the stream is being polled (its poll called OCaml,
    /// which closed it): the stream is dropped as soon as that poll returns.
    close_requested: Cell<bool>,
    /// Set when the first item of a batch failed to convert to OCaml: that read failed with
    /// `Rust_panic`, and the next one ends the stream.
    conversion_panicked: Cell<bool>,
    /// What the next read fails with, met after the items of the previous one.
    pending: RefCell<Option<Failure>>,
}

impl<T: 'static> StreamSource<T> {
    /// Polls the stream for one item. `Ready(Ok(None))` is the end of the stream; an error
    /// ends it too. A panic ends the stream and is passed on (to `spawn`'s containment).
    fn poll_item(&self, cx: &mut Context<'_>) -> Poll<Result<Option<T>, Error>> {
        let polled = {
            let mut slot = self.stream.borrow_mut();
            let Some(stream) = slot.as_mut() else {
                // Ended by the previous batch (or closed): the source goes with this read.
                drop(slot);
                self.leave_table();
                return Poll::Ready(Ok(None));
            };
            catch_unwind(AssertUnwindSafe(|| stream.as_mut().poll_next(cx)))
        };
        let polled = match polled {
            Err(panic) => {
                self.end();
                resume_unwind(panic)
            }
            Ok(polled) => polled,
        };
        match polled {
            Poll::Ready(Some(Ok(item))) => {
                if self.close_requested.get() {
                    self.end();
                }
                Poll::Ready(Ok(Some(item)))
            }
            Poll::Ready(Some(Err(err))) => {
                self.end();
                Poll::Ready(Err(err))
            }
            Poll::Ready(None) => {
                self.end();
                Poll::Ready(Ok(None))
            }
            Poll::Pending if self.close_requested.get() => {
                self.end();
                Poll::Ready(Ok(None))
            }
            Poll::Pending => {
                let mut puller = self.puller.borrow_mut();
                if !puller.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *puller = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }

    /// Drops the stream (once) and leaves the table.
    fn end(&self) {
        if self.drop_stream() {
            self.leave_table();
        }
    }

    /// Drops the stream (once); `false` when it is being polled (it is dropped when that poll
    /// returns: `close_requested`).
    fn drop_stream(&self) -> bool {
        let stream = match self.stream.try_borrow_mut() {
            Ok(mut slot) => slot.take(),
            Err(_) => {
                self.close_requested.set(true);
                return false;
            }
        };
        // Dropped with no borrow held: the stream's destructor may call back into OCaml.
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| drop(stream))) {
            eprintln!(
                "lwt_rust: a Rust stream's destructor panicked: {}",
                panic_message(&panic)
            );
            count_contained_panic();
            // The payload's own destructor may panic too: then it is leaked, not dropped again.
            if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(panic))) {
                std::mem::forget(payload);
            }
        }
        true
    }

    /// Leaves the table (a later pull or close of the key finds nothing).
    fn leave_table(&self) {
        // The table's entry holds an `Rc` to this source: drop it outside the table's borrow.
        let entry = SOURCES.with(|s| s.borrow_mut().remove(self.key.get()));
        drop(entry);
    }
}

impl<T> Source for StreamSource<T>
where
    T: OCamlRepr + ToOCaml<T::Marker>,
{
    fn pull(self: Rc<Self>) -> ocaml::Raw {
        if self.conversion_panicked.get() {
            self.end();
            // SAFETY: OCaml context (the pull stub); returned to OCaml at once.
            return ocaml::Raw(unsafe { direct_return::lwt_return(empty_array()) });
        }
        if self.pulling.replace(true) {
            // SAFETY: OCaml context (the pull stub); returned to OCaml at once.
            return ocaml::Raw(unsafe {
                callbacks::rejected_promise(
                    FailureKind::InvalidArgument,
                    "Lwt_rust: a Rust stream was read while a read of it was in progress \
                     (from inside its own item's production)",
                )
            });
        }
        spawn::<OCamlUniformArray<T::Marker>, Batch<T>, _>(Pull { source: self })
    }

    fn close(&self) {
        drop(self.pending.take());
        self.end();
        let puller = self.puller.borrow_mut().take();
        if let Some(waker) = puller {
            waker.wake();
        }
    }
}

/// The empty `'a array`: a static atom, no allocation.
///
/// # Safety
/// Runtime lock held.
unsafe fn empty_array() -> ocaml::sys::Value {
    // SAFETY: the caller's contract; `caml_alloc` of no field returns the atom.
    unsafe { ocaml::sys::caml_alloc(0, 0) }
}

/// The future of one pull: a failure kept from the previous batch, or a new batch.
struct Pull<T> {
    source: Rc<StreamSource<T>>,
}

impl<T: 'static> Future for Pull<T> {
    type Output = Result<Batch<T>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let source = &self.source;
        let pending = source.pending.borrow_mut().take();
        if let Some(failure) = pending {
            // The stream goes now (an error or a panic of its poll dropped it already; an
            // item's conversion did not, having the runtime lent), and the source with it.
            source.end();
            return match failure {
                Failure::Error(err) => Poll::Ready(Err(err)),
                // Raised again inside `spawn`'s containment: the read fails with
                // `Rust_panic` and its message, as a panic met by the read itself would.
                Failure::Panic(panic) => resume_unwind(panic),
            };
        }
        source.poll_item(cx).map_ok(|first| {
            let mut items = Vec::new();
            if let Some(first) = first {
                items.push(first);
                source.take_ready(&mut items, cx);
            }
            Batch {
                items,
                source: source.clone(),
            }
        })
    }
}

impl<T> Drop for Pull<T> {
    fn drop(&mut self) {
        self.source.pulling.set(false);
        drop(self.source.puller.borrow_mut().take());
    }
}

/// Hands `stream` to OCaml as an `'a Lwt_stream.t` (`O` the marker of `'a`), as a raw value
/// to return straight from a stub (see [`stream_stub`](crate::ffi::boundary::stream_stub)). An `Err` item rejects the read that
/// gets it with the error's exception (as for [`crate::rust_to_ocaml::future::spawn`]) and ends the
/// Lwt stream.
///
/// # Panics
/// Outside the OCaml context, or inside [`crate::runtime::with_runtime`] (it runs OCaml code).
pub fn stream<T, S>(stream: S) -> ocaml::Raw
where
    T: OCamlRepr + ToOCaml<T::Marker>,
    S: Stream<Item = Result<T, Error>> + 'static,
{
    assert_may_call_ocaml("lwt_rust::__private::stream_result");
    if is_shut_down() {
        drop(stream);
        // SAFETY: OCaml context (asserted above); returned to OCaml at once.
        return ocaml::Raw(unsafe { callbacks::failing_stream(FailureKind::ShutDown, "") });
    }
    let source = Rc::new(StreamSource {
        key: Cell::new(-1),
        stream: RefCell::new(Some(Box::pin(stream) as BoxedStream<T>)),
        pulling: Cell::new(false),
        puller: RefCell::new(None),
        close_requested: Cell::new(false),
        conversion_panicked: Cell::new(false),
        pending: RefCell::new(None),
    });
    let key = SOURCES.with(|s| s.borrow_mut().insert(source.clone() as Rc<dyn Source>));
    source.key.set(key);
    // SAFETY: OCaml context (checked above); the result goes straight back to OCaml.
    ocaml::Raw(unsafe { callbacks::stream_of_source(key) })
}

/// `stream` for a stream of `Result<T, E>`: `Ok` items are read by OCaml, the first `Err`
/// rejects its read with the same OCaml exception if `E` is [`Error`] or
/// [`crate::values::error::OCamlError`], else with `Lwt_rust.Rust_error` carrying `E`'s `Display`
/// text, and ends the stream.
pub fn stream_result<T, E, S>(items: S) -> ocaml::Raw
where
    T: OCamlRepr + ToOCaml<T::Marker>,
    E: std::fmt::Display + 'static,
    S: Stream<Item = Result<T, E>> + 'static,
{
    stream(futures::StreamExt::map(items, |item| {
        fitting(item.map_err(into_error)?)
    }))
}

/// The pull stub's body: the next batch of source `key`, as an `'a array Lwt.t`. A closed or
/// finished source gives the empty array; after shutdown the read fails with `Shut_down`.
pub(crate) fn pull(key: i64) -> ocaml::Raw {
    if is_shut_down() {
        return failed_stream_read(FailureKind::ShutDown);
    }
    let source = SOURCES.with(|s| s.borrow_mut().get_mut(key).cloned());
    match source {
        Some(source) => source.pull(),
        // SAFETY: OCaml context (a stub); returned to OCaml at once.
        None => ocaml::Raw(unsafe { direct_return::lwt_return(empty_array()) }),
    }
}

fn failed_stream_read(kind: FailureKind) -> ocaml::Raw {
    // SAFETY: OCaml context (a stub); returned to OCaml at once.
    ocaml::Raw(unsafe { callbacks::rejected_promise(kind, "") })
}

/// The close stub's body: drops the Rust stream of source `key` (a stale key is ignored).
pub(crate) fn close(key: i64) {
    let source = SOURCES.with(|s| s.borrow_mut().get_mut(key).cloned());
    if let Some(source) = source {
        source.close();
    }
}

/// Drops every Rust stream still read by OCaml (shutdown).
pub(crate) fn close_all() {
    let sources = SOURCES.with(|s| s.borrow_mut().take_all());
    for source in sources {
        source.close();
    }
}

/// Drops every Rust stream still read by OCaml as the process exits (an OCaml `at_exit`
/// function, inside a stub: a stream's destructor may call OCaml and use the runtime; its
/// panic is contained by [`StreamSource::end`]). The Lwt streams end; streams made afterwards
/// are leaked at exit.
pub(crate) fn release_at_exit() {
    // A destructor may make or close streams: repeat until none is left (bounded, in case a
    // destructor makes a new stream each time).
    for _ in 0..100 {
        let sources = SOURCES.with(|s| s.borrow_mut().take_all());
        if sources.is_empty() {
            return;
        }
        for source in sources {
            source.close();
        }
    }
}

/// Number of Rust streams alive on the OCaml side (not yet ended, closed or collected).
pub fn live_streams() -> usize {
    SOURCES.with(|s| s.borrow().len())
}
