//! One read of a Rust stream: the items it takes (every item ready at that moment, up to
//! [`BATCH_ITEMS`]) and their conversion to the OCaml array the read resolves with.
//!
//! Why batches: each read is one crossing from OCaml to Rust and back (a stub call, a
//! promise), which costs more than converting a small item. When the stream has several items
//! ready, one read takes all of them, up to the bound, and OCaml hands them out one by one
//! from its own buffer. The bound is the whole read-ahead: Rust never holds more than one
//! batch, and polls the stream only while a read is in progress.
//!
//! Guarantees kept item by item: order; an error, a panic or the end met after some items
//! ends the batch there (the items before it are delivered by this read, the failure by the
//! next one, once); an item whose conversion panics ends the batch before it (the same way).
//!
//! Which thread: the OCaml thread, in the OCaml context (`!Send`).

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::task::{Context, Poll};

use ocaml::sys;
use ocaml_interop::{OCaml, OCamlRuntime, OCamlUniformArray, ToOCaml};

use super::{Failure, StreamSource};
use crate::values::data_types::store_fresh;
use crate::values::root::Root;

/// The most items one read takes from a Rust stream: a slow reader never makes Rust hold
/// more converted or unconverted items than this. 64 small items divide a crossing's cost by
/// about as much as a longer batch would, and keep the OCaml array within the minor heap.
pub const BATCH_ITEMS: usize = 64;

/// The items one read takes, in order, converted to an `'a array` by the read's promise (an
/// empty array is the end of the stream).
pub(super) struct Batch<T> {
    pub(super) items: Vec<T>,
    pub(super) source: Rc<StreamSource<T>>,
}

impl<T: 'static> StreamSource<T> {
    /// After `items` got their first item: takes the items the stream has ready, one poll
    /// each, until it is pending, ends, fails, is closed, or `items` holds [`BATCH_ITEMS`].
    /// Never polls again after `Pending`. An error or a panic is kept for the next read
    /// ([`Failure`]) and drops the stream now; so does the end of the stream, which the next
    /// read then reports.
    pub(super) fn take_ready(&self, items: &mut Vec<T>, cx: &mut Context<'_>) {
        // One borrow and one containment for the whole batch: a poll that calls OCaml, which
        // closes the stream, finds it borrowed and sets `close_requested`, seen by the loop.
        let stopped = {
            let Ok(mut slot) = self.stream.try_borrow_mut() else {
                return;
            };
            let Some(stream) = slot.as_mut() else {
                return;
            };
            let close_requested = &self.close_requested;
            catch_unwind(AssertUnwindSafe(|| {
                // The stream's `size_hint` is user code too: a panic there is this batch's
                // end, as a panic of a poll is.
                let wanted = BATCH_ITEMS - items.len();
                items.reserve(stream.size_hint().0.min(wanted));
                while items.len() < BATCH_ITEMS && !close_requested.get() {
                    match stream.as_mut().poll_next(cx) {
                        Poll::Ready(Some(Ok(item))) => items.push(item),
                        Poll::Pending => return None,
                        Poll::Ready(None) => return Some(None),
                        Poll::Ready(Some(Err(err))) => return Some(Some(Failure::Error(err))),
                    }
                }
                None
            }))
        };
        if self.close_requested.get() {
            // Closed from inside a poll: the items taken are this read's, then the end.
            self.end();
            return;
        }
        match stopped {
            Ok(None) => {}
            // The source stays in the table until the next read finds the stream gone: an
            // item of this batch may still fail to convert, a failure for that read.
            Ok(Some(None)) => {
                self.drop_stream();
            }
            Ok(Some(Some(failure))) => self.fail_next_read(failure),
            Err(panic) => self.fail_next_read(Failure::Panic(panic)),
        }
    }

    /// Drops the stream now; the next read fails with `failure` (and the one after ends).
    fn fail_next_read(&self, failure: Failure) {
        self.drop_stream();
        *self.pending.borrow_mut() = Some(failure);
    }
}

