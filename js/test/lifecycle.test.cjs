'use strict';
// Process lifetime, checked from child processes and a worker thread: the addon keeps the process
// alive only while sync runs or observers are active, and never after close().
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');
const readline = require('node:readline');
const { test } = require('node:test');
const { Worker } = require('node:worker_threads');
const { smallpeer, APP_ID, tempDir, waitFor } = require('./helpers.cjs');

/** Runs fixtures/child.cjs in `mode`; `lines` fills with its stdout, `exited` resolves to { code, signal }. */
function runChild(t, mode) {
  const proc = spawn(process.execPath, ['--expose-gc', path.join(__dirname, 'fixtures', 'child.cjs'), mode, tempDir(t)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [];
  const errors = [];
  readline.createInterface({ input: proc.stdout }).on('line', (l) => lines.push(l));
  readline.createInterface({ input: proc.stderr }).on('line', (l) => errors.push(l));
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  t.after(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); });
  return { proc, lines, errors, exited };
}

/** Resolves to the exit status, or null if the child is still running after `ms`. */
function exitWithin(child, ms) {
  return Promise.race([child.exited, new Promise((resolve) => setTimeout(() => resolve(null), ms).unref())]);
}

test('sync and an observer keep the process alive; after close() it exits by itself', async (t) => {
  const child = runChild(t, 'sync-observer-then-close');
  const ready = await waitFor(() => child.lines.includes('ready') || child.proc.exitCode !== null, 20000, 20);
  assert.ok(ready && child.lines.includes('ready'), `child did not get ready: ${child.errors.join('\n')}`);
  assert.equal(await exitWithin(child, 1000), null, 'the child exited while sync and an observer were active');
  child.proc.kill('SIGUSR2');
  const status = await exitWithin(child, 15000);
  assert.ok(status, 'the child did not exit within 15 s of close()');
  assert.deepEqual(status, { code: 0, signal: null }, child.errors.join('\n'));
  assert.ok(child.lines.includes('closed'));
});

test('a syncing Ditto nothing refers to survives garbage collection (its LAN listener still accepts)', async (t) => {
  const child = runChild(t, 'sync-unreferenced');
  const collected = await waitFor(() => child.lines.includes('collected') || child.proc.exitCode !== null, 20000, 20);
  assert.ok(collected && child.lines.includes('collected'), `child failed: ${child.errors.join('\n')}`);
  const port = Number(/^port (\d+)$/.exec(child.lines[0])[1]);
  await new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(); });
    socket.on('error', reject);
  });
  assert.equal(child.proc.exitCode, null, 'sync keeps the child alive');
});

test('an open Ditto with no sync and no observers does not hold the process; teardown is clean', async (t) => {
  const child = runChild(t, 'open-without-close');
  const status = await exitWithin(child, 15000);
  assert.deepEqual(status, { code: 0, signal: null }, child.errors.join('\n'));
  assert.deepEqual(child.lines, ['done']);
});

test('an exception thrown by an observer is an uncaught exception; later changes still arrive', async (t) => {
  const child = runChild(t, 'throwing-observer');
  const status = await exitWithin(child, 15000);
  assert.deepEqual(status, { code: 0, signal: null }, child.errors.join('\n'));
  assert.deepEqual(child.lines, ['uncaught: observer failed', 'second delivered']);
});

test('a worker that ends without close() releases its instance (the directory can be reopened)', async (t) => {
  const dir = tempDir(t);
  const worker = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const { Ditto, Logger } = require(workerData.pkg);
    const ditto = new Ditto({ type: 'offlinePlayground', appID: workerData.appID }, workerData.dir);
    Logger.setCustomLogCallback(() => {});
    ditto.store.collection('w').observe(() => {});
    ditto.store.collection('w').upsert({ _id: 'from-worker' }).then(() => parentPort.postMessage('written'));
  `, { eval: true, workerData: { pkg: process.env.SMALLPEER_PACKAGE, dir, appID: APP_ID } });
  const message = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  assert.equal(message, 'written');
  assert.throws(() => new smallpeer.Ditto({ type: 'offlinePlayground', appID: APP_ID }, dir), { code: 'SP_ERR_LOCKED' });
  await worker.terminate();
  const ditto = new smallpeer.Ditto({ type: 'offlinePlayground', appID: APP_ID }, dir);
  t.after(() => ditto.close());
  assert.deepEqual(await ditto.store.collection('w').findByID('from-worker'), { _id: 'from-worker' });
});
