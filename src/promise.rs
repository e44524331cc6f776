//! `Promise<T>`: an OCaml `'a Lwt.t` awaited by Rust (the OCaml → Rust direction).
//!
//! A promise is a key into a slab of slots owned by the OCaml thread. `Lwt_rust.attach`
//! registers, on the Lwt promise, callbacks that call the fulfilled / rejected stubs with that
//! key; the stub roots the value in the slot and wakes the waiting task.
//!
//! Invariants:
//! - a slot is removed exactly once: when Rust takes the outcome, or when the `Promise` is
//!   dropped. Its roots go with it;
//! - keys carry a generation, so a settlement arriving after the `Promise` was dropped (and the
//!   slot reused) is recognised as stale and ignored;
//! - everything here runs on the OCaml thread with the runtime lock held: `Promise` is `!Send`.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use ocaml::sys::Value as RawOCaml;
use ocaml_interop::{OCaml, OCamlException};
use slab::Slab;

use crate::callbacks;
use crate::conv::{Lwt, Opaque, Resolver};
use crate::error::OCamlError;
use crate::root::Root;
use crate::runtime::with_runtime;

enum State {
    Pending(Option<Waker>),
    Fulfilled(Root<Opaque>),
    Rejected(OCamlError),
}

struct Slot {
    generation: u32,
    state: State,
}

thread_local! {
    static SLOTS: RefCell<Slab<Slot>> = const { RefCell::new(Slab::new()) };
    static GENERATION: Cell<u32> = const { Cell::new(0) };
}

/// Generations wrap below 2^30 so a key (generation << 32 | index) fits an OCaml int.
const GENERATION_MASK: u32 = (1 << 30) - 1;

fn split(key: i64) -> (usize, u32) {
    ((key & 0xffff_ffff) as usize, (key >> 32) as u32)
}

fn insert_pending() -> i64 {
    let generation = GENERATION.with(|g| {
        let next = g.get().wrapping_add(1) & GENERATION_MASK;
        g.set(next);
        next
    });
    let index = SLOTS.with(|slots| {
        slots.borrow_mut().insert(Slot {
            generation,
            state: State::Pending(None),
        })
    });
    (i64::from(generation) << 32) | index as i64
}

/// A Rust future for the outcome of an OCaml `'a Lwt.t`: `Ok` with the value (rooted), or
/// `Err` with the OCaml exception that rejected it.
///
/// Lives on the OCaml thread (`!Send`); polled there by the executor with the runtime lock
/// held. Dropping it before it settles releases its slot at once.
#[must_use = "a Promise does nothing unless awaited"]
pub struct Promise<T: 'static> {
    key: Option<i64>,
    _type: PhantomData<*const T>,
}

impl<T: 'static> Promise<T> {
    /// Awaits an OCaml promise. If it has already settled, the outcome is recorded at once.
    pub fn new(promise: OCaml<'_, Lwt<T>>) -> Self {
        // SAFETY: the `OCaml` value proves the runtime lock is held; the raw value is passed
        // to OCaml right away, with no allocation in between.
        unsafe { Self::attach_raw(promise.raw()) }
    }

    /// # Safety
    /// OCaml context; `raw` is a valid `'a Lwt.t` read after the last allocation.
    pub(crate) unsafe fn attach_raw(raw: RawOCaml) -> Self {
        let key = insert_pending();
        let promise = Promise {
            key: Some(key),
            _type: PhantomData,
        };
        // Inserting into the slab touched no OCaml memory, so `raw` is still valid.
        callbacks::attach(raw, key as isize);
        promise
    }

    /// A promise that OCaml settles through the returned resolver (a cancelable `Lwt.task`).
    pub fn pending() -> (Self, Root<Resolver<T>>) {
        with_runtime(|cr| {
            // SAFETY: OCaml context (with_runtime); `pair` is read before any allocation and
            // `Root::from_raw` does not allocate on the OCaml heap.
            unsafe {
                let pair = callbacks::task();
                let resolver = Root::from_raw(cr, ocaml::sys::field(pair, 1).read());
                let promise = Self::attach_raw(ocaml::sys::field(pair, 0).read());
                (promise, resolver)
            }
        })
    }
}

impl<T: 'static> Future for Promise<T> {
    type Output = Result<Root<T>, OCamlError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let key = self.key.expect("Promise polled after it completed");
        let (index, _) = split(key);
        let outcome = SLOTS.with(|slots| {
            let mut slots = slots.borrow_mut();
            match &mut slots[index].state {
                State::Pending(waker) => {
                    if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        *waker = Some(cx.waker().clone());
                    }
                    None
                }
                _ => Some(slots.remove(index).state),
            }
        });
        match outcome {
            None => Poll::Pending,
            Some(state) => {
                self.key = None;
                Poll::Ready(match state {
                    // SAFETY: the value came from the `'a Lwt.t` this promise was made from,
                    // whose `'a` is `T`.
                    State::Fulfilled(root) => Ok(unsafe { root.cast() }),
                    State::Rejected(err) => Err(err),
                    State::Pending(_) => unreachable!(),
                })
            }
        }
    }
}

impl<T: 'static> Drop for Promise<T> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let (index, _) = split(key);
            // Take the slot out before dropping it: its roots' drops must not run while the
            // slab is borrowed (a waker's drop could re-enter).
            let slot = SLOTS.with(|slots| slots.borrow_mut().try_remove(index));
            drop(slot);
        }
    }
}

/// Number of promise slots in use (Rust promises awaiting or holding an outcome).
pub fn live_promises() -> usize {
    SLOTS.with(|slots| slots.borrow().len())
}

/// Records an outcome for `key` and wakes its task. A stale key (the `Promise` was dropped)
/// or a slot already settled is ignored.
fn settle(key: i64, make: impl FnOnce() -> State) {
    let (index, generation) = split(key);
    let live = SLOTS.with(|slots| {
        matches!(slots.borrow().get(index),
            Some(Slot { generation: g, state: State::Pending(_) }) if *g == generation)
    });
    if !live {
        return;
    }
    // Build the state (this may call OCaml) with the slab not borrowed.
    let state = make();
    let waker = SLOTS.with(|slots| {
        let mut slots = slots.borrow_mut();
        match slots.get_mut(index) {
            Some(slot) if slot.generation == generation => {
                match std::mem::replace(&mut slot.state, state) {
                    State::Pending(waker) => waker,
                    other => {
                        slot.state = other;
                        None
                    }
                }
            }
            _ => None,
        }
    });
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// The fulfilled stub's body.
///
/// # Safety
/// OCaml context; `value` is valid (read after the last allocation).
pub(crate) unsafe fn fulfilled(key: i64, value: RawOCaml) {
    with_runtime(|cr| settle(key, || State::Fulfilled(Root::from_raw(cr, value))));
}

/// The rejected stub's body.
///
/// # Safety
/// OCaml context; `exn` is valid (read after the last allocation).
pub(crate) unsafe fn rejected(key: i64, exn: RawOCaml) {
    with_runtime(|cr| {
        settle(key, || {
            let exn: Root<OCamlException> = Root::from_raw(cr, exn);
            let message = callbacks::describe_exn(exn.raw());
            State::Rejected(OCamlError::new(exn, message))
        })
    });
}
