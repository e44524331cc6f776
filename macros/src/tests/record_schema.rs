//! The records these macros write, against the record format the generator checks
//! (`tools/bindgen/record_schema.txt`, read from the repository): the same version, and, for
//! every representative item the expansion snapshots hold, only the schema's keys, in its
//! order, each as many times as the item's kind allows, with an allowed value.

use std::path::PathBuf;

use proc_macro2::{TokenStream, TokenTree};

use super::expansion::expansions;
use crate::record::{marker, RECORD_VERSION};

/// The kinds of item, in the order of the schema's count columns.
const KINDS: [&str; 4] = ["function", "method", "object", "data"];

/// One `key` row of the schema.
struct Key {
    name: String,
    /// Per kind of item (see [`KINDS`]): `1`, `?`, `*`, `-`, `raw` or `not-raw`.
    counts: Vec<String>,
    /// Whether its lines share the place of the row above (`shared`) rather than come after
    /// it (`own`).
    shared: bool,
    /// The value's grammar: `a|b|c`, or the name of a free-form grammar.
    value: String,
}

struct Schema {
    version: u32,
    keys: Vec<Key>,
}

/// The schema, or `None` outside the repository (the packaged crate has no `tools/`).
fn schema() -> Option<Schema> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/bindgen/record_schema.txt");
    let text = std::fs::read_to_string(&path).ok()?;
    let mut version = None;
    let mut keys = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["version", n] => version = Some(n.parse().expect("a numeric version")),
            ["key", name, counts @ .., place @ ("own" | "shared"), value]
                if counts.len() == KINDS.len() =>
            {
                keys.push(Key {
                    name: name.to_string(),
                    counts: counts.iter().map(|c| c.to_string()).collect(),
                    shared: *place == "shared",
                    value: value.to_string(),
                })
            }
            ["key", ..] => panic!(
                "{}: a key row of unexpected shape: {line:?}",
                path.display()
            ),
            _ => {}
        }
    }
    Some(Schema {
        version: version.unwrap_or_else(|| panic!("{}: no `version` line", path.display())),
        keys,
    })
}

/// Every record of `tokens`: the chains `RecordText::new().text(b"...").ty(...)...` of the
/// generated consts, as text, each OCaml type the compiler would compute written `int` (a
/// type is all the schema asks of it).
fn records(tokens: TokenStream, out: &mut Vec<String>) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut current: Option<String> = None;
    for (i, tree) in trees.iter().enumerate() {
        let argument = match trees.get(i + 1) {
            Some(TokenTree::Group(group)) => Some(group.stream()),
            _ => None,
        };
        match (tree, argument) {
            (TokenTree::Ident(ident), Some(argument)) if ident == "text" => {
                let lit = syn::parse2::<syn::LitByteStr>(argument).expect("a byte string");
                let text = String::from_utf8(lit.value()).expect("a UTF-8 record");
                current.get_or_insert_with(String::new).push_str(&text);
            }
            (TokenTree::Ident(ident), Some(_)) if ident == "ty" => {
                if let Some(record) = current.as_mut() {
                    record.push_str("int");
                }
            }
            (TokenTree::Group(group), _) => records(group.stream(), out),
            _ => {}
        }
        if current
            .as_ref()
            .is_some_and(|r| r.ends_with('\0') && r.len() > 1)
        {
            let record = current.take().expect("checked");
            assert!(
                record.starts_with(&marker()),
                "a record without its marker: {record:?}"
            );
            out.push(record);
        }
    }
}

