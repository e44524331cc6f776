//! Rust async functions used by the repository's OCaml tests, demo, benchmarks and examples.
//!
//! They are written the way a user of the crate writes theirs, in a crate of their own that
//! depends on `lwt_rust`, built as the one staticlib of every test program (`testlib/dune`).
//! Their OCaml bindings (module `Lwt_rust_testlib`) are generated from the compiled crate by
//! `lwt-rust-bindgen`: the OCaml names are the Rust names, the C symbols the attributes' own
//! (`lwt_rust_<n>_lwt_rust_testlib_...`; the typed echoes give part of theirs with
//! `name = "..."`; the hand-written stubs keep `lwt_rust_demo_*`). The few stubs written by hand (for what no Rust type
//! can say: polymorphic promises, resolvers, misuse of the internals) use
//! `lwt_rust::__private`, internals kept out of the API, and declare their OCaml type with
//! `#[lwt_rust::external]`. Every stub runs on the OCaml thread, inside a stub guard, except
//! `add_sync`.

// Names the attributes derive from the items' (the stubs', the records') must not draw these
// lints in a user's crate (`symbols.rs` has items named with a leading underscore).
#![deny(nonstandard_style)]

mod blocking;
mod misuse;
mod object_drops;
mod objects;
mod pool;
#[rustfmt::skip]
mod docs;
mod stream_batches;
mod streams;
mod symbols;
mod threads;
mod types;
mod types_doc;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use ocaml::Raw;
use ocaml_interop::{OCaml, OCamlInt, ToOCaml};

use lwt_rust::{
    __private::{attach_promise, root_from_raw, root_raw},
    conv::{Array, Bytes, Int64, Lwt, Opaque},
    lwt_stub, spawn, with_runtime, Error, OCamlFn, Root,
};

/// `callback_loop : (unit -> unit Lwt.t) -> int -> int Lwt.t`: calls `f ()` and awaits its
/// promise, `n` times in sequence, then resolves with the number of completed calls. An
/// exception from `f` (raised or carried by its promise) rejects the result with that same
/// exception.
#[lwt_rust::func]
pub async fn callback_loop(f: OCamlFn<(), ()>, n: i64) -> Result<i64, Error> {
    let mut completed = 0;
    while completed < n {
        f.call(&())?.await?;
        completed += 1;
    }
    Ok(completed)
}

/// `echo : 'a Lwt.t -> 'a Lwt.t`: a Rust task awaits the promise and returns what it got: the
/// same value, or the same exception.
#[lwt_rust::external(ocaml = "'a Lwt.t -> 'a Lwt.t")]
#[export_name = "lwt_rust_demo_echo"]
pub extern "C" fn echo(promise: Raw) -> Raw {
    lwt_stub(|| {
        // SAFETY: OCaml context; `promise` is a live argument, attached before any
        // allocation.
        let awaited = unsafe { attach_promise::<Opaque>(promise.0) };
        spawn::<Opaque, _, _>(async move { Ok(awaited.await?) })
    })
}

/// `pending : unit -> int Lwt.u * int Lwt.t`: Rust creates a pending promise and hands its
/// resolver to OCaml; a Rust task awaits it and resolves the returned promise with the value
/// plus one.
#[lwt_rust::external(ocaml = "unit -> int Lwt.u * int Lwt.t")]
#[export_name = "lwt_rust_demo_pending"]
pub extern "C" fn pending(_unit: Raw) -> Raw {
    lwt_stub(|| {
        let (awaited, resolver) = lwt_rust::Promise::<OCamlInt>::pending();
        let result = spawn::<OCamlInt, i64, _>(async move {
            let value = awaited.await?;
            Ok(with_runtime(|cr| value.to_rust::<i64>(cr)) + 1)
        });
        // SAFETY: OCaml context; `result` is rooted before the tuple is allocated, and the
        // pair is returned to OCaml at once.
        with_runtime(|cr| unsafe {
            let result: Root<Lwt<OCamlInt>> = root_from_raw(result.0);
            Raw((resolver, result).to_ocaml(cr).raw())
        })
    })
}

