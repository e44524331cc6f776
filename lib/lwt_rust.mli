(** Run Rust async code from an Lwt program, and let it await Lwt promises.

    Rust functions exposed with lwt_rust return ['a Lwt.t]: each call runs a Rust future as
    a task on an executor that lives on this (the main) thread, driven by the Lwt event loop
    through one [Lwt_unix] notification. Rust tasks can await OCaml promises and call OCaml
    closures; their values and exceptions cross over unchanged.

    {2:threads Threads}

    Everything here must be called from the thread that runs [Lwt_main.run] (the main
    thread, which initialises this module). A call from any other thread (an OCaml
    systhread, a Rust thread, on OCaml 5 another domain) never reaches the bridge's state:
    the functions below raise {!Wrong_thread}, and a Rust function returns a promise rejected
    with it (a stream whose first read fails with it). An awaited promise settled, or a Rust
    task's promise cancelled, from another thread is handed over to the main thread: the
    cancel takes effect at its next turn of the Lwt loop, and the awaiting Rust code gets
    {!Wrong_thread} instead of the value. From other threads, use a Rust
    [lwt_rust::Handle]. The library sets up its GC roots (boxroot) when this module is initialised,
    which happens after the threads library initialises and before your program's own code
    runs. Boxroot cannot detect a thread created by a module initialised before [Lwt_rust];
    the bridge still works then, since it creates every root on the thread that set boxroot
    up, but such a thread is best avoided. *)

(** {1 Exceptions} *)

exception Rust_panic of string
(** A Rust task panicked; the payload is the panic message, cut at 4096 bytes (a longer one
    ends with a note giving its full length). The panic was caught in Rust: the executor goes
    on running other tasks. *)

exception Rust_error of string
(** A Rust task returned an error of its own (not an OCaml exception); the payload is the
    error's text. *)

exception Task_dropped of string
(** A Rust task was dropped before it finished (for example by a bug in Rust code, or because
    the executor went away), so it will never produce a value. The payload says why. *)

exception Setup_failed of string
(** Raised when this module is initialised (before the program's own code runs) if the Rust
    half cannot serve this OCaml library: the Rust crate linked into the program speaks
    another protocol than this library (they come from different releases; the payload names
    both versions), or the GC root library (boxroot) reports an error at setup (out of memory,
    or its hooks into the runtime were replaced; the payload is boxroot's message). *)

exception Shut_down
(** Raised by (the promises of) Rust functions called after {!shutdown}, and the rejection of
    Rust tasks still pending when it ran. *)

exception Wrong_thread of string
(** The bridge was used from a thread other than the one that owns it (see {!section-threads}
    above); the payload names the entry point. Nothing was run, and no Rust state was
    touched. *)

exception Closed of string
(** A Rust object (a type made with [#[lwt_rust::object]], see docs/05-objects.md) was
    used after its [close]: the payload says which type. Raised by the generated functions
    of ordinary (synchronous) Rust functions; an [async] method returns a promise rejected with
    it. *)

(** {1 Initialisation} *)

val version : string
(** The version of this OCaml library. The Rust crate linked into the program must speak the
    same protocol (checked at start-up, see {!Setup_failed}). *)

val init : unit -> unit
(** [init ()] creates the [Lwt_unix] notification that drives the Rust executor and starts
    the executor. Idempotent. Calling it is optional: the first call of any Rust function
    that spawns a task calls it. Call it early if you want the notification created at a
    known time.

    @raise Wrong_thread off the main thread. *)

val set_drain_budget : int -> unit
(** [set_drain_budget n] sets how many ready Rust tasks one notification handler call polls
    before handing control back to the Lwt loop (default 256). Work left over is picked up
    by a fresh notification, so Lwt I/O is never starved by Rust tasks.

    @raise Invalid_argument if [n < 1]. *)

val set_submission_capacity : int -> unit
(** [set_submission_capacity n] sets how many tasks other threads may submit through a Rust
    [lwt_rust::Handle] before they start running on this thread (default 65536).
    Beyond it, [Handle::try_spawn] fails at once with [Full] and [Handle::spawn] waits for
    room. Wakes of running tasks are never limited.

    @raise Invalid_argument if [n < 1] or a handle already exists.
    @raise Wrong_thread off the main thread. *)

val set_tokio_workers : int -> unit
(** [set_tokio_workers n] sets the worker threads of the tokio runtime the library starts
    before it polls the first Rust task, so that tokio works in Rust functions from the first
    call ([0]: one per core, the default). Call it before the first call of a Rust function
    returning a promise or a stream.

    @raise Invalid_argument if the runtime has started, [n < 0], or the library was built
    without its [tokio] feature.
    @raise Wrong_thread off the main thread. *)

(** {1 Panic reports}

    A panic in Rust code called from OCaml is contained: the call's promise (or stream read)
    fails with {!Rust_panic} carrying the panic's message, whatever is printed. Rust's panic
    hook also prints each panic on stderr (message, location, and a ~40-frame backtrace when
    [RUST_BACKTRACE=1]); so that a bug hit by every request of a loaded server cannot flood
    its logs, the library wraps that hook when it starts and bounds what it prints. The mode
    applies to every panic of the process, on any thread; a panic hook the program sets
    afterwards (in Rust) replaces this one. Each report is bounded in size too: a message
    longer than 4096 bytes is printed cut there, with a note giving its full length. *)

type panic_report =
  | Report_all  (** Every panic printed in full by the wrapped hook. *)
  | Report_first of int
      (** The first [n] panics from now on printed in full; after that, one line counting the
          panics left out (with the latest message) at the first one, then at most one such
          line every 10 s. The default is [Report_first 10]. *)
  | Report_none
      (** Nothing printed: the program reports {!Rust_panic} as it sees fit. *)

val set_panic_report : panic_report -> unit
(** [set_panic_report r] sets how panics are printed on stderr (see above).

    @raise Invalid_argument on [Report_first n] with [n < 0]. *)

(** {1 Streams}

    A Rust function can return a [futures::Stream] as an ['a Lwt_stream.t] (declare it with
    [#\[lwt_rust::func(stream)\]]: [lwt-rust-bindgen] writes its OCaml binding), and take an
    ['a Lwt_stream.t] argument, which Rust reads as a [Stream] ([lwt_rust::OCamlStream]).

    A stream from Rust is read on demand: when the Lwt stream needs an item
    ([Lwt_stream.get], [Lwt_stream.iter_s], ...) and holds none from Rust, the Rust stream is
    asked for one, and every further item it has ready at that moment crosses with it, up to
    64, in order. So a slow reader never makes Rust hold more than 64 items. An error from
    the Rust stream fails the read that meets it (after the items ready before it), with the
    error's exception, and ends the stream; so does a panic ({!Rust_panic}), in the stream or
    while converting an item to OCaml. A failed read always shows as a promise
    that fails, never as an exception raised by [Lwt_stream.get] (Lwt 5.7 and later raise
    when a stream's source fails at once; Lwt 5.6 does not): a failure that is already known
    when the read starts (an error at once, {!shutdown}) fails it at the next turn of the
    Lwt loop, on every Lwt. The one exception is {!Wrong_thread}: a read from another thread
    (or of a stream made there) raises it, on every Lwt. The Rust
    stream is dropped (its destructors run) when it ends, when {!close_stream} is called, or
    after the ['a Lwt_stream.t] becomes unreachable: at the next turn of the Lwt loop after
    a major GC found it so.

    A read in progress keeps the stream reachable (whoever waits for it must be able to get
    the item). So a read you abandon, with [Lwt.pick] and a timeout for example, keeps a Rust
    stream that never yields alive until {!shutdown}: call {!close_stream} when you give up
    on a stream. *)

val with_stream : 'a Lwt_stream.t -> ('a Lwt_stream.t -> 'b Lwt.t) -> 'b Lwt.t
(** [with_stream s f] is [f s], then {!close_stream}[ s] once the promise of [f s] settles:
    with a value, with an exception (raised by [f] or carried by its promise), or cancelled.
    However [f] stops reading, the Rust stream and what it holds are released then, not at a
    later GC. *)

val on_switch : Lwt_switch.t option -> 'a Lwt_stream.t -> 'a Lwt_stream.t
(** [on_switch switch s] is [s], closed ({!close_stream}) when [switch] turns off
    ([Lwt_switch.turn_off]); [None] does nothing. The generated binding of every Rust stream
    function takes [?switch] and does this. Raises [Lwt_switch.Off] if the switch is off
    already (and leaves [s] open: check first with [Lwt_switch.check], as the bindings do,
    so that nothing is created). *)

val close_stream : 'a Lwt_stream.t -> unit
(** [close_stream s] stops a stream that comes from Rust: the Rust stream is dropped now
    (with the items it had ready that were not read yet), a read in progress ends with
    [None], and later reads see the end of the stream. Does
    nothing on a stream that did not come from Rust, or that is already closed or ended.
    Costs a scan of the Rust streams alive. *)

(** {1 Shutting down} *)

val shutdown : unit -> unit Lwt.t
(** [shutdown ()] stops the bridge for good: every pending Rust task is dropped (its
    destructors run now) and its promise rejected with {!Shut_down}; tasks submitted from
    other threads and [Handle::run] calls in flight get a [ShutDown] error; the tokio runtime
    stops; the [Lwt_unix] notification is released. Afterwards, Rust functions return
    promises rejected with {!Shut_down} (synchronous ones, object constructors included,
    raise it without running), and other threads' handles refuse work. Streams
    from Rust are dropped too: a read in progress, and every read after, fails with
    {!Shut_down}. Rust objects held by OCaml values (docs/05-objects.md) are dropped, each
    once; using one afterwards raises {!Shut_down}. Wakes that arrive later are ignored.
    Idempotent.

    Without [shutdown], Rust tasks still pending when [Lwt_main.run] returns simply wait:
    the next [Lwt_main.run] resumes them, and at exit they are abandoned without running
    their destructors. *)

(** {1 Observability} *)

type stats = {
  live_tasks : int;
      (** Rust tasks spawned and not yet dropped. A task's future is dropped as soon as it
          completes, before any callback of its promise runs, or when its promise is
          cancelled: code continuing from the promise of the last task in flight already
          reads 0 (tested by test/test_live_tasks.ml). *)
  live_roots : int;  (** OCaml GC roots held by the library. *)
  live_promises : int;  (** OCaml promises Rust is awaiting (or has not yet read). *)
  spawned : int;  (** Rust tasks ever spawned. *)
  wakes : int;  (** Times a Rust task was queued to be polled. *)
  notifications : int;
      (** [Lwt_unix] notifications sent to drain the queue: needed only for wakes that come
          from other threads. *)
  local_drains : int;
      (** Drains scheduled through [Lwt.pause] for wakes on this thread (no system call). *)
  drains : int;  (** Drains that ran (from either kind of scheduling). *)
  max_batch : int;  (** The most tasks polled by a single drain. *)
  panics : int;  (** Panics caught outside a task's own future (should stay 0). *)
  live_streams : int;
      (** Rust streams handed to OCaml and not yet ended, closed or collected. *)
  live_objects : int;
      (** OCaml values of Rust objects (docs/05-objects.md) not yet closed or released: a
          value the GC collected counts until the next drain releases it. *)
}
(** Counters of the bridge. [live_tasks], [live_roots], [live_promises], [live_streams] and
    [live_objects] return to 0 when nothing is in flight: tests use them to check that nothing leaks. *)

val stats : unit -> stats
(** [stats ()] reads the counters. *)

(** {1 Support for generated bindings} *)

(** What the OCaml bindings written by [lwt-rust-bindgen] call (docs/02-functions-and-values.md, "Bindings generated
    from Rust"). Not meant to be called by hand. *)
module Bindgen : sig
  val switched_stream : Lwt_switch.t option -> (unit -> 'a Lwt_stream.t) -> 'a Lwt_stream.t
  (** [switched_stream switch (fun () -> f__raw x)] raises [Lwt_switch.Off] if [switch] is
      off, before calling [f__raw]; otherwise it is the stream [f__raw x] returns, closed when
      [switch] turns off ({!on_switch}). The bindings of stream functions take [?switch]
      this way. *)
end

(**/**)

(** The library's own tests reach a few internals through this module. Not part of the API:
    it may change in any release. *)
module Internal_for_tests : sig
  val notification_id : Obj.t -> (int, string) result
  (** The check [init] applies to what [Lwt_unix.make_notification] returned. *)
end
