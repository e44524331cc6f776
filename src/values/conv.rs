//! Conversions between Rust values and OCaml values, on top of ocaml-interop's `ToOCaml` /
//! `FromOCaml`, plus the type markers the bridge uses (`Lwt<T>` is `'a Lwt.t`, and so on).
//!
//! [`OCamlRepr`] gives each supported Rust type its OCaml counterpart and a shape check, so
//! that a value of the wrong OCaml type (an `external` whose type disagrees with the Rust
//! function) is refused with a message instead of being misread:
//!
//! | Rust | OCaml |
//! |---|---|
//! | `()` | `unit` |
//! | `bool` | `bool` |
//! | `i64` | `int` (63-bit; a result outside that range is refused, see [`OCamlRepr::check_fits`]) |
//! | `i32` | `int32` |
//! | [`Int64`] | `int64` |
//! | `f64` | `float` |
//! | `String` | `string` (must be valid UTF-8, else the argument is refused) |
//! | [`Bytes`] | `bytes` |
//! | `Option<T>` | `t option` |
//! | `Result<T, E>` | `(t, e) result` (as a value; as a function's return, see the macro) |
//! | `Vec<T>` | `t list` |
//! | [`Array<T>`] | `t array` (flat float arrays for `Array<f64>`) |
//! | `(A, B)`, `(A, B, C)`, `(A, B, C, D)` | tuples |
//! | [`crate::ocaml_to_rust::stream::OCamlStream<T>`] | `t Lwt_stream.t` (as an argument; items checked as read) |
//! | [`crate::values::object::Obj<T>`] | the object's `t` (`#[lwt_rust::object]`) |
//!
//! Everything here runs on the OCaml thread with the runtime lock held.

use std::any::TypeId;
use std::marker::PhantomData;

pub use crate::values::type_text::{OCamlTypeText, TypeText};
use ocaml::sys::{self, Value as RawOCaml};

use ocaml_interop::{
    FromOCaml, OCaml, OCamlBytes, OCamlFloat, OCamlInt, OCamlInt32, OCamlInt64, OCamlList,
    OCamlRuntime, OCamlUniformArray, ToOCaml,
};

/// The OCaml type `'a Lwt.t`, with `T` the marker of `'a`.
pub struct Lwt<T>(PhantomData<T>);

/// The OCaml type `'a Lwt_stream.t`, with `T` the marker of `'a`.
pub struct LwtStream<T>(PhantomData<T>);

/// The OCaml type `'a Lwt.u` (a resolver), with `T` the marker of `'a`.
pub struct Resolver<T>(PhantomData<T>);

/// An OCaml value whose type Rust does not look at (an `'a` passed through unchanged).
pub enum Opaque {}

/// The OCaml type `'a -> 'b Lwt.t`.
pub type LwtFn<A, B> = fn(A) -> Lwt<B>;

/// The OCaml type `'a array` (marker of [`Array`]).
pub struct OCamlArray<A>(PhantomData<A>);

/// An OCaml `int64` (a plain `i64` maps to `int`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Int64(pub i64);

/// An OCaml `bytes` (a `Vec<T>` maps to a list).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Bytes(pub Vec<u8>);

/// An OCaml `'a array` (a `Vec<T>` maps to a list).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Array<T>(pub Vec<T>);

/// The OCaml type `string` holding UTF-8: the marker of `String` (ocaml-interop's own
/// `String` marker reads any bytes, replacing what is not UTF-8). A `String` crosses with this
/// crate's conversions: to OCaml, one string block and one copy; from OCaml, one UTF-8 check
/// and one allocation.
pub enum Utf8String {}

impl OCamlTypeText for Utf8String {
    const OCAML_TYPE: TypeText = TypeText::new("string");
}

// The OCaml types of this module's markers (the others': `type_text`).
impl<T: OCamlTypeText> OCamlTypeText for Lwt<T> {
    const OCAML_TYPE: TypeText = TypeText::apply(T::OCAML_TYPE, "Lwt.t");
}

impl<T: OCamlTypeText> OCamlTypeText for LwtStream<T> {
    const OCAML_TYPE: TypeText = TypeText::apply(T::OCAML_TYPE, "Lwt_stream.t");
}

