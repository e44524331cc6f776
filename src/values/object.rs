//! Rust objects held by OCaml values: what `#[lwt_rust::object]` builds on.
//!
//! A Rust value `T` made an object lives in an [`Obj<T>`], a shared pointer (an `Arc`) that
//! Rust code clones freely. A running method's future holds a [`Lease`] on it, so the object
//! outlives the OCaml value that started the method. On the OCaml side the object is a custom
//! block of `T`'s own custom operations holding three words:
//!
//! | word | meaning |
//! |---|---|
//! | key | this value's entry in the owner thread's table of objects (an `Obj<T>` clone); [`CLOSED`] once closed, [`NOT_HELD`] when made after shutdown |
//! | id | the object's identity: a number given once per Rust object, never reused |
//! | address | the object's (`Arc::as_ptr`), valid while the key's entry holds it: a method's receiver uses it once the table confirms that ([`receiver`]) |
//!
//! Threads: the table, leases and finalised-key processing belong to the owner thread (the
//! runtime lock held, inside a stub); the finaliser may run on any thread holding the runtime
//! lock (inside the GC); an `Obj<T>` goes wherever `T: Send + Sync` allows.
//!
//! Why not ocaml-interop's `DynBox` or ocaml-rs's custom blocks: both drop the Rust value
//! inside the GC finaliser (a destructor that blocks, or calls OCaml, must not run there), and
//! `DynBox` shares one set of operations between all types (a wrong type is found by a panic
//! at the downcast) and offers no close, no comparison and no hash.
//!
//! Invariants:
//! - the table lives on the owner thread; only it inserts, looks up and removes entries;
//! - a finaliser (any thread, inside the GC) touches no table: it pushes the key on
//!   `FINALISED` and asks the owner to drain; the owner drops the entries there
//!   (`release_finalised`, run first in every drain), so `T`'s destructor runs on the owner
//!   thread outside the GC, or on whatever thread drops the last other `Obj<T>`;
//! - an entry is removed exactly once: by `release_finalised`, by `close`, by
//!   `release_all` at shutdown (after which no entry is made: values get [`NOT_HELD`]), or by
//!   `release_at_exit` (an OCaml `at_exit` function); the thread-local table's own destructor
//!   drops no object (it leaks what is left);
//! - every drop of an object by the bridge catches a panic of its destructor (counted in
//!   `Lwt_rust.stats`' `panics`; `close` raises it as `Rust_panic`): none reaches an
//!   `extern "C"` frame or a destructor already unwinding;
//! - a finalised key always leaves a drain request behind (`runtime::request_drain_from_any_thread`),
//!   kept until a drain runs;
//! - entries are taken out of the table before they are dropped, so a destructor that makes
//!   or closes objects finds the table free;
//! - a method's receiver is checked in full once per value and then against the last one
//!   confirmed (see `Confirmed`), which every removal from the table forgets;
//! - a method holds its object through a [`Lease`] (a count without atomics, owner thread
//!   only) rather than an `Obj<T>` clone: an entry released while leases exist is parked in
//!   the object and dropped with the last lease;
//! - `T`'s custom operations are one static per type (the macro makes it): the check of an
//!   argument compares the block's operations with `T`'s, so a value of another object type
//!   (or another custom block) is refused, never misread.

use std::any::Any;
use std::cell::{Cell, RefCell, UnsafeCell};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use ocaml::sys::{self, custom_operations, Value as RawOCaml};
use ocaml_interop::{FromOCaml, OCaml, OCamlRuntime, ToOCaml};

use crate::engine::keyed::KeyedSlab;
use crate::runtime;
use crate::values::conv::{self, OCamlRepr};
use crate::values::panic_report::{self, Panic};

/// The key of a value closed by `close`.
pub const CLOSED: i64 = -1;
/// The key of a value made after `Lwt_rust.shutdown`: it holds nothing.
pub const NOT_HELD: i64 = -2;

/// A Rust type whose values OCaml holds as objects. Implemented by `#[lwt_rust::object]`.
///
/// # Safety
/// [`Object::operations`] returns the same static for every call, and no other type's
/// `operations` returns it: the type check of OCaml values relies on it.
pub unsafe trait Object: 'static {
    /// The OCaml module of the type (`Kv_store` for `KvStore`), for messages.
    const OCAML_MODULE: &'static str;

    /// The custom operations of this type's OCaml values.
    fn operations() -> &'static ObjectOps;
}

