#!/usr/bin/env bash
# Draws the benchmark chart (ns/op of every scenario next to its baseline's) from the JSON
# that bench.exe writes:  bench/chart.sh [results.json [chart.png]]
# gnuplot is installed if it is missing and apt is usable (as root, the way scripts/deps.sh
# installs the build dependencies); otherwise the chart is skipped with a message.
set -euo pipefail

json=${1:-bench/results.json}
png=${2:-bench/chart.png}

if ! command -v gnuplot >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "chart: installing gnuplot-nox"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq gnuplot-nox >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq gnuplot-nox >/dev/null 2>&1 || true
  fi
fi
if ! command -v gnuplot >/dev/null 2>&1; then
  echo "chart: gnuplot is not available (Debian/Ubuntu: apt-get install gnuplot-nox); no $png drawn" >&2
  exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "chart: python3 is not available to read $json; no $png drawn" >&2
  exit 0
fi
exec python3 "$(dirname "$0")/chart.py" "$json" "$png"
