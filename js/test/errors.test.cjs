'use strict';
// Bad input and limits (SPEC section 9): each is a clear error and changes nothing.
const assert = require('node:assert/strict');
const { test } = require('node:test');
const { smallpeer, nativeAddon: native, APP_ID, tempDir, openDitto, rejectsWithCode } = require('./helpers.cjs');

const { Ditto, DittoError } = smallpeer;

test('invalid SPI scope strings reject with SP_ERR_INVALID_ARGUMENT naming the allowed values; the scope is unchanged', async (t) => {
  const spi = openDitto(t).smallPeerInfo;
  await spi.setSyncScope('BigPeerOnly');
  for (const bad of ['bigpeeronly', 'BIG_PEER_ONLY', 'AllPeers', 'SmallPeersOnly', '', 'toString', 1, null, undefined]) {
    await assert.rejects(spi.setSyncScope(bad), (e) => {
      assert.ok(e instanceof DittoError, `${String(bad)}: ${e}`);
      assert.equal(e.code, 'SP_ERR_INVALID_ARGUMENT');
      assert.equal(e.status, 1);
      assert.match(e.message, /syncScope must be one of 'LocalPeerOnly', 'BigPeerOnly'/);
      return true;
    });
  }
  assert.equal(spi.syncScope, 'BigPeerOnly');
});

test('metadata over 128 KB is refused with SP_ERR_VALIDATION and the old metadata stays', (t) => {
  const spi = openDitto(t).smallPeerInfo;
  spi.metadata = { keep: true };
  const big = { blob: 'x'.repeat(128 * 1024) };
  assert.throws(() => { spi.metadata = big; }, (e) => {
    assert.ok(e instanceof DittoError);
    assert.equal(e.code, 'SP_ERR_VALIDATION');
    assert.equal(e.status, 2);
    assert.match(e.message, /128 KB|131072/);
    return true;
  });
  assert.throws(() => { spi.metadataJSONString = JSON.stringify(big); }, { code: 'SP_ERR_VALIDATION' });
  assert.deepEqual(spi.metadata, { keep: true });
  // Just under the limit is accepted (the limit is on the minified JSON).
  const fits = { b: 'x'.repeat(128 * 1024 - '{"b":""}'.length) };
  spi.metadata = fits;
  assert.equal(spi.metadataJSONString.length, 128 * 1024);
});

test('metadata deeper than 64 levels is refused; 64 levels are accepted', (t) => {
  const spi = openDitto(t).smallPeerInfo;
  const nest = (levels) => { let v = {}; for (let i = 1; i < levels; i++) v = { a: v }; return v; };
  spi.metadata = nest(64);
  assert.throws(() => { spi.metadata = nest(65); }, { name: 'DittoError', code: 'SP_ERR_VALIDATION', message: /64/ });
  assert.throws(() => { spi.metadata = nest(100000); }, { name: 'DittoError', code: 'SP_ERR_VALIDATION', message: /64/ });
  assert.deepEqual(spi.metadata, nest(64));
});

test('metadata that is not an object (or not JSON) is SP_ERR_VALIDATION, as in Ditto', (t) => {
  const spi = openDitto(t).smallPeerInfo;
  spi.metadata = { keep: 1 };
  for (const bad of [[1], 'text', 3, null]) {
    assert.throws(() => { spi.metadata = bad; }, { name: 'DittoError', code: 'SP_ERR_VALIDATION' });
  }
  for (const bad of ['[1]', '"text"', '{not json']) {
    assert.throws(() => { spi.metadataJSONString = bad; }, { name: 'DittoError', code: 'SP_ERR_VALIDATION' });
  }
  const cyclic = {};
  cyclic.self = cyclic;
  assert.throws(() => { spi.metadata = cyclic; }, { name: 'DittoError', code: 'SP_ERR_VALIDATION' });
  assert.throws(() => { spi.metadata = { n: 1n }; }, { name: 'DittoError', code: 'SP_ERR_VALIDATION' });
  assert.deepEqual(spi.metadata, { keep: 1 });
});