/// `panic_after_await : unit Lwt.t -> unit Lwt.t`: awaits the promise, then panics.
#[lwt_rust::external(ocaml = "unit Lwt.t -> unit Lwt.t")]
#[export_name = "lwt_rust_demo_panic_after_await"]
pub extern "C" fn panic_after_await(promise: Raw) -> Raw {
    lwt_stub(|| {
        // SAFETY: as in `echo`.
        let awaited = unsafe { attach_promise::<()>(promise.0) };
        spawn::<(), (), _>(async move {
            awaited.await?;
            panic!("deliberate panic in a Rust task");
        })
    })
}

/// `rust_error : string -> unit Lwt.t`: a task that fails with a Rust error carrying the text.
#[lwt_rust::func]
pub async fn rust_error(message: String) -> Result<(), Error> {
    Err(Error::Rust(message))
}

/// Pending for two polls, waking itself each time: `spawn`'s first probe and the task's first
/// run both see it pending, so it completes from the executor's queue (the task path).
pub async fn yield_once() {
    let mut polls = 0;
    futures::future::poll_fn(|cx| {
        polls += 1;
        if polls > 2 {
            std::task::Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

async fn maybe_yield(yield_first: bool) {
    if yield_first {
        yield_once().await
    }
}

macro_rules! typed_echo {
    ($($name:ident = $symbol:literal : $ty:ty),* $(,)?) => {$(
        /// Returns its argument, after yielding once if asked: a typed round trip.
        #[lwt_rust::func(name = $symbol)]
        pub async fn $name(value: $ty, yield_first: bool) -> $ty {
            maybe_yield(yield_first).await;
            value
        }
    )*};
}

typed_echo! {
    echo_unit = "lwt_rust_demo_echo_unit": (),
    echo_bool = "lwt_rust_demo_echo_bool": bool,
    echo_int = "lwt_rust_demo_echo_int": i64,
    echo_int32 = "lwt_rust_demo_echo_int32": i32,
    echo_int64 = "lwt_rust_demo_echo_int64": Int64,
    echo_float = "lwt_rust_demo_echo_float": f64,
    echo_string = "lwt_rust_demo_echo_string": String,
    echo_bytes = "lwt_rust_demo_echo_bytes": Bytes,
    echo_int_option = "lwt_rust_demo_echo_int_option": Option<i64>,
    echo_result = "lwt_rust_demo_echo_result": Result<i64, String>,
    echo_string_list = "lwt_rust_demo_echo_string_list": Vec<String>,
    echo_int_array = "lwt_rust_demo_echo_int_array": Array<i64>,
    echo_float_array = "lwt_rust_demo_echo_float_array": Array<f64>,
    echo_tuple = "lwt_rust_demo_echo_tuple": (i64, String, f64),
    echo_nested = "lwt_rust_demo_echo_nested": Vec<Option<(i64, Vec<String>)>>,
}

/// `divide : int -> int -> int Lwt.t`: a `Result` return: `Err` becomes `Rust_error`.
#[lwt_rust::func]
pub async fn divide(a: i64, b: i64) -> Result<i64, String> {
    yield_once().await;
    a.checked_div(b)
        .ok_or_else(|| format!("cannot divide {a} by {b}"))
}

/// Futures dropped so far by [`DropCounted`] guards.
pub(crate) static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Counts its drop in [`DROPPED`].
pub(crate) struct DropCounted;

impl Drop for DropCounted {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, Relaxed);
    }
}

/// `dropped_futures : unit -> int`: how many guarded demo futures have been dropped.
#[lwt_rust::func]
pub fn dropped_futures() -> i64 {
    DROPPED.load(Relaxed) as i64
}

/// `never : unit -> unit Lwt.t`: a future that never completes and counts its drop.
#[lwt_rust::func]
pub async fn never() {
    let _guard = DropCounted;
    // Keep a waker registered so the task stays alive (only cancellation ends it).
    futures::future::poll_fn(|cx| {
        let _ = cx.waker();
        std::task::Poll::<()>::Pending
    })
    .await;
}

/// `guarded_echo : 'a Lwt.t -> 'a Lwt.t`: as `echo`, with a drop-counted guard in the future.
#[lwt_rust::external(ocaml = "'a Lwt.t -> 'a Lwt.t")]
#[export_name = "lwt_rust_demo_guarded_echo"]
pub extern "C" fn guarded_echo(promise: Raw) -> Raw {
    lwt_stub(|| {
        // SAFETY: OCaml context; `promise` is a live argument, attached before any
        // allocation.
        let awaited = unsafe { attach_promise::<Opaque>(promise.0) };
        spawn::<Opaque, _, _>(async move {
            let _guard = DropCounted;
            Ok(awaited.await?)
        })
    })
}

/// `first_of : 'a Lwt.t -> 'a Lwt.t -> 'a Lwt.t`: the outcome of whichever promise settles
/// first; the other `Promise` is dropped, which cancels it if it is cancelable.
#[lwt_rust::external(ocaml = "'a Lwt.t -> 'a Lwt.t -> 'a Lwt.t")]
#[export_name = "lwt_rust_demo_first_of"]
pub extern "C" fn first_of(first: Raw, second: Raw) -> Raw {
    lwt_stub(|| {
        // SAFETY: OCaml context; both arguments are attached before anything allocates on
        // the OCaml heap (attaching allocates only Rust memory and calls OCaml with the
        // value it is given; `second` is an argument of this stub frame, which OCaml's GC
        // does not update, so it is rooted first).
        let second: Root<Lwt<Opaque>> = unsafe { root_from_raw(second.0) };
        let first = unsafe { attach_promise::<Opaque>(first.0) };
        let second = unsafe { attach_promise::<Opaque>(root_raw(&second)) };
        spawn::<Opaque, _, _>(async move {
            let _guard = DropCounted;
            match futures::future::select(first, second).await {
                futures::future::Either::Left((outcome, _loser))
                | futures::future::Either::Right((outcome, _loser)) => Ok(outcome?),
            }
        })
    })
}

/// `forgotten : unit -> unit Lwt.t`: a future that returns `Pending` without keeping its
/// waker, so nothing can ever wake it. Its promise stays pending (as for any future that
/// never completes) and `Lwt.cancel` frees it.
#[lwt_rust::func]
pub async fn forgotten() {
    let _guard = DropCounted;
    std::future::pending::<()>().await
}

/// Panics in its destructor.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("deliberate panic in a destructor");
    }
}

