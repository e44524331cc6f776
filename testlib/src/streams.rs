//! Demo streams, both directions: what `test/test_streams.ml`, the `stream_items` benchmark
//! and `examples/lines` call. Written with the public API only, as a user would.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use futures::stream::{self, Stream, StreamExt, TryStreamExt};

use ocaml_interop::{OCaml, OCamlInt, OCamlRuntime, ToOCaml};

use crate::yield_once;
use lwt_rust::{Error, OCamlStream};

/// Items produced so far by the demo streams that count them.
static PRODUCED: AtomicU64 = AtomicU64::new(0);
/// Demo streams dropped so far (their [`DropCounted`] guard ran).
pub(crate) static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Counts the drop of the stream that owns it in [`DROPPED`].
struct DropCounted;

impl Drop for DropCounted {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, Relaxed);
    }
}

/// Makes `items` count its drop and every item it produces.
fn counted<S: Stream>(items: S) -> impl Stream<Item = S::Item> {
    let guard = DropCounted;
    items.map(move |item| {
        let _owned = &guard;
        PRODUCED.fetch_add(1, Relaxed);
        item
    })
}

/// `stream_produced : unit -> int`: items produced so far by the counting demo streams.
#[lwt_rust::func]
pub fn stream_produced() -> i64 {
    PRODUCED.load(Relaxed) as i64
}

/// `streams_dropped : unit -> int`: demo streams dropped so far.
#[lwt_rust::func]
pub fn streams_dropped() -> i64 {
    DROPPED.load(Relaxed) as i64
}

/// `count_stream : int -> int Lwt_stream.t`: 0 .. n-1, every item ready at once (a plain
/// `fn` returning a stream).
#[lwt_rust::func(stream)]
pub fn count_stream(n: i64) -> impl Stream<Item = i64> {
    counted(stream::iter(0..n))
}

/// `yielding_stream : int -> string Lwt_stream.t`: "item 0" .. "item n-1", each produced after
/// the stream yields once (so every read completes from the executor's queue).
#[lwt_rust::func(stream)]
pub async fn yielding_stream(n: i64) -> impl Stream<Item = String> {
    counted(stream::iter(0..n).then(|i| async move {
        yield_once().await;
        format!("item {i}")
    }))
}

/// `failing_stream : int -> int Lwt_stream.t`: 0 .. k-1, then a `Rust_error` (and then items
/// that must never be read: the error ends the stream).
#[lwt_rust::func(try_stream)]
pub fn failing_stream(k: i64) -> impl Stream<Item = Result<i64, String>> {
    counted(stream::iter(0..k + 10).map(move |i| {
        if i == k {
            Err(format!("stream failed at {k}"))
        } else {
            Ok(i)
        }
    }))
}

/// `failing_start : bool -> int Lwt_stream.t`: an `async fn` returning `Result<stream, _>`:
/// `Err` (when `fail`) fails the first read with `Rust_error`; else the items 1, 2, 3.
#[lwt_rust::func(stream)]
pub async fn failing_start(fail: bool) -> Result<impl Stream<Item = i64>, String> {
    yield_once().await;
    if fail {
        Err("the stream could not start".to_owned())
    } else {
        Ok(counted(stream::iter(1..=3)))
    }
}

/// `empty_stream : unit -> int Lwt_stream.t`.
#[lwt_rust::func(stream)]
pub fn empty_stream() -> impl Stream<Item = i64> {
    counted(stream::empty())
}

/// `never_stream : unit -> int Lwt_stream.t`: never yields, never ends.
#[lwt_rust::func(stream)]
pub fn never_stream() -> impl Stream<Item = i64> {
    counted(stream::pending())
}

/// `panicking_stream : int -> int Lwt_stream.t`: 0 .. k-1, then panics.
#[lwt_rust::func(stream)]
pub fn panicking_stream(k: i64) -> impl Stream<Item = i64> {
    counted(stream::iter(0..).map(move |i| {
        assert!(i < k, "the stream panicked at {k}");
        i
    }))
}

/// An `int` item whose conversion to OCaml panics when it is negative.
#[lwt_rust::ocaml_type("int")]
pub struct FragileInt(i64);

impl lwt_rust::conv::OCamlRepr for FragileInt {
    type Marker = OCamlInt;
    unsafe fn check(value: ocaml::sys::Value) -> bool {
        ocaml::sys::is_long(value)
    }
}

// SAFETY: an `i64`'s own conversion (the items used here fit OCaml's `int`), or a panic.
unsafe impl ToOCaml<OCamlInt> for FragileInt {
    fn to_ocaml<'a>(&self, cr: &'a mut OCamlRuntime) -> OCaml<'a, OCamlInt> {
        assert!(
            self.0 >= 0,
            "deliberate panic converting the item {}",
            self.0
        );
        self.0.to_ocaml(cr)
    }
}

