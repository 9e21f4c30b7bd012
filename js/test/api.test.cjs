'use strict';
// One test per row of SPEC section 3, through the staged package.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { test } = require('node:test');
const { smallpeer, APP_ID, tempDir, openDitto, waitFor } = require('./helpers.cjs');

const { Ditto, Logger } = smallpeer;

test('version and open: the engine version, a peer key, the persistence directory in use', async (t) => {
  assert.match(smallpeer.version, /^\d+\.\d+\.\d+/);
  const dir = tempDir(t);
  const ditto = new Ditto({ type: 'offlinePlayground', appID: APP_ID }, dir);
  assert.equal(ditto.persistenceDirectory, dir);
  assert.deepEqual(ditto.identity, { type: 'offlinePlayground', appID: APP_ID });
  assert.match(ditto.presence.localPeerKey, /^\S{16,}$/);
  assert.equal(ditto.isClosed, false);
  await ditto.close();
  assert.equal(ditto.isClosed, true);
});

test('identity: online playground opens; a wrong identity type is a TypeError', async (t) => {
  const ditto = openDitto(t, { type: 'onlinePlayground', appID: APP_ID, token: 'secret' });
  assert.equal(ditto.identity.type, 'onlinePlayground');
  const dir = tempDir(t);
  assert.throws(() => new Ditto({ type: 'sharedKey', appID: APP_ID }, dir), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: /'offlinePlayground', 'onlinePlayground'/ });
  assert.throws(() => new Ditto({ type: 'onlinePlayground', appID: APP_ID }, dir), { name: 'TypeError', message: /identity\.token/ });
});