/// The custom operations of one object type (a static made by `#[lwt_rust::object]`).
///
/// Immutable once made; OCaml only reads it.
pub struct ObjectOps(custom_operations);

// SAFETY: the operations are never written after construction (OCaml reads them only), and
// the raw pointers inside point to static data (the identifier) or are null.
unsafe impl Sync for ObjectOps {}

impl ObjectOps {
    /// The operations of a type named `identifier` (NUL-terminated, unique per type, e.g.
    /// `b"lwt_rust/my_crate/KvStore\0"`).
    ///
    /// # Panics
    /// At compile time (a `static`'s initialiser) if `identifier` does not end with NUL.
    pub const fn new(identifier: &'static [u8]) -> Self {
        assert!(
            !identifier.is_empty() && identifier[identifier.len() - 1] == 0,
            "an object's identifier ends with NUL"
        );
        ObjectOps(custom_operations {
            identifier: identifier.as_ptr().cast(),
            finalize: Some(finalize),
            compare: Some(compare),
            hash: Some(hash),
            // Not marshallable: `Marshal` raises `Invalid_argument` for these values.
            serialize: None,
            deserialize: None,
            compare_ext: None,
            fixed_length: std::ptr::null(),
        })
    }

    fn raw(&'static self) -> *mut custom_operations {
        // OCaml takes a `*mut` but never writes through it.
        (&self.0 as *const custom_operations).cast_mut()
    }
}

/// What `Obj<T>` points to.
struct Shared<T> {
    id: u64,
    closed: AtomicBool,
    owner_side: OwnerSide,
    value: T,
}

/// The part of an object only the owner thread touches: the running methods' leases (see
/// [`Lease`]), and the table entry kept for them when OCaml released its value meanwhile.
struct OwnerSide {
    /// The running methods' leases, plus [`NOT_PARKED`] while `parked` is `None`: the release
    /// of the last lease finds 0 exactly when an entry waits for it, so a lease's release (on
    /// the hot path of every method call) is one decrement and one test.
    leases: UnsafeCell<usize>,
    parked: UnsafeCell<Option<Arc<dyn Entry>>>,
}

/// Added to an object's lease count while no entry is parked in it (see [`OwnerSide`]): more
/// than any count of leases can reach.
const NOT_PARKED: usize = 1 << (usize::BITS - 1);

// SAFETY: the fields are read and written on the owner thread only: by `Lease` (made by a
// method stub, held by the method's future or stub, both on the owner thread: local tasks
// never move) and by `release` (called by the table's owner). Other threads holding an
// `Obj<T>` never touch them. `parked` is `None` whenever the object can be dropped (it holds
// a strong count itself), so dropping the object on another thread drops nothing in it.
unsafe impl Send for OwnerSide {}
// SAFETY: as above.
unsafe impl Sync for OwnerSide {}

/// A table entry: an object, of any type.
trait Entry: Any {
    fn as_any(&self) -> &dyn Any;
    fn owner_side(&self) -> &OwnerSide;
    fn closed(&self) -> &AtomicBool;
}

impl<T: Object> Entry for Shared<T> {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn owner_side(&self) -> &OwnerSide {
        &self.owner_side
    }
    fn closed(&self) -> &AtomicBool {
        &self.closed
    }
}

/// Drops a table entry (owner thread), or parks it while a method holds a lease on its object.
/// A panic of the object's destructor is contained and counted (see [`drop_contained`]).
fn release(entry: Arc<dyn Entry>) {
    if let Some(panic) = release_or_panic(entry) {
        contained_destructor_panic(panic);
    }
}

/// [`release`], giving back the panic of the object's destructor, if any, instead of counting it.
fn release_or_panic(entry: Arc<dyn Entry>) -> Option<Panic> {
    let side = entry.owner_side();
    // SAFETY: owner thread (the module invariant for `OwnerSide`); no other reference into
    // its fields is alive.
    let (leases, parked) = unsafe { (&mut *side.leases.get(), &mut *side.parked.get()) };
    if parked.is_none() && *leases > NOT_PARKED {
        // Leases are running: the last one drops the entry (its count reaching 0).
        *leases -= NOT_PARKED;
        *parked = Some(entry);
        return None;
    }
    // Else nothing runs, or one parked count is enough: this entry's count goes (not the
    // last one, then).
    drop_contained(entry)
}

