#!/usr/bin/env python3
"""`make bench-ab BASE=<rev> [ROWS=a,b] [ROUNDS=n] [REPS=k]`: the benchmark of another revision
and of the current tree, built side by side and run alternately, paired.

1. BASE is checked out in a git worktree, target/bench-ab/<commit>, and its bench.exe built
   there by `dune build --root` (its own _build). Its Rust side goes to target/bench-ab/cargo,
   one cargo target directory shared by every base revision (seeded once from this tree's
   target/release, so the registry crates are compiled at most once). The current tree (with
   its uncommitted changes) is built as `make bench` builds it.
2. Each binary runs its own rows at its own full sizes: `bench.exe --only ROWS --reps REPS
   --json FILE`, which every revision since the rows could be selected understands, so the
   base needs nothing it does not have. A round is one run of each binary, back to back, the
   order swapped every round (base first, then head first, ...) so that neither always runs
   on the heels of the other.
3. A round's ratio is head's median over base's median in that round: the two ran within a
   second or two of each other, in the same state of a machine whose speed drifts for seconds
   at a time. The table shows each side's median over all rounds' repetitions, the median
   of the rounds' ratios and their range.

The base's worktree stays for the next run (`git worktree list` shows it);
`git worktree remove --force target/bench-ab/<commit>` removes it.

Standard library only.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(msg):
    print(f"bench-ab: {msg}", file=sys.stderr, flush=True)


def git(*args, cwd=REPO, capture=True):
    out = subprocess.run(
        ["git", *args], cwd=cwd, check=True, text=True,
        stdout=subprocess.PIPE if capture else None).stdout
    return (out or "").strip()


def base_worktree(rev, work):
    """The base revision checked out (detached) under `work`; reused when already there."""
    try:
        commit = git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except subprocess.CalledProcessError:
        sys.exit(f"bench-ab: BASE={rev} is not a commit of this repository")
    try:
        bench_ml = git("show", f"{commit}:bench/bench.ml")
    except subprocess.CalledProcessError:
        sys.exit(f"bench-ab: {commit[:12]} has no bench/bench.ml")
    if '"--only"' not in bench_ml:
        sys.exit(f"bench-ab: the bench of {commit[:12]} cannot run selected rows "
                 "(bench.exe --only came later); pick a later BASE")
    path = os.path.join(work, commit[:12])
    if os.path.isdir(os.path.join(path, "bench")):
        here = git("rev-parse", "HEAD", cwd=path)
        if here != commit:
            sys.exit(f"bench-ab: {path} holds {here}, not {commit}: remove it "
                     f"(git worktree remove --force {path})")
        return commit, path
    # A directory left by an interrupted run, or a worktree whose directory was deleted.
    git("worktree", "prune")
    if os.path.exists(path):
        shutil.rmtree(path)
    log(f"checking out {commit[:12]} in {path}")
    git("worktree", "add", "--detach", "--quiet", path, commit, capture=False)
    return commit, path


def seed_cargo_target(cargo_dir, head_target):
    """Seeds the base revisions' cargo target directory from this tree's release build once,
    so that the registry crates are not compiled again: cargo reuses what its fingerprints
    match (the registry crates of the same versions and features) and builds the rest."""
    if os.path.isdir(os.path.join(cargo_dir, "release")):
        return
    os.makedirs(cargo_dir, exist_ok=True)
    src = os.path.join(head_target, "release")
    if os.path.isdir(src):
        log(f"seeding {cargo_dir} from {src} (once)")
        subprocess.run(["cp", "-a", src, os.path.join(cargo_dir, "release")], check=True)


def build(tree, build_dir, cargo_dir):
    """`dune build bench/bench.exe` in `tree` with its own build directory; returns the
    binary's path. --root: the base's worktree sits inside this repository, and dune must not
    take this repository's root for the base's."""
    env = dict(os.environ)
    env["DUNE_BUILD_DIR"] = build_dir
    if cargo_dir is not None:
        env["LWT_RUST_TARGET_DIR"] = cargo_dir
        env["CARGO_TARGET_DIR"] = cargo_dir
    t0 = time.monotonic()
    subprocess.run([os.environ.get("DUNE", "dune"), "build", "--root", tree,
                    "bench/bench.exe"], cwd=tree, env=env, check=True)
    log(f"built {tree} in {time.monotonic() - t0:.0f} s")
    exe = os.path.join(build_dir, "default", "bench", "bench.exe")
    if not os.path.isfile(exe):
        sys.exit(f"bench-ab: no {exe} after the build")
    return exe


def run(exe, tree, rows, reps):
    """One run of `exe` on `rows`; returns {row: [ns/op of each repetition]}."""
    fd, out = tempfile.mkstemp(prefix="bench-ab-", suffix=".json")
    os.close(fd)
    try:
        proc = subprocess.run(
            [exe, "--only", ",".join(rows), "--reps", str(reps), "--json", out],
            cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            sys.exit(f"bench-ab: {exe} failed (exit {proc.returncode})")
        with open(out, encoding="utf-8") as f:
            data = json.load(f)
    finally:
        os.unlink(out)
    got = {}
    for s in data.get("scenarios", []):
        if s["name"] in rows and s.get("samples_ns_per_op"):
            got[s["name"]] = s["samples_ns_per_op"]
    return got


def fmt_ns(x):
    return f"{x:.1f}" if x < 100 else f"{x:.0f}"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", required=True, help="the revision to compare with (any git rev)")
    p.add_argument("--rows", default="call_ready,call_yield_once,callback_loop_pause,"
                   "object_method_ready", help="comma-separated bench rows")
    p.add_argument("--rounds", type=int, default=5, help="runs of each binary (paired)")
    p.add_argument("--reps", type=int, default=3, help="repetitions of each row per run")
    a = p.parse_args()
    rows = [r for r in a.rows.split(",") if r]
    if not rows or a.rounds < 1 or a.reps < 1:
        sys.exit("bench-ab: ROWS must name rows; ROUNDS and REPS must be at least 1")

    head_target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
    work = os.path.join(head_target, "bench-ab")
    cargo_dir = os.path.join(work, "cargo")
    commit, base_tree = base_worktree(a.base, work)
    seed_cargo_target(cargo_dir, head_target)
    base_exe = build(base_tree, os.path.join(base_tree, "_build"), cargo_dir)
    head_build = os.environ.get("DUNE_BUILD_DIR") or os.path.join(REPO, "_build")
    head_exe = build(REPO, os.path.abspath(head_build), None)
    head_desc = git("describe", "--always", "--dirty")

    sides = {"base": (base_exe, base_tree), "head": (head_exe, REPO)}
    samples = {side: {r: [] for r in rows} for side in sides}
    ratios = {r: [] for r in rows}
    t0 = time.monotonic()
    for i in range(a.rounds):
        order = ["base", "head"] if i % 2 == 0 else ["head", "base"]
        got = {}
        for side in order:
            exe, tree = sides[side]
            got[side] = run(exe, tree, rows, a.reps)
        for r in rows:
            if r in got["base"] and r in got["head"]:
                b = statistics.median(got["base"][r])
                h = statistics.median(got["head"][r])
                ratios[r].append(h / b)
            for side in sides:
                samples[side][r].extend(got[side].get(r, []))
        log(f"round {i + 1}/{a.rounds} ({' then '.join(order)}): "
            + ", ".join(f"{r} {ratios[r][-1]:.3f}" for r in rows if len(ratios[r]) == i + 1))
    elapsed = time.monotonic() - t0

    print(f"\nbench-ab: base {a.base} ({commit[:12]}) vs head {head_desc} (working tree); "
          f"{a.rounds} rounds, {a.reps} repetitions per row per run, {elapsed:.0f} s\n")
    print("| row | base ns/op (median) | head ns/op (median) | head/base (median of rounds) "
          "| min–max |")
    print("|---|---:|---:|---:|---|")
    for r in rows:
        b, h, q = samples["base"][r], samples["head"][r], ratios[r]
        if not b or not h:
            missing = " and ".join(s for s, v in (("base", b), ("head", h)) if not v)
            print(f"| {r} | {fmt_ns(statistics.median(b)) if b else '—'} "
                  f"| {fmt_ns(statistics.median(h)) if h else '—'} | no such row in {missing} | |")
            continue
        print(f"| {r} | {fmt_ns(statistics.median(b))} | {fmt_ns(statistics.median(h))} "
              f"| {statistics.median(q):.3f} | {min(q):.3f}–{max(q):.3f} |")


if __name__ == "__main__":
    main()
