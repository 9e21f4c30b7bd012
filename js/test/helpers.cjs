'use strict';
// Shared by the node:test files: the staged package under test and a real Big Peer process.
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

/** The staged package directory (CMake sets SMALLPEER_PACKAGE to <build>/js/package). */
const packageDir = process.env.SMALLPEER_PACKAGE;
if (!packageDir) throw new Error('set SMALLPEER_PACKAGE to the staged package (ctest does: <build>/js/package)');
const smallpeer = require(packageDir);
/** The package's addon itself (for the tests that reach below the API), as index.js loads it. */
const nativeAddon = require(path.join(packageDir, 'prebuilds', `${process.platform}-${process.arch}`, 'smallpeer.napi.node'));
// The engine's console lines would drown the test report; Logger tests use the callback and log file.
smallpeer.Logger.setConsoleEnabled(false);

const APP_ID = 'smallpeer-js-test';
const APP_TOKEN = 'smallpeer-js-test-token';

/** A fresh temporary directory, removed when the test ends. */
function tempDir(t, prefix = 'smallpeer-js-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Opens an offline-playground Ditto in a fresh directory, closed when the test ends. */
function openDitto(t, identity = { type: 'offlinePlayground', appID: APP_ID }) {
  const ditto = new smallpeer.Ditto(identity, tempDir(t));
  t.after(() => ditto.close());
  return ditto;
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes; returns the last value. */
async function waitFor(probe, timeoutMs = 20000, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value || Date.now() >= deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Asserts that `promiseOrFn` throws/rejects with a DittoError of this code. */
async function rejectsWithCode(promiseOrFn, code) {
  await assert.rejects(async () => (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn), (e) => {
    assert.ok(e instanceof smallpeer.DittoError, `expected a DittoError, got ${e}`);
    assert.equal(e.code, code);
    assert.equal(typeof e.status, 'number');
    return true;
  });
}

/** A running `smallpeer big-peer` (env SMALLPEER_CLI) on a free loopback port. */
class BigPeer {
  /** Starts the process and reads its ready file (`--ready-file`: its facts as JSON, written once it listens). */
  static async start(t) {
    const cli = process.env.SMALLPEER_CLI;
    if (!cli) throw new Error('set SMALLPEER_CLI to the smallpeer command line');
    const bp = new BigPeer();
    bp.output = [];
    const dataDir = tempDir(t, 'smallpeer-bp-');
    const readyFile = `${dataDir}.ready.json`;
    t.after(() => fs.rmSync(readyFile, { force: true }));
    bp.proc = spawn(cli, ['big-peer', '--listen', '127.0.0.1:0', '--data', dataDir,
      '--app-id', APP_ID, '--app-token', APP_TOKEN, '--ready-file', readyFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => bp.stop());
    let exitCode = null;
    bp.exited = new Promise((resolve) => bp.proc.on('exit', (code) => { exitCode = code; resolve(code); }));
    readline.createInterface({ input: bp.proc.stdout }).on('line', (l) => bp.output.push(l));
    readline.createInterface({ input: bp.proc.stderr }).on('line', (l) => bp.output.push(l));
    const deadline = Date.now() + 30000;
    while (!fs.existsSync(readyFile)) {
      if (exitCode !== null) throw new Error(`big peer exited (${exitCode}):\n${bp.output.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`big peer did not start in 30 s:\n${bp.output.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const facts = JSON.parse(fs.readFileSync(readyFile, 'utf8'));
    bp.url = facts.url;
    bp.adminToken = facts.admin_token;
    return bp;
  }

  /** ws://127.0.0.1:PORT/sync */
  get syncURL() {
    return `${this.url.replace('http://', 'ws://')}/sync`;
  }

  /** GETs an API path with the admin token: the parsed JSON body, or null on 404. */
  async get(apiPath) {
    const res = await fetch(`${this.url}${apiPath}`, { headers: { Authorization: `Bearer ${this.adminToken}` } });
    const body = await res.text();
    if (res.status === 404) return null;
    assert.equal(res.status, 200, body);
    return JSON.parse(body);
  }

  /** POSTs `body` as JSON to an API path with the admin token; asserts `status` and returns the parsed answer. */
  async post(apiPath, body, status = 201) {
    const res = await fetch(`${this.url}${apiPath}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${this.adminToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    assert.equal(res.status, status, text);
    return JSON.parse(text);
  }

  /** GETs an API path with the admin token and returns the body's bytes (downloads); asserts HTTP 200. */
  async getBytes(apiPath) {
    const res = await fetch(`${this.url}${apiPath}`, { headers: { Authorization: `Bearer ${this.adminToken}` } });
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(res.status, 200, body.toString());
    return body;
  }

  /** A document through the HTTP API, or null on 404. */
  async document(collection, id) {
    return this.get(`/api/v1/collections/${collection}/documents/${encodeURIComponent(id)}`);
  }

  /** Stops the process with SIGTERM and waits for it. */
  async stop() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGTERM');
    await this.exited;
  }
}

module.exports = { smallpeer, nativeAddon, packageDir, APP_ID, APP_TOKEN, tempDir, openDitto, waitFor, rejectsWithCode, BigPeer };
