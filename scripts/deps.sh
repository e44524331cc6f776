#!/usr/bin/env bash
# Installs what building and testing lwt_rust needs, if it is missing.
#   - Debian/Ubuntu as root: apt-get install (apt-get update first if a package is unknown);
#   - with opam: opam install . --deps-only --with-test;
#   - otherwise: print exactly what to install, and fail.
set -euo pipefail

APT_PACKAGES="ocaml-nox ocaml-dune ocaml-findlib liblwt-ocaml-dev libalcotest-ocaml-dev libqcheck-ocaml-dev ocaml-odoc"
FINDLIB_PACKAGES="lwt lwt.unix threads.posix alcotest qcheck-core"

have_ocaml_deps() {
  command -v ocamlfind >/dev/null 2>&1 && command -v dune >/dev/null 2>&1 &&
    command -v odoc >/dev/null 2>&1 &&
    ocamlfind query $FINDLIB_PACKAGES >/dev/null 2>&1
}

if ! command -v cargo >/dev/null 2>&1; then
  echo "deps: cargo is missing. Install Rust (https://rustup.rs) and run make again." >&2
  exit 1
fi

if have_ocaml_deps; then
  exit 0
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "deps: installing $APT_PACKAGES"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq $APT_PACKAGES >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq $APT_PACKAGES
  fi
elif command -v opam >/dev/null 2>&1; then
  opam install . --deps-only --with-test -y
else
  cat >&2 <<MSG
deps: OCaml dependencies are missing. Install, then run make again:
  Debian/Ubuntu (as root): apt-get install -y $APT_PACKAGES
  opam:                    opam install . --deps-only --with-test
MSG
  exit 1
fi

have_ocaml_deps || { echo "deps: still missing some of: $FINDLIB_PACKAGES" >&2; exit 1; }
