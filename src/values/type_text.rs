//! OCaml type texts built at compile time: what the binding records say a Rust type is in
//! OCaml.
//!
//! Every Rust type that crosses the boundary has its OCaml type written once, as a constant:
//! [`OCamlTypeText::OCAML_TYPE`] on each ocaml-interop marker (and so
//! [`crate::conv::OCamlRepr::OCAML_TYPE`] on each convertible type, from its marker's). The
//! generic ones compose their arguments' in const context (`Vec<T>` is `T`'s text then
//! ` list`), with parentheses where OCaml's precedence needs them, so that the records the
//! proc macros leave in the compiled crate hold finished OCaml types: `lwt-rust-bindgen` prints
//! them as they are.
//!
//! The text is a fixed-capacity byte buffer with a length, since const code cannot allocate.
//! Nothing here touches the OCaml runtime: any thread, and mostly none at all (compile time).

use ocaml_interop::{
    OCamlBytes, OCamlException, OCamlFloat, OCamlInt, OCamlInt32, OCamlInt64, OCamlList,
};

/// The longest OCaml type text a [`TypeText`] holds, in bytes. A longer one stops the build
/// (a const panic naming the limit).
pub const TYPE_TEXT_CAPACITY: usize = 240;

/// An OCaml type as text, built in const context.
///
/// Two kinds: a tuple (`a * b`), which needs parentheses as an argument of a type constructor,
/// a tuple element or an arrow's side ([`TypeText::atom`]), and everything else (a name, an
/// application such as `int list`, a parenthesised type), which never does.
#[derive(Clone, Copy)]
pub struct TypeText {
    bytes: [u8; TYPE_TEXT_CAPACITY],
    len: usize,
    tuple: bool,
}

impl std::fmt::Debug for TypeText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TypeText({:?})", self.as_str())
    }
}

impl PartialEq for TypeText {
    fn eq(&self, other: &Self) -> bool {
        TypeText::same(self, other)
    }
}

impl Eq for TypeText {}

/// Whether `c` is a character of an OCaml type name, a module path or a type variable.
const fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'\''
}

/// Whether `c` can continue an identifier (a word boundary is any other byte).
const fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'\''
}

/// Copies `s` into `bytes` after its first `len` bytes, in const context: the new length, or
/// `None` (nothing copied) if `s` does not fit. Shared by [`TypeText`] and [`RecordText`].
const fn append<const N: usize>(bytes: &mut [u8; N], len: usize, s: &[u8]) -> Option<usize> {
    if len + s.len() > N {
        return None;
    }
    let mut i = 0;
    while i < s.len() {
        bytes[len + i] = s[i];
        i += 1;
    }
    Some(len + s.len())
}

impl TypeText {
    const EMPTY: TypeText = TypeText {
        bytes: [0; TYPE_TEXT_CAPACITY],
        len: 0,
        tuple: false,
    };

    /// Appends `s` (a const panic past [`TYPE_TEXT_CAPACITY`]).
    const fn push(mut self, s: &[u8]) -> Self {
        match append(&mut self.bytes, self.len, s) {
            Some(len) => self.len = len,
            None => {
                panic!("an OCaml type text longer than lwt_rust's TYPE_TEXT_CAPACITY (240 bytes)")
            }
        }
        self
    }

    /// Appends another text as it stands.
    const fn push_text(self, t: &TypeText) -> Self {
        self.push(t.as_bytes())
    }

