//! The complete example of `docs/10-your-own-types.md` (records, variants, typed errors, an object whose
//! method returns a stream of records), verbatim: every Rust block of the guide is in this
//! file, and `test/types/test_types_doc.ml` runs every OCaml block.

use std::cell::RefCell;

use futures::Stream;

/// An account, as a database row.
#[lwt_rust::record]
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// The key.
    pub id: i64,
    /// The login name.
    pub login: String,
    /// What the account may do.
    pub role: Role,
}

/// What an account may do.
#[lwt_rust::variant]
#[derive(Debug, Clone, PartialEq)]
pub enum Role {
    /// Read only.
    Reader,
    /// Read, and write in these schemas.
    Writer(Vec<String>),
    /// Everything, until this time (seconds since the epoch).
    Admin { until: f64 },
}

/// Why a call on [`Accounts`] failed.
#[lwt_rust::error]
#[derive(Debug, Clone, PartialEq)]
pub enum StoreError {
    /// No account has this key.
    NoSuchAccount(i64),
    /// Another account has this login.
    LoginTaken { login: String },
}

/// Accounts kept in memory.
#[lwt_rust::object]
#[derive(Default)]
pub struct Accounts {
    rows: RefCell<Vec<Account>>,
}

#[lwt_rust::object]
impl Accounts {
    /// No accounts yet.
    pub fn new() -> Self {
        Accounts::default()
    }

    /// Adds an account under a new login.
    pub async fn add(&self, login: String, role: Role) -> Result<Account, StoreError> {
        let mut rows = self.rows.borrow_mut();
        if rows.iter().any(|account| account.login == login) {
            return Err(StoreError::LoginTaken { login });
        }
        let account = Account {
            id: rows.len() as i64 + 1,
            login,
            role,
        };
        rows.push(account.clone());
        Ok(account)
    }

    /// The account with key `id`, as an OCaml `result`.
    #[lwt_rust(result)]
    pub fn find(&self, id: i64) -> Result<Account, StoreError> {
        let rows = self.rows.borrow();
        let found = rows.iter().find(|account| account.id == id).cloned();
        found.ok_or(StoreError::NoSuchAccount(id))
    }

    /// Every account, in the order they were added.
    #[lwt_rust(stream)]
    pub fn all(&self) -> impl Stream<Item = Account> {
        futures::stream::iter(self.rows.borrow().clone())
    }
}