impl<T: OCamlTypeText> OCamlTypeText for OCamlArray<T> {
    const OCAML_TYPE: TypeText = TypeText::apply(T::OCAML_TYPE, "array");
}

impl<A: OCamlTypeText, B: OCamlTypeText> OCamlTypeText for fn(A) -> Lwt<B> {
    const OCAML_TYPE: TypeText = TypeText::lwt_function(A::OCAML_TYPE, B::OCAML_TYPE);
}

/// A Rust type with an OCaml counterpart: its ocaml-interop marker, a readable name, and a
/// check that an OCaml value has the right shape to be converted.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no OCaml counterpart (lwt_rust::conv::OCamlRepr)",
    label = "no OCaml type for this Rust type",
    note = "use a type of the table in lwt_rust::conv, or give yours #[lwt_rust::record], \
            #[lwt_rust::variant] or #[lwt_rust::error]"
)]
pub trait OCamlRepr: Sized + 'static {
    /// The ocaml-interop marker of the OCaml type.
    type Marker: OCamlTypeText + 'static;

    /// The OCaml type, as the generated bindings write it: the marker's, unless a hand-written
    /// conversion says otherwise (`#[lwt_rust::ocaml_type]` checks the two agree). The proc
    /// macros put it in the binding records; the error messages say it too.
    const OCAML_TYPE: TypeText = <Self::Marker as OCamlTypeText>::OCAML_TYPE;

    /// The OCaml type, as written in OCaml (for error messages): [`OCamlRepr::OCAML_TYPE`].
    fn ocaml_type() -> String {
        Self::OCAML_TYPE.as_str().to_owned()
    }

    /// Whether `value` has the shape of this OCaml type. Deep: a list's elements are checked.
    ///
    /// # Safety
    /// Runtime lock held; `value` is a valid OCaml value (of any type).
    unsafe fn check(value: RawOCaml) -> bool;

    /// Whether this Rust value fits its OCaml type, so that converting it loses nothing:
    /// `Err` says what does not fit (an `i64` outside OCaml's 63-bit `int`). Deep.
    #[inline]
    fn check_fits(&self) -> Result<(), String> {
        Ok(())
    }
}

/// The range of OCaml's `int` on 64-bit platforms: 63 bits.
const OCAML_INT_MIN: i64 = -(1 << 62);
const OCAML_INT_MAX: i64 = (1 << 62) - 1;

/// Why an argument was refused by [`from_ocaml_checked`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgError {
    /// The value does not have the expected OCaml type.
    WrongType(String),
    /// The value is an object closed (`close`) or released at shutdown; the OCaml module of
    /// its type.
    Closed(&'static str),
}

impl std::fmt::Display for ArgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArgError::WrongType(message) => f.write_str(message),
            ArgError::Closed(module) => write!(f, "a {module}.t value used after close"),
        }
    }
}

thread_local! {
    /// Set by an object's check when the value is closed, read by [`from_ocaml_checked`].
    static CLOSED_SEEN: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
}

/// Records that the check in progress failed on a closed object of OCaml module `module`.
pub(crate) fn note_closed(module: &'static str) {
    CLOSED_SEEN.with(|seen| seen.set(Some(module)));
}

/// Converts an argument received from OCaml, after checking its shape.
///
/// # Safety
/// OCaml context; `value` is a valid OCaml value read after the last allocation.
#[inline]
pub unsafe fn from_ocaml_checked<T>(cr: &OCamlRuntime, value: RawOCaml) -> Result<T, ArgError>
where
    T: OCamlRepr + FromOCaml<T::Marker>,
{
    // No reset of `CLOSED_SEEN` first: an object's check sets it only on its way to failing
    // (every compound check is a conjunction), and every check runs from here, which takes it.
    // SAFETY: the caller's contract (`value` valid, runtime lock held).
    if unsafe { T::check(value) } {
        // SAFETY: `value` has the shape of `T`'s OCaml type (checked just above) and is read
        // after the last allocation; `cr` proves the lock is held.
        Ok(unsafe { OCaml::<T::Marker>::new(cr, value) }.to_rust())
    } else {
        refused::<T>()
    }
}