    /// A trusted OCaml type, written by hand (`#[lwt_rust::ocaml_type("...")]`, a
    /// hand-written [`crate::conv::OCamlRepr`]): as it is when it is a single name (letters,
    /// digits, `_`, `.`, `'`), else parenthesised, so that it stays one type wherever it is
    /// put.
    pub const fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut simple = !bytes.is_empty();
        let mut i = 0;
        while i < bytes.len() {
            if !is_name_char(bytes[i]) {
                simple = false;
            }
            i += 1;
        }
        if simple {
            Self::EMPTY.push(bytes)
        } else {
            Self::EMPTY.push(b"(").push(bytes).push(b")")
        }
    }

    /// `arg con`: a one-argument type constructor applied (`int list`, `int Lwt.t`).
    pub const fn apply(arg: TypeText, con: &str) -> Self {
        Self::EMPTY.push_atom(&arg).push(b" ").push(con.as_bytes())
    }

    /// `(a, b) con`: a two-argument type constructor applied (`(int, string) result`).
    pub const fn apply2(a: TypeText, b: TypeText, con: &str) -> Self {
        Self::EMPTY
            .push(b"(")
            .push_text(&a)
            .push(b", ")
            .push_text(&b)
            .push(b") ")
            .push(con.as_bytes())
    }

    /// `a * b * ...`: a tuple of `parts` (each parenthesised if it is a tuple itself).
    pub const fn tuple(parts: &[TypeText]) -> Self {
        let mut out = Self::EMPTY;
        let mut i = 0;
        while i < parts.len() {
            if i > 0 {
                out = out.push(b" * ");
            }
            out = out.push_atom(&parts[i]);
            i += 1;
        }
        out.tuple = true;
        out
    }

    /// `(a -> b Lwt.t)`: an OCaml function returning a promise, parenthesised.
    pub const fn lwt_function(a: TypeText, b: TypeText) -> Self {
        Self::EMPTY
            .push(b"(")
            .push_text(&a)
            .push(b" -> ")
            .push_atom(&b)
            .push(b" Lwt.t)")
    }

    /// Appends `t`, parenthesised if it is a tuple.
    const fn push_atom(self, t: &TypeText) -> Self {
        if t.tuple {
            self.push(b"(").push_text(t).push(b")")
        } else {
            self.push_text(t)
        }
    }

    /// This type where a tuple needs parentheses: a parameter's or a result's type, a tuple
    /// element, a constructor's argument.
    pub const fn atom(self) -> Self {
        if self.tuple {
            let mut out = Self::EMPTY.push_atom(&self);
            out.tuple = false;
            out
        } else {
            self
        }
    }

    /// This type with every whole word `from` replaced by `to` (an object's type name by `t`,
    /// inside the object's own module).
    pub const fn replace_word(self, from: &str, to: &str) -> Self {
        let from = from.as_bytes();
        let bytes = self.as_bytes();
        let mut out = Self::EMPTY;
        out.tuple = self.tuple;
        let mut i = 0;
        while i < bytes.len() {
            if starts_word_at(bytes, i, from) {
                out = out.push(to.as_bytes());
                i += from.len();
            } else {
                out = out.push(&[bytes[i]]);
                i += 1;
            }
        }
        out
    }

    /// The text's bytes.
    pub const fn as_bytes(&self) -> &[u8] {
        self.bytes.split_at(self.len).0
    }

    /// The text.
    pub const fn as_str(&self) -> &str {
        match std::str::from_utf8(self.as_bytes()) {
            Ok(s) => s,
            // Built from `&str` pieces only, split at none of their characters.
            Err(_) => panic!("an OCaml type text that is not UTF-8"),
        }
    }

    /// The text's length in bytes.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether the text is empty (it never is once built by a constructor).
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the two texts are the same OCaml type (usable in const context): equal once
    /// the parentheses around each whole text are taken off. A hand-written text is
    /// parenthesised unless it is one name ([`TypeText::new`]), while a built one is not
    /// (`int list`, `int * string`), and both stand for the same type.
    pub const fn same(a: &TypeText, b: &TypeText) -> bool {
        bytes_eq(unwrapped(a.as_bytes()), unwrapped(b.as_bytes()))
    }
}

/// `bytes` without the parentheses that enclose all of it, every level of them
/// (`((int * int))` → `int * int`; `(a) * (b)` stays as it is).
const fn unwrapped(mut bytes: &[u8]) -> &[u8] {
    while bytes.len() >= 2 && bytes[0] == b'(' && closing_paren(bytes) == bytes.len() - 1 {
        let (_, inner) = bytes.split_at(1);
        bytes = inner.split_at(inner.len() - 1).0;
    }
    bytes
}

/// The index of the `)` matching the `(` that `bytes` starts with (`bytes.len()` if none).
const fn closing_paren(bytes: &[u8]) -> usize {
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'(' {
            depth += 1;
        } else if bytes[i] == b')' {
            depth -= 1;
            if depth == 0 {
                return i;
            }
        }
        i += 1;
    }
    bytes.len()
}

/// Whether `word` occurs in `bytes` at `i` as a whole word (no identifier character, nor a
/// module path's `.`, on either side).
const fn starts_word_at(bytes: &[u8], i: usize, word: &[u8]) -> bool {
    if word.is_empty() || i + word.len() > bytes.len() {
        return false;
    }
    if i > 0 && (is_ident_char(bytes[i - 1]) || bytes[i - 1] == b'.') {
        return false;
    }
    let end = i + word.len();
    if end < bytes.len() && is_ident_char(bytes[end]) {
        return false;
    }
    let mut j = 0;
    while j < word.len() {
        if bytes[i + j] != word[j] {
            return false;
        }
        j += 1;
    }
    true
}

