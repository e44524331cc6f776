//! Rust structs and enums as OCaml records and variants (`#[lwt_rust::record]`,
//! `#[lwt_rust::variant]`, `#[lwt_rust::error]`), exercised by `test/types/test_types.ml`:
//! every field type, nested and recursive types, the float-only record, mutual recursion,
//! typed errors, and the benchmark's ready calls.

use futures::{Stream, StreamExt};
use lwt_rust::__private::from_ocaml_checked;
use lwt_rust::conv::{Array, Bytes, Int64};
use lwt_rust::{with_runtime, Error, OCamlFn, OCamlStream};
use ocaml_interop::OCamlList;

/// A point of the plane: a record of floats only, which OCaml lays out flat.
#[lwt_rust::record]
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Abscissa.
    pub x: f64,
    /// Ordinate.
    pub y: f64,
}

/// A record with a field of every supported type.
#[lwt_rust::record]
#[derive(Debug, Clone, PartialEq)]
pub struct Everything {
    /// Always `()`.
    pub nothing: (),
    /// A `bool`.
    pub flag: bool,
    /// An OCaml `int`.
    pub small: i64,
    /// An OCaml `int32`.
    pub word: i32,
    /// An OCaml `int64`.
    pub wide: Int64,
    /// An OCaml `float`.
    pub real: f64,
    /// A `string`.
    pub text: String,
    /// Some `bytes`.
    pub raw: Bytes,
    /// An `int option`.
    pub maybe: Option<i64>,
    /// A `(string, int) result`.
    pub outcome: Result<String, i64>,
    /// An `int list`.
    pub numbers: Vec<i64>,
    /// A `float array` (flat).
    pub reals: Array<f64>,
    /// A pair.
    pub pair: (i64, String),
    /// A field named with an OCaml keyword: `type_` in OCaml.
    pub r#type: String,
    /// A nested record.
    pub origin: Point,
}

/// A user, as a database row: the benchmark's 4-field record.
#[lwt_rust::record]
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// The key.
    pub id: i64,
    /// The display name.
    pub name: String,
    /// The address, if known.
    pub email: Option<String>,
    /// Whether the user may administer.
    pub admin: bool,
}

/// A shape: a variant of every kind.
#[lwt_rust::variant]
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Nothing at all (a constant constructor).
    Empty,
    /// A circle of this radius (one argument).
    Circle(f64),
    /// A rectangle (an inline record).
    Rect {
        /// Width.
        w: f64,
        /// Height.
        h: f64,
    },
    /// A polygon through these points.
    Poly(Vec<Point>),
    /// A shape with a name (two arguments, one of them recursive).
    Labelled(String, Box<Shape>),
    /// A second constant constructor.
    Unknown,
}

/// A binary tree of ints (recursive through `Box`).
#[lwt_rust::variant]
#[derive(Debug, Clone, PartialEq)]
pub enum Tree {
    /// No value.
    Leaf,
    /// A value between two subtrees.
    Node(Box<Tree>, i64, Box<Tree>),
}

/// An expression, mutually recursive with [`Stmt`].
#[lwt_rust::variant]
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number.
    Num(i64),
    /// A block of statements.
    Block(Vec<Stmt>),
}

/// A statement, mutually recursive with [`Expr`].
#[lwt_rust::record]
#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    /// Its label.
    pub label: String,
    /// Its expression.
    pub expr: Expr,
}

/// A command: the benchmark's 3-constructor variant.
#[lwt_rust::variant]
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Read a key.
    Get(String),
    /// Write a key.
    Set(String, i64),
    /// Stop.
    Quit,
}

/// Why a lookup failed: an error enum, raised in OCaml as `Db_error`.
#[lwt_rust::error]
#[derive(Debug, Clone, PartialEq)]
pub enum DbError {
    /// No row with that key.
    NotFound(i64),
    /// The connection is gone.
    Closed,
    /// Two writers met.
    Conflict {
        /// The key written.
        key: String,
        /// How many times it was tried.
        attempts: i64,
    },
}