/// Why [`from_ocaml_checked`] refused its value: out of line and cold, so that the check and
/// the conversion stay small enough to be inlined into every stub of a user's crate (the
/// type's name, a constant of a few hundred bytes, would otherwise keep them out of line).
#[cold]
#[inline(never)]
fn refused<T: OCamlRepr>() -> Result<T, ArgError> {
    if let Some(module) = CLOSED_SEEN.with(|seen| seen.take()) {
        Err(ArgError::Closed(module))
    } else {
        Err(ArgError::WrongType(format!(
            "expected a value of type {}",
            T::ocaml_type()
        )))
    }
}

/// Block tags from OCaml's `caml/mlvalues.h` (ocaml-sys keeps its `tag` module private).
pub(crate) mod tag {
    pub const CLOSURE: u8 = 247;
    pub const INFIX: u8 = 249;
    pub const STRING: u8 = 252;
    pub const DOUBLE: u8 = 253;
    pub const DOUBLE_ARRAY: u8 = 254;
    pub const CUSTOM: u8 = 255;
}

/// Whether `value` is a block of tag `tag` (and of `size` fields, if given).
///
/// # Safety
/// Runtime lock held; `value` is a valid OCaml value.
unsafe fn is_block_with(value: RawOCaml, tag: u8, size: Option<usize>) -> bool {
    // SAFETY: `value` is valid (the caller's contract) and a block (checked first), so it has
    // a header to read the tag and size from.
    sys::is_block(value)
        && unsafe { sys::tag_val(value) } == tag
        && size.is_none_or(|n| unsafe { sys::wosize_val(value) } == n)
}

/// Whether `value` is a custom block whose operations are named `identifier` (`"_i"` for
/// `int32`, `"_j"` for `int64`: OCaml's own names), so that an `int64` or a `nativeint` is not
/// read as an `int32`.
///
/// # Safety
/// Runtime lock held; `value` is a valid OCaml value.
unsafe fn is_custom_with(value: RawOCaml, identifier: &std::ffi::CStr) -> bool {
    // SAFETY: the caller's contract.
    if !unsafe { is_block_with(value, tag::CUSTOM, None) } {
        return false;
    }
    // A custom block starts with a pointer to its `struct custom_operations`, whose first
    // field is the identifier string.
    // SAFETY: a custom block (checked) has that pointer as its first word.
    let ops = unsafe { *(value as *const *const *const std::ffi::c_char) };
    // SAFETY: a non-null `custom_operations` starts with its NUL-terminated identifier.
    !ops.is_null() && unsafe { std::ffi::CStr::from_ptr(*ops) } == identifier
}

macro_rules! leaf {
    ($rust:ty, $marker:ty, |$v:ident| $check:expr) => {
        impl OCamlRepr for $rust {
            type Marker = $marker;
            #[inline]
            unsafe fn check($v: RawOCaml) -> bool {
                // SAFETY: `$v` is valid and the runtime lock held (the trait's contract), which
                // is what `is_block_with` and `is_custom_with` ask. (`unit` and `bool` need
                // none.)
                #[allow(unused_unsafe)]
                unsafe {
                    $check
                }
            }
        }
    };
}

leaf!((), (), |v| v == sys::UNIT);
leaf!(bool, bool, |v| v == sys::TRUE || v == sys::FALSE);

impl OCamlRepr for i64 {
    type Marker = OCamlInt;
    #[inline]
    unsafe fn check(v: RawOCaml) -> bool {
        sys::is_long(v)
    }
    #[inline]
    fn check_fits(&self) -> Result<(), String> {
        if (OCAML_INT_MIN..=OCAML_INT_MAX).contains(self) {
            Ok(())
        } else {
            int_does_not_fit(*self)
        }
    }
}

/// The refusal of an `i64` beyond OCaml's `int`, out of the way of the check.
#[cold]
#[inline(never)]
fn int_does_not_fit(value: i64) -> Result<(), String> {
    Err(format!(
        "{value} does not fit OCaml's int (63 bits: {OCAML_INT_MIN} .. {OCAML_INT_MAX})"
    ))
}

