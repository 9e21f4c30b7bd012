'use strict';
// Every status, scope, log level and change kind the package uses, checked against the #defines of
// capi/include/smallpeer/smallpeer.h (parsed here): the addon's table (which index.js builds its
// names from) must equal the header's both ways, and each public name must reach the engine as the
// header's value for it.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const { smallpeer, nativeAddon: native, packageDir, APP_ID, tempDir, openDitto, waitFor } = require('./helpers.cjs');

const { Ditto, DittoError, Logger } = smallpeer;

const headerPath = process.env.SMALLPEER_HEADER || path.join(__dirname, '..', '..', 'capi', 'include', 'smallpeer', 'smallpeer.h');
/** The header's value #defines of the groups the package uses: {SP_OK: 0, SP_ERR_...: n, ...}. */
const header = Object.fromEntries(
  [...fs.readFileSync(headerPath, 'utf8').matchAll(/^#define\s+(SP_(?:OK|ERR_\w+|SYNC_SCOPE_\w+|LOG_\w+|CHANGE_\w+))\s+(-?\d+)\s*$/gm)]
    .map(([, name, value]) => [name, Number(value)]),
);
/** The header's defines whose names start with `prefix`. */
const group = (prefix) => Object.keys(header).filter((k) => k.startsWith(prefix));

/** 'SmallPeersOnly' -> 'SMALL_PEERS_ONLY'. */
const screaming = (name) => name.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();

/** The names a refusal of the unknown name 'nope' lists as allowed ("must be one of 'A', 'B'; got 'nope'"). */
async function allowedNames(fn) {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof DittoError, String(e));
    return [...e.message.matchAll(/'([A-Za-z]+)'/g)].map((m) => m[1]).filter((n) => n !== 'nope');
  }
  assert.fail('expected a refusal listing the allowed names');
}

test('the header parses into each group the package uses', () => {
  assert.equal(header.SP_OK, 0);
  for (const prefix of ['SP_ERR_', 'SP_SYNC_SCOPE_', 'SP_LOG_', 'SP_CHANGE_']) assert.ok(group(prefix).length >= 2, prefix);
});

test('the addon\'s constants are exactly the header\'s values (nothing missing, nothing extra, none different)', () => {
  assert.deepEqual({ ...native.constants }, header);
  assert.ok(Object.isFrozen(native.constants));
});

test('DittoErrorCode in index.d.ts names every SP_ERR_* status of the header (plus SP_ERR_UNKNOWN)', () => {
  const dts = fs.readFileSync(path.join(packageDir, 'index.d.ts'), 'utf8');
  const union = /export type DittoErrorCode =([^;]+);/.exec(dts)[1];
  const codes = [...union.matchAll(/'(SP_ERR_\w+)'/g)].map((m) => m[1]).sort();
  assert.deepEqual(codes, [...group('SP_ERR_'), 'SP_ERR_UNKNOWN'].sort());
});

test('DittoError.status is the header\'s value for the engine\'s and the package\'s own errors', async (t) => {
  const ditto = openDitto(t);
  assert.throws(() => ditto.log('Loud', 'x'), { code: 'SP_ERR_INVALID_ARGUMENT', status: header.SP_ERR_INVALID_ARGUMENT });
  assert.throws(() => { ditto.smallPeerInfo.metadataJSONString = `{"b":"${'x'.repeat(131072)}"}`; }, { code: 'SP_ERR_VALIDATION', status: header.SP_ERR_VALIDATION });
  let deep = {};
  for (let i = 0; i < 100000; i++) deep = { a: deep };
  assert.throws(() => { ditto.smallPeerInfo.metadata = deep; }, { code: 'SP_ERR_VALIDATION', status: header.SP_ERR_VALIDATION });
  assert.throws(() => new Ditto({ type: 'offlinePlayground', appID: APP_ID }, ditto.persistenceDirectory), { code: 'SP_ERR_LOCKED', status: header.SP_ERR_LOCKED });
  assert.throws(() => new Ditto({ type: 'offlinePlayground' }, '/proc/smallpeer-cannot-write'), { code: 'SP_ERR_IO', status: header.SP_ERR_IO });
  await ditto.close();
  assert.throws(() => ditto.deviceName, { code: 'SP_ERR_CLOSED', status: header.SP_ERR_CLOSED });
});

test('each log level name is the header\'s SP_LOG_* value, and every SP_LOG_* has a name', async (t) => {
  const was = Logger.minimumLogLevel;
  t.after(() => { Logger.minimumLogLevel = was; });
  const names = await allowedNames(() => { Logger.minimumLogLevel = 'nope'; });
  assert.deepEqual(names.map((n) => `SP_LOG_${screaming(n)}`).sort(), group('SP_LOG_').sort());
  for (const name of names) {
    Logger.minimumLogLevel = name;
    assert.equal(native.loggerGetMinimumLevel(), header[`SP_LOG_${screaming(name)}`], name);
    assert.equal(Logger.minimumLogLevel, name);
  }
});

test('each sync scope name is the header\'s SP_SYNC_SCOPE_* value (read back through the raw C call)', async (t) => {
  const dir = tempDir(t);
  const ditto = new Ditto({ type: 'offlinePlayground', appID: APP_ID }, dir);
  const names = await allowedNames(() => ditto.store.collection('c').setSyncScope('nope'));
  assert.deepEqual(names.map((n) => `SP_SYNC_SCOPE_${screaming(n)}`).sort(), group('SP_SYNC_SCOPE_').sort());
  const spiNames = await allowedNames(() => ditto.smallPeerInfo.setSyncScope('nope'));
  assert.deepEqual(spiNames, ['LocalPeerOnly', 'BigPeerOnly'], 'Ditto\'s two Small Peer Info scopes, in Ditto\'s order');
  for (const name of names) await ditto.store.collection(`c${name}`).setSyncScope(name);
  await ditto.smallPeerInfo.setSyncScope('BigPeerOnly');
  await ditto.close();
  const raw = native.open(JSON.stringify({ persistence_dir: dir, sdk_language: 'JavaScript' }));
  t.after(() => native.close(raw));
  for (const name of names) assert.equal(native.storeGetCollectionScope(raw, `c${name}`), header[`SP_SYNC_SCOPE_${screaming(name)}`], name);
  assert.equal(native.spiGetSyncScope(raw), header.SP_SYNC_SCOPE_BIG_PEER_ONLY);
});

test('change kinds: the header has SP_CHANGE_UPSERT and SP_CHANGE_REMOVE, the kinds an observer reports', async (t) => {
  assert.deepEqual(group('SP_CHANGE_').sort(), ['SP_CHANGE_REMOVE', 'SP_CHANGE_UPSERT']);
  const ditto = openDitto(t);
  const kinds = [];
  const observer = ditto.store.collection('k').observe((c) => kinds.push(c.kind));
  t.after(() => observer.stop());
  await ditto.store.collection('k').upsert({ _id: 'x' });
  await ditto.store.collection('k').remove('x');
  await waitFor(() => kinds.length >= 2, 10000, 10);
  assert.deepEqual(kinds.map((k) => `SP_CHANGE_${k.toUpperCase()}`), ['SP_CHANGE_UPSERT', 'SP_CHANGE_REMOVE']);
});
