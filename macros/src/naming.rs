//! The names the attributes give: C symbols in the crate's own namespace, OCaml module names,
//! the Rust names of the generated stubs.

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
