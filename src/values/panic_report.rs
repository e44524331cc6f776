//! How panics are reported on stderr (`Lwt_rust.set_panic_report`).
//!
//! A panic the bridge contains always reaches OCaml (`Lwt_rust.Rust_panic` carries its
//! message); what Rust's panic hook prints besides (message, location, and a ~40-frame
//! backtrace under `RUST_BACKTRACE=1`) is bounded here, so that a bug hit by every request of
//! a loaded server cannot flood its logs. The hook below, installed when the OCaml library
//! starts, wraps the one in place then (Rust's default, or one the program set before): it
//! lets through the first reports allowed by the mode and counts the others, printing one
//! summary line at the first one left out and then at most one every [`SUMMARY_INTERVAL`].
//! It sees every panic of the process, on any thread (contained by the bridge or not); a
//! program that sets its own hook afterwards replaces it.

use std::io::Write;
use std::panic::PanicHookInfo;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

/// A panic payload, as `catch_unwind` returns it.
pub(crate) type Panic = Box<dyn std::any::Any + Send>;

/// The text of a caught panic. (Takes the box, not `&dyn Any`: a `&Box<dyn Any>` passed
/// where a `&dyn Any` is expected would be coerced to the box itself, whose downcasts fail.)
pub(crate) fn panic_message(payload: &Panic) -> String {
    payload_text(&**payload)
}

/// The text of a panic payload, cut at [`MAX_MESSAGE_BYTES`].
pub(crate) fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    match payload_str(payload) {
        Some(s) => cut(s).into_owned(),
        None => "a Rust panic with a non-string payload".to_owned(),
    }
}

/// Panics the bridge caught in destructors it ran outside any task (objects released by a
/// drain, `Lwt_rust.stats`, shutdown or exit).
static CONTAINED: AtomicU64 = AtomicU64::new(0);

/// Counts a panic of a destructor the bridge contained (see [`contained_panics`]).
pub(crate) fn count_contained_panic() {
    CONTAINED.fetch_add(1, Relaxed);
}

/// Panics caught in destructors the bridge ran outside any task (added to the executor's
/// own count in `Lwt_rust.stats`' `panics`).
pub(crate) fn contained_panics() -> u64 {
    CONTAINED.load(Relaxed)
}

fn payload_str(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    if let Some(s) = payload.downcast_ref::<&str>() {
        Some(s)
    } else {
        payload.downcast_ref::<String>().map(String::as_str)
    }
}

/// The longest panic message, in bytes, that a report on stderr prints and that
/// `Lwt_rust.Rust_panic` carries: a longer one is cut there (at a character boundary) and
/// ends with a note saying how long it was. A panic message built from untrusted input must
/// not let one request write megabytes to the logs or hold them in an exception.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// `message`, cut at [`MAX_MESSAGE_BYTES`] with a note of its full length.
pub(crate) fn cut(message: &str) -> std::borrow::Cow<'_, str> {
    if message.len() <= MAX_MESSAGE_BYTES {
        return std::borrow::Cow::Borrowed(message);
    }
    let mut end = MAX_MESSAGE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!(
        "{}... [lwt_rust: panic message cut at {MAX_MESSAGE_BYTES} of its {} bytes]",
        &message[..end],
        message.len()
    ))
}

/// Reports a panic that has no promise to go to (a destructor's, say) on stderr.
pub(crate) fn report_panic(context: &str, message: &str) {
    eprintln!("lwt_rust: a panic in {context}: {message}");
}

/// At most one summary line per interval.
pub const SUMMARY_INTERVAL: Duration = Duration::from_secs(10);

/// The default mode: the first 10 panics in full, then summaries.
pub const DEFAULT_FIRST: i64 = 10;

/// How many panics are printed in full: `-1` all of them, `n >= 0` the first `n` (then
/// summaries), `-2` none and no summary either.
static MODE: AtomicI64 = AtomicI64::new(DEFAULT_FIRST);
/// Panics printed in full so far.
static PRINTED: AtomicU64 = AtomicU64::new(0);
/// Panics left out since the last summary line.
static LEFT_OUT: AtomicU64 = AtomicU64::new(0);
/// When the last summary line was printed.
static LAST_SUMMARY: Mutex<Option<Instant>> = Mutex::new(None);
static INSTALL: Once = Once::new();

/// Sets the mode (`-1`: report every panic; `n >= 0`: the first `n` from now on, then
/// summaries; `-2`: print nothing) and installs the hook if it is not yet.
pub fn set_mode(mode: i64) {
    MODE.store(mode.max(-2), Relaxed);
    PRINTED.store(0, Relaxed);
    LEFT_OUT.store(0, Relaxed);
    *LAST_SUMMARY.lock().unwrap_or_else(|e| e.into_inner()) = None;
    install();
}

/// Installs the hook (once), wrapping the one in place.
pub fn install() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| match report(info) {
            Report::Full => match payload_str(info.payload()) {
                Some(message) if message.len() > MAX_MESSAGE_BYTES => print_cut(info, message),
                _ => previous(info),
            },
            // Not eprintln!, which panics (inside the panic hook: an abort) when stderr
            // cannot be written.
            Report::Summary(line) => {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
            Report::Nothing => {}
        }));
    });
}

/// A full report of a panic whose message is too long, printed instead of the wrapped hook's
/// (which would print all of it): the default hook's layout, the message cut, and the
/// backtrace when `RUST_BACKTRACE` asks for one.
fn print_cut(info: &PanicHookInfo<'_>, message: &str) {
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("<unnamed>");
    let location = info
        .location()
        .map_or_else(|| "an unknown location".to_owned(), |l| l.to_string());
    let backtrace = std::backtrace::Backtrace::capture();
    let mut err = std::io::stderr().lock();
    // Write errors are ignored: nothing may panic inside the panic hook.
    let _ = writeln!(
        err,
        "\nthread '{name}' panicked at {location}:\n{}",
        cut(message)
    );
    if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
        let _ = writeln!(err, "stack backtrace:\n{backtrace}");
    }
}

/// What the hook prints for one panic.
enum Report {
    /// The wrapped hook's report.
    Full,
    /// This line only.
    Summary(String),
    /// Nothing (counted for the next summary).
    Nothing,
}

fn report(info: &PanicHookInfo<'_>) -> Report {
    let mode = MODE.load(Relaxed);
    if mode == -2 {
        return Report::Nothing;
    }
    if mode == -1 || PRINTED.fetch_add(1, Relaxed) < mode as u64 {
        return Report::Full;
    }
    let left_out = LEFT_OUT.fetch_add(1, Relaxed) + 1;
    let now = Instant::now();
    let mut last = LAST_SUMMARY.lock().unwrap_or_else(|e| e.into_inner());
    if last.is_some_and(|at| now.duration_since(at) < SUMMARY_INTERVAL) {
        return Report::Nothing;
    }
    *last = Some(now);
    LEFT_OUT.fetch_sub(left_out, Relaxed);
    let message = payload_str(info.payload()).unwrap_or("a non-string payload");
    let mut message: String = message
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    if message.is_empty() {
        message.push('?');
    }
    Report::Summary(format!(
        "lwt_rust: {left_out} panic(s) not printed in full since the last such line, the latest: \
         {message} (at most one line per {}s; Lwt_rust.set_panic_report changes this)",
        SUMMARY_INTERVAL.as_secs()
    ))
}