/// Byte-wise equality in const context.
const fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// An object's OCaml type from its module: `Kv_store` → `kv_store` (the module is the type
/// with its first letter capitalised).
pub const fn object_type(module: &str) -> TypeText {
    let bytes = module.as_bytes();
    let mut out = TypeText::EMPTY;
    let mut i = 0;
    while i < bytes.len() {
        let c = if i == 0 {
            bytes[i].to_ascii_lowercase()
        } else {
            bytes[i]
        };
        out = out.push(&[c]);
        i += 1;
    }
    out
}

/// The OCaml type of an ocaml-interop marker (a type that names an OCaml type, such as
/// `OCamlInt` for `int`), written once for every Rust type converted through that marker.
#[diagnostic::on_unimplemented(
    message = "`{Self}` names no OCaml type lwt_rust can write in the bindings",
    label = "no OCaml type text for this marker",
    note = "a marker of lwt_rust::conv, ocaml-interop's, or a type given #[lwt_rust::record], \
            #[lwt_rust::variant] or #[lwt_rust::error]"
)]
pub trait OCamlTypeText {
    /// The OCaml type this marker stands for.
    const OCAML_TYPE: TypeText;
}

macro_rules! named {
    ($($marker:ty => $name:literal),* $(,)?) => {$(
        impl OCamlTypeText for $marker {
            const OCAML_TYPE: TypeText = TypeText::new($name);
        }
    )*};
}

named! {
    () => "unit",
    bool => "bool",
    OCamlInt => "int",
    OCamlInt32 => "int32",
    OCamlInt64 => "int64",
    OCamlFloat => "float",
    String => "string",
    OCamlBytes => "bytes",
    OCamlException => "exn",
}

impl<T: OCamlTypeText> OCamlTypeText for Option<T> {
    const OCAML_TYPE: TypeText = TypeText::apply(T::OCAML_TYPE, "option");
}

impl<T: OCamlTypeText, E: OCamlTypeText> OCamlTypeText for Result<T, E> {
    const OCAML_TYPE: TypeText = TypeText::apply2(T::OCAML_TYPE, E::OCAML_TYPE, "result");
}

impl<T: OCamlTypeText> OCamlTypeText for OCamlList<T> {
    const OCAML_TYPE: TypeText = TypeText::apply(T::OCAML_TYPE, "list");
}

macro_rules! tuple {
    ($($t:ident),+) => {
        impl<$($t: OCamlTypeText),+> OCamlTypeText for ($($t,)+) {
            const OCAML_TYPE: TypeText = TypeText::tuple(&[$($t::OCAML_TYPE),+]);
        }
    };
}

tuple!(A, B);
tuple!(A, B, C);
tuple!(A, B, C, D);

/// A binding record's bytes, assembled in const context by the code the proc macros generate:
/// literal pieces and OCaml type texts ([`TypeText`]), then copied into the record's
/// `#[used] static` ([`RecordText::to_array`], whose length is [`RecordText::len`]). `CAP`
/// bounds the length (the literal pieces' plus [`TYPE_TEXT_CAPACITY`] a type).
pub struct RecordText<const CAP: usize> {
    bytes: [u8; CAP],
    len: usize,
}

impl<const CAP: usize> RecordText<CAP> {
    /// An empty record text.
    #[allow(clippy::new_without_default)] // const context has no `Default`.
    pub const fn new() -> Self {
        RecordText {
            bytes: [0; CAP],
            len: 0,
        }
    }

    /// Appends literal bytes (the macro has replaced the line breaks and NULs of values).
    pub const fn text(mut self, s: &[u8]) -> Self {
        match append(&mut self.bytes, self.len, s) {
            Some(len) => self.len = len,
            None => panic!("a binding record longer than its capacity"),
        }
        self
    }

    /// Appends an OCaml type's text, a line break, carriage return or NUL in it (a
    /// hand-written type's) replaced by a space, as a record's values never hold one.
    pub const fn ty(mut self, t: TypeText) -> Self {
        let s = t.as_bytes();
        if self.len + s.len() > CAP {
            panic!("a binding record longer than its capacity");
        }
        let mut i = 0;
        while i < s.len() {
            self.bytes[self.len + i] = match s[i] {
                b'\n' | b'\r' | 0 => b' ',
                c => c,
            };
            i += 1;
        }
        self.len += s.len();
        self
    }