// SAFETY: the array is made by `caml_alloc` and filled with the items' own conversions, each
// stored once over the `()` it was made with (`store_fresh`); an array made smaller after a
// panic holds the same values.
unsafe impl<T, M> ToOCaml<OCamlUniformArray<M>> for Batch<T>
where
    T: ToOCaml<M>,
    M: 'static,
{
    fn to_ocaml<'a>(&self, cr: &'a mut OCamlRuntime) -> OCaml<'a, OCamlUniformArray<M>> {
        let n = self.items.len();
        if n == 0 {
            // SAFETY: `cr` proves the runtime lock is held; an empty array is a static atom
            // (nothing allocated, nothing to root).
            return unsafe { OCaml::new(cr, sys::caml_alloc(0, 0)) };
        }
        // SAFETY: `cr` proves the runtime lock is held; `caml_alloc` fills the block with
        // `()`, so it is a valid array at every allocation below, where the root keeps it.
        let array: Root<OCamlUniformArray<M>> = unsafe { Root::from_raw(sys::caml_alloc(n, 0)) };
        // One containment for the whole batch; `done` counts the items stored.
        let mut done = 0;
        let converted = catch_unwind(AssertUnwindSafe(|| {
            for item in &self.items {
                // SAFETY: the value is stored before any other allocation, into the array
                // read from its root after the conversion allocated; `done < n`, its size.
                unsafe {
                    let value = item.to_ocaml(cr).raw();
                    store_fresh(sys::field(array.raw(), done), value);
                }
                done += 1;
            }
        }));
        if let Err(panic) = converted {
            return self.cut_at(cr, &array, done, panic);
        }
        array.get(cr)
    }
}

impl<T> Batch<T> {
    /// The first `len` items of `array` when item `len`'s conversion panicked: the items
    /// before it are this read's; the panic is the next read's (a panic of the first item
    /// fails this read, and the stream ends at the next).
    fn cut_at<'a, M: 'static>(
        &self,
        cr: &'a mut OCamlRuntime,
        array: &Root<OCamlUniformArray<M>>,
        len: usize,
        panic: crate::values::panic_report::Panic,
    ) -> OCaml<'a, OCamlUniformArray<M>> {
        if len == 0 {
            self.source.conversion_panicked.set(true);
            resume_unwind(panic)
        }
        *self.source.pending.borrow_mut() = Some(Failure::Panic(panic));
        // SAFETY: runtime lock held (`cr`); `caml_alloc` initialises the new block, and the
        // old one is read from its root after that allocation; `k < len`, less than both sizes.
        unsafe {
            let short = sys::caml_alloc(len, 0);
            let full = array.raw();
            for k in 0..len {
                sys::caml_modify(sys::field(short, k), *sys::field(full, k));
            }
            OCaml::new(cr, short)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::pin::Pin;
    use std::rc::Rc;
    use std::task::{Context, Poll, Waker};

    use futures::Stream;

    use super::super::{Failure, StreamSource};
    use crate::values::error::Error;

    /// 0, 1, 2, ... every item ready; its `size_hint` panics; counts its drops.
    struct PanickingSizeHint {
        next: i64,
        drops: Rc<Cell<u32>>,
    }

    impl Stream for PanickingSizeHint {
        type Item = Result<i64, Error>;

        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.next += 1;
            Poll::Ready(Some(Ok(self.next - 1)))
        }

        fn size_hint(&self) -> (usize, Option<usize>) {
            panic!("size_hint panicked")
        }
    }

    impl Drop for PanickingSizeHint {
        fn drop(&mut self) {
            self.drops.set(self.drops.get() + 1);
        }
    }

    #[test]
    fn a_panicking_size_hint_ends_the_batch_as_a_panicking_poll_does() {
        let drops = Rc::new(Cell::new(0));
        let source: StreamSource<i64> = StreamSource {
            key: Cell::new(-1),
            stream: RefCell::new(Some(Box::pin(PanickingSizeHint {
                next: 1,
                drops: drops.clone(),
            }) as _)),
            pulling: Cell::new(false),
            puller: RefCell::new(None),
            close_requested: Cell::new(false),
            conversion_panicked: Cell::new(false),
            pending: RefCell::new(None),
        };
        let mut items = vec![0i64];
        let mut cx = Context::from_waker(Waker::noop());
        source.take_ready(&mut items, &mut cx);
        assert_eq!(items, [0], "the item taken before the panic is kept");
        assert_eq!(drops.get(), 1, "the stream is dropped at the panic");
        assert!(source.stream.borrow().is_none());
        assert!(
            matches!(*source.pending.borrow(), Some(Failure::Panic(_))),
            "the panic is the next read's"
        );
    }
}
