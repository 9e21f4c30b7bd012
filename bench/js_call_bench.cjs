'use strict';
// The cost of a property get and set through the npm package `smallpeer` (the N-API addon), for
// bench/binding_call_bench.py, which compares it with the same C call (bench/capi_call_bench.cpp).
// Prints one line per call: the C benchmark's name, nanoseconds per call (best of the repeats) and
// the call as JavaScript spells it.
//
//   SMALLPEER_PACKAGE=build/release/js/package node bench/js_call_bench.cjs [calls-per-repeat] [repeats]
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const packageDir = process.env.SMALLPEER_PACKAGE;
if (!packageDir) throw new Error('set SMALLPEER_PACKAGE to the staged package (<build>/js/package)');
const { Ditto, Logger } = require(path.resolve(packageDir));

/** A whole number of at least 1 from argv[index], or `fallback` when absent. */
function countArg(index, fallback, what) {
  const text = process.argv[index];
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`js_call_bench: ${what} must be a whole number >= 1, got '${text}'`);
  return n;
}

const CALLS = countArg(2, 1_000_000, 'calls-per-repeat');
const REPEATS = countArg(3, 7, 'repeats');

/** Nanoseconds per call of `fn`: the best of REPEATS timed loops of CALLS calls, after a warm-up loop. */
function nsPerCall(fn) {
  let sink = 0;
  for (let i = 0; i < CALLS; i++) sink ^= fn() ? 1 : 0; // warm up: V8 optimises the loop and the getter
  let best = Infinity;
  for (let r = 0; r < REPEATS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) sink ^= fn() ? 1 : 0;
    best = Math.min(best, Number(process.hrtime.bigint() - start) / CALLS);
  }
  if (sink === 2) console.log(''); // keeps `sink` (and so every call's result) alive
  return best;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smallpeer-bench-'));
const ditto = new Ditto({ type: 'offlinePlayground' }, dir, { deviceName: 'bench' });
try {
  const spi = ditto.smallPeerInfo;
  const rows = [
    ['BM_SpiIsEnabledGet', 'ditto.smallPeerInfo.isEnabled', () => spi.isEnabled],
    ['BM_SpiIsEnabledSet', 'ditto.smallPeerInfo.isEnabled = false', () => { spi.isEnabled = false; }],
    ['BM_LoggerMinimumLevelGet', 'Logger.minimumLogLevel', () => Logger.minimumLogLevel],
    ['BM_LoggerMinimumLevelSet', "Logger.minimumLogLevel = 'Info'", () => { Logger.minimumLogLevel = 'Info'; }],
  ];
  console.log(`js_call_bench: Node ${process.version}, best of ${REPEATS} x ${CALLS} calls`);
  for (const [name, spelling, fn] of rows) console.log(`${name} ${nsPerCall(fn).toFixed(1)} ${spelling}`);
} finally {
  ditto.close().finally(() => fs.rmSync(dir, { recursive: true, force: true }));
}
