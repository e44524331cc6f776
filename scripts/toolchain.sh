#!/usr/bin/env bash
# The other supported toolchains, each in a debootstrapped Debian root cached between runs:
#
#   ocaml5  OCaml 5.3.0, dune 3.17.2, Lwt 5.9.1 (Debian 13 "trixie" packages)
#   lwt6    OCaml 5.4.1, dune 3.24.1, Lwt 6.1.2 (Debian "forky" packages)
#
# (The third supported toolchain, OCaml 4.13.1 / Lwt 5.6.1, is the host's Debian 12.)
#
#   scripts/toolchain.sh TC setup        create TC's root if it is missing (root and a network)
#   scripts/toolchain.sh TC test         `make test`, `make stress`, then `make clippy` inside it
#   scripts/toolchain.sh TC bench [ARGS] `make bench ARGS` inside it (e.g. QUICK=1)
#   scripts/toolchain.sh TC run CMD...   any command inside it, from the repository
#
# The repository, ~/.cargo and ~/.rustup are bind-mounted at the same paths inside the root,
# /proc is mounted; all of them are unmounted when the script exits, whatever the outcome.
# Crates are fetched on the host (`cargo fetch`) and built offline inside, so the root needs
# no certificates of its own. The builds inside use their own dune build directory
# (_build-TC) and cargo target directory (target/TC), so they never clobber the host's or
# each other's.
#
# LWT_RUST_TOOLCHAIN_CACHE overrides where the roots live (default /var/cache/lwt_rust-toolchains;
# TC's root is its subfolder TC/root). Runs of every toolchain take turns (one lock).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd -P)
die() { echo "toolchain${TC:+ $TC}: $*" >&2; exit 1; }

TC=${1:-}
[ $# -gt 0 ] && shift
COMMON="ocaml-dune ocaml-findlib liblwt-ocaml-dev libalcotest-ocaml-dev libqcheck-ocaml-dev ocaml-odoc gcc make valgrind gnuplot-nox python3"
# SCRIPT: debootstrap's script for the suite ("" = its own); NOVALID: the mirror's Release
# file may be past its Valid-Until date (a testing suite between refreshes).
case $TC in
  ocaml5) SUITE=trixie; SCRIPT=""; NOVALID=0; PACKAGES="ocaml-nox $COMMON"; DESC="OCaml 5.3 / Lwt 5.9, Debian 13" ;;
  # forky has no ocaml-nox (only ocaml), and Debian 12's debootstrap has no forky script:
  # sid's works for it.
  lwt6) SUITE=forky; SCRIPT=/usr/share/debootstrap/scripts/sid; NOVALID=1; PACKAGES="ocaml $COMMON"; DESC="OCaml 5.4 / Lwt 6.1, Debian forky" ;;
  *) echo "usage: scripts/toolchain.sh ocaml5|lwt6 setup|test|bench|run ..." >&2; exit 2 ;;
esac
CACHE=${LWT_RUST_TOOLCHAIN_CACHE:-/var/cache/lwt_rust-toolchains}
ROOT=$CACHE/$TC/root
# Bump when PACKAGES or the recipe changes: a root with another stamp is rebuilt.
STAMP="v3 $SUITE $NOVALID $PACKAGES"

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot and mount do); run it with sudo"

# Every mount point below DIR (deepest first), from /proc/self/mounts.
mounts_under() {
  awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts | sort -r
}

# Unmounts everything below DIR; fails if something stays mounted.
unmount_all() {
  local dir=$1 m
  for m in $(mounts_under "$dir"); do
    umount "$m" 2>/dev/null || umount -l "$m" || true
  done
  [ -z "$(mounts_under "$dir")" ] || { echo "toolchain $TC: still mounted under $dir:" >&2; mounts_under "$dir" >&2; return 1; }
}

# Deletes DIR, but never while anything is mounted below it (rm would go through the mounts).
safe_rm() {
  local dir=$1
  [ -e "$dir" ] || return 0
  unmount_all "$dir" || die "refusing to delete $dir: something is still mounted in it"
  rm -rf --one-file-system "$dir"
}

