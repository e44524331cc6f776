#!/usr/bin/env python3
"""`make bench-peers`: the same Rust async bodies (bench/peers/bodies) exported three ways and
timed in one run, interleaved:

  python  pyo3 + pyo3-async-runtimes (tokio), under asyncio   python/ (built by maturin)
  node    napi-rs (its tokio runtime), under Node's event loop node/   (built by cargo)
  lwt     lwt_rust, under Lwt_main                             lwt/    (built by dune, as a
          user's project: against this repository's OCaml library installed with
          `dune install --prefix`, its crate depending on lwt_rust by path)

Everything is built under target/bench-peers/ (a venv with maturin from
bench/peers/requirements.txt, one cargo target directory; the crates' versions are those of
bench/peers/Cargo.lock, used --locked). Then ROUNDS rounds: each runs the three harnesses one
after the other (the order rotates), each harness timing every row for BUDGET seconds. The table
gives each row's median over the rounds, and each row over the host loop's own cheapest
yield's (host_yield, or host_yield_10k for the 10k row) in the same run, median over rounds. It
is printed and written to bench/peers/results.md.

  bench/peers/run.py [--rounds N] [--budget SECONDS] [--no-write]

Standard library only.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(REPO, "target", "bench-peers")
CARGO_TARGET = os.path.join(OUT, "cargo")
VENV = os.path.join(OUT, "venv")
PREFIX = os.path.join(OUT, "prefix")
NODE_ADDON = os.path.join(OUT, "lwt_peers.node")
LWT_EXE = os.path.join(HERE, "lwt", "_build", "default", "bin", "peers.exe")

HOSTS = ["python", "node", "lwt"]
ROWS = [
    ("host_yield", None, "the host loop's cheapest yield, awaited in sequence"),
    ("host_thread_hop", None, "the host's own round trip to a thread pool, in sequence"),
    ("ready", "host_yield", "a ready async fn, awaited in sequence"),
    ("yield_once", "host_yield", "an async fn that yields once to its executor"),
    ("tokio_round_trip", "host_yield", "an async fn that spawns a + b on tokio and awaits it"),
    ("host_yield_10k", None, "10,000 host yields at once, all awaited; per yield"),
    ("concurrent_10k", "host_yield_10k", "10,000 yield_once calls at once, all awaited; per call"),
]


def log(msg):
    print(f"bench-peers: {msg}", file=sys.stderr, flush=True)


def sh(cmd, cwd=REPO, env=None, capture=False, quiet=False):
    """Runs `cmd`; its output is returned (capture), dropped unless it fails (quiet), or shown."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(cmd, cwd=cwd, env=full_env, text=True,
                          stdout=subprocess.PIPE if capture or quiet else None,
                          stderr=subprocess.STDOUT if quiet else None)
    if proc.returncode != 0:
        if quiet:
            sys.stderr.write(proc.stdout)
        sys.exit(f"bench-peers: {' '.join(cmd)} failed (exit {proc.returncode})")
    return proc.stdout


def need(tool, hint):
    if shutil.which(tool) is None:
        sys.exit(f"bench-peers: {tool} is missing ({hint})")


def build():
    need("cargo", "install Rust")
    need("node", "install Node.js 18 or later")
    need("dune", "make deps installs it")
    os.makedirs(OUT, exist_ok=True)
    cargo_env = {"CARGO_TARGET_DIR": CARGO_TARGET}

    # Python: a venv with the pinned maturin, which builds the extension into it.
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        log(f"creating the venv {VENV}")
        sh([sys.executable, "-m", "venv", VENV])
    sh([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r",
        os.path.join(HERE, "requirements.txt")])
    log("building the pyo3 extension (maturin develop --release)")
    sh([os.path.join(VENV, "bin", "maturin"), "develop", "--release", "--locked", "--quiet",
        "-m", os.path.join(HERE, "python", "Cargo.toml")],
       env={**cargo_env, "VIRTUAL_ENV": VENV,
            "PATH": os.path.join(VENV, "bin") + os.pathsep + os.environ["PATH"]})

    # Node: the cdylib is the addon; Node loads any file named *.node.
    log("building the napi-rs addon (cargo build --release)")
    sh(["cargo", "build", "--release", "--locked", "--quiet", "-p", "lwt_peers_node",
        "--manifest-path", os.path.join(HERE, "Cargo.toml")], env=cargo_env)
    shutil.copyfile(os.path.join(CARGO_TARGET, "release", "liblwt_peers_node.so"), NODE_ADDON)

    # Lwt: this repository's OCaml library and tools installed in a prefix, then the peer
    # project built against them, as a user's project is built against an opam install.
    log(f"installing lwt_rust into {PREFIX} (dune build @install; dune install)")
    sh(["dune", "build", "@install"], env={"DUNE_BUILD_DIR": "_build"})
    sh(["dune", "install", "--prefix", PREFIX, "lwt_rust"], env={"DUNE_BUILD_DIR": "_build"},
       quiet=True)
    log("building the lwt_rust peer (dune build in bench/peers/lwt)")
    env = {**cargo_env,
           "OCAMLPATH": os.path.join(PREFIX, "lib") + (
               os.pathsep + os.environ["OCAMLPATH"] if os.environ.get("OCAMLPATH") else ""),
           "PATH": os.path.join(PREFIX, "bin") + os.pathsep + os.environ["PATH"],
           "DUNE_BUILD_DIR": "_build"}
    sh(["dune", "build", "--root", ".", "./bin/peers.exe"], cwd=os.path.join(HERE, "lwt"),
       env=env)


