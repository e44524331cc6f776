#!/usr/bin/env bash
# `make stress`: the bridge under a hostile GC, under valgrind, and soaked. See
# docs/09-hardening.md. FULL=1 compacts at every bridge crossing in every suite (slow: ~16 minutes);
# by default the two long suites compact at every 25th crossing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=$PWD/${DUNE_BUILD_DIR:-_build}/default
tests=$build/test
# The suites run from the build directory, so that alcotest's logs land in it (not in the
# host's _build when the OCaml 5 pass runs this).
cd "$build"
long_every=$([ "${FULL:-0}" = 1 ] && echo 1 || echo 25)

# The suites: every test program test/dune names (one list, there), but test_panic_report,
# which checks what panics print, not the bridge's state.
suites=$(sed -n '/(names/,/)/p' "$root/test/dune" | tr -d '()' | sed 's/names//' | tr -s ' \n' '\n' \
  | grep -v '^$' | grep -vx test_panic_report)
[ -n "$suites" ] || { echo "stress: no suites found in test/dune" >&2; exit 1; }

echo "== OCaml suites, OCAMLRUNPARAM=s=4k,o=20, Gc.compact inside the bridge's callbacks"
for t in $suites; do
  every=1
  # test_misuse holds 1M promises and a 100 MB string: compacting that heap often would take
  # hours, so it runs under the small minor heap only (every 10^9th crossing: never).
  case $t in test_lwt_rust|test_property|test_streams) every=$long_every ;; test_misuse) every=1000000000 ;; esac
  echo "-- $t (compact every $every crossing(s))"
  LWT_RUST_TEST_COMPACT=$every OCAMLRUNPARAM='s=4k,o=20' "$tests/$t.exe" > "/tmp/lwt_rust_stress_$t.log" 2>&1 \
    || { cat "/tmp/lwt_rust_stress_$t.log"; exit 1; }
done

# OCaml 5 only: calls from another domain (test/domains), under the same GC.
if [ "$(ocamlfind ocamlopt -version | cut -d. -f1)" -ge 5 ]; then
  echo "-- test_domains (compact every 1 crossing(s))"
  LWT_RUST_TEST_COMPACT=1 OCAMLRUNPARAM='s=4k,o=20' "$build/test/domains/test_domains.exe" \
    > /tmp/lwt_rust_stress_test_domains.log 2>&1 || { cat /tmp/lwt_rust_stress_test_domains.log; exit 1; }
fi

echo "== the hostile suite under the same GC, and asynchronous exceptions at every 2nd, 3rd and 5th crossing"
LWT_RUST_TEST_COMPACT=1 OCAMLRUNPARAM='s=4k,o=20' $tests/misuse/hostile.exe > /tmp/lwt_rust_stress_hostile.log 2>&1 \
  || { cat /tmp/lwt_rust_stress_hostile.log; exit 1; }
for every in 2 3 5; do
  LWT_RUST_TEST_RAISE=$every OCAMLRUNPARAM='s=4k,o=20' RUST_BACKTRACE=0 $tests/misuse/async_exceptions.exe \
    > /tmp/lwt_rust_stress_async.log 2>&1 || { tail -30 /tmp/lwt_rust_stress_async.log; exit 1; }
  tail -1 /tmp/lwt_rust_stress_async.log
done
echo "== synchronous failures under a signal handler, and Rust items named like C functions, under the same GC"
for prog in $tests/misuse/sync_signal.exe $tests/misuse/symbols.exe; do
  LWT_RUST_TEST_COMPACT=1 OCAMLRUNPARAM='s=4k,o=20' $prog > /tmp/lwt_rust_stress_misuse.log 2>&1 \
    || { cat /tmp/lwt_rust_stress_misuse.log; exit 1; }
done

if ! command -v valgrind >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get install -y -qq valgrind >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq valgrind; }
  else
    echo "valgrind is missing: install it (Debian: apt-get install valgrind)" >&2
    exit 1
  fi
fi
echo "== valgrind memcheck (no suppressions: none were needed)"
for prog in "$build/demo/callback_loop.exe 2000" $tests/test_lwt_rust.exe $tests/test_futures.exe \
            $tests/test_property.exe $tests/test_threads.exe $tests/test_shutdown.exe $tests/test_backpressure.exe \
            $tests/test_streams.exe $tests/test_docs.exe $tests/test_objects.exe $tests/test_objects_shutdown.exe \
            $tests/misuse/hostile.exe $tests/misuse/shutdown_first_poll.exe \
            $tests/misuse/exit_with_queued_task.exe $tests/misuse/systhread_first.exe \
            $tests/misuse/sync_signal.exe $tests/misuse/symbols.exe $tests/types/test_types.exe; do
  echo "-- $prog"
  LWT_RUST_TEST_NO_RSS=1 valgrind --quiet --error-exitcode=99 --leak-check=no $prog > /tmp/lwt_rust_valgrind.log 2>&1 \
    || { tail -50 /tmp/lwt_rust_valgrind.log; echo "valgrind reported errors in $prog" >&2; exit 1; }
done

echo "-- async_exceptions (an exception at every 5th crossing)"
LWT_RUST_TEST_RAISE=5 RUST_BACKTRACE=0 valgrind --quiet --error-exitcode=99 --leak-check=no $tests/misuse/async_exceptions.exe \
  > /tmp/lwt_rust_valgrind.log 2>&1 || { tail -50 /tmp/lwt_rust_valgrind.log; echo "valgrind reported errors" >&2; exit 1; }

echo "== soak: 10M wakes from 4 threads"
$build/stress/soak.exe 10000000
echo "stress: OK"
