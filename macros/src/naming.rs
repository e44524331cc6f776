//! The names the attributes give: C symbols in the crate's own namespace, every OCaml name of
//! the bindings (values, parameters, objects' types and modules, data types, exceptions and
//! fields, decided here and nowhere else: the generator prints them), the Rust names of the
//! generated stubs.

use quote::format_ident;

/// The crate being compiled, as cargo names it for rustc (`CARGO_CRATE_NAME`).
pub(crate) fn crate_name() -> String {
    std::env::var("CARGO_CRATE_NAME").unwrap_or_else(|_| "unknown_crate".to_owned())
}

/// The C symbol of an item of the crate `krate`: `lwt_rust_<n>_<crate>_<item>`, `<n>` being
/// the length of the crate's name. Every symbol the attributes export is one of these: never a
/// bare Rust name (a function named `write` or `time` would replace the C library's for the
/// whole program). The prefix `lwt_rust_` followed by a digit is used by nothing else
/// (`lwt_rust`'s own stubs are `lwt_rust_<word>`), and the length makes the crate's name end
/// unambiguously (a crate name never starts with a digit), so two crates' symbols never meet.
/// Within the crate, `<item>` is `fn_<name>` (a free function), `method_<m>_<Type>_<name>`
/// (`<m>` the length of `Type`) or `close_<Type>` (an object's `close`).
pub(crate) fn c_symbol(krate: &str, item: &str) -> String {
    format!("lwt_rust_{}_{krate}_{item}", krate.len())
}

/// The `<item>` part of a free function's symbol.
pub(crate) fn function_item(part: &str) -> String {
    format!("fn_{part}")
}

/// The `<item>` part of a method's symbol.
pub(crate) fn method_item(owner: &str, part: &str) -> String {
    format!("method_{}_{owner}_{part}", owner.len())
}

/// The `<item>` part of an object's `close`.
pub(crate) fn close_item(owner: &str) -> String {
    format!("close_{owner}")
}

/// The part of a C symbol that `name = "..."` gives: a C identifier's characters only.
pub(crate) fn symbol_part(name: &str, span: proc_macro2::Span) -> syn::Result<String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(syn::Error::new(
            span,
            format!(
                "`name = {name:?}`: the name is part of a C symbol: letters, digits and `_` only"
            ),
        ));
    }
    Ok(name.to_owned())
}

/// An identifier without its `r#` (`r#type` → `type`).
pub(crate) fn unraw(ident: &syn::Ident) -> String {
    use syn::ext::IdentExt;
    ident.unraw().to_string()
}

/// `KvStore` → `kv_store` (a capital starts a word after a lowercase letter or a digit, or
/// before a lowercase letter after a capital: `HTTPClient` → `http_client`).
pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let previous = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if previous.is_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_uppercase() && next_lower)
            {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// `kv_store` → `Kv_store`.
pub(crate) fn module_name(snake: &str) -> String {
    let mut chars = snake.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The OCaml module of an object type: `KvStore` → `Kv_store`.
pub(crate) fn object_module(owner: &syn::Ident) -> String {
    module_name(&snake_case(&owner.to_string()))
}

/// The names every object module has already (see `lwt-rust-bindgen`).
pub(crate) const RESERVED: [&str; 4] = ["close", "equal", "compare", "hash"];

/// The Rust name of a function's stub (it repeats the function's, which may start with `_`).
pub(crate) fn stub_ident(owner: Option<&syn::Ident>, name: &syn::Ident) -> syn::Ident {
    match owner {
        Some(owner) => format_ident!(
            "__lwt_rust_stub_{}_{}",
            snake_case(&owner.to_string()),
            name
        ),
        None => format_ident!("__lwt_rust_stub_{}", name),
    }
}

/// The Rust name of an object's `close` stub.
pub(crate) fn close_stub_ident(owner: &syn::Ident) -> syn::Ident {
    format_ident!("__lwt_rust_close_{}", snake_case(&owner.to_string()))
}

/// OCaml's keywords, including `effect` (reserved since OCaml 5.3): a name that is one gets a
/// trailing `_` in the bindings. The same list as `tools/tool_keywords.ml` (a test of this
/// crate compares them).
pub(crate) const OCAML_KEYWORDS: [&str; 57] = [
    "and",
    "as",
    "assert",
    "asr",
    "begin",
    "class",
    "constraint",
    "do",
    "done",
    "downto",
    "effect",
    "else",
    "end",
    "exception",
    "external",
    "false",
    "for",
    "fun",
    "function",
    "functor",
    "if",
    "in",
    "include",
    "inherit",
    "initializer",
    "land",
    "lazy",
    "let",
    "lor",
    "lsl",
    "lsr",
    "lxor",
    "match",
    "method",
    "mod",
    "module",
    "mutable",
    "new",
    "nonrec",
    "object",
    "of",
    "open",
    "or",
    "private",
    "rec",
    "sig",
    "struct",
    "then",
    "to",
    "true",
    "try",
    "type",
    "val",
    "virtual",
    "when",
    "while",
    "with",
];

/// Type names the generated bindings use themselves: no object or data type may take one.
pub(crate) const RESERVED_TYPES: [&str; 13] = [
    "t", "unit", "bool", "int", "int32", "int64", "float", "string", "bytes", "option", "result",
    "list", "array",
];

/// Module names the generated bindings use: no object's module may take one.
pub(crate) const RESERVED_MODULES: [&str; 4] = ["Stdlib", "Lwt", "Lwt_stream", "Lwt_rust"];

/// `name`, with a trailing `_` if it is an OCaml keyword (`type` → `type_`).
pub(crate) fn unkeyword(name: &str) -> String {
    if OCAML_KEYWORDS.contains(&name) {
        format!("{name}_")
    } else {
        name.to_owned()
    }
}

/// Whether `name` is an OCaml value (or field) name: a lowercase letter or `_`, then letters,
/// digits, `_` and `'`; not `_` alone.
pub(crate) fn is_value_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '\'')
        && name != "_"
}