def run_host(host, budget):
    if host == "python":
        cmd = [os.path.join(VENV, "bin", "python"), os.path.join(HERE, "python", "bench.py"),
               str(budget)]
    elif host == "node":
        cmd = ["node", os.path.join(HERE, "node", "bench.js"), NODE_ADDON, str(budget)]
    else:
        cmd = [LWT_EXE, str(budget)]
    out = sh(cmd, capture=True)
    return json.loads(out.strip().splitlines()[-1])


def lock_versions():
    """The versions of bench/peers/Cargo.lock (what the extensions were built with)."""
    with open(os.path.join(HERE, "Cargo.lock"), encoding="utf-8") as f:
        text = f.read()
    found = dict(re.findall(r'\[\[package\]\]\nname = "([^"]+)"\nversion = "([^"]+)"', text))
    return {k: found.get(k, "?") for k in
            ["pyo3", "pyo3-async-runtimes", "napi", "napi-derive", "tokio"]}


def other_versions():
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "?"
    lwt = out(["ocamlfind", "query", "-format", "%v", "lwt"])
    rustc = out(["rustc", "--version"]).replace("rustc ", "").split(" (")[0]
    maturin = out([os.path.join(VENV, "bin", "maturin"), "--version"]).replace("maturin ", "")
    return {"lwt": lwt, "rustc": rustc, "maturin": maturin}


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def fmt_ns(x):
    if x >= 10_000:
        return f"{x / 1000:.0f} µs"
    if x >= 1000:
        return f"{x / 1000:.1f} µs"
    return f"{x:.0f} ns"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--budget", type=float, default=0.3,
                   help="seconds each harness spends on each row, per round")
    p.add_argument("--no-write", action="store_true", help="do not write results.md")
    p.add_argument("--no-build", action="store_true", help="run what was built last")
    a = p.parse_args()

    if not a.no_build:
        t0 = time.monotonic()
        build()
        log(f"built in {time.monotonic() - t0:.0f} s")

    ns = {h: {r: [] for r, _, _ in ROWS} for h in HOSTS}
    over = {h: {r: [] for r, _, _ in ROWS} for h in HOSTS}
    versions = {}
    load_before = os.getloadavg()[0]
    t0 = time.monotonic()
    for i in range(a.rounds):
        order = HOSTS[i % 3:] + HOSTS[:i % 3]
        for host in order:
            got = run_host(host, a.budget)
            versions.update(got["versions"])
            for row, base, _ in ROWS:
                ns[host][row].append(got["rows"][row])
                if base is not None:
                    over[host][row].append(got["rows"][row] / got["rows"][base])
        log(f"round {i + 1}/{a.rounds} ({', '.join(order)}) done")
    elapsed = time.monotonic() - t0
    versions.update(lock_versions())
    versions.update(other_versions())

    lines = []
    lines.append("| row | " + " | ".join(
        f"{h} | × {h} yield" for h in HOSTS) + " |")
    lines.append("|---|" + "---:|---:|" * len(HOSTS))
    for row, base, _ in ROWS:
        cells = []
        for h in HOSTS:
            cells.append(fmt_ns(statistics.median(ns[h][row])))
            cells.append(f"{statistics.median(over[h][row]):.2f}" if base else "—")
        lines.append(f"| `{row}` | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    v = versions
    header = (
        f"Python {v.get('python')} + pyo3 {v['pyo3']} + pyo3-async-runtimes "
        f"{v['pyo3-async-runtimes']} (maturin {v['maturin']}); Node {v.get('node')} "
        f"(Node-API {v.get('node-api')}) + napi {v['napi']} / napi-derive {v['napi-derive']}; "
        f"OCaml {v.get('ocaml')} + Lwt {v['lwt']} + lwt_rust (this tree); tokio {v['tokio']}, "
        f"rustc {v['rustc']}.")
    summary = (f"{machine()}; {a.rounds} rounds (each harness once per round, order rotating), "
               f"{a.budget} s per row per round, {elapsed:.0f} s in all; load average "
               f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after (other work on the "
               "machine); "
               f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC.")
    print(f"\n{header}\n{summary}\n\nMedian ns per call over the rounds; "
          "× yield: the row over the same host's yield row in the same run (median).\n")
    print(table)

    if not a.no_write:
        # results.md keeps its hand-written text (what each number includes); only the part
        # between the two markers is replaced.
        path = os.path.join(HERE, "results.md")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        begin, end = "<!-- results: begin -->", "<!-- results: end -->"
        if begin not in text or end not in text:
            sys.exit(f"bench-peers: {path} lacks the markers {begin} and {end}")
        measured = (f"{header}\n{summary}\n\nMedian time per call over the rounds; "
                    "× yield: the row over the same host's yield row of the same run "
                    f"(median over the rounds).\n\n{table}")
        text = (text[:text.index(begin) + len(begin)] + "\n" + measured + "\n"
                + text[text.index(end):])
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        log(f"wrote {os.path.relpath(path, REPO)}")

if __name__ == "__main__":
    main()