/// Drops `entry` (possibly the last count of its object, so running `T`'s destructor),
/// catching a panic there. The bridge drops objects where no caller can be told (a drain at a
/// stub's exit, `Lwt_rust.stats`, shutdown, exit) and, a panic escaping there would cross an
/// `extern "C"` frame or a destructor already unwinding: both abort the process.
fn drop_contained(entry: Arc<dyn Entry>) -> Option<Panic> {
    catch_unwind(AssertUnwindSafe(move || drop(entry))).err()
}

/// Counts a destructor's panic the bridge contained (`Lwt_rust.stats`' `panics`; the panic
/// hook already reported it), and drops its payload, whose own destructor may panic too.
fn contained_destructor_panic(panic: Panic) {
    panic_report::count_contained_panic();
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(panic))) {
        // A payload whose destructor panicked, twice: leaked rather than dropped again.
        std::mem::forget(payload);
    }
}

/// A running method's hold on its object (the receiver of the stubs `#[lwt_rust::object]`
/// makes): counted on the owner thread without atomics, the hot path of every method call.
/// While a lease exists the object stays alive: a table entry released meanwhile is parked
/// in the object until the last lease goes.
///
/// Owner thread only (`!Send`): made by a stub, held by the method's future (a local task) or
/// by a synchronous stub.
pub struct Lease<T: Object> {
    shared: *const Shared<T>,
}

impl<T: Object> Deref for Lease<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a lease keeps its object alive (see `Lease`).
        unsafe { &(*self.shared).value }
    }
}

impl<T: Object> Drop for Lease<T> {
    /// Inlined (the hot path of every method call): out of line, it would take the address
    /// of the future holding the lease, which then could not stay in registers.
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: alive while this lease exists; owner thread (`Lease` is `!Send`).
        let side = unsafe { &(*self.shared).owner_side };
        // SAFETY: owner thread; no other reference into the count is alive.
        // (A method's lease is usually the only one, and an entry is rarely parked: 0 means
        // both the last lease and a parked entry, see `OwnerSide`.)
        let parked = unsafe {
            let leases = &mut *side.leases.get();
            *leases -= 1;
            *leases == 0
        };
        if parked {
            release_parked(side);
        }
    }
}

/// The last lease on an object went, with a table entry parked in it: drops the entry.
///
/// `extern "C"`, so that the compiler knows it never unwinds (it contains every panic): the
/// callers' own panic handling (a method's future dropped inside `catch_unwind` on every
/// call) is then optimised out.
#[cold]
#[inline(never)]
extern "C" fn release_parked(side: &OwnerSide) {
    // SAFETY: owner thread (the caller's, a lease's drop); no other reference into the fields.
    let parked = unsafe {
        *side.leases.get() = NOT_PARKED;
        (*side.parked.get()).take()
    };
    // Last: this may drop the object itself. A lease is dropped by a method's stub or future,
    // possibly while a panic of the method unwinds: the destructor's own panic must not
    // escape (a panic during unwinding aborts).
    if let Some(entry) = parked {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(move || drop(entry))) {
            contained_destructor_panic(panic);
        }
    }
}

impl<T: Object> Lease<T> {
    /// The future of an `async` method, started on the leased object: `start` is called with
    /// a reference to it, and the future it returns is kept with the lease, which outlives it.
    ///
    /// What a method's stub spawns. An `async move` block holding the lease and awaiting the
    /// method would hold the method's arguments twice (its own captures and the method's
    /// future) and add a state machine of its own: this is the method's future and one word.
    ///
    /// # Safety
    /// `start` passes the reference to the method and nowhere else: the reference is valid
    /// while the lease lives (so while the returned future lives), not for `'static`, and the
    /// method's signature (`&self`, generic in its lifetime) keeps it inside its future.
    #[inline(always)]
    pub unsafe fn start<F: Future>(self, start: impl FnOnce(&'static T) -> F) -> Leased<T, F> {
        // SAFETY: a lease keeps its object alive (see `Lease`); the caller keeps the reference
        // inside the future, which `Leased` drops before the lease.
        let object: &'static T = unsafe { &(*self.shared).value };
        Leased {
            future: start(object),
            _lease: self,
        }
    }
}

/// A method's future and the lease on its object ([`Lease::start`]): the future is dropped
/// first (fields drop in order), while its object is still alive.
///
/// Owner thread only (`!Send`, as its lease): a local task's future.
pub struct Leased<T: Object, F> {
    future: F,
    _lease: Lease<T>,
}

impl<T: Object, F: Future> Future for Leased<T, F> {
    type Output = F::Output;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: never moved out of `self`, which has no
        // `Drop` of its own and is `!Unpin` whenever `F` is; the lease is not pinned.
        unsafe { self.map_unchecked_mut(|leased| &mut leased.future) }.poll(cx)
    }
}

