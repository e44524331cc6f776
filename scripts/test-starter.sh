#!/usr/bin/env bash
# `make test-starter`: builds and runs examples/starter the way a user would have it, outside
# this repository's dune workspace:
#   1. this repository's OCaml library, installed by `dune install --prefix $TMP/prefix`, found
#      through OCAMLPATH (as opam would install it), checked to hold no Rust code, and its
#      lwt-rust-staticlib checked to write a crate cargo reads;
#   2. the starter copied to $TMP/starter, its `lwt_rust` crate taken from this repository by
#      path (a [patch.crates-io] entry added to the copy's Cargo.toml);
#   3. `dune build` there (its rust/dune runs the installed lwt-rust-bindgen, found on PATH in
#      $TMP/prefix/bin, to generate the bindings), `dune test` (native and bytecode) and the
#      program run there.
# OFFLINE=1: steps 2-3 with the network cut (`unshare -n`, needs root) and cargo offline: the
# path an opam sandbox takes, with a warm cargo cache (run once online first).
# VENDOR=1 (with OFFLINE=1): the crates vendored into the copy first (`cargo vendor`, online),
# then built offline with an empty CARGO_HOME and CARGO_TARGET_DIR: a cold cache.
# KEEP=1 keeps $TMP. CARGO_TARGET_DIR defaults to target/starter here, so that the registry
# crates are compiled once across runs; set it to an empty directory for a cold build.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lwt_rust-starter.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$tmp"' EXIT
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target/starter}

step() { printf '\n== test-starter: %s\n' "$*"; }

step "install lwt_rust into $tmp/prefix"
(cd "$repo" && dune build @install 2>&1 && dune install --prefix "$tmp/prefix" lwt_rust 2>&1) |
  grep -v '^Installing\|^Deleting' || true
[ -f "$tmp/prefix/lib/lwt_rust/META" ] || { echo "test-starter: lwt_rust was not installed" >&2; exit 1; }
# The installed library is the bare bridge: no Rust archive, no test or demo function.
if find "$tmp/prefix" \( -name '*.a' -o -name '*.so' \) -print0 |
  xargs -0 -r nm -A --defined-only 2>/dev/null | grep -q 'lwt_rust_demo\|lwt_rust_setup'; then
  echo "test-starter: the installed library holds Rust code" >&2
  exit 1
fi

step "the installed lwt-rust-staticlib writes a crate cargo reads"
mkdir -p "$tmp/gen"
(cd "$tmp/gen" &&
  "$tmp/prefix/bin/lwt-rust-staticlib" gen_rust alpha_rs="$repo/test/two_libs/alpha/rust" \
    "beta_rs={ path = \"$repo/test/two_libs/beta/rust\" }" &&
  grep -q "^alpha_rs = { path = \"$repo/test/two_libs/alpha/rust\" }\$" Cargo.toml &&
  grep -q '^pub use alpha_rs;$' lib.rs && grep -q '^pub use beta_rs;$' lib.rs &&
  cargo read-manifest --manifest-path Cargo.toml >/dev/null) ||
  { echo "test-starter: lwt-rust-staticlib's crate is wrong" >&2; exit 1; }

step "copy the starter to $tmp/starter"
cp -r "$repo/examples/starter" "$tmp/starter"
rm -rf "$tmp/starter/_build" "$tmp/starter/_build-"* "$tmp/starter/target"
cat >>"$tmp/starter/rust/Cargo.toml" <<TOML

[patch.crates-io]
lwt_rust = { path = "$repo" }
TOML
# Same versions of the registry crates as this repository (cached already, also offline).
cp "$repo/Cargo.lock" "$tmp/starter/rust/Cargo.lock"

if [ "${VENDOR:-0}" = 1 ]; then
  step "vendor the crates (online), then build with an empty CARGO_HOME"
  mkdir -p "$tmp/starter/.cargo"
  (cd "$tmp/starter/rust" && cargo vendor --quiet ../vendor)
  # What `cargo vendor` prints, the path relative to the project (the parent of .cargo).
  cat >"$tmp/starter/.cargo/config.toml" <<TOML
[source.crates-io]
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "vendor"
TOML
  export CARGO_HOME="$tmp/cargo-home" CARGO_TARGET_DIR="$tmp/target"
  mkdir -p "$CARGO_HOME"
fi

export OCAMLPATH="$tmp/prefix/lib${OCAMLPATH:+:$OCAMLPATH}"
# The installed tools (lwt-rust-bindgen, lwt-rust-staticlib) are in $prefix/bin, as opam puts
# them in its switch's bin/: dune finds `%{bin:lwt-rust-bindgen}` (rust/dune) on PATH.
export PATH="$tmp/prefix/bin:$PATH"
[ "$(command -v lwt-rust-bindgen)" = "$tmp/prefix/bin/lwt-rust-bindgen" ] ||
  { echo "test-starter: lwt-rust-bindgen is not installed in $tmp/prefix/bin" >&2; exit 1; }
run() {
  if [ "${OFFLINE:-0}" = 1 ]; then
    CARGO_NET_OFFLINE=true unshare -n -- "$@"
  else
    "$@"
  fi
}
cd "$tmp/starter"
step "dune build (${OFFLINE:+offline, }CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
start=$(date +%s%N)
run dune build --root . 2>&1
echo "test-starter: build took $((($(date +%s%N) - start) / 1000000)) ms"
step "dune test"
run dune test --root . 2>&1
step "the program"
run "./${DUNE_BUILD_DIR:-_build}/default/bin/main.exe"
