//! GC roots held by the library, counted so that tests can assert none leaks.
//!
//! Invariants:
//! - a [`Root`] keeps one OCaml value alive (and tracks it when the GC moves it) until dropped;
//!   an immediate (an `int`, `unit`, a constant constructor) needs no GC root and is kept as it
//!   is, which spares a boxroot on the most common awaits (`unit Lwt.t`);
//! - creating or reading a root needs the runtime lock (the OCaml thread, inside a stub);
//!   dropping one does not (boxroot's `boxroot_delete` takes no lock), so a root may be dropped
//!   anywhere — but it is `!Send`, so in practice on the thread that made it;
//! - [`live_roots`] is the number of `Root`s alive in the process.

use std::marker::PhantomData;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};

use ocaml::sys::Value as RawOCaml;
use ocaml_interop::{FromOCaml, OCaml, OCamlRuntime};

static LIVE_ROOTS: AtomicI64 = AtomicI64::new(0);

/// Number of [`Root`]s alive.
pub fn live_roots() -> i64 {
    LIVE_ROOTS.load(Relaxed)
}

/// A counted GC root for an OCaml value of type `T` (an ocaml-interop type marker).
///
/// Lives on the OCaml thread (`!Send`); created and read only with the runtime lock held.
pub struct Root<T: 'static> {
    // One word (the tables of awaited promises and task states hold many roots): an
    // immediate as it is (low bit 1: the GC never moves or frees it), or the address of a
    // boxroot cell (low bit 0: cells are word-aligned). Never 0, so `Option<Root>` is one word
    // too. `T` is only a compile-time promise, so `cast` is free.
    cell: NonZeroUsize,
    _type: PhantomData<*const T>,
}

/// Boxroot's handle for a boxed cell of [`Root`].
///
/// # Safety
/// `cell` is a boxed cell (low bit 0) of a live root.
unsafe fn boxroot_of(cell: NonZeroUsize) -> ocaml_boxroot_sys::BoxRoot {
    // SAFETY: `BoxRoot` is a `repr(transparent)` `NonNull` to the cell, and `cell` is the
    // non-null address `boxroot_create` returned (through `boxroot_get_ref`).
    unsafe { std::mem::transmute::<NonZeroUsize, ocaml_boxroot_sys::BoxRoot>(cell) }
}

impl<T: 'static> Root<T> {
    /// Roots `value`.
    pub fn new(value: OCaml<T>) -> Self {
        LIVE_ROOTS.fetch_add(1, Relaxed);
        // SAFETY: an `OCaml` value exists only while the runtime lock is held, so reading it
        // and the runtime handle is valid; we re-type the marker only.
        let raw = unsafe { value.raw() };
        let cell = if ocaml::sys::is_long(raw) {
            // An immediate has its low bit set, so it is never 0.
            NonZeroUsize::new(raw as usize).expect("an OCaml immediate is odd")
        } else {
            // SAFETY: the runtime lock is held (an `OCaml` value exists) and boxroot was set
            // up at module initialisation; `raw` is a valid block.
            match unsafe { ocaml_boxroot_sys::boxroot_create(raw) } {
                Some(boxroot) => {
                    let addr = ocaml_boxroot_sys::boxroot_get_ref(boxroot) as usize;
                    debug_assert_eq!(addr & 1, 0, "boxroot cells are word-aligned");
                    NonZeroUsize::new(addr).expect("boxroot cells are non-null")
                }
                None => {
                    // SAFETY: right after a failed call, boxroot's error string is meaningful
                    // and NUL-terminated.
                    let reason = unsafe {
                        std::ffi::CStr::from_ptr(ocaml_boxroot_sys::boxroot_error_string())
                    };
                    panic!("lwt_rust: boxroot could not allocate a root: {reason:?}");
                }
            }
        };
        Root {
            cell,
            _type: PhantomData,
        }
    }

    /// Re-types the root. The value is not checked: the caller vouches for its OCaml type.
    ///
    /// # Safety
    /// The rooted value must be of OCaml type `U`.
    pub(crate) unsafe fn cast<U>(self) -> Root<U> {
        let this = std::mem::ManuallyDrop::new(self);
        Root {
            cell: this.cell,
            _type: PhantomData,
        }
    }

    /// Roots a raw value.
    ///
    /// # Safety
    /// The runtime lock is held and `raw` is a valid OCaml value of type `T`, read after the
    /// last allocation.
    pub(crate) unsafe fn from_raw(raw: RawOCaml) -> Self {
        // SAFETY: the runtime lock is held (the caller's contract), which is all
        // `recover_runtime_handle` needs: the handle is only borrowed to type `raw` as an
        // `OCaml<T>`, a valid value of type `T` (the caller's contract), and `new` roots it at
        // once. ocaml-interop's public way (`OCamlRuntime` passed down) is not available in
        // the stubs that root their raw arguments, hence its internal function.
        Self::new(unsafe { OCaml::new(ocaml_interop::internal::recover_runtime_handle(), raw) })
    }

    /// The rooted value, valid until the next allocation or call into OCaml.
    pub fn get<'a>(&self, cr: &'a OCamlRuntime) -> OCaml<'a, T> {
        // SAFETY: the value was rooted as a `T` (constructors and `cast` guarantee it); the
        // caller holds the runtime (`cr`).
        unsafe { OCaml::new(cr, self.raw()) }
    }

    /// Converts the rooted value to Rust.
    pub fn to_rust<R: FromOCaml<T>>(&self, cr: &OCamlRuntime) -> R {
        self.get(cr).to_rust()
    }

    /// The current raw value.
    ///
    /// # Safety
    /// Runtime lock held; the result is invalid after the next allocation.
    pub(crate) unsafe fn raw(&self) -> RawOCaml {
        if self.cell.get() & 1 == 1 {
            self.cell.get() as RawOCaml
        } else {
            // SAFETY: a boxed cell of this live root; the caller holds the runtime lock.
            unsafe { ocaml_boxroot_sys::boxroot_get(boxroot_of(self.cell)) }
        }
    }
}

