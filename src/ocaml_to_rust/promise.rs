//! `Promise<T>`: an OCaml `'a Lwt.t` awaited by Rust (the OCaml → Rust direction).
//!
//! A promise is a key into a table of slots owned by the OCaml thread. `Lwt_rust.attach`
//! registers, on the Lwt promise, callbacks that call the fulfilled / rejected stubs with that
//! key; the stub roots the outcome in the slot and wakes the waiting task.
//!
//! Invariants:
//! - a slot is removed exactly once: when Rust takes the outcome, or when the `Promise` is
//!   dropped; its roots go with it;
//! - while pending, the slot roots the Lwt promise itself, so that dropping the `Promise`
//!   (a `select` loser, a timeout) can `Lwt.cancel` it: cancelable promises (`Lwt.task`) are
//!   cancelled, others are unaffected;
//! - keys are generation-checked (`keyed::KeyedSlab`): a settlement arriving after the `Promise`
//!   was dropped is ignored;
//! - everything here runs on the owner thread (see `runtime`) with the runtime lock held:
//!   `Promise` is `!Send`, and making one anywhere else panics (a thread holding the runtime
//!   lock through `OCamlRuntime::with_domain_lock` is not the owner thread: its keys would
//!   name another thread's slots);
//! - a promise dropped inside `with_runtime` cancels its Lwt promise when that `with_runtime`
//!   returns, never while a value borrowed from the runtime may be alive.

use std::cell::RefCell;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use ocaml::sys::Value as RawOCaml;
use ocaml_interop::{OCamlException, OCamlRuntime};

use crate::engine::keyed::KeyedSlab;
use crate::runtime::{assert_in_ocaml_context, defer_while_lent, in_ocaml_context, with_runtime};
use crate::values::callbacks;
use crate::values::conv::{Lwt, Opaque, Resolver};
use crate::values::error::OCamlError;
use crate::values::root::Root;

enum Slot {
    Pending {
        waker: Option<Waker>,
        /// The Lwt promise, to cancel it if the `Promise` is dropped first. `None` only while
        /// [`OCamlFn::call`](crate::ocaml_to_rust::closure::OCamlFn::call) is making it.
        lwt: Option<Root<Lwt<Opaque>>>,
    },
    Fulfilled(Root<Opaque>),
    /// Boxed: rejections are rare, and the table's entries are as big as its biggest variant.
    Rejected(Box<OCamlError>),
}

/// `Promise::key` once the outcome was taken (keys are never negative).
const TAKEN: i64 = -1;

thread_local! {
    static SLOTS: RefCell<KeyedSlab<Slot>> = const { RefCell::new(KeyedSlab::new()) };
}

/// A Rust future for the outcome of an OCaml `'a Lwt.t`: `Ok` with the value (rooted), or
/// `Err` with the OCaml exception that rejected it.
///
/// Lives on the OCaml thread (`!Send`); polled there by the executor with the runtime lock
/// held. Dropping it before it settles releases its roots at once and cancels the Lwt
/// promise if that is cancelable.
#[must_use = "a Promise does nothing unless awaited"]
pub struct Promise<T: 'static> {
    /// The slot's key, or `TAKEN` once the outcome was taken. A plain `i64` rather than an
    /// `Option` (keys are never negative): half the size, and a task awaiting one promise keeps
    /// this key twice in its future's box.
    key: i64,
    _type: PhantomData<*const T>,
}