    /// The record's length in bytes.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was appended.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The record's bytes as an array of its exact length `N` (a const panic otherwise).
    pub const fn to_array<const N: usize>(&self) -> [u8; N] {
        if N != self.len {
            panic!("a binding record copied into an array of another length");
        }
        let mut out = [0u8; N];
        let mut i = 0;
        while i < N {
            out[i] = self.bytes[i];
            i += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tuple_is_parenthesised_only_as_an_atom() {
        let pair = TypeText::tuple(&[TypeText::new("int"), TypeText::new("string")]);
        assert_eq!(pair.as_str(), "int * string");
        assert_eq!(pair.atom().as_str(), "(int * string)");
        assert_eq!(
            TypeText::apply(pair, "Lwt.t").as_str(),
            "(int * string) Lwt.t"
        );
        assert_eq!(
            TypeText::tuple(&[pair, TypeText::new("bool")]).as_str(),
            "(int * string) * bool"
        );
        assert_eq!(
            TypeText::apply2(pair, pair, "result").as_str(),
            "(int * string, int * string) result"
        );
        assert_eq!(
            TypeText::lwt_function(pair, pair).as_str(),
            "(int * string -> (int * string) Lwt.t)"
        );
        let plain = TypeText::apply(TypeText::new("int"), "list");
        assert_eq!(plain.atom(), plain);
    }

    #[test]
    fn hand_written_types_are_parenthesised_unless_one_name() {
        assert_eq!(TypeText::new("Unix.file_descr").as_str(), "Unix.file_descr");
        assert_eq!(TypeText::new("'a").as_str(), "'a");
        assert_eq!(TypeText::new("int * int").as_str(), "(int * int)");
        assert_eq!(TypeText::new("string list").as_str(), "(string list)");
        assert_eq!(
            TypeText::apply(TypeText::new("int * int"), "list").as_str(),
            "(int * int) list"
        );
    }

    #[test]
    fn objects_and_self() {
        assert_eq!(object_type("Kv_store").as_str(), "kv_store");
        assert_eq!(object_type("Http_client").as_str(), "http_client");
        let t = TypeText::apply(
            TypeText::tuple(&[object_type("Kv_store"), TypeText::new("kv_store_x")]),
            "list",
        );
        // Only the whole word is the object's type.
        assert_eq!(
            t.replace_word("kv_store", "t").as_str(),
            "(t * kv_store_x) list"
        );
        assert_eq!(
            TypeText::new("M.kv_store")
                .replace_word("kv_store", "t")
                .as_str(),
            "M.kv_store"
        );
    }

    #[test]
    fn a_record_is_assembled_in_const_context() {
        const TEXT: RecordText<{ 16 + 2 * TYPE_TEXT_CAPACITY }> = RecordText::new()
            .text(b"p x ")
            .ty(<Option<(OCamlInt, bool)> as OCamlTypeText>::OCAML_TYPE)
            .text(b"\nr ")
            .ty(TypeText::new("a\nb"))
            .text(b"\n");
        static BYTES: [u8; TEXT.len()] = TEXT.to_array();
        assert_eq!(&BYTES, b"p x (int * bool) option\nr (a b)\n");
    }

    #[test]
    fn equality_is_usable_in_const_context() {
        const SAME: bool = TypeText::same(
            &<OCamlList<OCamlInt> as OCamlTypeText>::OCAML_TYPE,
            &TypeText::apply(TypeText::new("int"), "list"),
        );
        const DIFFERENT: bool = TypeText::same(&TypeText::new("int"), &TypeText::new("int32"));
        // Evaluated by the compiler: a wrong answer stops the test build.
        const { assert!(SAME && !DIFFERENT) };
    }

    #[test]
    fn hand_written_multi_word_types_match_built_ones() {
        let list = <OCamlList<OCamlInt> as OCamlTypeText>::OCAML_TYPE;
        assert!(TypeText::same(&list, &TypeText::new("int list")));
        assert!(TypeText::same(&TypeText::new("int list"), &list));
        let pair = <(OCamlInt, String) as OCamlTypeText>::OCAML_TYPE;
        assert!(TypeText::same(&pair, &TypeText::new("int * string")));
        assert!(TypeText::same(&pair, &TypeText::new("(int * string)")));
        assert!(TypeText::same(&pair.atom(), &pair));
        assert!(!TypeText::same(&pair, &TypeText::new("string * int")));
        assert!(!TypeText::same(&list, &TypeText::new("int option")));
        // Parentheses that do not enclose the whole text are kept.
        let pairs = TypeText::tuple(&[pair, pair]);
        assert_eq!(pairs.as_str(), "(int * string) * (int * string)");
        assert!(!TypeText::same(
            &pairs,
            &TypeText::new("(int * string) * (string * int)")
        ));
        assert!(TypeText::same(
            &pairs,
            &TypeText::new("(int * string) * (int * string)")
        ));
        const LIST_MATCHES: bool = TypeText::same(
            &<OCamlList<OCamlInt> as OCamlTypeText>::OCAML_TYPE,
            &TypeText::new("int list"),
        );
        const { assert!(LIST_MATCHES) };
    }
}
