//! The callback names both halves share, checked in the sources themselves (`cargo test`, no
//! OCaml needed): the names `lib/lwt_rust.ml` registers, those `callbacks.rs` looks up and
//! the list the start-up handshake checks (`handshake.rs`) are the same set.

use std::collections::BTreeSet;

/// Every `"lwt_rust.<name>"` string literal in `source` whose quote is preceded by `prefix`.
fn names(source: &str, prefix: &str) -> BTreeSet<String> {
    let pattern = format!("{prefix}\"lwt_rust.");
    source
        .match_indices(&pattern)
        .map(|(at, _)| {
            let start = at + prefix.len() + 1;
            let end = start + source[start..].find('"').expect("an unterminated literal");
            source[start..end].to_owned()
        })
        .collect()
}

#[test]
fn callback_names_agree() {
    let registered = names(include_str!("../../lib/lwt_rust.ml"), "Callback.register ");
    let looked_up = names(include_str!("../values/callbacks.rs"), "lookup(c");
    let checked = names(include_str!("handshake.rs"), "    c");
    assert!(registered.len() > 10, "{registered:?}");
    assert_eq!(looked_up, checked, "callbacks.rs against handshake.rs");
    assert_eq!(
        looked_up, registered,
        "callbacks.rs against lib/lwt_rust.ml"
    );
}