impl<T: 'static> Promise<T> {
    /// Awaits an OCaml promise. If it has already settled, the outcome is recorded at once.
    ///
    /// Takes the runtime mutably because attaching runs OCaml code (which may move values):
    /// no unrooted `OCaml` value borrowed from `cr` can be alive across the call.
    ///
    /// # Panics
    /// Off the owner thread or outside a stub (see `runtime`), even with the runtime lock
    /// held: the promise's slot lives in the owner thread's table.
    pub fn new(cr: &mut OCamlRuntime, promise: &Root<Lwt<T>>) -> Self {
        let _ = cr;
        assert_in_ocaml_context("lwt_rust::Promise::new");
        // SAFETY: `cr` proves the OCaml context; the value is read from its root just before
        // the call.
        unsafe { Self::attach_raw(promise.raw()) }
    }

    /// # Safety
    /// OCaml context; `raw` is a valid `'a Lwt.t` read after the last allocation.
    pub(crate) unsafe fn attach_raw(raw: RawOCaml) -> Self {
        assert_in_ocaml_context("lwt_rust::Promise");
        // SAFETY: the caller's contract.
        let lwt = unsafe { Root::from_raw(raw) };
        let key = SLOTS.with(|slots| {
            slots.borrow_mut().insert(Slot::Pending {
                waker: None,
                lwt: Some(lwt),
            })
        });
        let promise = Promise {
            key,
            _type: PhantomData,
        };
        // SAFETY: OCaml context; rooting and inserting touched no OCaml memory, so `raw` is
        // still valid.
        unsafe { callbacks::attach_to_slot(raw, key as isize) };
        promise
    }

    /// Reserves a slot for a promise that does not exist yet, for
    /// [`OCamlFn::call`](crate::ocaml_to_rust::closure::OCamlFn::call): OCaml makes the promise and attaches
    /// it to this slot in one callback; then [`Promise::made`] or [`Promise::not_made`].
    pub(crate) fn reserve() -> i64 {
        SLOTS.with(|slots| {
            slots.borrow_mut().insert(Slot::Pending {
                waker: None,
                lwt: None,
            })
        })
    }

    /// The promise of a reserved slot, now attached to the Lwt promise `raw`. Roots `raw` if
    /// it is still pending (an already settled promise has reported at once and needs no
    /// root: there is nothing left to cancel).
    ///
    /// # Safety
    /// OCaml context; `raw` is the valid `'a Lwt.t` attached to slot `key`, read after the
    /// last allocation.
    pub(crate) unsafe fn made(key: i64, raw: RawOCaml) -> Self {
        SLOTS.with(|slots| {
            if let Some(Slot::Pending { lwt, .. }) = slots.borrow_mut().get_mut(key) {
                // SAFETY: the caller's contract; nothing allocated since (rooting allocates
                // nothing on the OCaml heap).
                *lwt = Some(unsafe { Root::from_raw(raw) });
            }
        });
        Promise {
            key,
            _type: PhantomData,
        }
    }

    /// Releases a reserved slot whose promise was never made (the call raised).
    pub(crate) fn not_made(key: i64) {
        let slot = SLOTS.with(|slots| slots.borrow_mut().remove(key));
        drop(slot);
    }

    /// A promise that OCaml settles through the returned resolver (a cancelable `Lwt.task`).
    pub fn pending() -> (Self, Root<Resolver<T>>) {
        let resolver = with_runtime(|_| {
            // SAFETY: OCaml context; the pair is read before any allocation, and
            // `Root::from_raw` does not allocate on the OCaml heap.
            unsafe {
                let pair = callbacks::cancelable_task(None);
                let resolver = Root::from_raw(ocaml::sys::field(pair, 1).read());
                (resolver, ocaml::sys::field(pair, 0).read())
            }
        });
        let (resolver, promise) = resolver;
        // SAFETY: `promise` was read from the pair with no allocation since.
        (unsafe { Self::attach_raw(promise) }, resolver)
    }
}

impl<T: 'static> Future for Promise<T> {
    type Output = Result<Root<T>, OCamlError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let key = self.key;
        assert!(key != TAKEN, "Promise polled after it completed");
        let settled = SLOTS.with(|slots| {
            let mut slots = slots.borrow_mut();
            match slots.get_mut(key).expect("a live Promise has a slot") {
                Slot::Pending { waker, .. } => {
                    if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        *waker = Some(cx.waker().clone());
                    }
                    None
                }
                _ => slots.remove(key),
            }
        });
        match settled {
            None => Poll::Pending,
            Some(slot) => {
                self.key = TAKEN;
                Poll::Ready(match slot {
                    // SAFETY: the value came from the `'a Lwt.t` this promise was made from,
                    // whose `'a` is `T`.
                    Slot::Fulfilled(root) => Ok(unsafe { root.cast() }),
                    Slot::Rejected(err) => Err(*err),
                    Slot::Pending { .. } => unreachable!("a pending slot is never removed here"),
                })
            }
        }
    }
}

