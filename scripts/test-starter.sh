#!/usr/bin/env bash
# `make test-starter`: builds and runs examples/starter the way a user would have it, outside
# this repository's dune workspace:
#   1. this repository's OCaml library, installed by `dune install --prefix $TMP/prefix`, found
#      through OCAMLPATH (as opam would install it), checked to hold no Rust code, and its
#      lwt-rust-staticlib checked to write a crate cargo reads;
#   2. the starter copied to $TMP/starter, its `lwt_rust` crate taken from this repository by
#      a relative path (from the copy's rust/ to this repository), its committed Cargo.lock
#      used as is (rust/dune runs cargo --locked: a lock that does not fit fails the build);
#   3. `dune build` there (its rust/dune runs the installed lwt-rust-bindgen, found on PATH in
#      $TMP/prefix/bin, to generate the bindings), `dune test` (native and bytecode) and the
#      program run there;
#   4. the installed lwt-rust-new: names it must refuse (exit code 2, nothing written), then a
#      project of a fresh name scaffolded in $TMP/new (lwt_rust by relative path), built,
#      tested and run, and again with --native-only (checked to build no dll*.so).
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
# The starter names this repository as "../../.." (its place in it); the copy names it by a
# relative path from its own rust/, which cargo must resolve from there (not from _build).
rel=$(realpath --relative-to="$tmp/starter/rust" "$repo")
sed -i "s|^lwt_rust = { path = \"../../..\"|lwt_rust = { path = \"$rel\"|" "$tmp/starter/rust/Cargo.toml"
grep -q "^lwt_rust = { path = \"$rel\"" "$tmp/starter/rust/Cargo.toml" ||
  { echo "test-starter: the starter's lwt_rust dependency was not found to rewrite" >&2; exit 1; }
lock_before=$(sha256sum <"$tmp/starter/rust/Cargo.lock")

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
[ "$(sha256sum <"$tmp/starter/rust/Cargo.lock")" = "$lock_before" ] ||
  { echo "test-starter: the build changed the committed Cargo.lock" >&2; exit 1; }

step "lwt-rust-new refuses names cargo, dune or OCaml would refuse (exit 2, nothing written)"
mkdir -p "$tmp/new"
cd "$tmp/new"
for bad in 9lives My_app my-app fn let test lwt_rust a__b "" "x y"; do
  rc=0
  lwt-rust-new "$bad" --lwt-rust-path "$repo" >"$tmp/out" 2>&1 || rc=$?
  if [ "$rc" != 2 ] || ! grep -q "refused" "$tmp/out" || [ -n "$(ls -A)" ]; then
    echo "test-starter: lwt-rust-new '$bad' gave exit code $rc, wrote: $(ls -A)" >&2
    cat "$tmp/out" >&2
    exit 1
  fi
done
rc=0
lwt-rust-new ok_name --lwt-rust-path "$tmp/nowhere" >"$tmp/out" 2>&1 || rc=$?
[ "$rc" = 2 ] && [ -z "$(ls -A)" ] ||
  { echo "test-starter: lwt-rust-new with a wrong --lwt-rust-path gave $rc" >&2; exit 1; }

if [ "${VENDOR:-0}" = 1 ]; then
  # The new projects take their crates from the starter's vendored copy (cargo reads
  # .cargo/config.toml in the parents of the directory it runs in).
  mkdir -p "$tmp/.cargo"
  sed "s|^directory = \"vendor\"|directory = \"$tmp/starter/vendor\"|" \
    "$tmp/starter/.cargo/config.toml" >"$tmp/.cargo/config.toml"
fi
# A fresh name each run: nothing cached under it.
name="app_$(date +%s)_$$"
rel=$(realpath --relative-to="$tmp/new" "$repo")
step "lwt-rust-new $name --lwt-rust-path $rel: build, test, run"
lwt-rust-new "$name" --lwt-rust-path "$rel"
rc=0
lwt-rust-new "$name" --lwt-rust-path "$rel" >"$tmp/out" 2>&1 || rc=$?
[ "$rc" = 2 ] || { echo "test-starter: lwt-rust-new over an existing project gave $rc" >&2; exit 1; }
(cd "$name" && run dune build --root . 2>&1 && run dune test --root . 2>&1 &&
  run "./${DUNE_BUILD_DIR:-_build}/default/bin/main.exe" | grep '^add 40 2 = 42$' >/dev/null &&
  grep -q "^ (name $name)\$" rust/dune &&
  [ -f "${DUNE_BUILD_DIR:-_build}/default/rust/dll$name.so" ]) ||
  { echo "test-starter: the project lwt-rust-new wrote does not build, test and run" >&2; exit 1; }

step "lwt-rust-new ${name}_native --native-only: no bytecode artefacts"
lwt-rust-new "${name}_native" --native-only --lwt-rust-path "$rel"
(cd "${name}_native" && run dune build --root . 2>&1 && run dune test --root . 2>&1 &&
  run "./${DUNE_BUILD_DIR:-_build}/default/bin/main.exe" | grep '^add 40 2 = 42$' >/dev/null &&
  [ -z "$(find . -name 'dll*.so' -o -name '*.bc' -o -name '*.cma')" ] &&
  [ -z "$(find "$CARGO_TARGET_DIR/release" -maxdepth 1 -name "lib${name}_native.so")" ]) ||
  { echo "test-starter: the --native-only project does not build, or builds bytecode" >&2; exit 1; }
echo "test-starter: all passed"