test('SPI on/off: default off; on writes the document at once', async (t) => {
  const ditto = openDitto(t);
  const spi = ditto.smallPeerInfo;
  assert.equal(spi.isEnabled, false);
  assert.equal(await spi.getDocument(), null);
  spi.isEnabled = true;
  assert.equal(spi.isEnabled, true);
  const doc = await spi.getDocument();
  assert.equal(doc._id, ditto.presence.localPeerKey);
  assert.equal(doc.ditto_sdk_language, 'JavaScript');
  assert.equal(doc.schema_version, 1);
  spi.isEnabled = false;
  assert.equal(spi.isEnabled, false);
  assert.throws(() => { spi.isEnabled = 'yes'; }, { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
});

test('SPI sync scope: default LocalPeerOnly; BigPeerOnly round-trips and shows in the document', async (t) => {
  const ditto = openDitto(t);
  const spi = ditto.smallPeerInfo;
  assert.equal(await spi.getSyncScope(), 'LocalPeerOnly');
  await spi.setSyncScope('BigPeerOnly');
  assert.equal(await spi.getSyncScope(), 'BigPeerOnly');
  assert.equal(await ditto.store.getSyncScope('__small_peer_info'), 'BigPeerOnly');
  assert.equal((await spi.collectNow()).sync_scope, 'BigPeerOnly');
  await spi.setSyncScope('LocalPeerOnly');
  assert.equal(await spi.getSyncScope(), 'LocalPeerOnly');
});

test('SPI metadata: object and JSON string views of the same value, reported in the document', async (t) => {
  const ditto = openDitto(t);
  const spi = ditto.smallPeerInfo;
  assert.deepEqual(spi.metadata, {});
  spi.metadata = { site: 'north', rack: { row: 3, tags: ['a', 'b'] } };
  assert.deepEqual(spi.metadata, { site: 'north', rack: { row: 3, tags: ['a', 'b'] } });
  assert.equal(spi.metadataJSONString, '{"site":"north","rack":{"row":3,"tags":["a","b"]}}');
  spi.metadataJSONString = ' { "site" : "south" } ';
  assert.deepEqual(spi.metadata, { site: 'south' });
  assert.equal(spi.metadataJSONString, '{"site":"south"}');
  assert.deepEqual((await spi.collectNow()).metadata, { site: 'south' });
});

test('device name: set and reported in the document', async (t) => {
  const ditto = openDitto(t);
  assert.ok(ditto.deviceName.length > 0);
  ditto.deviceName = 'js-device';
  assert.equal(ditto.deviceName, 'js-device');
  assert.equal((await ditto.smallPeerInfo.collectNow()).device_name, 'js-device');
  assert.throws(() => { ditto.deviceName = ''; }, { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', message: /1 to 256 bytes/ });
  assert.equal(ditto.deviceName, 'js-device');
});

test('collection interval: default 300000 ms, configurable down to 1000 ms', (t) => {
  const ditto = openDitto(t);
  const spi = ditto.smallPeerInfo;
  assert.equal(spi.collectionInterval, 300000);
  spi.collectionInterval = 1500;
  assert.equal(spi.collectionInterval, 1500);
  assert.throws(() => { spi.collectionInterval = 999; }, { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT' });
  assert.throws(() => { spi.collectionInterval = 1500.5; }, { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  assert.equal(spi.collectionInterval, 1500);
});

test('collection interval: an enabled peer rewrites its document every interval', async (t) => {
  const ditto = openDitto(t);
  const spi = ditto.smallPeerInfo;
  spi.collectionInterval = 1000;
  spi.isEnabled = true;
  const first = (await spi.getDocument()).sequence;
  const later = await waitFor(async () => ((await spi.getDocument()).sequence > first ? true : null), 10000);
  assert.ok(later, 'the document was not rewritten within 10 s at a 1 s interval');
});

test('collect now: writes the document even when disabled, sequence increases', async (t) => {
  const ditto = openDitto(t);
  const a = await ditto.smallPeerInfo.collectNow();
  const b = await ditto.smallPeerInfo.collectNow();
  assert.equal(b.sequence, a.sequence + 1);
  assert.deepEqual(await ditto.smallPeerInfo.getDocument(), b);
});

test('transport config: round-trips; a URL that does not parse is refused and changes nothing', (t) => {
  const ditto = openDitto(t);
  const config = { big_peer: { urls: ['ws://127.0.0.1:9/sync'] }, lan: { listen: '127.0.0.1:0', connect: [] } };
  ditto.setTransportConfig(config);
  assert.deepEqual(ditto.transportConfig.big_peer.urls, ['ws://127.0.0.1:9/sync']);
  assert.equal(ditto.transportConfig.lan.listen, '127.0.0.1:0');
  assert.throws(() => ditto.setTransportConfig({ big_peer: { urls: ['not a url'] } }), { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT' });
  assert.deepEqual(ditto.transportConfig.big_peer.urls, ['ws://127.0.0.1:9/sync']);
  assert.throws(() => ditto.setTransportConfig('{}'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
});

test('start/stop sync: LAN listener port while running, none after stop', (t) => {
  const ditto = openDitto(t);
  ditto.setTransportConfig({ lan: { listen: '127.0.0.1:0' } });
  assert.equal(ditto.isSyncActive, false);
  ditto.startSync();
  assert.equal(ditto.isSyncActive, true);
  assert.ok(ditto.lanPort > 0);
  ditto.stopSync();
  assert.equal(ditto.isSyncActive, false);
  assert.equal(ditto.lanPort, 0);
});

test('store: upsert, find by id, find all, remove, collection names', async (t) => {
  const ditto = openDitto(t);
  const cars = ditto.store.collection('cars');
  assert.equal(cars.name, 'cars');
  const id = await cars.upsert({ make: 'Volvo' });
  assert.ok(id.length > 0);
  assert.equal(await cars.upsert({ _id: 'b', make: 'Saab' }), 'b');
  assert.deepEqual(await cars.findByID('b'), { _id: 'b', make: 'Saab' });
  assert.equal((await cars.findByID(id)).make, 'Volvo');
  assert.equal(await cars.findByID('missing'), null);
  await cars.upsert({ _id: 'b', make: 'Saab', year: 1999 });
  assert.equal((await cars.findByID('b')).year, 1999);
  const all = await cars.findAll();
  assert.deepEqual(all.map((d) => d._id), [id, 'b'].sort());
  assert.deepEqual(await ditto.store.collectionNames(), ['cars']);
  assert.equal(await cars.remove('b'), true);
  assert.equal(await cars.remove('b'), false);
  assert.equal(await cars.findByID('b'), null);
  await assert.rejects(cars.upsert([1, 2]), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
});

test('store: findAll reads past one page', async (t) => {
  const ditto = openDitto(t);
  const items = ditto.store.collection('items');
  await Promise.all(Array.from({ length: 1205 }, (_, i) => items.upsert({ _id: `i${String(i).padStart(5, '0')}`, n: i })));
  const all = await items.findAll();
  assert.equal(all.length, 1205);
  assert.equal(all[1204]._id, 'i01204');
});

test('store: observe reports upserts and removes in order; stop ends it', async (t) => {
  const ditto = openDitto(t);
  const notes = ditto.store.collection('notes');
  const seen = [];
  const observer = notes.observe((change) => seen.push(change));
  assert.equal(observer.isStopped, false);
  await notes.upsert({ _id: 'n1', text: 'hello' });
  await notes.remove('n1');
  await waitFor(() => seen.length >= 2, 10000, 10);
  assert.deepEqual(seen, [
    { collection: 'notes', id: 'n1', kind: 'upsert', document: { _id: 'n1', text: 'hello' } },
    { collection: 'notes', id: 'n1', kind: 'remove', document: null },
  ]);
  observer.stop();
  assert.equal(observer.isStopped, true);
  observer.stop();
  await notes.upsert({ _id: 'n2' });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(seen.length, 2);
});

test('user collection sync scopes: default AllPeers, set and persisted; system collections refused', async (t) => {
  const dir = tempDir(t);
  let ditto = new Ditto({ type: 'offlinePlayground', appID: APP_ID }, dir);
  assert.equal(await ditto.store.getSyncScope('orders'), 'AllPeers');
  await ditto.store.setSyncScope('orders', 'SmallPeersOnly');
  assert.equal(await ditto.store.getSyncScope('orders'), 'SmallPeersOnly');
  await assert.rejects(ditto.store.setSyncScope('__small_peer_info', 'AllPeers'), { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT' });
  await assert.rejects(ditto.store.setSyncScope('orders', 'allpeers'), { name: 'TypeError', message: /'LocalPeerOnly', 'BigPeerOnly', 'AllPeers', 'SmallPeersOnly'/ });
  await ditto.close();
  ditto = new Ditto({ type: 'offlinePlayground', appID: APP_ID }, dir);
  t.after(() => ditto.close());
  assert.equal(await ditto.store.getSyncScope('orders'), 'SmallPeersOnly');
});

test('presence: local peer key, no peers, not connected before sync', (t) => {
  const ditto = openDitto(t);
  const graph = ditto.presence.graph;
  assert.equal(graph.local_peer_key, ditto.presence.localPeerKey);
  assert.deepEqual(ditto.presence.connectedPeers, []);
  assert.equal(ditto.presence.isConnectedToBigPeer, false);
  assert.equal(typeof graph.connections_by_transport, 'object');
});

test('presence: two peers over LAN TCP see each other and replicate a document', async (t) => {
  const a = openDitto(t);
  const b = openDitto(t);
  a.deviceName = 'peer-a';
  a.setTransportConfig({ lan: { listen: '127.0.0.1:0' } });
  a.startSync();
  b.setTransportConfig({ lan: { connect: [`127.0.0.1:${a.lanPort}`] } });
  b.startSync();
  const peers = await waitFor(() => (b.presence.connectedPeers.length > 0 ? b.presence.connectedPeers : null));
  assert.ok(peers, 'b never connected to a');
  assert.equal(peers[0].peer_key, a.presence.localPeerKey);
  assert.equal(peers[0].device_name, 'peer-a');
  assert.equal(peers[0].is_big_peer, false);
  await a.store.collection('shared').upsert({ _id: 'x', from: 'a' });
  const doc = await waitFor(() => b.store.collection('shared').findByID('x'));
  assert.deepEqual(doc, { _id: 'x', from: 'a' });
});

test('Logger: enabled, minimumLogLevel, custom callback, log file, exportToFile', async (t) => {
  const dir = tempDir(t);
  const ditto = openDitto(t);
  const wasEnabled = Logger.enabled;
  const wasLevel = Logger.minimumLogLevel;
  t.after(async () => {
    Logger.enabled = wasEnabled;
    Logger.minimumLogLevel = wasLevel;
    Logger.setLogFile(null);
    await Logger.setCustomLogCallback(null);
  });
  Logger.enabled = true;
  assert.equal(Logger.enabled, true);
  Logger.minimumLogLevel = 'Warning';
  assert.equal(Logger.minimumLogLevel, 'Warning');
  assert.throws(() => { Logger.minimumLogLevel = 'warning'; }, { name: 'TypeError', message: /'Error', 'Warning', 'Info', 'Debug', 'Verbose'/ });

  const logFile = path.join(dir, 'out.log');
  Logger.setLogFile(logFile);
  const received = [];
  await Logger.setCustomLogCallback((level, message) => received.push([level, message]));
  ditto.log('Info', 'js-info-hidden');
  ditto.log('Error', 'js-error-shown');
  const got = await waitFor(() => received.find(([, m]) => m.includes('js-error-shown')), 10000, 10);
  assert.deepEqual(got[0], 'Error');
  assert.ok(!received.some(([, m]) => m.includes('js-info-hidden')), 'a message below the minimum level reached the callback');
  assert.match(fs.readFileSync(logFile, 'utf8'), /js-error-shown/);

  Logger.enabled = false;
  assert.equal(Logger.enabled, false);
  ditto.log('Error', 'js-while-disabled');
  ditto.log('Error', 'js-marker-after');
  Logger.enabled = true;
  ditto.log('Error', 'js-enabled-again');
  await waitFor(() => received.some(([, m]) => m.includes('js-enabled-again')), 10000, 10);
  assert.ok(!received.some(([, m]) => m.includes('js-while-disabled')));

  Logger.setLogFile(null);
  ditto.log('Error', 'js-after-log-file');
  await waitFor(() => received.some(([, m]) => m.includes('js-after-log-file')), 10000, 10);
  assert.doesNotMatch(fs.readFileSync(logFile, 'utf8'), /js-after-log-file/);

  await Logger.setCustomLogCallback(null);
  const count = received.length;
  ditto.log('Error', 'js-after-removal');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(received.length, count);

  const exported = path.join(dir, 'logs.jsonl.gz');
  const lines = await Logger.exportToFile(exported, { ditto });
  assert.ok(lines > 0);
  const text = zlib.gunzipSync(fs.readFileSync(exported)).toString('utf8').trim().split('\n');
  assert.equal(text.length, lines);
  assert.ok(text.some((l) => JSON.parse(l).msg.includes('js-info-hidden')), 'the engine log keeps every level');
  const errorsOnly = await Logger.exportToFile(path.join(dir, 'errors.gz'), { ditto, minimumLogLevel: 'Error' });
  assert.ok(errorsOnly > 0 && errorsOnly < lines);
  assert.equal(await Logger.exportToFile(path.join(dir, 'future.gz'), { ditto, since: new Date(Date.now() + 3600e3) }), 0);
  assert.equal(await Logger.exportToFile(path.join(dir, 'past.gz'), { ditto, until: new Date(0) }), 0);
  const capped = await Logger.exportToFile(path.join(dir, 'capped.gz'), { ditto, maxBytes: 400 });
  assert.ok(capped > 0 && capped < lines, `${capped} of ${lines}`);
  assert.ok(zlib.gunzipSync(fs.readFileSync(path.join(dir, 'capped.gz'))).length <= 400);
  await assert.rejects(Logger.exportToFile(path.join(dir, 'x.gz'), { ditto, since: 'yesterday' }), { name: 'TypeError' });
});

test('Logger.exportToFile refuses contradictory filters by the engine\'s rules and writes nothing', async (t) => {
  const dir = tempDir(t);
  const ditto = new Ditto({ type: 'offlinePlayground', appID: APP_ID }, dir);
  t.after(() => ditto.close());
  const now = new Date();
  const backwards = path.join(dir, 'backwards.gz');
  await assert.rejects(Logger.exportToFile(backwards, { ditto, since: now, until: new Date(now.getTime() - 60e3) }), {
    name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', message: 'since is after until',
  });
  assert.equal(fs.existsSync(backwards), false, 'a refused export wrote a file');
  for (const maxBytes of [0, -1]) {
    await assert.rejects(Logger.exportToFile(path.join(dir, 'capped.gz'), { ditto, maxBytes }), {
      name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', message: /max_bytes must be a positive integer/,
    });
  }
  await assert.rejects(Logger.exportToFile(path.join(dir, 'x.gz'), { ditto, maxBytes: 1.5 }), { name: 'TypeError' });
});

test('Logger.exportToFile without options.ditto uses the only open instance, else asks for one', async (t) => {
  const dir = tempDir(t);
  const ditto = openDitto(t);
  ditto.log('Info', 'only-instance');
  assert.ok((await Logger.exportToFile(path.join(dir, 'a.gz'))) > 0);
  const other = openDitto(t);
  await assert.rejects(Logger.exportToFile(path.join(dir, 'b.gz')), { name: 'TypeError', message: /options\.ditto is required when 2/ });
  await other.close();
  assert.ok((await Logger.exportToFile(path.join(dir, 'c.gz'))) > 0);
});
