//! The bodies of `make bench-peers` as a Python extension module: each function returns an
//! asyncio awaitable (pyo3-async-runtimes' `future_into_py`), whose Rust future runs on the
//! library's tokio runtime and resolves the Python future through the event loop's
//! `call_soon_threadsafe`.

use pyo3::prelude::*;

/// `a + b`, ready on its first poll.
#[pyfunction]
fn ready(py: Python<'_>, a: i64, b: i64) -> PyResult<Bound<'_, PyAny>> {
    pyo3_async_runtimes::tokio::future_into_py(
        py,
        async move { Ok(peer_bodies::ready(a, b).await) },
    )
}

/// `a + b` after one yield to the tokio worker.
#[pyfunction]
fn yield_once(py: Python<'_>, a: i64, b: i64) -> PyResult<Bound<'_, PyAny>> {
    pyo3_async_runtimes::tokio::future_into_py(py, async move {
        Ok(peer_bodies::yield_once(a, b).await)
    })
}

/// `a + b` computed by a task spawned on tokio and awaited.
#[pyfunction]
fn tokio_round_trip(py: Python<'_>, a: i64, b: i64) -> PyResult<Bound<'_, PyAny>> {
    pyo3_async_runtimes::tokio::future_into_py(py, async move {
        Ok(peer_bodies::tokio_round_trip(a, b).await)
    })
}

/// The module `lwt_peers_py`.
#[pymodule]
fn lwt_peers_py(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(ready, m)?)?;
    m.add_function(wrap_pyfunction!(yield_once, m)?)?;
    m.add_function(wrap_pyfunction!(tokio_round_trip, m)?)?;
    Ok(())
}
