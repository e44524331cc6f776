//! `Lwt.return v` built by the stub itself, in the minor heap: the one place that relies on
//! how Lwt and OCaml lay out a value.
//!
//! A future ready on its first poll needs no task and no resolver: its promise is
//! `Lwt.return v`, a block of two one-field blocks (`{state = Fulfilled v}`). [`lwt_return`]
//! builds those with one bump of the minor heap's allocation pointer, as compiled OCaml code
//! does, instead of calling back into OCaml. The layout is the same in OCaml 4 and 5 (on 5 the
//! domain state, a per-domain thread-local, is read through ocaml-sys's C helper, chosen when
//! the crate is built, so OCaml 4 keeps its plain global).
//!
//! Invariants:
//! - [`probe`], at module initialisation, compares what this module builds with what the linked
//!   Lwt and OCaml build; on any difference [`enabled`] stays false and [`lwt_return`] calls
//!   `Lwt.return`;
//! - the block is built only when the minor heap has room and the runtime has not asked for
//!   attention (it lowers `young_limit` then); otherwise `Lwt.return`'s own allocation handles
//!   both;
//! - everything here runs in the OCaml context, inside a stub OCaml called as an ordinary
//!   external (see [`build_returned`]).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

use ocaml::sys::{self, Value as RawOCaml};

use crate::values::callbacks;

/// `Lwt.return value`: built here when the probe passed and the minor heap has room, else by
/// calling `Lwt.return`.
///
/// # Safety
/// OCaml context; `value` is valid (read after the last allocation).
#[inline]
pub(crate) unsafe fn lwt_return(value: RawOCaml) -> RawOCaml {
    if DIRECT_RETURN.load(Relaxed) {
        // SAFETY: the caller's contract (OCaml context, `value` valid); the probe passed.
        if let Some(promise) = unsafe { build_returned(value) } {
            return promise;
        }
    }
    // SAFETY: the caller's contract.
    unsafe { callbacks::call_lwt_return(value) }
}

/// Whether [`lwt_return`] builds `Lwt.return`'s block itself: set by [`probe`]
/// at module initialisation. A fact about the program (its Lwt and OCaml), the same for
/// every thread.
static DIRECT_RETURN: AtomicBool = AtomicBool::new(false);

/// Whether ready calls build their `Lwt.return` block themselves (the probe passed).
pub(crate) fn enabled() -> bool {
    DIRECT_RETURN.load(Relaxed)
}

extern "C" {
    /// Empties the minor heap (OCaml 4's `minor_gc.h`).
    fn caml_minor_collection();
}

/// Decides once whether [`lwt_return`] may build `Lwt.return`'s block itself
/// ([`direct_return_ok`]). Called by the module initialisation of `Lwt_rust`, after its
/// callbacks are registered, from a stub that holds no OCaml value: the check calls OCaml and
/// allocates, which may move any value held raw. A failure that may be passing (no room left
/// in the minor heap, or the runtime asking for attention through its allocation limit) is
/// retried after emptying the minor heap.
pub(crate) fn probe(_cr: &mut ocaml_interop::OCamlRuntime) {
    const ATTEMPTS: usize = 3;
    // OCaml context (`_cr` proves the runtime lock is held), and the caller holds no raw OCaml
    // value across this call: the collection and the check may move any.
    let ok = (0..ATTEMPTS).any(|attempt| {
        if attempt > 0 {
            // SAFETY: OCaml context; no raw value is held across it (see above).
            unsafe { caml_minor_collection() };
        }
        // SAFETY: OCaml context.
        unsafe { direct_return_ok() }
    });
    DIRECT_RETURN.store(ok, Relaxed);
}

/// The first two fields of the runtime's domain state (`caml/domain_state.tbl`, the same two
/// in OCaml 4.10 to 4.14 and in OCaml 5): the minor heap's allocation limit and pointer.
/// Allocation moves `young_ptr` down, towards `young_limit`. `young_ptr` is read and written
/// only on the OCaml thread, inside a stub (the runtime lock is held). `young_limit` may be
/// lowered behind its back (a signal handler in OCaml 4, another domain in OCaml 5, where it
/// is atomic): it is read with a relaxed atomic load, the same plain load on x86-64 and
/// aarch64. `ocaml_sys`'s own declaration of the OCaml 4 state is not used: it orders the
/// two fields the other way round, which 4.13 does not.
#[repr(C)]
struct MinorHeap {
    young_limit: AtomicUsize,
    young_ptr: *mut RawOCaml,
}

impl MinorHeap {
    #[inline]
    fn young_limit(&self) -> *mut RawOCaml {
        self.young_limit.load(Relaxed) as *mut RawOCaml
    }
}

#[cfg(not(ocaml5))]
extern "C" {
    /// The runtime's domain state: a plain global in OCaml 4.10 to 4.14.
    static Caml_state: *mut MinorHeap;
}

#[cfg(ocaml5)]
extern "C" {
    /// The calling domain's state (ocaml-sys's C helper, which returns `Caml_state`): in
    /// OCaml 5 it is a per-domain thread-local that Rust cannot name.
    fn caml_sys_get_domain_state() -> *mut MinorHeap;
}