/// A shared pointer to a Rust object that OCaml may hold: `Deref`s to `T`.
///
/// `Send + Sync` exactly when `T` is: an object of a `Send + Sync` type can be handed to other
/// threads (a tokio task, a worker) and come back to OCaml through a [`crate::threads::handle::Handle`]
/// task or a channel. Converting it to OCaml (as a result, a stream item, inside an option...)
/// happens on the OCaml thread, as every conversion does. Dropping the last `Obj<T>` drops `T`
/// on the thread that drops it.
pub struct Obj<T: Object>(Arc<Shared<T>>);

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl<T: Object> Obj<T> {
    /// Makes `value` an object.
    pub fn new(value: T) -> Self {
        Obj(Arc::new(Shared {
            id: NEXT_ID.fetch_add(1, Relaxed),
            closed: AtomicBool::new(false),
            owner_side: OwnerSide {
                leases: UnsafeCell::new(NOT_PARKED),
                parked: UnsafeCell::new(None),
            },
            value,
        }))
    }

    /// The object's identity, as OCaml's `equal`, `compare` and `hash` see it: given once per
    /// object, never reused.
    pub fn id(&self) -> u64 {
        self.0.id
    }

    /// Whether an OCaml value of this object was closed (`close`): OCaml can no longer use
    /// it, though Rust code holding an `Obj<T>` still can.
    pub fn is_closed(&self) -> bool {
        self.0.closed.load(Relaxed)
    }

    /// Whether `a` and `b` are the same object.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl<T: Object> Clone for Obj<T> {
    fn clone(&self) -> Self {
        Obj(self.0.clone())
    }
}

impl<T: Object> Deref for Obj<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0.value
    }
}

impl<T: Object + fmt::Debug> fmt::Debug for Obj<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple(T::OCAML_MODULE).field(&self.0.value).finish()
    }
}

/// The ocaml-interop marker of an object's OCaml type (`Kv_store.t`).
pub struct ObjectValue<T>(PhantomData<T>);

/// The owner thread's table of objects. Its destructor (the thread-local's, at thread exit)
/// drops no object: the objects still held then are leaked (see [`release_at_exit`]).
struct Table {
    slab: RefCell<KeyedSlab<Held>>,
}

impl Table {
    /// Removes the entry of `key`.
    fn remove(&self, key: i64) -> Option<Held> {
        forget_confirmed();
        self.slab.borrow_mut().remove(key)
    }

    /// Removes every entry.
    fn take_all(&self) -> Vec<Held> {
        forget_confirmed();
        self.slab.borrow_mut().take_all()
    }

    /// Whether the entry of `key` holds the allocation at `address`, a `Shared<T>`. The type is
    /// checked too, before anything is read through `address`: a block whose words were
    /// forged (with `Obj`) may name another type's object.
    fn holds<T: Object>(&self, key: i64, address: *const Shared<T>) -> bool {
        self.slab.borrow().get(key).is_some_and(|held| {
            std::ptr::addr_eq(held.address, address) && held.entry.as_any().is::<Shared<T>>()
        })
    }
}

/// The last method receiver checked in full ([`confirm`]): its key, its object's id and
/// address. A method called again on the same value (the common case) is checked against it
/// alone, a load and two comparisons, without the table's borrow and lookup or the object's
/// reads.
///
/// Why a match is enough: the block's id names one object (ids are never reused, across all
/// types, so with the block's type checked the object is a `Shared<T>`: true of every block
/// `to_ocaml` made and of its `Obj.dup` copies; a block whose words were rewritten with `Obj`
/// is as far outside OCaml's type safety as `Obj.magic`, and only the full check holds it off), which is at
/// `address`; when it was confirmed, the block's key held it in the table and it was open.
/// Both stay true until an entry is removed or an object closed, and each of those forgets
/// the confirmation: [`Table::remove`] and [`Table::take_all`] are the only ways out of the
/// table, and every object marked closed was taken out of it first ([`close`],
/// [`release_at_exit`]). Nor does a match look at the shutdown flag: shutdown forgets the
/// confirmation before any OCaml callback runs (a stream method's body runs before the stream
/// is refused, so the stubs' own checks are not enough), and [`confirm`] confirms nothing
/// afterwards.
///
/// Owner thread only (a thread-local): set and read by method stubs, forgotten by the table's
/// removals, all on the thread that owns the table. No destructor, so reaching it needs no
/// registration check.
struct Confirmed {
    key: Cell<i64>,
    /// [`NO_ID`] while nothing is confirmed.
    id: Cell<i64>,
    address: Cell<*const ()>,
}