/// An error record: `#[lwt_rust::error]` on a struct.
#[lwt_rust::error]
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    /// Why.
    pub reason: String,
    /// The error code.
    pub code: i64,
}

macro_rules! echoes {
    ($($name:ident, $via:ident, $async:ident: $ty:ty => $marker:ty;)*) => {$(
        /// Returns its argument (OCaml → Rust → OCaml).
        #[lwt_rust::func]
        pub fn $name(value: $ty) -> $ty {
            value
        }

        /// Returns its argument, from an `async fn`.
        #[lwt_rust::func]
        pub async fn $async(value: $ty) -> $ty {
            value
        }

        /// Hands `value` to `f` and returns what `f` resolves with, and whether it equals
        /// `value` (Rust → OCaml → Rust: `f` is the identity when OCaml round-trips faithfully).
        #[lwt_rust::func]
        pub async fn $via(f: OCamlFn<$marker, $marker>, value: $ty) -> Result<($ty, bool), Error> {
            let root = f.call(&value)?.await?;
            let back: $ty = with_runtime(|cr| {
                // SAFETY: OCaml context; the value is read from its root right before the
                // conversion, which only reads.
                unsafe { from_ocaml_checked::<$ty>(cr, lwt_rust::__private::root_raw(&root)) }
            })
            .map_err(Error::rust)?;
            // Compared by their printed form, as OCaml's `compare` does floats: a NaN (which
            // qcheck's float generator makes) equals itself, where `==` would say it differs.
            let same = format!("{back:?}") == format!("{value:?}");
            Ok((back, same))
        }
    )*};
}

echoes! {
    echo_point, via_point, echo_point_async: Point => Point;
    echo_everything, via_everything, echo_everything_async: Everything => Everything;
    echo_user, via_user, echo_user_async: User => User;
    echo_shape, via_shape, echo_shape_async: Shape => Shape;
    echo_tree, via_tree, echo_tree_async: Tree => Tree;
    echo_expr, via_expr, echo_expr_async: Expr => Expr;
    echo_command, via_command, echo_command_async: Command => Command;
    echo_db_error, via_db_error, echo_db_error_async: DbError => DbError;
    echo_users, via_users, echo_users_async: Vec<User> => OCamlList<User>;
    echo_maybe_shape, via_maybe_shape, echo_maybe_shape_async: Option<Shape> => Option<Shape>;
    echo_lookup, via_lookup, echo_lookup_async: Result<User, DbError> => Result<User, DbError>;
        echo_user_shape, via_user_shape, echo_user_shape_async: (User, Shape) => (User, Shape);
}

/// Returns its argument: an array of flat float records.
#[lwt_rust::func]
pub fn echo_points(points: Array<Point>) -> Array<Point> {
    points
}

/// The `n` users `1 ..= n`, as a stream of records.
#[lwt_rust::func(stream)]
pub fn users(n: i64) -> impl Stream<Item = User> {
    futures::stream::iter((1..=n).map(|id| User {
        id,
        name: format!("user {id}"),
        email: (id % 2 == 0).then(|| format!("u{id}@example.org")),
        admin: id == 1,
    }))
}

/// The users `1 ..= n`, then the typed error `Closed`, which ends the stream.
#[lwt_rust::func(try_stream)]
pub fn users_then_closed(n: i64) -> impl Stream<Item = Result<User, DbError>> {
    futures::stream::iter((1..=n).map(Ok).chain(std::iter::once(Err(DbError::Closed))))
        .map(|item| item.and_then(lookup))
}

/// The users `1 ..= n`, or (for a negative `n`) the typed error `NotFound n` before any item.
#[lwt_rust::func(stream)]
pub fn users_or_not_found(n: i64) -> Result<impl Stream<Item = User>, DbError> {
    if n < 0 {
        return Err(DbError::NotFound(n));
    }
    Ok(futures::stream::iter(
        (1..=n).map(|id| lookup(id).expect("a positive key")),
    ))
}

