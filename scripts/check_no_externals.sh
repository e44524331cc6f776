#!/usr/bin/env bash
# No hand-written OCaml `external` for a Rust function in the tests, demo, benchmarks,
# examples or stress programs: their bindings are generated from the Rust crates by
# lwt-rust-bindgen (testlib/dune), so that their OCaml types come from the Rust signatures.
# A test that needs a deliberately wrong type forges it with Obj.magic on a generated binding.
# Not checked: lib/ (the library's own stubs), test/bindgen (the generator's expected output),
# test/docs_examples.ml (the documentation's excerpts of generated .mli files, compiled inside
# module types: signatures only, never bound to a stub), build directories.
set -euo pipefail
cd "$(dirname "$0")/.."
found=$(find demo test bench examples stress \
  \( -name '_build*' -o -name target -o -path test/bindgen -o -path test/docs_examples.ml \) -prune -o \
  -type f \( -name '*.ml' -o -name '*.mli' -o -name '*.ml5' \) -print0 |
  sort -z | xargs -0 grep -nE '^[[:space:]]*external[[:space:]]' || true)
if [ -n "$found" ]; then
  echo "check_no_externals: hand-written externals (generate them with lwt-rust-bindgen):" >&2
  echo "$found" >&2
  exit 1
fi
echo "check_no_externals: OK (no hand-written external)"