/// No object has this id (they count from 1): a block never matches a forgotten confirmation.
const NO_ID: i64 = 0;

thread_local! {
    /// The owner thread's objects held by OCaml values, by key.
    static TABLE: Table = const {
        Table {
            slab: RefCell::new(KeyedSlab::new()),
        }
    };

    /// The owner thread's last confirmed receiver (see [`Confirmed`]).
    static CONFIRMED: Confirmed = const {
        Confirmed {
            key: Cell::new(-1),
            id: Cell::new(NO_ID),
            address: Cell::new(std::ptr::null()),
        }
    };
}

/// Forgets the confirmed receiver: an entry is about to leave the table, or shutdown began
/// (after which [`confirm`] confirms nothing, so no receiver skips its shutdown check).
pub(crate) fn forget_confirmed() {
    CONFIRMED.with(|confirmed| confirmed.id.set(NO_ID));
}

/// A table entry: the object, and its address as a thin pointer, which a method's receiver
/// compares with the address in its block without reading the entry's vtable.
struct Held {
    address: *const (),
    entry: Arc<dyn Entry>,
}

impl Held {
    fn new(entry: Arc<dyn Entry>) -> Self {
        Held {
            address: Arc::as_ptr(&entry).cast(),
            entry,
        }
    }
}

impl Drop for Table {
    /// Runs when thread-locals are destroyed (the process exiting): outside any stub, so an
    /// object's destructor could neither call OCaml nor use the runtime, and a panic there
    /// would abort. What is left (objects made after `release_at_exit`) is leaked, as tasks
    /// still pending at exit are.
    fn drop(&mut self) {
        std::mem::forget(self.slab.get_mut().take_all());
    }
}

/// Keys of values the GC finalised, from any thread, for the owner to release.
static FINALISED: Mutex<Vec<i64>> = Mutex::new(Vec::new());

/// Whether [`FINALISED`] may hold keys: set with the lock held after a push, cleared with the
/// lock held when the keys are taken. Every drain reads it, and takes the lock only when set.
///
/// Set and read `SeqCst`, like the drain request: a finaliser sets it, then asks for a drain
/// (a `SeqCst` swap) and sends nothing if one was asked for already; a drain clears that
/// request (a `SeqCst` store), then reads this flag. Only with all four in the single `SeqCst`
/// order must a drain whose clearing came after the finaliser's swap see the flag set (an
/// `Acquire` read may be served before the clearing store: `ldapr` after `stlr` on AArch64),
/// so a key is never left for a drain that nobody asks for.
static ANY_FINALISED: AtomicBool = AtomicBool::new(false);

/// The three words of an object's custom block: key, id, object address.
///
/// # Safety
/// `value` is a custom block of an object type (its operations checked), runtime lock held.
unsafe fn words(value: RawOCaml) -> *mut [i64; 3] {
    // SAFETY: the caller's contract: the block's data (field 1 on: field 0 is the operations
    // pointer) is the three words written by `to_ocaml`.
    unsafe { sys::field(value, 1).cast::<[i64; 3]>() }
}

/// Whether `value` is a custom block with `T`'s operations.
///
/// # Safety
/// Runtime lock held; `value` is a valid OCaml value.
unsafe fn has_type<T: Object>(value: RawOCaml) -> bool {
    // SAFETY: a block has a header (tag) and, being a custom block (tag checked first), its
    // field 0 is the operations pointer.
    sys::is_block(value)
        && unsafe { sys::tag_val(value) } == conv::tag::CUSTOM
        && unsafe { *sys::field(value, 0) } as *const custom_operations
            == T::operations().raw().cast_const()
}