/// What is wrong with `record` against `schema` (empty if nothing).
fn violations(schema: &Schema, record: &str) -> Vec<String> {
    let body = record
        .strip_prefix(&marker())
        .and_then(|r| r.strip_suffix('\0'))
        .expect("marker, lines, NUL");
    let lines: Vec<(&str, &str)> = body
        .lines()
        .map(|l| l.split_once(' ').unwrap_or((l, "")))
        .collect();
    let value_of = |key: &str| lines.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let item = value_of("item").unwrap_or("<none>");
    let Some(kind) = KINDS.iter().position(|k| *k == item) else {
        return vec![format!("unknown item kind {item:?}")];
    };
    let raw = value_of("call") == Some("raw");
    // A row's place in the order: its own index, or that of the nearest `own` row above it
    // for a `shared` row.
    let place = |at: usize| {
        (0..=at)
            .rev()
            .find(|&i| !schema.keys[i].shared)
            .unwrap_or(0)
    };
    let mut found = Vec::new();
    let mut position = 0;
    for (key, value) in &lines {
        match schema.keys.iter().position(|k| k.name == *key) {
            None => found.push(format!("key {key:?} is not in the schema")),
            Some(at) if place(at) < position => found.push(format!(
                "key {key:?} comes after {:?}, against the schema's order",
                schema.keys[position].name
            )),
            Some(at) => {
                position = place(at);
                let grammar = &schema.keys[at].value;
                // `a|b|c`: the value is one of the words; `name+a|b|c`: its second word is.
                let (words, checked) = match grammar.strip_prefix("name+") {
                    Some(words) => (words, value.split_once(' ').map_or("", |(_, w)| w)),
                    None => (grammar.as_str(), *value),
                };
                if words.contains('|') && !words.split('|').any(|w| w == checked) {
                    found.push(format!("{key} {value:?}: not one of {grammar}"));
                }
            }
        }
    }
    for key in &schema.keys {
        let n = lines.iter().filter(|(k, _)| *k == key.name).count();
        let allowed = match key.counts[kind].as_str() {
            "1" => n == 1,
            "*" => true,
            "?" => n <= 1,
            "-" => n == 0,
            "raw" => n == usize::from(raw),
            "not-raw" => n == usize::from(!raw),
            other => panic!("unknown count {other:?} for key {}", key.name),
        };
        if !allowed {
            found.push(format!(
                "key {:?} appears {n} times in a {item} record (schema: {})",
                key.name, key.counts[kind]
            ));
        }
    }
    found
}

#[test]
fn records_follow_the_schema() {
    let Some(schema) = schema() else {
        eprintln!(
            "skipped: ../tools/bindgen/record_schema.txt is not here (the packaged crate): the \
             record format is checked in the repository"
        );
        return;
    };
    assert_eq!(
        schema.version, RECORD_VERSION,
        "tools/bindgen/record_schema.txt is at version {} but the macros write version {} \
         (RECORD_VERSION in macros/src/record.rs): change both together",
        schema.version, RECORD_VERSION
    );
    let mut all = Vec::new();
    for (name, tokens) in expansions() {
        let mut found = Vec::new();
        records(tokens, &mut found);
        // `#[lwt_rust::ocaml_type]` leaves no record: it checks the type's OCAML_TYPE.
        assert!(
            !found.is_empty() || name == "ocaml_type",
            "{name}: no record in the expansion"
        );
        all.extend(found.into_iter().map(|r| (name, r)));
    }
    let kinds: Vec<String> = all
        .iter()
        .map(|(_, r)| {
            let receiver = r.contains("\nocaml_param self t\n");
            let item = r
                .lines()
                .find_map(|l| l.strip_prefix("item "))
                .unwrap_or("");
            format!("{item}{}", if receiver { "+self" } else { "" })
        })
        .collect();
    for want in ["function", "method", "method+self", "object", "data"] {
        assert!(
            kinds.iter().any(|k| k == want),
            "no {want} record: {kinds:?}"
        );
    }
    let bad: Vec<String> = all
        .iter()
        .flat_map(|(name, record)| {
            violations(&schema, record)
                .into_iter()
                .map(move |v| format!("{name}: {v}\n  in {record:?}"))
        })
        .collect();
    assert!(
        bad.is_empty(),
        "records against the schema:\n{}",
        bad.join("\n")
    );
}

#[test]
fn a_record_off_the_schema_is_caught() {
    let Some(schema) = schema() else { return };
    let m = marker();
    let out_of_order = format!(
        "{m}crate c\nitem function\nsymbol s\nrust r\ncall sync\nocaml_name r\nocaml_result int\n\0"
    );
    let unknown = format!(
        "{m}crate c\nitem object\nrust R\nsymbol s\nocaml_module R\nocaml_type r\ncolour red\n\0"
    );
    let missing =
        format!("{m}crate c\nitem function\nrust r\nsymbol s\ncall async\nocaml_name r\n\0");
    let bad_value =
        format!("{m}crate c\nitem data\nrust R\nsymbol s\nocaml_type r\nshape tuple\n\0");
    let old_kind = format!("{m}crate c\nitem type\nrust R\nsymbol s\nocaml int\n\0");
    for record in [out_of_order, unknown, missing, bad_value, old_kind] {
        assert!(
            !violations(&schema, &record).is_empty(),
            "{record:?} passed"
        );
    }
}
