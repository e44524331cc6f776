#!/usr/bin/env bash
# `panic = "abort"` must be refused when the crate is built, with a message naming the fix,
# never discovered at the first contained panic. Builds the crate's check with
# panic=abort and expects that error.
set -uo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}/panic-abort
out=$(CARGO_PROFILE_DEV_PANIC=abort cargo check -p lwt_rust --target-dir "$target" \
  --message-format short 2>&1)
status=$?
if [ $status -eq 0 ]; then
  echo "check-panic-abort: the crate built with panic = \"abort\"; it must refuse" >&2
  exit 1
fi
if ! grep -q 'this build uses panic = "abort": set panic = "unwind"' <<<"$out"; then
  echo "check-panic-abort: the build failed, but not with the message naming the fix:" >&2
  echo "$out" | tail -20 >&2
  exit 1
fi
echo "check-panic-abort: OK (refused at build time, naming the fix)"