/// `panic_in_drop : bool -> unit Lwt.t`: completes (after yielding if asked) while holding a
/// value whose destructor panics.
#[lwt_rust::func]
pub async fn panic_in_drop(yield_first: bool) {
    let _guard = PanicOnDrop;
    maybe_yield(yield_first).await;
}

/// `never_panic_in_drop : unit -> unit Lwt.t`: never completes; its destructor panics when
/// the promise is cancelled.
#[lwt_rust::func]
pub async fn never_panic_in_drop() {
    let _guard = PanicOnDrop;
    futures::future::poll_fn(|cx| {
        let _ = cx.waker();
        std::task::Poll::<()>::Pending
    })
    .await;
}

/// A value whose conversion to OCaml panics.
#[lwt_rust::ocaml_type("int")]
pub struct Unconvertible;

impl lwt_rust::conv::OCamlRepr for Unconvertible {
    type Marker = OCamlInt;
    unsafe fn check(_: ocaml::sys::Value) -> bool {
        true
    }
}

// SAFETY: never returns a value: it panics.
unsafe impl ToOCaml<OCamlInt> for Unconvertible {
    fn to_ocaml<'a>(&self, _: &'a mut ocaml_interop::OCamlRuntime) -> OCaml<'a, OCamlInt> {
        panic!("deliberate panic in a conversion")
    }
}

/// `panic_in_conversion : bool -> int Lwt.t`: its output's conversion to OCaml panics.
#[lwt_rust::func]
pub async fn panic_in_conversion(yield_first: bool) -> Unconvertible {
    maybe_yield(yield_first).await;
    Unconvertible
}

// Benchmark stubs (bench/bench.ml): the same addition three ways.

/// `add_ready : int -> int -> int Lwt.t`: a Rust async fn whose future is ready on its first
/// poll, so the stub returns an already resolved promise (no task).
#[lwt_rust::func]
pub async fn add_ready(a: i64, b: i64) -> i64 {
    a.wrapping_add(b)
}

/// `add_yield : int -> int -> int Lwt.t`: the same addition after yielding once
/// ([`yield_once`]), so it completes from the executor's queue (the task path).
#[lwt_rust::func]
pub async fn add_yield(a: i64, b: i64) -> i64 {
    yield_once().await;
    a.wrapping_add(b)
}