test('use after close: every call throws or rejects with SP_ERR_CLOSED', async (t) => {
  const ditto = new Ditto({ type: 'offlinePlayground', appID: APP_ID }, tempDir(t));
  const spi = ditto.smallPeerInfo;
  const cars = ditto.store.collection('cars');
  const observer = cars.observe(() => {});
  const closing = ditto.close();
  assert.equal(ditto.isClosed, true);
  assert.equal(observer.isStopped, true, 'close() stops observers at once');
  assert.strictEqual(ditto.close(), closing, 'close() is idempotent');
  await closing;
  await ditto.close();
  const sync = [
    () => spi.isEnabled, () => { spi.isEnabled = true; }, () => spi.metadata, () => { spi.metadata = {}; },
    () => spi.metadataJSONString, () => spi.collectionInterval, () => { spi.collectionInterval = 5000; },
    () => ditto.deviceName, () => ditto.transportConfig, () => ditto.setTransportConfig({}), () => ditto.startSync(),
    () => ditto.stopSync(), () => ditto.isSyncActive, () => ditto.lanPort, () => ditto.presence.graph,
    () => ditto.presence.localPeerKey, () => ditto.log('Info', 'x'), () => cars.observe(() => {}), () => spi.document,
    () => spi.syncScope, () => cars.syncScope,
  ];
  for (const fn of sync) {
    assert.throws(fn, (e) => e instanceof DittoError && e.code === 'SP_ERR_CLOSED' && e.status === 4, fn.toString());
  }
  const asyncCalls = [
    () => spi.setSyncScope('BigPeerOnly'), () => spi.getSyncScope(), () => spi.collectNow(),
    () => cars.upsert({ a: 1 }), () => cars.findByID('a'), () => cars.findAll(), () => cars.remove('a'),
    () => ditto.store.collectionNames(), () => cars.setSyncScope('AllPeers'), () => ditto.sendLogs(),
  ];
  for (const fn of asyncCalls) await rejectsWithCode(fn, 'SP_ERR_CLOSED');
  observer.stop();
});

test('the native handle is released by close()', async (t) => {
  const before = Ditto.liveHandleCount();
  const ditto = new Ditto({ type: 'offlinePlayground', appID: APP_ID }, tempDir(t));
  assert.equal(Ditto.liveHandleCount(), before + 1);
  await ditto.close();
  assert.equal(Ditto.liveHandleCount(), before);
});

test('close() with calls in flight: each settles (done or SP_ERR_CLOSED), then the handle is freed', async (t) => {
  const ditto = new Ditto({ type: 'offlinePlayground', appID: APP_ID }, tempDir(t));
  const col = ditto.store.collection('c');
  const writes = Array.from({ length: 20 }, (_, i) => col.upsert({ _id: `d${i}` }).then(() => 'ok', (e) => e.code));
  const before = Ditto.liveHandleCount();
  await ditto.close();
  const results = await Promise.all(writes);
  for (const r of results) assert.ok(r === 'ok' || r === 'SP_ERR_CLOSED', r);
  assert.equal(Ditto.liveHandleCount(), before - 1);
});

test('a directory in use by another open instance is SP_ERR_LOCKED', (t) => {
  const dir = tempDir(t);
  const ditto = new Ditto({ type: 'offlinePlayground', appID: APP_ID }, dir);
  t.after(() => ditto.close());
  assert.throws(() => new Ditto({ type: 'offlinePlayground', appID: APP_ID }, dir), { name: 'DittoError', code: 'SP_ERR_LOCKED', status: 6 });
});

test('a directory that cannot be written is SP_ERR_IO', (t) => {
  assert.throws(() => new Ditto({ type: 'offlinePlayground' }, '/proc/smallpeer-cannot-write'), { name: 'DittoError', code: 'SP_ERR_IO' });
});

