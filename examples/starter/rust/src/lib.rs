//! The Rust side of the starter: functions and one object OCaml calls through the bindings
//! `lwt-rust-bindgen` generates from this crate's archive (`starter_rust.ml` and `.mli`, see
//! `rust/dune`). Async functions and methods run as tasks on the OCaml thread, driven by the
//! Lwt loop; tokio's timers, sockets, files and locks work inside them from the first call.
//!
//! The OCaml names are the Rust names.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Adds two integers: a value, ready at once (the promise is already resolved).
#[lwt_rust::func]
pub async fn add(a: i64, b: i64) -> i64 {
    a.wrapping_add(b)
}

/// Divides `a` by `b`. An `Err` rejects the promise with `Lwt_rust.Rust_error` carrying its
/// text: dividing by zero gives `Rust_error "cannot divide 1 by 0"`.
#[lwt_rust::func]
pub async fn divide(a: i64, b: i64) -> Result<i64, String> {
    a.checked_div(b)
        .ok_or_else(|| format!("cannot divide {a} by {b}"))
}

/// Sleeps `ms` milliseconds on a tokio timer; resolves with the milliseconds slept.
#[lwt_rust::func]
pub async fn sleep_ms(ms: i64) -> Result<i64, String> {
    let ms = u64::try_from(ms).map_err(|_| format!("negative duration: {ms}"))?;
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(started.elapsed().as_millis() as i64)
}

/// The length in bytes of the file at `path`, read with tokio; a missing file gives
/// `Lwt_rust.Rust_error` with the system's message.
#[lwt_rust::func]
pub async fn file_length(path: String) -> Result<i64, std::io::Error> {
    Ok(tokio::fs::read(&path).await?.len() as i64)
}

/// The stream `from`, `from - 1`, ..., `0`, read on demand.
#[lwt_rust::func(stream)]
pub fn countdown(from: i64) -> impl futures::Stream<Item = i64> {
    futures::stream::iter((0..=from).rev())
}

/// A key and its value: an OCaml record `{ key : string; value : string }`.
#[lwt_rust::record]
pub struct Entry {
    /// The key.
    pub key: String,
    /// Its value.
    pub value: String,
}

/// Why a store operation failed: OCaml gets the exception `Kv_error e`, with `e` one of these
/// constructors, and can match on it.
#[lwt_rust::error]
#[derive(Debug)]
pub enum KvError {
    /// The key has no value.
    NotFound {
        /// The key looked up.
        key: String,
    },
    /// The empty string is not a key.
    EmptyKey,
}

/// An in-memory key-value store of strings, behind a tokio `RwLock`. OCaml holds it as
/// `Kv_store.t`; `Kv_store.close` drops it, after which every call raises `Lwt_rust.Closed`.
#[lwt_rust::object]
pub struct KvStore {
    entries: tokio::sync::RwLock<HashMap<String, String>>,
}

#[lwt_rust::object]
impl KvStore {
    /// An empty store.
    pub fn new() -> Self {
        KvStore {
            entries: tokio::sync::RwLock::new(HashMap::new()),
        }
    }

    /// The value of `key`, or `None` if it has none.
    pub async fn get(&self, key: String) -> Option<String> {
        self.entries.read().await.get(&key).cloned()
    }

    /// The entry of `key`: fails with `Kv_error (NotFound { key })` if it has no value,
    /// `Kv_error EmptyKey` for the empty key.
    pub async fn entry(&self, key: String) -> Result<Entry, KvError> {
        if key.is_empty() {
            return Err(KvError::EmptyKey);
        }
        match self.entries.read().await.get(&key) {
            Some(value) => Ok(Entry {
                value: value.clone(),
                key,
            }),
            None => Err(KvError::NotFound { key }),
        }
    }

    /// Every entry, by key.
    pub async fn entries(&self) -> Vec<Entry> {
        let mut entries: Vec<Entry> = (self.entries.read().await.iter())
            .map(|(key, value)| Entry {
                key: key.clone(),
                value: value.clone(),
            })
            .collect();
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        entries
    }

    /// Sets `key` to `value`, replacing its value if it has one.
    pub async fn set(&self, key: String, value: String) {
        self.entries.write().await.insert(key, value);
    }

    /// Removes `key`; returns whether it was there.
    pub async fn remove(&self, key: String) -> bool {
        self.entries.write().await.remove(&key).is_some()
    }

    /// The number of keys, at once. Raises `Lwt_rust.Rust_error` if a write is in progress
    /// (never here: no method holds the lock across an `await`).
    pub fn len(&self) -> Result<i64, String> {
        let entries = self
            .entries
            .try_read()
            .map_err(|_| "the store is being written".to_owned())?;
        Ok(entries.len() as i64)
    }

    /// Whether the store has no key (see `len`).
    pub fn is_empty(&self) -> Result<bool, String> {
        Ok(self.len()? == 0)
    }
}

impl Default for KvStore {
    fn default() -> Self {
        Self::new()
    }
}