impl<T: 'static> Drop for Root<T> {
    fn drop(&mut self) {
        LIVE_ROOTS.fetch_sub(1, Relaxed);
        if self.cell.get() & 1 == 0 {
            // SAFETY: a boxed cell of this root, deleted once (the root is being dropped);
            // `boxroot_delete` takes no lock (module invariants).
            unsafe { ocaml_boxroot_sys::boxroot_delete(boxroot_of(self.cell)) };
        }
    }
}

// SAFETY: the root holds a valid value of OCaml type `T` (constructors and `cast` guarantee
// it), and `to_ocaml` is only callable with the runtime handle, i.e. with the lock held.
unsafe impl<T: 'static> ocaml_interop::ToOCaml<T> for Root<T> {
    fn to_ocaml<'a>(&self, cr: &'a mut OCamlRuntime) -> OCaml<'a, T> {
        self.get(cr)
    }
}

/// A root that may be moved to and dropped on other threads, while its value is only ever
/// read on the OCaml thread: how a closure run through a [`crate::threads::handle::Handle`] carries an
/// OCaml value.
///
/// `Send + Sync`. Reading it anywhere but the OCaml thread panics with a clear message. When
/// dropped on another thread, the root is handed back to the OCaml thread and released there
/// at its next drain (boxroot's pools belong to the OCaml thread).
pub struct SendRoot<T: 'static> {
    root: Option<Root<T>>,
}

// SAFETY: the inner root is only read on the OCaml thread (`get` checks) and only dropped
// there (`Drop` sends it back otherwise), so it never touches the runtime from elsewhere.
unsafe impl<T: 'static> Send for SendRoot<T> {}
// SAFETY: as above; `&SendRoot` gives no access off the OCaml thread.
unsafe impl<T: 'static> Sync for SendRoot<T> {}

/// Roots dropped on other threads, waiting to be released on the OCaml thread.
static ORPHANS: std::sync::Mutex<Vec<Orphan>> = std::sync::Mutex::new(Vec::new());
/// Set when a root joins `ORPHANS` (under its lock), cleared when they are taken: lets every
/// drain check for orphans with one load.
static HAS_ORPHANS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

struct Orphan {
    _root: Root<crate::values::conv::Opaque>,
}

// SAFETY: an orphan is only moved through the mutex and dropped by `release_orphans`, on the
// OCaml thread.
unsafe impl Send for Orphan {}

impl<T: 'static> SendRoot<T> {
    /// Makes a thread-portable root of `root`.
    pub fn new(root: Root<T>) -> Self {
        SendRoot { root: Some(root) }
    }

    /// The rooted value.
    ///
    /// # Panics
    /// Off the OCaml thread: OCaml values must not be touched from other threads.
    pub fn get<'a>(&self, cr: &'a OCamlRuntime) -> OCaml<'a, T> {
        self.root().get(cr)
    }

    /// The inner root.
    ///
    /// # Panics
    /// Off the OCaml thread.
    pub fn root(&self) -> &Root<T> {
        assert!(
            crate::runtime::on_ocaml_thread(),
            "lwt_rust: an OCaml value was read outside the OCaml thread; use Handle::run to \
             read it there"
        );
        self.root.as_ref().expect("present until dropped")
    }
}

impl<T: 'static> Drop for SendRoot<T> {
    fn drop(&mut self) {
        let Some(root) = self.root.take() else { return };
        if !crate::runtime::on_ocaml_thread() {
            let orphan = Orphan {
                // SAFETY: re-typing only; the orphan is released, never read.
                _root: unsafe { root.cast() },
            };
            let mut orphans = ORPHANS
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            orphans.push(orphan);
            HAS_ORPHANS.store(true, std::sync::atomic::Ordering::Release);
        }
    }
}

/// Releases the roots other threads dropped (called on the OCaml thread by every drain: the
/// notification handler's and those at stub exits).
pub(crate) fn release_orphans() {
    if !HAS_ORPHANS.load(std::sync::atomic::Ordering::Acquire) {
        return;
    }
    let orphans = match ORPHANS.try_lock() {
        Ok(mut orphans) => {
            HAS_ORPHANS.store(false, std::sync::atomic::Ordering::Relaxed);
            std::mem::take(&mut *orphans)
        }
        Err(_) => return,
    };
    drop(orphans);
}
