#!/usr/bin/env bash
# `make example-postgres`: examples/postgres (a Db object over a tokio-postgres pool) built out
# of tree against the installed library, as scripts/test-starter.sh builds the starter, and
# run against a PostgreSQL server of its own:
#   - initdb and pg_ctl (PostgreSQL 15, installed with apt-get if missing) in a temporary
#     directory, as the `postgres` user (the server refuses to run as root), listening only on
#     a Unix socket in that directory (no TCP port);
#   - the table created with psql; test/pg_check.ml then inserts, reads, scans under switches,
#     stops the server (requests must fail within the pool's bound, not hang), starts it again
#     (requests must succeed again) and checks that Lwt_rust.stats ends at zero;
#   - the server is stopped and the directory removed at exit, whatever happens (trap).
# KEEP=1 keeps the directory. CARGO_TARGET_DIR defaults to target/postgres here.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
pgbin=/usr/lib/postgresql/15/bin
if [ ! -x "$pgbin/pg_ctl" ]; then
  echo "example-postgres: installing postgresql"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq postgresql >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq postgresql; }
fi
id postgres >/dev/null 2>&1 || { echo "example-postgres: no postgres user" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lwt_rust-postgres.XXXXXX")
chmod 755 "$tmp"
pgdir="$tmp/pg"
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
cleanup() {
  if [ -f "$pgdir/data/postmaster.pid" ]; then
    as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  [ "${KEEP:-0}" = 1 ] || rm -rf "$tmp"
}
trap cleanup EXIT
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target/postgres}
step() { printf '\n== example-postgres: %s\n' "$*"; }

step "start PostgreSQL in $pgdir (Unix socket only)"
mkdir -p "$pgdir"
[ "$(id -u)" = 0 ] && chown postgres: "$pgdir"
as_pg "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres --no-sync >/dev/null
# No TCP listener; the socket (and its lock file) in $pgdir.
start_cmd="$pgbin/pg_ctl -D $pgdir/data -l $pgdir/log -w -o \"-c listen_addresses='' -c unix_socket_directories='$pgdir' -c fsync=off\" start"
stop_cmd="$pgbin/pg_ctl -D $pgdir/data -m fast -w stop"
if [ "$(id -u)" = 0 ]; then
  start_cmd="runuser -u postgres -- $start_cmd"
  stop_cmd="runuser -u postgres -- $stop_cmd"
fi
eval "$start_cmd" >/dev/null
as_pg "$pgbin/psql" -h "$pgdir" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
  -c "CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, qty bigint NOT NULL)"

step "install lwt_rust into $tmp/prefix"
(cd "$repo" && dune build @install 2>&1 && dune install --prefix "$tmp/prefix" lwt_rust 2>&1) |
  grep -v '^Installing\|^Deleting' || true
export OCAMLPATH="$tmp/prefix/lib${OCAMLPATH:+:$OCAMLPATH}" PATH="$tmp/prefix/bin:$PATH"

step "build examples/postgres in $tmp/postgres"
cp -r "$repo/examples/postgres" "$tmp/postgres"
rm -rf "$tmp/postgres/_build" "$tmp/postgres/target"
rel=$(realpath --relative-to="$tmp/postgres/rust" "$repo")
sed -i "s|^lwt_rust = { path = \"../../..\"|lwt_rust = { path = \"$rel\"|" "$tmp/postgres/rust/Cargo.toml"
grep -q "^lwt_rust = { path = \"$rel\"" "$tmp/postgres/rust/Cargo.toml"
(cd "$tmp/postgres" && dune build --root . 2>&1)

step "the scenario (test/pg_check.ml)"
PG_CONNINFO="host=$pgdir user=postgres dbname=postgres" PG_STOP="$stop_cmd >/dev/null" \
  PG_START="$start_cmd >/dev/null" "$tmp/postgres/_build/default/test/pg_check.exe"