unsafe extern "C" fn finalize(value: RawOCaml) {
    // SAFETY: OCaml calls the finaliser on one of our blocks, whose data is the three words.
    let key = unsafe { (*words(value))[0] };
    // After shutdown the table is empty: nothing is left to release.
    if key < 0 || runtime::is_shut_down() {
        return;
    }
    // Inside the GC: no OCaml call, no table. A poisoned lock still holds a valid Vec.
    let mut finalised = FINALISED.lock().unwrap_or_else(|p| p.into_inner());
    finalised.push(key);
    ANY_FINALISED.store(true, SeqCst);
    drop(finalised);
    // After the push: a drain that clears the request takes the key with it, or a later
    // request comes. The request is kept until a drain runs (before the executor started
    // too), so the object is released at the next stub exit or turn of the Lwt loop.
    runtime::request_drain_from_any_thread();
}

unsafe extern "C" fn compare(a: RawOCaml, b: RawOCaml) -> i32 {
    // SAFETY: OCaml compares two blocks of the same operations (ours).
    let (a, b) = unsafe { ((*words(a))[1], (*words(b))[1]) };
    a.cmp(&b) as i32
}

unsafe extern "C" fn hash(value: RawOCaml) -> sys::Intnat {
    // SAFETY: one of our blocks.
    unsafe { (*words(value))[1] as sys::Intnat }
}

/// Drops the objects whose OCaml values the GC finalised (owner thread, outside the GC).
pub(crate) fn release_finalised() {
    // A key pushed after this read comes with a drain request of its own (see `finalize`).
    if !ANY_FINALISED.load(SeqCst) {
        return;
    }
    let keys = {
        let mut finalised = FINALISED.lock().unwrap_or_else(|p| p.into_inner());
        ANY_FINALISED.store(false, Relaxed);
        std::mem::take(&mut *finalised)
    };
    if keys.is_empty() {
        return;
    }
    let released: Vec<_> = TABLE.with(|table| {
        keys.iter()
            .filter_map(|&key| table.remove(key))
            .map(|held| held.entry)
            .collect()
    });
    released.into_iter().for_each(release);
}

/// Drops every object OCaml holds (`Lwt_rust.shutdown`, after the tasks): values made later
/// hold nothing, and using any of them raises `Lwt_rust.Shut_down`.
pub(crate) fn release_all() {
    release_finalised();
    let all = TABLE.with(Table::take_all);
    all.into_iter().map(|held| held.entry).for_each(release);
}

/// Drops every object OCaml still holds as the process exits (an OCaml `at_exit` function,
/// inside a stub: destructors may call OCaml and use the runtime). Unlike [`release_all`] the
/// bridge goes on: values still in use stop working (`Lwt_rust.Closed`), and objects made
/// afterwards are leaked at exit by the table's destructor.
pub(crate) fn release_at_exit() {
    release_finalised();
    // A destructor may make or close objects: repeat until none is left (bounded, in case a
    // destructor makes a new object each time).
    for _ in 0..100 {
        let all = TABLE.with(Table::take_all);
        if all.is_empty() {
            return;
        }
        for Held { entry, .. } in all {
            mark_closed(&entry);
            release(entry);
        }
    }
}

/// Marks the object of `entry` closed (its OCaml values no longer reach it).
fn mark_closed(entry: &Arc<dyn Entry>) {
    entry.closed().store(true, Relaxed);
}

/// How many objects OCaml values hold (`Lwt_rust.stats`-style count, for tests).
pub fn live_objects() -> usize {
    TABLE.with(|table| table.slab.borrow().len())
}

/// Checks the OCaml value `value` of type `T`, and gives its object to `found` (borrowed from
/// the table, not cloned): `Err` says why it is unusable.
///
/// # Safety
/// Owner thread, runtime lock held; `value` is a valid OCaml value.
#[inline]
unsafe fn with_object<T: Object, R>(
    value: RawOCaml,
    found: impl FnOnce(&Arc<dyn Entry>) -> R,
) -> Result<R, Refusal> {
    // SAFETY: the caller's contract.
    if !unsafe { has_type::<T>(value) } {
        return Err(Refusal::WrongType);
    }
    // SAFETY: a block of `T`'s operations (checked above).
    let key = unsafe { (*words(value))[0] };
    if key < 0 {
        return Err(Refusal::Closed);
    }
    TABLE.with(|table| {
        let table = table.slab.borrow();
        let entry = &table.get(key).ok_or(Refusal::Closed)?.entry;
        match entry.as_any().downcast_ref::<Shared<T>>() {
            None => Err(Refusal::WrongType),
            Some(shared) if shared.closed.load(Relaxed) => Err(Refusal::Closed),
            Some(_) => Ok(found(entry)),
        }
    })
}

