//! A small PostgreSQL service for OCaml: a `Db` object over a pool of tokio-postgres
//! connections (deadpool-postgres), with a point read, an insert, a count and a streamed scan.
//! Rows cross as tuples `(id, name, qty)`; errors as strings (`Lwt_rust.Rust_error`).
//!
//! The table: `items (id bigserial primary key, name text not null, qty bigint not null)`.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures::{Stream, StreamExt};
use tokio_postgres::types::ToSql;
use tokio_postgres::NoTls;

/// A row of `items`: `(id, name, qty)` (spelt out in the signatures OCaml sees:
/// lwt-rust-bindgen reads the types as written, not through aliases).
pub type Item = (i64, String, i64);

fn text(err: impl std::fmt::Display) -> String {
    err.to_string()
}

/// A pool of connections to one database. Every wait is bounded by the `timeout_ms` given to
/// `create`: with the server down, a request fails within it instead of hanging, and the
/// first request after the server is back gets a fresh connection (each pooled connection is
/// checked with a round trip before reuse, so a dead one is replaced, not returned).
#[lwt_rust::object]
pub struct Db {
    pool: Pool,
}

fn row_item(row: &tokio_postgres::Row) -> Result<Item, String> {
    Ok((
        row.try_get(0).map_err(text)?,
        row.try_get(1).map_err(text)?,
        row.try_get(2).map_err(text)?,
    ))
}

#[lwt_rust::object]
impl Db {
    /// A pool of at most `size` connections to `conninfo` (libpq's `key=value` form, e.g.
    /// `host=/tmp/pg dbname=app user=postgres`); connections are opened on demand, so this
    /// succeeds with the server down. Waiting for a free connection, opening one and checking
    /// one each take at most `timeout_ms`.
    pub fn new(conninfo: String, size: i64, timeout_ms: i64) -> Result<Self, String> {
        let config: tokio_postgres::Config = conninfo.parse().map_err(text)?;
        let size = usize::try_from(size)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("pool size must be positive, got {size}"))?;
        let timeout = u64::try_from(timeout_ms)
            .map(Duration::from_millis)
            .map_err(|_| format!("negative timeout {timeout_ms}"))?;
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Verified,
        };
        let manager = Manager::from_config(config, NoTls, manager_config);
        let pool = Pool::builder(manager)
            .max_size(size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .build()
            .map_err(text)?;
        Ok(Db { pool })
    }

    /// The row of `id`, if there is one.
    pub async fn get(&self, id: i64) -> Result<Option<(i64, String, i64)>, String> {
        let conn = self.pool.get().await.map_err(text)?;
        let stmt = conn
            .prepare_cached("SELECT id, name, qty FROM items WHERE id = $1")
            .await
            .map_err(text)?;
        match conn.query_opt(&stmt, &[&id]).await.map_err(text)? {
            Some(row) => Ok(Some(row_item(&row)?)),
            None => Ok(None),
        }
    }

    /// Inserts a row; returns its id.
    pub async fn insert(&self, name: String, qty: i64) -> Result<i64, String> {
        let conn = self.pool.get().await.map_err(text)?;
        let stmt = conn
            .prepare_cached("INSERT INTO items (name, qty) VALUES ($1, $2) RETURNING id")
            .await
            .map_err(text)?;
        let row = conn.query_one(&stmt, &[&name, &qty]).await.map_err(text)?;
        row.try_get(0).map_err(text)
    }

    /// The number of rows.
    pub async fn count(&self) -> Result<i64, String> {
        let conn = self.pool.get().await.map_err(text)?;
        let row = conn
            .query_one("SELECT count(*) FROM items", &[])
            .await
            .map_err(text)?;
        row.try_get(0).map_err(text)
    }

    /// The rows with `id >= from_id` in id order, in batches of at most `batch` rows (one
    /// pull from OCaml per batch, not per row). The scan holds one pooled connection, moved
    /// into the stream: it goes back to the pool when the stream ends or is closed (give the
    /// stream a `~switch`).
    #[lwt_rust(try_stream)]
    pub async fn scan(
        &self,
        from_id: i64,
        batch: i64,
    ) -> Result<impl Stream<Item = Result<Vec<(i64, String, i64)>, String>>, String> {
        let batch = usize::try_from(batch)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("batch size must be positive, got {batch}"))?;
        let conn = self.pool.get().await.map_err(text)?;
        let params: [&(dyn ToSql + Sync); 1] = [&from_id];
        let rows = conn
            .query_raw(
                "SELECT id, name, qty FROM items WHERE id >= $1 ORDER BY id",
                params,
            )
            .await
            .map_err(text)?;
        let rows = Box::pin(rows).ready_chunks(batch);
        Ok(futures::stream::unfold(
            (conn, rows),
            |(conn, mut rows)| async move {
                let chunk = rows.next().await?;
                let items = chunk
                    .into_iter()
                    .map(|row| row.map_err(text).and_then(|row| row_item(&row)))
                    .collect::<Result<Vec<Item>, String>>();
                Some((items, (conn, rows)))
            },
        ))
    }

    /// Connections in the pool now, idle or in use.
    pub fn size(&self) -> i64 {
        self.pool.status().size as i64
    }

    /// Idle connections in the pool now (a scan in progress holds one).
    pub fn available(&self) -> i64 {
        self.pool.status().available as i64
    }
}
