//! Rust streams whose items come in a chosen pattern of ready and pending, for the tests of
//! batched reads (`test/test_stream_batches.ml`), and the rows of the stream benchmarks.
//! Written with the public API only, as a user would.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use futures::stream::{self, Stream, StreamExt};

/// Items produced so far by [`batch_stream`] and [`ready_ints`].
static PRODUCED: AtomicU64 = AtomicU64::new(0);
/// [`batch_stream`]s and [`ready_ints`] dropped so far.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Counts the drop of the stream that owns it in [`DROPPED`].
struct DropCounted;

impl Drop for DropCounted {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, Relaxed);
    }
}

/// `batch_produced : unit -> int`: items produced so far by the streams of this module.
#[lwt_rust::func]
pub fn batch_produced() -> i64 {
    PRODUCED.load(Relaxed) as i64
}

/// `batch_streams_dropped : unit -> int`: streams of this module dropped so far.
#[lwt_rust::func]
pub fn batch_streams_dropped() -> i64 {
    DROPPED.load(Relaxed) as i64
}

/// Pending until a tokio worker wakes it: a wake from another thread, which the OCaml thread
/// sees only when the Lwt loop runs (a wake from the OCaml thread itself can be drained
/// before the stub that made it returns).
async fn woken_from_tokio() {
    let (done, wait) = tokio::sync::oneshot::channel::<()>();
    match lwt_rust::tokio::spawn_io(async move {
        let _ = done.send(());
    }) {
        Ok(_) => drop(wait.await),
        Err(err) => panic!("no tokio runtime: {err}"),
    }
}

/// `batch_stream : bool list -> int -> int Lwt_stream.t`: the items 0 .. n-1 for a list of
/// n flags, item `i` produced after a round trip through a tokio worker (pending until the
/// Lwt loop runs the notification) when flag
/// `i` is true, at once otherwise. Then, by `ending`: 0 ends the stream, 1 yields an `Err`
/// (`Rust_error "failed after n items"`), 2 panics (`"panicked after n items"`). Each item is
/// counted by [`batch_produced`] when the stream produces it.
#[lwt_rust::func(try_stream)]
pub fn batch_stream(pending: Vec<bool>, ending: i64) -> impl Stream<Item = Result<i64, String>> {
    let n = pending.len() as i64;
    let guard = DropCounted;
    let items = stream::iter(pending.into_iter().enumerate()).then(|(i, wait)| async move {
        if wait {
            woken_from_tokio().await;
        }
        PRODUCED.fetch_add(1, Relaxed);
        Ok(i as i64)
    });
    let end = stream::once(async move {
        match ending {
            1 => Some(Err(format!("failed after {n} items"))),
            2 => panic!("panicked after {n} items"),
            _ => None,
        }
    })
    .filter_map(futures::future::ready);
    items.chain(end).map(move |item| {
        let _owned = &guard;
        item
    })
}

/// `ready_ints : int -> int Lwt_stream.t`: 0 .. n-1, every item ready at once, each counted
/// by [`batch_produced`] (a million of them is the stream a reader must not see converted
/// ahead of its reads).
#[lwt_rust::func(stream)]
pub fn ready_ints(n: i64) -> impl Stream<Item = i64> {
    let guard = DropCounted;
    stream::iter(0..n).map(move |i| {
        let _owned = &guard;
        PRODUCED.fetch_add(1, Relaxed);
        i
    })
}

/// A row of a table scan: the stream benchmark's 5-field record.
#[lwt_rust::record]
#[derive(Debug, Clone, PartialEq)]
pub struct ScanRow {
    /// The key.
    pub id: i64,
    /// A short name.
    pub name: String,
    /// A measure.
    pub score: f64,
    /// Whether the row is active.
    pub active: bool,
    /// A parent key, on every other row.
    pub parent: Option<i64>,
}

/// The row `i` of [`scan_rows`] (the benchmark builds the same rows in OCaml).
fn scan_row(i: i64) -> ScanRow {
    ScanRow {
        id: i,
        name: "row".to_owned(),
        score: i as f64 * 0.5,
        active: i % 2 == 0,
        parent: (i % 2 == 1).then_some(i - 1),
    }
}

/// `scan_rows : int -> scan_row Lwt_stream.t`: the rows 0 .. n-1, every one ready at once.
#[lwt_rust::func(stream)]
pub fn scan_rows(n: i64) -> impl Stream<Item = ScanRow> {
    stream::iter(0..n).map(scan_row)
}

/// Panics when dropped: the destructor of [`panicking_drop_stream`].
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("a batch stream's destructor panicked");
        }
    }
}

/// `panicking_drop_stream : unit -> int Lwt_stream.t`: 0, 1, 2, then pending forever; its
/// destructor panics (the bridge reports the panic and counts it in `stats.panics`).
#[lwt_rust::func(stream)]
pub fn panicking_drop_stream() -> impl Stream<Item = i64> {
    let bomb = PanicOnDrop;
    stream::iter(0..3).chain(stream::pending()).map(move |i| {
        let _owned = &bomb;
        i
    })
}