leaf!(i32, OCamlInt32, |v| is_custom_with(v, c"_i"));
leaf!(Int64, OCamlInt64, |v| is_custom_with(v, c"_j"));
leaf!(f64, OCamlFloat, |v| is_block_with(v, tag::DOUBLE, None));
// A Rust `String` must be UTF-8: other OCaml strings are refused, never silently altered
// (`Bytes` takes any bytes).
impl OCamlRepr for String {
    type Marker = Utf8String;

    fn ocaml_type() -> String {
        format!("{} (valid UTF-8)", <Self as OCamlRepr>::OCAML_TYPE.as_str())
    }

    #[inline]
    unsafe fn check(v: RawOCaml) -> bool {
        // SAFETY: the trait's contract, which is `is_utf8_string`'s.
        unsafe { is_utf8_string(v) }
    }
}

leaf!(Bytes, OCamlBytes, |v| is_block_with(v, tag::STRING, None));

/// The bytes of the OCaml string `v`, its length read from the block as OCaml's
/// `caml_string_length` does (the last byte of the block says how many padding bytes precede
/// it), without the call.
///
/// # Safety
/// Runtime lock held; `v` is a string block. The slice is valid until the next allocation.
#[inline]
unsafe fn string_bytes<'a>(v: RawOCaml) -> &'a [u8] {
    // SAFETY: a string block of `wosize` words holds `wosize * 8` bytes, the last of which is
    // the padding count (at most 7), so the length is in bounds.
    unsafe {
        let bytes = sys::string_val(v);
        let size = sys::wosize_val(v) * std::mem::size_of::<RawOCaml>();
        let len = size - 1 - usize::from(*bytes.add(size - 1));
        std::slice::from_raw_parts(bytes, len)
    }
}

/// Whether `v` is a string block holding UTF-8.
///
/// # Safety
/// Runtime lock held; `v` is a valid OCaml value.
#[inline]
unsafe fn is_utf8_string(v: RawOCaml) -> bool {
    // SAFETY: the caller's contract; the bytes are read only once `v` is known to be a string.
    unsafe { is_block_with(v, tag::STRING, None) && utf8(string_bytes(v)).is_some() }
}

/// `bytes` as a `str` if they are UTF-8. ASCII (names, keys, most short strings) is
/// recognised by a word-at-a-time scan; anything else gets the full check.
#[inline]
fn utf8(bytes: &[u8]) -> Option<&str> {
    if bytes.is_ascii() {
        // SAFETY: ASCII is UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes).ok()
    }
}

// SAFETY: a string block of the string's length, filled before anything else allocates.
unsafe impl ToOCaml<Utf8String> for String {
    #[inline]
    fn to_ocaml<'a>(&self, cr: &'a mut OCamlRuntime) -> OCaml<'a, Utf8String> {
        // SAFETY: `cr` proves the runtime lock is held; `caml_alloc_string` makes a block of
        // at least `len` bytes, filled at once.
        unsafe {
            let block = sys::caml_alloc_string(self.len());
            std::ptr::copy_nonoverlapping(self.as_ptr(), sys::string_val(block), self.len());
            OCaml::new(cr, block)
        }
    }
}

// SAFETY: reads the bytes of a string block, copying them; never builds a `String` of bytes
// that are not UTF-8.
unsafe impl FromOCaml<Utf8String> for String {
    #[inline]
    fn from_ocaml(v: OCaml<Utf8String>) -> Self {
        // SAFETY: an `OCaml` value exists only while the runtime lock is held, and a value of
        // this marker is a string block; the bytes are copied before anything allocates.
        let bytes = unsafe { string_bytes(v.raw()) };
        match utf8(bytes) {
            Some(text) => text.to_owned(),
            None => not_utf8(bytes),
        }
    }
}

