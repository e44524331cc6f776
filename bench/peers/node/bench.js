// The Node side of `make bench-peers` (bench/peers/run.py runs it):
//   node bench.js ADDON.node [BUDGET_SECONDS]
// times each row for about BUDGET seconds and prints one JSON line,
// {"host", "versions", "rows": {row: ns per call}}. Every row checks its sum, so a wrong
// result fails the run instead of timing it.
'use strict';

const peers = require(process.argv[2]);
const budget = BigInt(Math.round(Number(process.argv[3] || '0.3') * 1e9));

const CHUNK = 1000;
const WIDE = 10000;

// The event loop's cheapest yield: resume in the next iteration's check phase.
const hostYield = () => new Promise((resolve) => setImmediate(resolve));

// The host's own round trip to another thread: a no-op-sized job on libuv's thread pool
// (filling 8 bytes with random data), resolved back on the loop.
const crypto = require('crypto');
const scratch = Buffer.alloc(8);
const hostThreadHop = () =>
  new Promise((resolve, reject) => crypto.randomFill(scratch, (e) => (e ? reject(e) : resolve(0))));

function fail(name, what) {
  console.error(`bench.js: ${name}: ${what}`);
  process.exit(1);
}

async function sequential(name, call, wantSum = true) {
  let calls = 0;
  let total = 0;
  let elapsed;
  const t0 = process.hrtime.bigint();
  for (;;) {
    for (let i = 0; i < CHUNK; i++) {
      const v = await call(i);
      if (wantSum) total += v;
    }
    calls += CHUNK;
    elapsed = process.hrtime.bigint() - t0;
    if (elapsed >= budget) break;
  }
  if (wantSum && total !== (calls / CHUNK) * ((CHUNK * (CHUNK + 1)) / 2)) fail(name, `wrong sum ${total}`);
  return Number(elapsed) / calls;
}

async function concurrent(name, call, wantSum = true) {
  let calls = 0;
  let elapsed;
  const t0 = process.hrtime.bigint();
  for (;;) {
    const ps = new Array(WIDE);
    for (let i = 0; i < WIDE; i++) ps[i] = call(i);
    const vs = await Promise.all(ps);
    if (wantSum && vs.reduce((a, b) => a + b, 0) !== (WIDE * (WIDE + 1)) / 2) fail(name, 'wrong sum');
    calls += WIDE;
    elapsed = process.hrtime.bigint() - t0;
    if (elapsed >= budget) break;
  }
  return Number(elapsed) / calls;
}

async function main() {
  const rows = {};
  rows.host_yield = await sequential('host_yield', hostYield, false);
  rows.host_thread_hop = await sequential('host_thread_hop', hostThreadHop, false);
  rows.ready = await sequential('ready', (i) => peers.ready(i, 1));
  rows.yield_once = await sequential('yield_once', (i) => peers.yieldOnce(i, 1));
  rows.tokio_round_trip = await sequential('tokio_round_trip', (i) => peers.tokioRoundTrip(i, 1));
  rows.host_yield_10k = await concurrent('host_yield_10k', hostYield, false);
  rows.concurrent_10k = await concurrent('concurrent_10k', (i) => peers.yieldOnce(i, 1));
  console.log(JSON.stringify({
    host: 'node',
    versions: { node: process.version, 'node-api': process.versions.napi },
    rows,
  }));
}

main().catch((e) => { console.error(e); process.exit(1); });