/// The OCaml value of a function or method named `ident`: without a raw identifier's `r#`,
/// an OCaml keyword with a trailing `_`, except a method or associated function `new`, which
/// is `create` (OCaml's convention for a constructor). `Err`: the name makes no OCaml value.
pub(crate) fn value_name(ident: &syn::Ident, is_method: bool) -> syn::Result<String> {
    let plain = unraw(ident);
    let name = if is_method && plain == "new" {
        "create".to_owned()
    } else {
        unkeyword(&plain)
    };
    if !is_value_name(&name) {
        return Err(syn::Error::new_spanned(
            ident,
            format!("the Rust name `{plain}` makes no OCaml value name (`{name}`)"),
        ));
    }
    Ok(name)
}

/// The names of a binding's parameters, as the wrapper of a stream function writes them
/// (`f ?switch x y = f__raw x y`): the Rust ones, unraw'd and unkeyworded, `self` first for a
/// receiver, where they are distinct OCaml value names other than `raw` (the external's own
/// name); else `x1`, `x2`, ...
pub(crate) fn param_names(raw: &str, receiver: bool, params: &[String]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    if receiver {
        names.push("self".to_owned());
    }
    names.extend(params.iter().map(|p| unkeyword(p)));
    let ok = names.iter().all(|n| is_value_name(n) && n != raw);
    let distinct = names
        .iter()
        .enumerate()
        .all(|(i, n)| !names[..i].contains(n));
    if ok && distinct {
        names
    } else {
        (1..=names.len()).map(|i| format!("x{i}")).collect()
    }
}

/// The OCaml type of a Rust object or data type named `ident` (`KvStore` → `kv_store`),
/// checked: an OCaml type name, not one the bindings use. `what`: the attribute, for messages.
pub(crate) fn type_name(ident: &syn::Ident, what: &str) -> syn::Result<String> {
    let rust = unraw(ident);
    let ty = snake_case(&rust);
    if !is_value_name(&ty) {
        return Err(syn::Error::new_spanned(
            ident,
            format!("{what}: the Rust type `{rust}` makes no OCaml type name (`{ty}`)"),
        ));
    }
    if RESERVED_TYPES.contains(&ty.as_str()) {
        return Err(syn::Error::new_spanned(
            ident,
            format!(
                "{what}: the OCaml type `{ty}` of the Rust type {rust} would hide a type the \
                 bindings use: rename the type"
            ),
        ));
    }
    Ok(ty)
}

/// The OCaml module of an object type named `ident`, checked: not one the bindings use.
pub(crate) fn checked_object_module(ident: &syn::Ident) -> syn::Result<String> {
    let module = object_module(ident);
    if RESERVED_MODULES.contains(&module.as_str()) {
        return Err(syn::Error::new_spanned(
            ident,
            format!(
                "#[lwt_rust::object]: the OCaml module `{module}` of the Rust type {ident} would \
                 hide a module the bindings use: rename the type"
            ),
        ));
    }
    Ok(module)
}

/// The OCaml name of a record field or an inline record's field named `name` (unraw'd): a
/// keyword with a trailing `_`. `Err`: the name makes no OCaml field name.
pub(crate) fn field_name(name: &str) -> Option<String> {
    let n = unkeyword(name);
    is_value_name(&n).then_some(n)
}