/// A string that is not UTF-8, read where no shape check ran first (the checked paths refuse
/// it): as ocaml-interop reads it, with replacement characters.
#[cold]
#[inline(never)]
fn not_utf8(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl<T: OCamlRepr> OCamlRepr for Option<T> {
    type Marker = Option<T::Marker>;
    unsafe fn check(v: RawOCaml) -> bool {
        v == sys::NONE
            // SAFETY: `v` is valid (the trait's contract); its field is read only once it is
            // known to be a one-field block, and is itself a valid value, as the inner check
            // asks. One block for the reads of one shape.
            || unsafe { is_block_with(v, 0, Some(1)) && T::check(*sys::field(v, 0)) }
    }
    fn check_fits(&self) -> Result<(), String> {
        self.as_ref().map_or(Ok(()), T::check_fits)
    }
}

impl<T: OCamlRepr, E: OCamlRepr> OCamlRepr for Result<T, E> {
    type Marker = Result<T::Marker, E::Marker>;
    unsafe fn check(v: RawOCaml) -> bool {
        // SAFETY: as for `Option`: a field is read only once the block's tag and size are
        // known.
        unsafe {
            (is_block_with(v, 0, Some(1)) && T::check(*sys::field(v, 0)))
                || (is_block_with(v, 1, Some(1)) && E::check(*sys::field(v, 0)))
        }
    }
    fn check_fits(&self) -> Result<(), String> {
        match self {
            Ok(v) => v.check_fits(),
            Err(e) => e.check_fits(),
        }
    }
}

impl<T: OCamlRepr> OCamlRepr for Vec<T> {
    type Marker = OCamlList<T::Marker>;
    unsafe fn check(mut v: RawOCaml) -> bool {
        while v != sys::EMPTY_LIST {
            // SAFETY: as for `Option`: a cons cell's two fields are read only once `v` is
            // known to be a two-field block of tag 0; each is a valid value.
            unsafe {
                if !is_block_with(v, 0, Some(2)) || !T::check(*sys::field(v, 0)) {
                    return false;
                }
                v = *sys::field(v, 1);
            }
        }
        true
    }
    fn check_fits(&self) -> Result<(), String> {
        self.iter().try_for_each(T::check_fits)
    }
}

fn is_f64<T: 'static>() -> bool {
    TypeId::of::<T>() == TypeId::of::<f64>()
}

impl<T: OCamlRepr> OCamlRepr for Array<T> {
    type Marker = OCamlArray<T::Marker>;
    unsafe fn check(v: RawOCaml) -> bool {
        if !sys::is_block(v) {
            return false;
        }
        // SAFETY: `v` is a valid block (checked), so it has a header; fields are read below
        // its size, and each is a valid value.
        match unsafe { sys::tag_val(v) } {
            // Flat float arrays; the empty array is a tag-0 atom for every element type.
            tag::DOUBLE_ARRAY => is_f64::<T>(),
            0 => {
                // SAFETY: see above.
                let size = unsafe { sys::wosize_val(v) };
                // SAFETY: see above: `i` is below the block's size.
                (0..size).all(|i| unsafe { T::check(*sys::field(v, i)) })
            }
            _ => false,
        }
    }
    fn check_fits(&self) -> Result<(), String> {
        self.0.iter().try_for_each(T::check_fits)
    }
}

// SAFETY: builds a well-formed OCaml array: a flat float array when `T` is `f64` (OCaml's
// representation of `float array`), else a block of converted elements (ocaml-interop's
// uniform array conversion, which roots as it goes).
unsafe impl<T> ToOCaml<OCamlArray<T::Marker>> for Array<T>
where
    T: OCamlRepr + ToOCaml<T::Marker>,
{
    fn to_ocaml<'a>(&self, cr: &'a mut OCamlRuntime) -> OCaml<'a, OCamlArray<T::Marker>> {
        if is_f64::<T>() && !self.0.is_empty() {
            // SAFETY: `T` is `f64` (checked by TypeId), so the slice has f64 elements; the
            // array is filled before anything else allocates.
            unsafe {
                let floats =
                    std::slice::from_raw_parts(self.0.as_ptr() as *const f64, self.0.len());
                let array = sys::caml_alloc_float_array(floats.len());
                for (i, x) in floats.iter().enumerate() {
                    sys::caml_sys_store_double_field(array, i, *x);
                }
                OCaml::new(cr, array)
            }
        } else {
            let array: OCaml<OCamlUniformArray<T::Marker>> = self.0.to_ocaml(cr);
            // SAFETY: same value, marker re-typed. (The handle is only borrowed to re-type the
            // value; `cr` is borrowed by `array`, and ocaml-interop has no public re-typing.)
            unsafe {
                OCaml::new(
                    ocaml_interop::internal::recover_runtime_handle(),
                    array.raw(),
                )
            }
        }
    }
}

