"""The Python asyncio side of `make bench-peers` (bench/peers/run.py runs it): times each row for
about BUDGET seconds and prints one JSON line, {"host", "versions", "rows": {row: ns per call}}.

Every row checks its sum, so a wrong result fails the run instead of timing it."""

import asyncio
import json
import sys
import time

import lwt_peers_py as peers

CHUNK = 1000
WIDE = 10_000


def host_yield(_i):
    return asyncio.sleep(0)


def host_thread_hop(_i):
    """The host's own round trip to another thread: a no-op on the loop's default executor."""
    return asyncio.get_running_loop().run_in_executor(None, int)


async def sequential(name, call, budget, want_sum=True):
    """Awaits call(i, 1) for i in 0..CHUNK-1, chunk after chunk, until `budget` seconds have
    gone; ns per call."""
    calls = total = 0
    t0 = time.perf_counter()
    while True:
        for i in range(CHUNK):
            v = await call(i)
            if want_sum:
                total += v
        calls += CHUNK
        elapsed = time.perf_counter() - t0
        if elapsed >= budget:
            break
    if want_sum and total != calls // CHUNK * (CHUNK * (CHUNK + 1) // 2):
        sys.exit(f"bench.py: {name}: wrong sum {total}")
    return elapsed * 1e9 / calls


async def concurrent(name, call, budget, want_sum=True):
    """WIDE calls started at once and all awaited (asyncio.gather), again and again until
    `budget` seconds have gone; ns per call."""
    calls = 0
    t0 = time.perf_counter()
    while True:
        vs = await asyncio.gather(*[call(i) for i in range(WIDE)])
        if want_sum and sum(vs) != WIDE * (WIDE + 1) // 2:
            sys.exit(f"bench.py: {name}: wrong sum")
        calls += WIDE
        elapsed = time.perf_counter() - t0
        if elapsed >= budget:
            break
    return elapsed * 1e9 / calls


async def main(budget):
    rows = {}
    rows["host_yield"] = await sequential("host_yield", host_yield, budget, want_sum=False)
    rows["host_thread_hop"] = await sequential(
        "host_thread_hop", host_thread_hop, budget, want_sum=False)
    rows["ready"] = await sequential("ready", lambda i: peers.ready(i, 1), budget)
    rows["yield_once"] = await sequential("yield_once", lambda i: peers.yield_once(i, 1), budget)
    rows["tokio_round_trip"] = await sequential(
        "tokio_round_trip", lambda i: peers.tokio_round_trip(i, 1), budget)
    rows["host_yield_10k"] = await concurrent("host_yield_10k", host_yield, budget, want_sum=False)
    rows["concurrent_10k"] = await concurrent(
        "concurrent_10k", lambda i: peers.yield_once(i, 1), budget)
    return rows


if __name__ == "__main__":
    budget = float(sys.argv[1]) if len(sys.argv) > 1 else 0.3
    rows = asyncio.run(main(budget))
    print(json.dumps({"host": "python",
                      "versions": {"python": sys.version.split()[0]},
                      "rows": rows}))