/// The shapes OCaml's stream gives, read by Rust, in order.
#[lwt_rust::func]
pub async fn collect_shapes(shapes: OCamlStream<Shape>) -> Result<Vec<Shape>, Error> {
    let mut shapes = shapes;
    let mut out = Vec::new();
    while let Some(shape) = shapes.next().await {
        out.push(shape?);
    }
    Ok(out)
}

/// The user with key `id`: `NotFound` below 0, `Closed` at 0, `Conflict` at 13.
fn lookup(id: i64) -> Result<User, DbError> {
    match id {
        i64::MIN..=-1 => Err(DbError::NotFound(id)),
        0 => Err(DbError::Closed),
        13 => Err(DbError::Conflict {
            key: "user 13".to_owned(),
            attempts: 3,
        }),
        _ => Ok(User {
            id,
            name: format!("user {id}"),
            email: None,
            admin: false,
        }),
    }
}

/// [`lookup`], async: an `Err` rejects the promise with `Db_error e`.
#[lwt_rust::func]
pub async fn find_user(id: i64) -> Result<User, DbError> {
    lookup(id)
}

/// [`lookup`], a plain `fn`: an `Err` raises `Db_error e`.
#[lwt_rust::func]
pub fn find_user_now(id: i64) -> Result<User, DbError> {
    lookup(id)
}

/// [`lookup`] on the blocking pool: an `Err` rejects the promise with `Db_error e`.
#[lwt_rust::func(blocking)]
pub fn find_user_blocking(id: i64) -> Result<User, DbError> {
    lookup(id)
}

/// [`lookup`], its `Result` returned as an OCaml `result` (`#[lwt_rust::func(result)]`).
#[lwt_rust::func(result)]
pub async fn try_find_user(id: i64) -> Result<User, DbError> {
    lookup(id)
}

/// [`lookup`], a plain `fn` returning an OCaml `result`.
#[lwt_rust::func(result)]
pub fn try_find_user_now(id: i64) -> Result<User, DbError> {
    lookup(id)
}

/// Fails with the error record [`Refused`] when `code` is not 0.
#[lwt_rust::func]
pub async fn refuse(code: i64) -> Result<(), Refused> {
    if code == 0 {
        Ok(())
    } else {
        Err(Refused {
            reason: "refused".to_owned(),
            code,
        })
    }
}

/// A `Display` error, for comparison: `Rust_error "not found: <id>"`.
#[lwt_rust::func]
pub async fn find_user_text(id: i64) -> Result<User, String> {
    lookup(id).map_err(|e| format!("not found: {e:?}"))
}

/// The error of a key that does not fit OCaml's `int`: a typed error whose value cannot be
/// made is `Rust_error` saying why.
#[lwt_rust::func]
pub async fn unfit_error() -> Result<(), DbError> {
    Err(DbError::NotFound(i64::MAX))
}

/// A ready `async fn` taking and returning a 4-field record (benchmark `record_ready`).
#[lwt_rust::func]
pub async fn record_ready(user: User) -> User {
    user
}

/// The same data as a tuple (the benchmark's baseline for `record_ready`).
#[lwt_rust::func]
pub async fn tuple_ready(
    user: (i64, String, Option<String>, bool),
) -> (i64, String, Option<String>, bool) {
    user
}

/// A ready `async fn` taking and returning a 3-constructor variant (`variant_ready`).
#[lwt_rust::func]
pub async fn variant_ready(command: Command) -> Command {
    command
}

/// A hand-written multi-word OCaml type, checked at compile time against the one lwt_rust
/// writes for `Vec<i64>` (`int list`, which the attribute's text must match unparenthesised).
#[lwt_rust::ocaml_type("int list")]
pub type Ints = Vec<i64>;

/// A hand-written tuple type, checked the same way against `(i64, String)`'s `int * string`.
#[lwt_rust::ocaml_type("int * string")]
pub type Labelled = (i64, String);