/// `unconvertible_stream : bool -> int Lwt_stream.t`: 0, 1, then an item whose conversion to
/// OCaml panics, then 3, 4; with `yield_first`, every item comes after a yield (the read
/// completes from a task rather than at once).
#[lwt_rust::func(stream)]
pub fn unconvertible_stream(yield_first: bool) -> impl Stream<Item = FragileInt> {
    counted(stream::iter([0, 1, -1, 3, 4]).then(move |i| async move {
        if yield_first {
            yield_once().await;
        }
        FragileInt(i)
    }))
}

/// `result_stream : unit -> (int, string) result Lwt_stream.t`: with `stream` (not
/// `try_stream`), `Result` items are values: Ok 1, Error "two", Ok 3.
#[lwt_rust::func(stream)]
pub fn result_stream() -> impl Stream<Item = Result<i64, String>> {
    stream::iter([Ok(1), Err("two".to_owned()), Ok(3)])
}

/// `sum_stream : int Lwt_stream.t -> int Lwt.t`: reads an OCaml stream to its end. An
/// exception from the stream's producer rejects the result with that same exception.
#[lwt_rust::func]
pub async fn sum_stream(mut items: OCamlStream<i64>) -> Result<i64, Error> {
    let mut sum = 0i64;
    while let Some(item) = items.next().await {
        sum = sum.wrapping_add(item?);
    }
    Ok(sum)
}

/// `take_stream : int -> int Lwt_stream.t -> int list Lwt.t`: the first `k` items (fewer if
/// the stream ends first), then drops the stream.
#[lwt_rust::func]
pub async fn take_stream(k: i64, items: OCamlStream<i64>) -> Result<Vec<i64>, Error> {
    items.take(k.max(0) as usize).try_collect().await
}

/// `concat_stream : string Lwt_stream.t -> string Lwt.t`: the items joined by ",".
#[lwt_rust::func]
pub async fn concat_stream(items: OCamlStream<String>) -> Result<String, Error> {
    let items: Vec<String> = items.try_collect().await?;
    Ok(items.join(","))
}

/// `double_stream : int Lwt_stream.t -> int Lwt_stream.t`: an OCaml stream in, a Rust stream
/// out: every item doubled, on demand.
#[lwt_rust::func(try_stream)]
pub fn double_stream(items: OCamlStream<i64>) -> impl Stream<Item = Result<i64, Error>> {
    counted(items.map(|item| item.map(|x| 2 * x)))
}

/// `tcp_lines : int -> string Lwt_stream.t`: the lines read from a TCP connection to
/// 127.0.0.1:`port`. A tokio task on the runtime's workers connects and reads; the lines
/// reach the OCaml thread through a bounded channel (16 lines), so a slow OCaml reader slows
/// the socket reads down (TCP backpressure) instead of growing a buffer. When OCaml stops
/// reading (the stream is closed or collected), the channel closes and the task ends,
/// closing the connection. A connection or read error fails the read that meets it with
/// `Rust_error` and ends the stream.
#[lwt_rust::func(try_stream)]
pub async fn tcp_lines(port: i64) -> Result<impl Stream<Item = Result<String, String>>, String> {
    use tokio::io::AsyncBufReadExt;

    let port = u16::try_from(port).map_err(|_| format!("not a TCP port: {port}"))?;
    let (lines_tx, mut lines_rx) = tokio::sync::mpsc::channel(16);
    lwt_rust::tokio::spawn_io(async move {
        let read_all = async {
            let socket = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
            let mut lines = tokio::io::BufReader::new(socket).lines();
            while let Some(line) = lines.next_line().await? {
                if lines_tx.send(Ok(line)).await.is_err() {
                    break;
                }
            }
            Ok::<_, std::io::Error>(())
        };
        // The OCaml side may stop reading while the connection is quiet: stop then too,
        // closing the connection, rather than at the next line.
        tokio::select! {
            result = read_all => if let Err(err) = result {
                let _ = lines_tx.send(Err(format!("127.0.0.1:{port}: {err}"))).await;
            },
            () = lines_tx.closed() => {}
        }
    })
    .map_err(|err| err.to_string())?;
    Ok(futures::stream::poll_fn(move |cx| lines_rx.poll_recv(cx)))
}

/// `checked_countdown : int -> int Lwt_stream.t`: a plain `fn` returning `Result<stream, _>`
/// whose items are `Result`s of another error type (`try_stream`): a negative start fails the
/// first read with `Rust_error`; else n, n-1, .., 1, then an error at 0.
#[lwt_rust::func(try_stream)]
pub fn checked_countdown(
    from: i64,
) -> Result<impl Stream<Item = Result<i64, std::fmt::Error>>, String> {
    if from < 0 {
        return Err(format!("cannot count down from {from}"));
    }
    Ok(stream::iter((0..=from).rev()).map(|i| if i == 0 { Err(std::fmt::Error) } else { Ok(i) }))
}

/// `out_of_range_stream : unit -> int Lwt_stream.t`: 1, then 2^62 (which does not fit an
/// OCaml int: that read fails with `Rust_error` and the stream ends), then 3.
#[lwt_rust::func(stream)]
pub fn out_of_range_stream() -> impl Stream<Item = i64> {
    stream::iter([1, 1 << 62, 3])
}