/// `finish_on_task_poll : int -> int Lwt.t`: pending on `spawn`'s first probe only (it wakes
/// itself once), so the task's first poll, made before the task's promise exists, finishes it
/// with `n + 1`; with `n = 0` it fails there with a Rust error, with `n < 0` it panics there.
#[lwt_rust::func]
pub async fn finish_on_task_poll(n: i64) -> Result<i64, Error> {
    let mut polls = 0;
    futures::future::poll_fn(|cx| {
        polls += 1;
        if polls > 1 {
            std::task::Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
    match n {
        0 => Err(Error::Rust("zero".to_owned())),
        n if n < 0 => panic!("deliberate panic on the task's first poll"),
        n => Ok(n + 1),
    }
}

/// `add_sync : int -> int -> int`: a plain synchronous external doing the same addition, the
/// baseline of the calls above. It reads and returns immediates only, touches neither the
/// OCaml heap nor this crate's state, so it needs no stub guard and may be called from any
/// thread holding the runtime lock (`Lwt_preemptive.detach` calls it from a worker): written
/// by hand for that (a `#[lwt_rust::func]` stub runs guarded, on the OCaml thread). It neither
/// allocates nor calls OCaml: its binding is `[@@noalloc]`.
#[lwt_rust::external(ocaml = "int -> int -> int [@@noalloc]")]
#[export_name = "lwt_rust_demo_add_sync"]
pub extern "C" fn add_sync(a: Raw, b: Raw) -> Raw {
    // SAFETY: both arguments are OCaml ints (immediates): no pointer is dereferenced.
    unsafe {
        let sum = ocaml::sys::int_val(a.0).wrapping_add(ocaml::sys::int_val(b.0));
        Raw(ocaml::sys::val_int(sum))
    }
}

/// `direct_return : unit -> bool`: whether ready calls build their `Lwt.return` block
/// themselves, i.e. the start-up probe of the layout passed (printed by the benchmark).
#[lwt_rust::func]
pub fn direct_return() -> bool {
    lwt_rust::__private::direct_return()
}

/// `trim_malloc : unit -> unit`: hands the C heap's free memory back to the system (glibc's
/// `malloc_trim`; nothing elsewhere), so that the benchmarks' RSS measurements start from the
/// same floor however much earlier runs allocated and freed.
#[lwt_rust::func]
pub fn trim_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: glibc's malloc_trim takes no pointer and is safe to call at any time.
        unsafe { malloc_trim(0) };
    }
}

/// `out_of_range : bool -> int Lwt.t`: returns 2^62, one more than OCaml's `max_int`, after
/// yielding if asked: refused with `Rust_error`, never truncated.
#[lwt_rust::func]
pub async fn out_of_range(yield_first: bool) -> i64 {
    maybe_yield(yield_first).await;
    1 << 62
}

/// `out_of_range_nested : unit -> (int * int list) option Lwt.t`: a value whose one nested
/// `int` does not fit (`min_int - 1`).
#[lwt_rust::func]
pub async fn out_of_range_nested() -> Option<(i64, Vec<i64>)> {
    Some((1, vec![2, -(1 << 62) - 1]))
}

/// `panic : string -> unit Lwt.t`: panics at once with the message (the panic report tests).
#[lwt_rust::func]
pub async fn panic(message: String) {
    panic!("{message}");
}

/// `crate_version : unit -> string`: the version of the `lwt_rust` crate linked in.
#[lwt_rust::func]
pub fn crate_version() -> String {
    lwt_rust::VERSION.to_owned()
}

// Every name the code `#[lwt_rust::func]` and `#[lwt_rust::object]` generate may call, in the
// one namespace made for it: this crate stops building if one goes missing.
#[allow(unused_imports)]
use lwt_rust::__private::{
    close_stub, from_ocaml_checked, futures as _, into_error, lwt_stub as _, ocaml as _, receiver,
    refused_argument, refused_argument_stream, refused_argument_sync, run_blocking, spawn_result,
    spawn_value as _, stream_result, stream_stub, sync_result, sync_stub, sync_value,
    with_runtime as _, ArgError, Lease, OCamlRepr, Obj as _, Object, ObjectOps,
};