impl<T: 'static> Drop for Promise<T> {
    fn drop(&mut self) {
        let key = self.key;
        if key == TAKEN {
            return;
        }
        // Take the slot out first: dropping it, or cancelling, may re-enter this module. At
        // exit the table may already be gone (thread-locals destroyed): nothing to do then.
        let slot = SLOTS
            .try_with(|slots| slots.borrow_mut().remove(key))
            .ok()
            .flatten();
        if let Some(Slot::Pending { lwt: Some(lwt), .. }) = slot {
            if in_ocaml_context() {
                // Cancelling runs OCaml code: not while a value borrowed through
                // `with_runtime` may be alive (see the module invariants).
                defer_while_lent(move || {
                    // SAFETY: OCaml context (checked above, and deferred work runs in the same
                    // stub frame), runtime not lent; the value is read from its root just
                    // before the call. Cancelling reports back through the rejected stub,
                    // which finds no slot and ignores it.
                    unsafe { callbacks::lwt_cancel(lwt.raw()) }
                });
            }
        }
    }
}

/// Number of promise slots in use (Rust promises awaiting or holding an outcome).
pub fn live_promises() -> usize {
    SLOTS.with(|slots| slots.borrow().len())
}

/// The Lwt promise of slot `key` was settled on another thread (forwarded to the owner
/// thread): the awaiting Rust side gets `Lwt_rust.Wrong_thread`.
pub(crate) fn settled_off_thread(key: i64) {
    settle(key, || {
        let message = crate::runtime::wrong_thread_message("an awaited Lwt promise was settled");
        // SAFETY: owner thread, inside the drain stub (the caller); the exception is rooted
        // at once.
        let exn: Root<OCamlException> = unsafe {
            Root::from_raw(callbacks::failure_exception(
                callbacks::FailureKind::WrongThread,
                &message,
            ))
        };
        Slot::Rejected(Box::new(OCamlError::new(exn, message)))
    });
}

/// Records an outcome for `key` and wakes its task. A stale key (the `Promise` was dropped)
/// or a slot already settled is ignored.
fn settle(key: i64, make: impl FnOnce() -> Slot) {
    let pending =
        SLOTS.with(|slots| matches!(slots.borrow_mut().get_mut(key), Some(Slot::Pending { .. })));
    if !pending {
        return;
    }
    // Build the outcome (this may call OCaml) with the table not borrowed.
    let outcome = make();
    let previous = SLOTS.with(|slots| {
        let mut slots = slots.borrow_mut();
        let slot = slots.get_mut(key)?;
        Some(std::mem::replace(slot, outcome))
    });
    // Dropped outside the borrow: the old slot's root and waker.
    if let Some(Slot::Pending {
        waker: Some(waker), ..
    }) = previous
    {
        waker.wake();
    }
}

/// The fulfilled stub's body.
///
/// # Safety
/// OCaml context; `value` is valid (read after the last allocation).
pub(crate) unsafe fn fulfilled(key: i64, value: RawOCaml) {
    // One look-up: rooting the value calls no OCaml code, so it can be made with the table
    // borrowed (unlike a rejection's description).
    let previous = SLOTS.with(|slots| {
        let mut slots = slots.borrow_mut();
        match slots.get_mut(key) {
            Some(slot @ Slot::Pending { .. }) => Some(std::mem::replace(
                slot,
                // SAFETY: the caller's contract (OCaml context, `value` valid, nothing
                // allocated since it was read).
                Slot::Fulfilled(unsafe { Root::from_raw(value) }),
            )),
            _ => None,
        }
    });
    // Dropped outside the borrow: the old slot's root and waker.
    if let Some(Slot::Pending {
        waker: Some(waker), ..
    }) = previous
    {
        waker.wake();
    }
}

/// The rejected stub's body.
///
/// # Safety
/// OCaml context; `exn` is valid (read after the last allocation).
pub(crate) unsafe fn rejected(key: i64, exn: RawOCaml) {
    settle(key, || {
        // SAFETY: the caller's contract; `settle` runs this before anything allocates.
        let error = unsafe { OCamlError::from_raw(exn) };
        Slot::Rejected(Box::new(error))
    });
}