/// The object of the OCaml value `value` of type `T`, shared.
///
/// # Safety
/// As [`with_object`].
#[inline]
unsafe fn lookup<T: Object>(value: RawOCaml) -> Result<Obj<T>, Refusal> {
    // SAFETY: the caller's contract.
    unsafe {
        with_object::<T, _>(value, |entry| {
            // SAFETY: `with_object` checked that the entry is an `Arc<Shared<T>>` (turned into
            // an `Arc<dyn Entry>`): the pointer is the same allocation, so its clone converts
            // back.
            Obj(Arc::from_raw(
                Arc::into_raw(entry.clone()).cast::<Shared<T>>(),
            ))
        })
    }
}

/// The object of a method's receiver (the `this` of the stubs `#[lwt_rust::object]` makes):
/// the hot path of every method call. Besides the block's type, it compares the block's key
/// and id with the receiver confirmed last (see `Confirmed`); any other value goes through
/// `confirm`, the full check.
///
/// # Safety
/// Owner thread, inside a stub, runtime lock held; `value` is a valid OCaml value.
#[inline]
pub unsafe fn receiver<T: Object>(value: RawOCaml) -> Result<Lease<T>, conv::ArgError> {
    // SAFETY: the caller's contract.
    if !unsafe { has_type::<T>(value) } {
        return Err(Refusal::WrongType.arg_error::<T>());
    }
    // SAFETY: a block of `T`'s operations (checked above): its words were written by
    // `to_ocaml::<T>`.
    let [key, id, address] = unsafe { *words(value) };
    let confirmed = CONFIRMED.with(|confirmed| {
        (confirmed.id.get() == id && confirmed.key.get() == key).then(|| confirmed.address.get())
    });
    let shared = match confirmed {
        // The block's id names a `Shared<T>` (see `Confirmed`).
        Some(address) => address.cast::<Shared<T>>(),
        // SAFETY: the caller's contract.
        None => unsafe { confirm::<T>(key, id, address) }.map_err(Refusal::arg_error::<T>)?,
    };
    // SAFETY: confirmed alive (held by the table) and open; owner thread, so the lease count is
    // ours to change.
    unsafe { *(*shared).owner_side.leases.get() += 1 };
    Ok(Lease { shared })
}

/// The full check of a method's receiver, whose block (of `T`'s type, checked) holds `key`,
/// `id` and `address`: the object at `address`, which is now [`Confirmed`].
///
/// Why the address is valid: it is used only once the table's entry for the block's key is
/// found to hold that very allocation (a generation-checked slab lookup and a pointer
/// comparison, no hashing). Without that check, a block copied with `Obj.dup` would keep the
/// address after `close` or the finaliser of the other copy dropped the object.
///
/// # Safety
/// Owner thread, inside a stub, runtime lock held; the three words are a block's of type `T`.
#[cold]
#[inline(never)]
unsafe fn confirm<T: Object>(key: i64, id: i64, address: i64) -> Result<*const Shared<T>, Refusal> {
    if key < 0 || runtime::is_shut_down() {
        return Err(Refusal::Closed);
    }
    let shared = address as *const Shared<T>;
    // A copy of the block (`Obj.dup`) keeps the key of an entry that `close` or the finaliser
    // of the other copy removed: the address must not be trusted before the table confirms
    // that the key still holds this very allocation. (A key whose slot was reused has another
    // generation; the id, read only once the allocation is known alive, settles the rest.)
    let held = TABLE.with(|table| table.holds(key, shared))
        // SAFETY: the entry holds this allocation (just confirmed), so it is alive.
        && unsafe { (*shared).id } as i64 == id;
    // SAFETY: as above (read only once held).
    if !held || unsafe { (*shared).closed.load(Relaxed) } {
        return Err(Refusal::Closed);
    }
    CONFIRMED.with(|confirmed| {
        confirmed.key.set(key);
        confirmed.id.set(id);
        confirmed.address.set(shared.cast());
    });
    Ok(shared)
}

enum Refusal {
    WrongType,
    Closed,
}