// SAFETY: reads either representation of an OCaml array (see the ToOCaml impl).
unsafe impl<T> FromOCaml<OCamlArray<T::Marker>> for Array<T>
where
    T: OCamlRepr + FromOCaml<T::Marker>,
{
    fn from_ocaml(v: OCaml<OCamlArray<T::Marker>>) -> Self {
        // SAFETY: `v` is a valid array (the caller checked its shape, or OCaml's types
        // guarantee it); a flat float array only exists when `T` is `f64`.
        unsafe {
            let raw = v.raw();
            if sys::tag_val(raw) == tag::DOUBLE_ARRAY {
                assert!(
                    is_f64::<T>(),
                    "a float array read as {}",
                    Self::ocaml_type()
                );
                let floats: Vec<f64> = (0..sys::wosize_val(raw))
                    .map(|i| sys::caml_sys_double_field(raw, i))
                    .collect();
                let mut floats = std::mem::ManuallyDrop::new(floats);
                Array(Vec::from_raw_parts(
                    floats.as_mut_ptr() as *mut T,
                    floats.len(),
                    floats.capacity(),
                ))
            } else {
                // `from_ocaml` gets no handle; ocaml-interop has no public way to type a raw
                // value without one (the runtime lock is held: the trait's contract).
                let cr = ocaml_interop::internal::recover_runtime_handle();
                let uniform: OCaml<OCamlUniformArray<T::Marker>> = OCaml::new(cr, raw);
                Array(uniform.to_rust())
            }
        }
    }
}

// SAFETY: delegates to ocaml-interop's `int64` conversion.
unsafe impl ToOCaml<OCamlInt64> for Int64 {
    fn to_ocaml<'a>(&self, cr: &'a mut OCamlRuntime) -> OCaml<'a, OCamlInt64> {
        self.0.to_ocaml(cr)
    }
}

// SAFETY: delegates to ocaml-interop's `int64` conversion.
unsafe impl FromOCaml<OCamlInt64> for Int64 {
    fn from_ocaml(v: OCaml<OCamlInt64>) -> Self {
        Int64(v.to_rust())
    }
}

// SAFETY: delegates to ocaml-interop's `bytes` conversion.
unsafe impl ToOCaml<OCamlBytes> for Bytes {
    fn to_ocaml<'a>(&self, cr: &'a mut OCamlRuntime) -> OCaml<'a, OCamlBytes> {
        self.0.to_ocaml(cr)
    }
}

// SAFETY: delegates to ocaml-interop's `bytes` conversion.
unsafe impl FromOCaml<OCamlBytes> for Bytes {
    fn from_ocaml(v: OCaml<OCamlBytes>) -> Self {
        Bytes(v.to_rust())
    }
}

macro_rules! tuple {
    ($($t:ident $i:tt),+) => {
        impl<$($t: OCamlRepr),+> OCamlRepr for ($($t,)+) {
            type Marker = ($($t::Marker,)+);
            unsafe fn check(v: RawOCaml) -> bool {
                const SIZE: usize = [$($i),+].len();
                // SAFETY: as for `Option`: the fields are read only once `v` is known to be a
                // block of tag 0 with `SIZE` fields.
                unsafe { is_block_with(v, 0, Some(SIZE)) $(&& $t::check(*sys::field(v, $i)))+ }
            }
            fn check_fits(&self) -> Result<(), String> {
                $(self.$i.check_fits()?;)+
                Ok(())
            }
        }
    };
}

tuple!(A 0, B 1);
tuple!(A 0, B 1, C 2);
tuple!(A 0, B 1, C 2, D 3);

#[cfg(test)]
#[path = "conv_type_tests.rs"]
mod type_tests;
