//! The macro's own tests, outside a compiler: the pure phases one by one (`phases`), the naming rules (`naming`), the
//! whole expansion of representative items against committed snapshots (`expansion`), and
//! the records those expansions embed against the generator's record schema (`record_schema`).

mod expansion;
mod naming;
mod phases;
mod record_schema;

/// The message of an error.
fn message<T>(result: syn::Result<T>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(err) => err.to_string(),
    }
}