impl Refusal {
    /// What a stub reports for a value of type `T` refused for this reason.
    fn arg_error<T: Object>(self) -> conv::ArgError {
        match self {
            Refusal::WrongType => {
                conv::ArgError::WrongType(format!("expected a value of type {}.t", T::OCAML_MODULE))
            }
            Refusal::Closed => conv::ArgError::Closed(T::OCAML_MODULE),
        }
    }
}

/// An object's OCaml type is its abstract type, its module's name uncapitalised (`kv_store`).
impl<T: Object> conv::OCamlTypeText for ObjectValue<T> {
    const OCAML_TYPE: conv::TypeText = crate::values::type_text::object_type(T::OCAML_MODULE);
}

impl<T: Object> OCamlRepr for Obj<T> {
    type Marker = ObjectValue<T>;

    fn ocaml_type() -> String {
        format!("{}.t", T::OCAML_MODULE)
    }

    unsafe fn check(value: RawOCaml) -> bool {
        // SAFETY: the trait's contract (runtime lock held, valid value); conversions run on
        // the owner thread (they need the runtime handle).
        match unsafe { with_object::<T, _>(value, |_| ()) } {
            Ok(()) => true,
            Err(Refusal::WrongType) => false,
            Err(Refusal::Closed) => {
                conv::note_closed(T::OCAML_MODULE);
                false
            }
        }
    }
}

// SAFETY: reads a value `check` accepted: a live object of type `T`.
unsafe impl<T: Object> FromOCaml<ObjectValue<T>> for Obj<T> {
    fn from_ocaml(value: OCaml<ObjectValue<T>>) -> Self {
        // SAFETY: conversions run on the owner thread with the runtime lock held; the value
        // was checked by `OCamlRepr::check`.
        match unsafe { lookup::<T>(value.raw()) } {
            Ok(object) => object,
            Err(_) => panic!("lwt_rust: an unchecked {} value", T::OCAML_MODULE),
        }
    }
}

// SAFETY: makes a custom block of `T`'s operations, fully initialised before it is returned.
unsafe impl<T: Object> ToOCaml<ObjectValue<T>> for Obj<T> {
    fn to_ocaml<'a>(&self, cr: &'a mut OCamlRuntime) -> OCaml<'a, ObjectValue<T>> {
        let key = if runtime::is_shut_down() {
            NOT_HELD
        } else {
            let entry: Arc<dyn Entry> = self.0.clone();
            TABLE.with(|table| table.slab.borrow_mut().insert(Held::new(entry)))
        };
        let held = std::mem::size_of::<Shared<T>>() + 2 * std::mem::size_of::<usize>();
        // SAFETY: `cr` proves the runtime lock; the block's data is three words, written at
        // once (before any other allocation), so the finaliser and the comparisons always
        // read initialised words.
        unsafe {
            let block = sys::caml_alloc_custom_mem(
                T::operations().raw(),
                std::mem::size_of::<[i64; 3]>(),
                held,
            );
            words(block).write([key, self.0.id as i64, Arc::as_ptr(&self.0) as i64]);
            OCaml::new(cr, block)
        }
    }
}

/// `close` on the OCaml value `value` of type `T` (the body of the stub
/// `#[lwt_rust::object]` makes): marks the object closed and drops this value's hold, at once,
/// on the owner thread. Idempotent. `Err` for a value of another type.
///
/// # Safety
/// Owner thread, inside a stub (runtime lock held); `value` is a valid OCaml value, read
/// before any allocation.
pub unsafe fn close<T: Object>(value: RawOCaml) -> Result<(), String> {
    // SAFETY: the caller's contract.
    if !unsafe { has_type::<T>(value) } {
        return Err(format!("expected a value of type {}.t", T::OCAML_MODULE));
    }
    // SAFETY: a block of `T`'s operations.
    let words = unsafe { words(value) };
    // SAFETY: as above; the block does not move while we hold no OCaml allocation.
    let key = unsafe { (*words)[0] };
    if key < 0 {
        return Ok(());
    }
    // SAFETY: as above.
    unsafe { (*words)[0] = CLOSED };
    let entry = TABLE.with(|table| table.remove(key));
    if let Some(Held { entry, .. }) = entry {
        mark_closed(&entry);
        // The entry is out of the table and the object marked: a panic of the destructor is
        // the caller's to see (`close` raises `Lwt_rust.Rust_panic`), nothing is left half done.
        if let Some(panic) = release_or_panic(entry) {
            std::panic::resume_unwind(panic);
        }
    }
    Ok(())
}
