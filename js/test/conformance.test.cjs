'use strict';
// The behaviour table (tests/conformance/cases.json) through the package's public API only. This
// file's mapping from an operation to API calls is the JavaScript column of the README's parity
// table in code; an operation it does not map fails its case (nothing is skipped). Each case is one
// node:test test named after it; the last line is the summary every language prints.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { test, after } = require('node:test');
const { smallpeer, APP_ID, APP_TOKEN, BigPeer } = require('./helpers.cjs');

const { Ditto, DittoError, Logger } = smallpeer;

/** The table: SMALLPEER_CONFORMANCE_CASES, else tests/conformance/cases.json of this repository. */
const casesPath = process.env.SMALLPEER_CONFORMANCE_CASES || path.join(__dirname, '..', '..', 'tests', 'conformance', 'cases.json');
const { cases } = JSON.parse(fs.readFileSync(casesPath, 'utf8'));

/** The runner's own failure kind: an await* op that did not see what it waited for. */
class Timeout extends Error {}

/** A step that did not meet its outcome (the message says what happened). */
class StepFailure extends Error {}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` every 20 ms until it returns something other than undefined; throws Timeout after `ms`. */
async function poll(probe, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Timeout(`${what} within ${ms} ms`);
    await sleep(20);
  }
}

/** The table's level name ('debug') as the package's ('Debug'); an unknown name stays unknown ('loud' -> 'Loud'). */
const levelIn = (name) => (typeof name === 'string' && name.length ? name[0].toUpperCase() + name.slice(1) : name);
/** The package's level name as the table's. */
const levelOut = (name) => name.toLowerCase();

/** The table's export/send filter as the package's options (times become Dates). */
function filterOptions(args) {
  const options = {};
  if (args.minimumLogLevel !== undefined) options.minimumLogLevel = levelIn(args.minimumLogLevel);
  if (args.since !== undefined) options.since = new Date(args.since);
  if (args.until !== undefined) options.until = new Date(args.until);
  if (args.maxBytes !== undefined) options.maxBytes = args.maxBytes;
  return options;
}

/** The table's transport config ({bigPeerUrls, lanListen: "host:port" | null, lanConnect}) in Ditto's shape. */
function transportIn(v) {
  const tcp = { isEnabled: false };
  if (v.lanListen !== null) {
    const colon = v.lanListen.lastIndexOf(':');
    // "host:port" splits at its last colon; a value with no port ("nowhere") is all interface.
    const host = colon < 0 ? v.lanListen : v.lanListen.slice(0, colon);
    tcp.isEnabled = true;
    tcp.interfaceIp = host.replace(/^\[(.*)\]$/, '$1');
    tcp.port = colon < 0 ? 0 : Number(v.lanListen.slice(colon + 1));
  }
  return { connect: { websocketURLs: v.bigPeerUrls, tcpServers: v.lanConnect }, listen: { tcp } };
}

/** Ditto's shape of a transport config in the table's. */
function transportOut(c) {
  const { tcp } = c.listen;
  const host = tcp.interfaceIp.includes(':') ? `[${tcp.interfaceIp}]` : tcp.interfaceIp;
  return { bigPeerUrls: c.connect.websocketURLs, lanListen: tcp.isEnabled ? `${host}:${tcp.port}` : null, lanConnect: c.connect.tcpServers };
}

/** The value at a dotted path ('' is the value itself); `undefined` when a part is missing. */
function at(value, dotted) {
  if (dotted === '') return value;
  let v = value;
  for (const part of dotted.split('.')) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, part)) return undefined;
    v = v[part];
  }
  return v;
}

/** The JSON type name of a value, 'integer' for whole numbers. */
function jsonType(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v; // string, boolean, object
}

/** JSON equality (numbers by value, objects by their key sets). */
function jsonEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
}

/** Whether `actual` holds `expected`: objects by subset, recursively; arrays and scalars by equality. */
function subset(actual, expected) {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    return actual !== null && typeof actual === 'object' && !Array.isArray(actual) &&
      Object.keys(expected).every((k) => Object.hasOwn(actual, k) && subset(actual[k], expected[k]));
  }
  return jsonEqual(actual, expected);
}

/** The language's error kind of a thrown value: a DittoError's code without 'SP_ERR_', or 'timeout'. */
function kindOf(e) {
  if (e instanceof Timeout) return 'timeout';
  if (e instanceof DittoError) return e.code.replace(/^SP_ERR_/, '').toLowerCase();
  return null;
}

const show = (v) => (v === undefined ? 'nothing' : JSON.stringify(v)?.slice(0, 300));

/** One case's state: its directory, instance, callbacks and Big Peer; everything it made is closed by finish(). */
class CaseRun {
  constructor(t, dir) {
    this.t = t;
    this.dir = dir;
    this.vars = {};
    this.d = null;
    this.openOptions = null;
    this.observers = [];
    this.changes = [];
    this.messages = [];
    this.bigPeer = null;
  }

  /** A path of the case relative to its directory. */
  file(p) {
    return path.join(this.dir, p);
  }

  /** `{"$var": "x.a"}`, `{"$var": "x.n", "plus": 1}` and `{"$gen": ...}` resolved, recursively. */
  resolve(v) {
    if (Array.isArray(v)) return v.map((x) => this.resolve(x));
    if (v === null || typeof v !== 'object') return v;
    if (Object.hasOwn(v, '$var')) {
      const [name, ...rest] = v.$var.split('.');
      if (!Object.hasOwn(this.vars, name)) throw new StepFailure(`no saved value '${name}'`);
      const value = at(this.vars[name], rest.join('.'));
      return v.plus === undefined ? value : value + v.plus;
    }
    if (Object.hasOwn(v, '$gen')) return generate(v);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.resolve(x)]));
  }

  /** The open instance (a case that uses it before `open` fails). */
  get ditto() {
    if (this.d === null) throw new StepFailure('no instance: the case has not opened one');
    return this.d;
  }

  /** Opens `d` with the options of the case's `open` step. */
  openDitto() {
    const { deviceName, online } = this.openOptions;
    const identity = online ? { type: 'onlinePlayground', appID: APP_ID, token: APP_TOKEN } : { type: 'offlinePlayground', appID: APP_ID };
    const ditto = new Ditto(identity, this.file('ditto'), deviceName === undefined ? {} : { deviceName });
    if (online) ditto.setTransportConfig({ connect: { websocketURLs: [this.bigPeer.syncURL] } });
    return ditto;
  }

  /** Runs one operation; resolves to its result converted to the table's JSON. */
  async run(op, a) {
    const spi = () => this.ditto.smallPeerInfo;
    const collection = () => this.ditto.store.collection(a.collection);
    switch (op) {
      case 'open':
        if (a.online && this.bigPeer === null) throw new StepFailure('online needs a Big Peer: bigpeer.start first');
        this.openOptions = { deviceName: a.device_name, online: a.online === true };
        this.d = this.openDitto();
        return undefined;
      case 'openSecond': {
        const second = this.openDitto();
        await second.close();
        return undefined;
      }
      case 'close':
        await this.ditto.close();
        return undefined;
      case 'reopen':
        await this.ditto.close();
        this.d = this.openDitto();
        return undefined;
      case 'ditto.deviceName': return this.ditto.deviceName;
      case 'ditto.setDeviceName': this.ditto.deviceName = a.value; return undefined;
      case 'ditto.peerKey': return this.ditto.presence.localPeerKey;
      case 'ditto.log': this.ditto.log(levelIn(a.level), a.message); return undefined;
      case 'ditto.sendLogs': return this.ditto.sendLogs(filterOptions(a));
      case 'spi.isEnabled': return spi().isEnabled;
      case 'spi.setEnabled': spi().isEnabled = a.value; return undefined;
      case 'spi.syncScope': return spi().syncScope;
      case 'spi.setSyncScope': await spi().setSyncScope(a.value); return undefined;
      case 'spi.metadata': return spi().metadata;
      case 'spi.setMetadata': spi().metadata = a.value; return undefined;
      case 'spi.metadataJSONString': return spi().metadataJSONString;
      case 'spi.setMetadataJSONString': spi().metadataJSONString = a.text; return undefined;
      case 'spi.collectionIntervalMs': return spi().collectionInterval;
      case 'spi.setCollectionIntervalMs': spi().collectionInterval = a.value; return undefined;
      case 'spi.collectNow': return spi().collectNow();
      case 'spi.document': return spi().document;
      case 'spi.awaitNewDocument':
        return poll(() => {
          const doc = spi().document;
          return doc !== null && (a.after === null || doc.sequence > a.after.sequence) ? doc : undefined;
        }, a.timeout_ms, 'no new Small Peer Info document');
      case 'spi.shareWithAdminDevices': return spi().shareWithAdminDevices;
      case 'spi.adminSigningKey': return spi().adminSigningKey;
      case 'spi.setAdminSigningKey': spi().adminSigningKey = a.value; return undefined;
      case 'spi.setShareWithAdminDevices': spi().shareWithAdminDevices = a.value; return undefined;
      case 'spi.isAdminDevice': return spi().isAdminDevice;
      case 'spi.fleet': return spi().fleet;
      case 'spi.observeFleet':
        this.observers.push(spi().observeFleet((change) => this.changes.push(change)));
        return undefined;
      case 'spi.awaitFleet': {
        const key = this.ditto.presence.localPeerKey;
        return poll(() => (spi().fleet.some((doc) => doc._id === key) ? null : undefined),
          a.timeout_ms, 'this device is not in the fleet').then(() => undefined);
      }
      case 'store.upsert': return collection().upsert(a.document);
      // findByID resolves to null for an absent document, as in Ditto: the table's null.
      case 'store.get': return collection().findByID(a.id);
      case 'store.findAll': return collection().findAll();
      case 'store.execute': return (await this.ditto.store.execute(a.query, a.args)).items.map((item) => item.value);
      case 'store.remove': return collection().remove(a.id);
      case 'store.collectionNames': return this.ditto.store.collectionNames();
      case 'store.observe':
        this.observers.push(collection().observe((change) => this.changes.push(change)));
        return undefined;
      case 'store.awaitChange':
        return poll(() => (this.changes.some((c) => c.collection === a.collection && c.id === a.id && c.kind === a.kind) ? null : undefined),
          a.timeout_ms, `no ${a.kind} of '${a.id}' in '${a.collection}'`).then(() => undefined);
      case 'collection.syncScope': return collection().syncScope;
      case 'collection.setSyncScope': await collection().setSyncScope(a.value); return undefined;
      case 'sync.transportConfig': return transportOut(this.ditto.transportConfig);
      case 'sync.setTransportConfig': this.ditto.setTransportConfig(transportIn(a.value)); return undefined;
      case 'sync.start': this.ditto.startSync(); return undefined;
      case 'sync.stop': this.ditto.stopSync(); return undefined;
      case 'sync.isRunning': return this.ditto.isSyncActive;
      case 'sync.lanPort': return this.ditto.lanPort;
      case 'presence.graph': return this.ditto.presence.graph;
      case 'logger.enabled': return Logger.enabled;
      case 'logger.setEnabled': Logger.enabled = a.value; return undefined;
      case 'logger.minimumLogLevel': return levelOut(Logger.minimumLogLevel);
      case 'logger.setMinimumLogLevel': Logger.minimumLogLevel = levelIn(a.value); return undefined;
      case 'logger.setLogFile': Logger.setLogFile(a.path === null ? null : this.file(a.path)); return undefined;
      case 'logger.setCustomLogCallback':
        await Logger.setCustomLogCallback((level, message) => this.messages.push(message));
        return undefined;
      case 'logger.unsetCustomLogCallback': await Logger.unsetCustomLogCallback(); return undefined;
      case 'logger.awaitCallbackMessage':
        return poll(() => (this.messages.some((m) => m.includes(a.contains)) ? null : undefined),
          a.timeout_ms, `the callback got no message containing '${a.contains}'`).then(() => undefined);
      case 'logger.callbackSaw':
        await sleep(a.wait_ms);
        return this.messages.some((m) => m.includes(a.contains));
      case 'logger.exportToFile': return Logger.exportToFile(this.file(a.path), filterOptions(a));
      case 'file.contains': return fs.readFileSync(this.file(a.path), 'utf8').includes(a.text);
      case 'file.gzipLines': return gunzipLines(this.file(a.path)).length;
      case 'file.gzipContains': return gunzipLines(this.file(a.path)).some((l) => l.includes(a.text));
      case 'bigpeer.start':
        this.bigPeer = await BigPeer.start(this.t);
        return undefined;
      case 'bigpeer.awaitDevice': {
        const key = this.ditto.presence.localPeerKey;
        return poll(async () => ((await this.bigPeerOrFail().get(`/api/v1/collections/__small_peer_info/documents/${encodeURIComponent(key)}`)) === null ? undefined : null),
          a.timeout_ms, `the Big Peer did not list device ${key}`).then(() => undefined);
      }
      case 'bigpeer.grantAdmin':
        await this.bigPeerOrFail().post('/api/v1/admin-devices', {
          peer_key: this.ditto.presence.localPeerKey,
          expires_at: new Date(Date.now() + 3600_000).toISOString(),
          label: 'conformance',
        });
        return undefined;
      case 'bigpeer.awaitLogUpload':
        // The Big Peer's log request says where it is in `state` (bigpeer/log_requests.cpp).
        return poll(async () => ((await this.bigPeerOrFail().get(`/api/v1/log-requests/${encodeURIComponent(a.request_id)}`))?.state === 'ready' ? null : undefined),
          a.timeout_ms, `log request ${a.request_id} did not become ready`).then(() => undefined);
      default:
        throw new StepFailure(`the JavaScript runner does not map the operation '${op}'`);
    }
  }

  bigPeerOrFail() {
    if (this.bigPeer === null) throw new StepFailure('no Big Peer: bigpeer.start first');
    return this.bigPeer;
  }

  /** Closes everything the case made (pass or fail); the Big Peer stops in the test's after hook. */
  async finish() {
    for (const o of this.observers) o.stop();
    await Logger.unsetCustomLogCallback();
    Logger.setLogFile(null);
    if (this.d !== null) await this.d.close();
  }
}

/** The lines of a gzip file, without empty ones. */
function gunzipLines(file) {
  return zlib.gunzipSync(fs.readFileSync(file)).toString('utf8').split('\n').filter((l) => l.length > 0);
}

/** A generated argument, built as the conformance README says. */
function generate(g) {
  switch (g.$gen) {
    case 'object_of_bytes': return `{"pad":"${'x'.repeat(g.bytes - 10)}"}`;
    case 'nested_object': return `${'{"a":'.repeat(g.depth - 1)}{}${'}'.repeat(g.depth - 1)}`;
    case 'string_of_bytes': return 'x'.repeat(g.bytes);
    case 'not_utf8': return '{"k":"\ud800"}'; // a lone surrogate: UTF-16 with no UTF-8 form
    default: throw new StepFailure(`unknown generator '${g.$gen}'`);
  }
}

/** Checks one step's outcome against what the op did; throws StepFailure saying what happened. */
function check(step, result, error, run) {
  if (step.error !== undefined) {
    if (error === null) throw new StepFailure(`expected the ${step.error} error, but it succeeded with ${show(result)}`);
    const kind = kindOf(error);
    if (kind !== step.error) throw new StepFailure(`expected the ${step.error} error, got ${kind ?? error.name} (${error.message})`);
    return;
  }
  if (error !== null) throw new StepFailure(`failed: ${kindOf(error) ?? error.name}: ${error.message}`);
  if (Object.hasOwn(step, 'expect')) {
    const want = run.resolve(step.expect);
    if (!jsonEqual(result, want)) throw new StepFailure(`expected ${show(want)}, got ${show(result)}`);
  }
  if (step.expect_fields !== undefined) {
    if (!step.expect_fields[''] && (result === null || typeof result !== 'object' || Array.isArray(result))) {
      throw new StepFailure(`expected an object, got ${show(result)}`);
    }
    for (const [field, types] of Object.entries(step.expect_fields)) {
      const v = at(result, field);
      if (v === undefined) throw new StepFailure(`field '${field}' is missing`);
      const allowed = types.split('|');
      const type = jsonType(v);
      if (!allowed.includes(type) && !(type === 'integer' && allowed.includes('number'))) {
        throw new StepFailure(`field '${field}' is ${type} (${show(v)}), expected ${types}`);
      }
    }
  }
  if (step.expect_subset !== undefined) {
    const want = run.resolve(step.expect_subset);
    if (!subset(result, want)) throw new StepFailure(`expected a superset of ${show(want)}, got ${show(result)}`);
  }
  if (step.expect_length !== undefined) {
    let length;
    if (typeof result === 'string') length = Buffer.byteLength(result, 'utf8');
    else if (Array.isArray(result)) length = result.length;
    else throw new StepFailure(`expected a string or array of length ${step.expect_length}, got ${show(result)}`);
    if (length !== step.expect_length) throw new StepFailure(`expected length ${step.expect_length}, got ${length}`);
  }
  if (step.expect_match !== undefined) {
    if (typeof result !== 'string' || !new RegExp(step.expect_match, 'u').test(result)) {
      throw new StepFailure(`expected a string matching /${step.expect_match}/, got ${show(result)}`);
    }
  }
}

/** The logger as every case starts: enabled, level info, no log file, no callback, console off. */
async function resetLogger() {
  Logger.enabled = true;
  Logger.minimumLogLevel = 'Info';
  Logger.setLogFile(null);
  await Logger.unsetCustomLogCallback();
  Logger.setConsoleEnabled(false);
}

const results = { passed: 0 };

for (const c of cases) {
  test(c.name, { timeout: 120000 }, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smallpeer-conformance-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    await resetLogger();
    const run = new CaseRun(t, dir);
    let failure = null;
    try {
      for (const [index, step] of c.steps.entries()) {
        let result;
        let error = null;
        try {
          const value = await run.run(step.op, run.resolve(step.args ?? {}));
          result = value === undefined ? undefined : JSON.parse(JSON.stringify(value));
        } catch (e) {
          if (e instanceof StepFailure) {
            failure = `step ${index} (${step.op}): ${e.message}`;
            break;
          }
          error = e;
        }
        try {
          check(step, result, error, run);
        } catch (e) {
          if (!(e instanceof StepFailure)) throw e;
          failure = `step ${index} (${step.op}): ${e.message}`;
          break;
        }
        if (step.save !== undefined) run.vars[step.save] = result;
      }
    } finally {
      await run.finish();
    }
    if (failure !== null) assert.fail(`case '${c.name}' failed at ${failure}`);
    results.passed += 1;
  });
}

after(() => {
  const total = cases.length;
  // Cases that did not finish (a timeout) count as failed.
  const failed = total - results.passed;
  console.log(`conformance javascript: ${total} cases, ${results.passed} passed, ${failed} failed`);
});