test('handles carry type tags: mixing them is SP_ERR_INVALID_ARGUMENT, not a crash', (t) => {
  const ditto = openDitto(t);
  const obs = ditto.store.collection('c').observe(() => {});
  t.after(() => obs.stop());
  // Reach the raw handles the way only a confused caller could: through the addon itself.
  const rawDitto = native.open(JSON.stringify({ persistence_dir: tempDir(t), sdk_language: 'JavaScript' }));
  t.after(() => native.close(rawDitto));
  const rawObserver = native.storeObserve(rawDitto, 'c', () => {});
  const rawLog = native.loggerAddCallback(() => {});
  t.after(() => native.loggerRemoveCallback(rawLog));
  assert.throws(() => native.spiGetEnabled(rawObserver), { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', message: 'expected a Ditto handle' });
  assert.throws(() => native.spiGetEnabled(rawLog), { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', message: 'expected a Ditto handle' });
  assert.throws(() => native.spiGetEnabled({}), { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', message: 'expected a Ditto handle' });
  assert.throws(() => native.storeObserverCancel(rawDitto), { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', message: 'expected a store observer handle' });
  assert.throws(() => native.storeObserverCancel(rawLog), { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', message: 'expected a store observer handle' });
  assert.throws(() => native.loggerRemoveCallback(rawObserver), { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', message: 'expected a log callback handle' });
  assert.equal(native.spiGetEnabled(rawDitto), false);
  native.storeObserverCancel(rawObserver);
  assert.equal(native.storeObserverIsActive(rawObserver), false);
});

test('arguments of the wrong type are DittoErrors SP_ERR_INVALID_ARGUMENT, never TypeErrors', async (t) => {
  const ditto = openDitto(t);
  const bad = { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', status: 1 };
  assert.throws(() => new Ditto('offline', tempDir(t)), bad);
  assert.throws(() => new Ditto({ type: 'offlinePlayground', extra: 1 }, tempDir(t)), bad);
  assert.throws(() => ditto.store.collection(5), bad);
  assert.throws(() => ditto.store.collection('c').observe('nope'), bad);
  await assert.rejects(ditto.store.collection('c').findByID(1), bad);
  assert.throws(() => ditto.log('info', 'x'), bad);
  await assert.rejects(smallpeer.Logger.setCustomLogCallback('nope'), bad);
  await assert.rejects(ditto.sendLogs({ minimumLogLevel: 'loud' }), bad);
  await assert.rejects(ditto.sendLogs({ ditto }), bad);
  assert.throws(() => { smallpeer.Logger.enabled = 1; }, bad);
  assert.throws(() => smallpeer.Logger.setLogFile(5), bad);
});

test('a string with a lone surrogate is refused (it has no UTF-8 form), not silently replaced', async (t) => {
  const ditto = openDitto(t);
  const spi = ditto.smallPeerInfo;
  spi.metadataJSONString = '{"old":true}';
  const bad = { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', message: /lone surrogate/ };
  for (const text of ['{"k":"\ud800"}', '{"k":"\udc00x"}', '{"k":"a\ud800"}']) {
    assert.throws(() => { spi.metadataJSONString = text; }, bad, JSON.stringify(text));
  }
  assert.throws(() => { spi.metadata = { k: '\ud800' }; }, bad);
  assert.throws(() => { spi.metadata = { ['\udfff']: 1 }; }, bad);
  assert.throws(() => { spi.metadata = { deep: [{ k: 'x\udbff' }] }; }, bad);
  assert.throws(() => { ditto.deviceName = 'dev\ud800'; }, bad);
  await assert.rejects(ditto.store.collection('cars').upsert({ _id: '\ud800' }), bad);
  assert.throws(() => ditto.store.collection('c\ud800'), bad);
  assert.equal(spi.metadataJSONString, '{"old":true}');
  spi.metadata = { emoji: '\u{1F600}' }; // a surrogate pair is fine
  assert.deepEqual(spi.metadata, { emoji: '\u{1F600}' });
});

test('a NUL in a collection name or id is refused, not cut short; nothing is written', async (t) => {
  const ditto = openDitto(t);
  await ditto.store.collection('cars').upsert({ _id: 'a' });
  const nul = { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', message: /must not contain NUL/ };
  await assert.rejects(ditto.store.collection('cars\0x').findByID('a'), nul);
  await assert.rejects(ditto.store.collection('cars').findByID('a\0b'), nul);
  await assert.rejects(ditto.store.collection('cars\0x').upsert({ _id: 'b' }), nul);
  assert.equal(await ditto.store.collection('cars').findByID('b'), null);
});

test('integers beyond the engine range are refused with SP_ERR_INVALID_ARGUMENT, not converted', (t) => {
  const spi = openDitto(t).smallPeerInfo;
  const before = spi.collectionInterval;
  for (const bad of [1e300, -1e300, Number.MAX_VALUE, NaN, Infinity]) {
    assert.throws(() => { spi.collectionInterval = bad; }, { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT' }, String(bad));
  }
  assert.equal(spi.collectionInterval, before);
});

test('a registration the engine refuses (observing the collection name \'\') is SP_ERR_INVALID_ARGUMENT and leaves nothing behind', async (t) => {
  // The engine frees the callback's userdata itself on this path (smallpeer.h: exactly once,
  // failed registration included); the addon only releases its thread-safe function.
  const ditto = new Ditto({ type: 'offlinePlayground', appID: APP_ID }, tempDir(t));
  for (let i = 0; i < 50; i++) {
    assert.throws(() => ditto.store.collection('').observe(() => {}), { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', message: /collection name/ });
  }
  await new Promise((resolve) => setImmediate(resolve)); // the released functions' finalizers run
  const observer = ditto.store.collection('c').observe(() => {});
  assert.equal(observer.isStopped, false);
  await ditto.close();
  assert.equal(observer.isStopped, true);
});
