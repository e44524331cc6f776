//! Every Rust example of the documentation (README.md, ARCHITECTURE.md, CONTRIBUTING.md,
//! docs/*.md), verbatim: `test/test_docs.ml` checks that each of their ```rust blocks is here
//! (or in the file its first line names), and calls these functions.

// ---- README.md: a first example

/// Waits `ms` milliseconds on tokio's timer (not at all if `ms` is negative), then returns
/// `a + b`.
#[lwt_rust::func]
pub async fn add_later(a: i64, b: i64, ms: i64) -> i64 {
    tokio::time::sleep(std::time::Duration::from_millis(ms.max(0) as u64)).await;
    a + b
}

// ---- Rust → OCaml

#[lwt_rust::func]
pub async fn file_len(path: String, retries: i64) -> Result<i64, std::io::Error> {
    let mut failures = 0;
    loop {
        match tokio::fs::read(&path).await {
            Ok(body) => return Ok(body.len() as i64),
            Err(err) if failures >= retries => return Err(err),
            Err(_) => failures += 1,
        }
    }
}

// ---- OCaml → Rust

use lwt_rust::OCamlFn;

// (unit -> unit Lwt.t) -> int -> int Lwt.t: calls f () and awaits its promise, n times.
#[lwt_rust::func]
pub async fn call_n(f: OCamlFn<(), ()>, n: i64) -> Result<i64, lwt_rust::Error> {
    let mut done = 0;
    while done < n {
        f.call(&())?.await?; // an OCaml exception comes back as Err, and is re-raised as is
        done += 1;
    }
    Ok(done)
}

// ---- Streams

use futures::{Stream, StreamExt};
use lwt_rust::{Error, OCamlStream};
use tokio::io::AsyncBufReadExt; // (tokio with its "fs" feature, in your crate)

// string Lwt_stream.t: an async fn (or a plain fn) returning a stream, or a Result of one.
#[lwt_rust::func(try_stream)]
pub async fn lines(path: String) -> Result<impl Stream<Item = std::io::Result<String>>, std::io::Error> {
    let file = tokio::fs::File::open(path).await?;
    Ok(futures::stream::unfold(tokio::io::BufReader::new(file).lines(), |mut lines| async {
        lines.next_line().await.transpose().map(|line| (line, lines))
    }))
}

// int Lwt_stream.t -> int Lwt.t: Rust reads an OCaml stream.
#[lwt_rust::func]
pub async fn sum(mut items: OCamlStream<i64>) -> Result<i64, Error> {
    let mut sum = 0;
    while let Some(item) = items.next().await {
        sum += item?; // an exception from the OCaml producer comes back as is
    }
    Ok(sum)
}

// ---- Threads

use futures::channel::oneshot;
use lwt_rust::{Handle, JoinError, TrySpawnError};
use std::time::Duration;

// unit -> int Lwt.t: another thread hands work to the OCaml thread in every way.
#[lwt_rust::func]
pub async fn handle_tour() -> Result<i64, JoinError> {
    let handle = Handle::current(); // on the OCaml thread, in a stub or task
    let (reply, result) = oneshot::channel();
    std::thread::spawn(move || {
        let work = || -> Result<i64, JoinError> {
            // spawn: waits for room in the submission queue, returns a JoinHandle (a future).
            let join = futures::executor::block_on(handle.spawn(async { 6 * 7 }))?;
            assert_eq!(futures::executor::block_on(join)?, 42);

            // try_spawn: never waits; a full queue hands the future back.
            match handle.try_spawn(async { 1 }) {
                Ok(join) => join.detach(), // or await it; dropping it cancels
                Err(TrySpawnError::Full(_future)) => { /* retry later */ }
                Err(TrySpawnError::ShutDown(_)) => return Err(JoinError::ShutDown),
            }

            // try_submit: fire and forget.
            let _ = handle.try_submit(async { /* runs on the OCaml thread */ });

            // run: a closure with the OCaml runtime, on the OCaml thread.
            let n: i64 = futures::executor::block_on(handle.run(|_cr| 20))?;

            // run_blocking: the same from synchronous code, with a timeout.
            let m: i64 = handle.run_blocking(|_cr| 22, Duration::from_secs(1))?;
            Ok(n + m)
        };
        let _ = reply.send(work());
    });
    result.await.map_err(|_| JoinError::ShutDown)?
}

// string -> int Lwt.t: a task on the OCaml thread hands I/O to tokio's workers, awaits it.
#[lwt_rust::func]
pub async fn file_len_on_tokio(path: String) -> Result<i64, String> {
    let io = lwt_rust::tokio::spawn_io(async move { tokio::fs::read(path).await })
        .map_err(|err| err.to_string())?;
    let body = io.await.map_err(|err| err.to_string())?;
    Ok(body.map_err(|err| err.to_string())?.len() as i64)
}

use std::collections::HashMap;
use tokio::sync::RwLock;
use tokio::time::Instant;

/// A key-value store of strings whose entries expire `ttl_ms` milliseconds after they are set.
#[lwt_rust::object]
pub struct TtlCache {
    entries: RwLock<HashMap<String, (String, Instant)>>,
    ttl: std::time::Duration,
}

#[lwt_rust::object]
impl TtlCache {
    /// An empty cache (OCaml: `Ttl_cache.create`).
    pub fn new(ttl_ms: i64) -> Result<Self, String> {
        let ttl = u64::try_from(ttl_ms).map_err(|_| format!("negative ttl {ttl_ms}"))?;
        Ok(TtlCache { entries: RwLock::new(HashMap::new()), ttl: std::time::Duration::from_millis(ttl) })
    }

    /// Sets `key` to `value`, for the next `ttl_ms` milliseconds.
    pub async fn set(&self, key: String, value: String) {
        let expires = Instant::now() + self.ttl;
        self.entries.write().await.insert(key, (value, expires));
    }

    /// The value of `key`, unless it is missing or expired.
    pub async fn get(&self, key: String) -> Option<String> {
        let entries = self.entries.read().await;
        entries.get(&key).filter(|(_, expires)| *expires > Instant::now()).map(|(v, _)| v.clone())
    }

    /// Waits until `key` expires (at once if it is missing).
    pub async fn expiry(&self, key: String) {
        let expires = self.entries.read().await.get(&key).map(|(_, expires)| *expires);
        if let Some(expires) = expires {
            tokio::time::sleep_until(expires).await;
        }
    }

    /// How many entries are stored, expired ones included (`Err` while a `set` holds the lock).
    pub fn len(&self) -> Result<i64, String> {
        let entries = self.entries.try_read().map_err(|_| "the cache is being written".to_owned())?;
        Ok(entries.len() as i64)
    }
}

// string -> int Lwt.t: read and sum a file's bytes, off the OCaml thread.
#[lwt_rust::func(blocking)]
pub fn byte_sum(path: String) -> Result<i64, std::io::Error> {
    let bytes = std::fs::read(path)?;
    Ok(bytes.iter().map(|&b| b as i64).sum())
}