/// The calling thread's domain state. Selected when the crate is built (build.rs sets
/// `cfg(ocaml5)` from the OCaml it finds): on OCaml 4 a load of a global, as before.
///
/// # Safety
/// OCaml context.
#[inline(always)]
unsafe fn minor_heap() -> *mut MinorHeap {
    #[cfg(not(ocaml5))]
    {
        // SAFETY: the runtime is initialised (OCaml context), so its domain state exists;
        // OCaml 4's global is written only at start-up.
        unsafe { Caml_state }
    }
    #[cfg(ocaml5)]
    {
        // SAFETY: the runtime is initialised (OCaml context); the helper reads the calling
        // domain's thread-local.
        unsafe { caml_sys_get_domain_state() }
    }
}

/// The header of a one-field block of tag 0 in the minor heap (wosize 1, colour 0, no
/// profiling info: what `Alloc_small` writes).
const ONE_FIELD_TAG_0: RawOCaml = 1 << 10;

/// Builds the block `Lwt.return value` builds (`{state = Fulfilled value}`: two one-field
/// blocks of tag 0) in the minor heap, the way compiled OCaml code allocates: one bump of
/// the allocation pointer for both blocks. `None`, having touched nothing, when the minor heap
/// has no room or the runtime has asked for attention (it lowers `young_limit` then): the
/// caller calls `Lwt.return`, whose allocation handles both. Used only once
/// [`direct_return_ok`] has checked the layout against the linked Lwt.
///
/// # Safety
/// OCaml context; `value` is valid (read after the last allocation). The OCaml context means
/// inside a stub OCaml called as an ordinary external, through `caml_c_call`, which stores the
/// allocation pointer in the domain state for the duration of the call (a `[@@noalloc]`
/// external would leave it in a register, and must not allocate at all).
#[inline]
unsafe fn build_returned(value: RawOCaml) -> Option<RawOCaml> {
    // SAFETY: OCaml context (the caller's contract).
    let heap = unsafe { minor_heap() };
    // SAFETY: the domain state is live, and only this thread, which holds the runtime lock,
    // reads or writes `young_ptr`. Accessed through the raw pointer, never a `&mut`:
    // `young_limit` may change behind our back (see `MinorHeap`).
    let ptr = unsafe { (*heap).young_ptr };
    // Two blocks of a header and one field each.
    let start = ptr.wrapping_sub(4);
    // SAFETY: as above (an atomic load).
    if start < unsafe { (*heap).young_limit() } || start > ptr {
        return None;
    }
    // SAFETY: as above.
    unsafe { (*heap).young_ptr = start };
    // SAFETY: `start .. ptr` (four words) lies inside the minor heap, above `young_limit`
    // (checked), and now belongs to us: moving `young_ptr` down allocated it, as
    // `Alloc_small` does. `start` holds the promise's header, `start + 2` the `Fulfilled`
    // block's; every field is initialised before OCaml can look (no allocation in between).
    unsafe {
        start.write(ONE_FIELD_TAG_0);
        start.add(1).write(start.add(3) as RawOCaml);
        start.add(2).write(ONE_FIELD_TAG_0);
        start.add(3).write(value);
        Some(start.add(1) as RawOCaml)
    }
}

/// Whether [`build_returned`] builds what `Lwt.return` builds, in this program: checked once,
/// on a probe, before the first use. The block `Lwt.return` just made must be two one-field
/// blocks of tag 0 with the very headers written here, lying right above the minor heap's
/// allocation pointer as read through [`MinorHeap`] (which checks that layout too); and
/// `Lwt.state` must read a block built here as `Return v` (`lwt_rust.is_returned`). Any
/// difference (another Lwt, another OCaml) keeps the callback.
///
/// # Safety
/// OCaml context.
unsafe fn direct_return_ok() -> bool {
    const PROBE: RawOCaml = 2 * 4_242 + 1;
    // SAFETY: reads the header word of a block (`is_block` checked first), valid until the
    // next allocation; the values passed are read after the last one.
    let one_field_tag_0 = |v: RawOCaml| {
        // SAFETY: see above.
        sys::is_block(v) && unsafe { (v as *const RawOCaml).sub(1).read() } == ONE_FIELD_TAG_0
    };
    // SAFETY: OCaml context (the caller's contract); `PROBE` is an immediate.
    let Ok(made) = (unsafe { callbacks::try_lwt_return(PROBE) }) else {
        return false;
    };
    // SAFETY: OCaml context: the domain state is live; read through the raw pointer only.
    let (young_limit, young_ptr) = unsafe {
        let heap = minor_heap();
        ((*heap).young_limit(), (*heap).young_ptr)
    };
    let made_header = (made as *mut RawOCaml).wrapping_sub(1);
    let just_allocated = young_limit < young_ptr
        && young_ptr <= made_header
        && made_header < young_ptr.wrapping_add(16);
    if !(just_allocated && one_field_tag_0(made)) {
        return false;
    }
    // SAFETY: `made` is a one-field block just allocated (checked), so its field is readable;
    // nothing allocates until the checks below are done.
    let state = unsafe { sys::field(made, 0).read() };
    if !one_field_tag_0(state) {
        return false;
    }
    // SAFETY: `state` is a one-field block (checked).
    if unsafe { sys::field(state, 0).read() } != PROBE {
        return false;
    }
    // SAFETY: OCaml context; `PROBE` is an immediate.
    let Some(built) = (unsafe { build_returned(PROBE) }) else {
        return false;
    };
    // SAFETY: OCaml context; `built` was made just above, nothing allocated since.
    unsafe { callbacks::is_returned(built, PROBE) }
}