mirror() {
  local uri
  uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

setup() {
  if [ -f "$ROOT/.lwt_rust-stamp" ] && [ "$(cat "$ROOT/.lwt_rust-stamp")" = "$STAMP" ]; then
    return 0
  fi
  echo "toolchain $TC: creating the root ($DESC) in $ROOT (2 to 4 minutes)"
  if ! command -v debootstrap >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq debootstrap >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq debootstrap; }
  fi
  local tmp=$ROOT.tmp
  safe_rm "$tmp"
  mkdir -p "$(dirname "$ROOT")"
  # Whatever happens from here (debootstrap mounts things in its target too), nothing stays
  # mounted in the new root.
  # shellcheck disable=SC2064
  trap "unmount_all '$tmp'" EXIT
  trap 'exit 130' INT TERM
  # shellcheck disable=SC2086
  debootstrap --variant=minbase "$SUITE" "$tmp" "$(mirror)" $SCRIPT > "$(dirname "$ROOT")/debootstrap.log" 2>&1 \
    || { tail -20 "$(dirname "$ROOT")/debootstrap.log"; die "debootstrap failed"; }
  cp /etc/resolv.conf "$tmp/etc/resolv.conf"
  if [ "$NOVALID" = 1 ]; then
    echo 'Acquire::Check-Valid-Until "false";' > "$tmp/etc/apt/apt.conf.d/99no-valid-until"
  fi
  mount -t proc proc "$tmp/proc"
  chroot "$tmp" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null && apt-get clean"
  unmount_all "$tmp"
  trap - EXIT
  echo "$STAMP" > "$tmp/.lwt_rust-stamp"
  # Replace an older root only now that the new one is complete.
  safe_rm "$ROOT"
  mv "$tmp" "$ROOT"
}

bind() {
  local src=$1
  mkdir -p "$ROOT$src"
  mount --bind "$src" "$ROOT$src"
}

# Runs "$@" (a shell command line) in the repository inside the root.
in_root() {
  local cargo_home=${CARGO_HOME:-$HOME/.cargo} rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
  command -v cargo >/dev/null 2>&1 || die "cargo is missing on the host: install Rust (https://rustup.rs)"
  # Every crate the build, the tests and loom need, into the shared ~/.cargo.
  (cd "$REPO" && cargo fetch --quiet)
  # A previous run killed hard may have left mounts: clear them first.
  unmount_all "$ROOT"
  # shellcheck disable=SC2064
  trap "unmount_all '$ROOT'" EXIT
  trap 'exit 130' INT TERM
  mount -t proc proc "$ROOT/proc"
  bind "$REPO"
  bind "$cargo_home"
  bind "$rustup_home"
  local rc=0
  chroot "$ROOT" /usr/bin/env -i 9>&- \
    HOME="$HOME" PATH="$cargo_home/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" \
    CARGO_HOME="$cargo_home" RUSTUP_HOME="$rustup_home" CARGO_NET_OFFLINE=true \
    DUNE_BUILD_DIR="_build-$TC" CARGO_TARGET_DIR="$REPO/target/$TC" \
    LWT_RUST_TARGET_DIR="$REPO/target/$TC" LANG=C.UTF-8 TERM=dumb \
    ${LWT_RUST_FEATURES:+LWT_RUST_FEATURES="$LWT_RUST_FEATURES"} \
    bash -c 'cd "$0" && echo "toolchain: $(ocamlfind ocamlopt -version), dune $(dune --version), lwt $(ocamlfind query -format %v lwt)" && eval "$1"' \
    "$REPO" "$*" || rc=$?
  unmount_all "$ROOT"
  trap - EXIT
  return $rc
}

# One run at a time: runs share the root and its mount points (a run starts by clearing what
# a killed one left mounted, which would pull the mounts from under a concurrent one).
mkdir -p "$CACHE"
exec 9> "$CACHE/lock"
if ! flock -n 9; then
  echo "toolchain $TC: waiting for another run to finish"
  flock 9
fi

cmd=${1:-test}
[ $# -gt 0 ] && shift
case $cmd in
  setup) setup ;;
  test) setup; in_root "make test && make stress FULL=${FULL:-} && make clippy" ;;
  bench) setup; in_root "make bench $*" ;;
  run) setup; in_root "$*" ;;
  *) die "unknown command $cmd (setup, test, bench, run)" ;;
esac
