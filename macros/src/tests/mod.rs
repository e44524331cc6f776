//! The macro's own tests, outside a compiler: the pure phases one by one (`phases`), and the
//! whole expansion of representative items against committed snapshots (`expansion`).

mod expansion;
mod phases;

/// The message of an error.
fn message<T>(result: syn::Result<T>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(err) => err.to_string(),
    }
}
