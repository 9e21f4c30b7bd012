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

test('identity: online playground opens; a wrong identity type is SP_ERR_INVALID_ARGUMENT', async (t) => {
  const ditto = openDitto(t, { type: 'onlinePlayground', appID: APP_ID, token: 'secret' });
  assert.equal(ditto.identity.type, 'onlinePlayground');
  const dir = tempDir(t);
  assert.throws(() => new Ditto({ type: 'sharedKey', appID: APP_ID }, dir), { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', message: /'offlinePlayground', 'onlinePlayground'/ });
  assert.throws(() => new Ditto({ type: 'onlinePlayground', appID: APP_ID }, dir), { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', message: /identity\.token/ });
});

test('SPI on/off: default off; on writes the document at once', async (t) => {
  const ditto = openDitto(t);
  const spi = ditto.smallPeerInfo;
  assert.equal(spi.isEnabled, false);
  assert.equal(spi.document, null);
  spi.isEnabled = true;
  assert.equal(spi.isEnabled, true);
  const doc = spi.document;
  assert.equal(doc._id, ditto.presence.localPeerKey);
  assert.equal(doc.ditto_sdk_language, 'JavaScript');
  assert.equal(doc.schema_version, 1);
  spi.isEnabled = false;
  assert.equal(spi.isEnabled, false);
  assert.throws(() => { spi.isEnabled = 'yes'; }, { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT' });
});

test('SPI sync scope: default LocalPeerOnly; BigPeerOnly round-trips and shows in the document', async (t) => {
  const ditto = openDitto(t);
  const spi = ditto.smallPeerInfo;
  assert.equal(spi.syncScope, 'LocalPeerOnly');
  assert.equal(await spi.getSyncScope(), 'LocalPeerOnly');
  await spi.setSyncScope('BigPeerOnly');
  assert.equal(spi.syncScope, 'BigPeerOnly');
  assert.equal(await spi.getSyncScope(), 'BigPeerOnly');
  assert.equal(ditto.store.collection('__small_peer_info').syncScope, 'BigPeerOnly');
  assert.equal((await spi.collectNow()).sync_scope, 'BigPeerOnly');
  await spi.setSyncScope('LocalPeerOnly');
  assert.equal(spi.syncScope, 'LocalPeerOnly');
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

test('device name: on Ditto, a constructor option, set and reported in the document', async (t) => {
  const ditto = openDitto(t);
  assert.ok(ditto.deviceName.length > 0);
  ditto.deviceName = 'js-device';
  assert.equal(ditto.deviceName, 'js-device');
  assert.equal((await ditto.smallPeerInfo.collectNow()).device_name, 'js-device');
  assert.throws(() => { ditto.deviceName = ''; }, { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', message: /1 to 256 bytes/ });
  assert.equal(ditto.deviceName, 'js-device');
  assert.equal(Object.hasOwn(Object.getPrototypeOf(ditto.smallPeerInfo), 'deviceName'), false, 'the device name lives on Ditto only');
  assert.equal('deviceName' in ditto.smallPeerInfo, false);
  const named = new Ditto({ type: 'offlinePlayground', appID: APP_ID }, tempDir(t), { deviceName: 'from-the-start' });
  t.after(() => named.close());
  assert.equal(named.deviceName, 'from-the-start');
  assert.throws(() => new Ditto({ type: 'offlinePlayground' }, tempDir(t), { devicename: 'typo' }), { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', message: /no option 'devicename'/ });
});

test('collection interval: default 300000 ms, configurable down to 1000 ms', (t) => {
  const ditto = openDitto(t);
  const spi = ditto.smallPeerInfo;
  assert.equal(spi.collectionInterval, 300000);
  spi.collectionInterval = 1500;
  assert.equal(spi.collectionInterval, 1500);
  assert.throws(() => { spi.collectionInterval = 999; }, { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT' });
  assert.throws(() => { spi.collectionInterval = 1500.5; }, { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT' });
  assert.equal(spi.collectionInterval, 1500);
});

test('collection interval: an enabled peer rewrites its document every interval', async (t) => {
  const ditto = openDitto(t);
  const spi = ditto.smallPeerInfo;
  spi.collectionInterval = 1000;
  spi.isEnabled = true;
  const first = spi.document.sequence;
  const later = await waitFor(() => (spi.document.sequence > first ? true : null), 10000);
  assert.ok(later, 'the document was not rewritten within 10 s at a 1 s interval');
});

test('collect now: writes the document even when disabled, sequence increases', async (t) => {
  const ditto = openDitto(t);
  const a = await ditto.smallPeerInfo.collectNow();
  const b = await ditto.smallPeerInfo.collectNow();
  assert.equal(b.sequence, a.sequence + 1);
  assert.deepEqual(ditto.smallPeerInfo.document, b);
});

test('transport config: Ditto\'s shape round-trips; bad values are refused and change nothing', (t) => {
  const ditto = openDitto(t);
  const none = { connect: { websocketURLs: [], tcpServers: [] }, listen: { tcp: { isEnabled: false, interfaceIp: '127.0.0.1', port: 0 } } };
  assert.deepEqual(ditto.transportConfig, none);
  const config = {
    connect: { websocketURLs: ['ws://127.0.0.1:9/sync'], tcpServers: ['127.0.0.1:4040'] },
    listen: { tcp: { isEnabled: true, interfaceIp: '127.0.0.1', port: 0 } },
  };
  ditto.setTransportConfig(config);
  assert.deepEqual(ditto.transportConfig, config);
  ditto.setTransportConfig({ listen: { tcp: { isEnabled: true, interfaceIp: '::1', port: 4041 } } });
  assert.deepEqual(ditto.transportConfig.listen.tcp, { isEnabled: true, interfaceIp: '::1', port: 4041 });
  ditto.setTransportConfig(config);
  const refused = [
    { connect: { websocketURLs: ['not a url'] } },
    { connect: { websocketURLs: ['ws://example.com/sync'] } },
    { connect: { websocketURLs: 'ws://127.0.0.1:9/sync' } },
    { listen: { tcp: { isEnabled: true, interfaceIp: 'nowhere', port: 0 } } },
    { listen: { tcp: { isEnabled: true, port: 70000 } } },
    { listen: { tcp: { isEnabled: 'yes' } } },
    { big_peer: { urls: [] } },
    '{}',
  ];
  for (const bad of refused) {
    assert.throws(() => ditto.setTransportConfig(bad), { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT' }, JSON.stringify(bad));
  }
  assert.deepEqual(ditto.transportConfig, config);
});

test('start/stop sync: LAN listener port while running, none after stop', (t) => {
  const ditto = openDitto(t);
  ditto.setTransportConfig({ listen: { tcp: { isEnabled: true, interfaceIp: '127.0.0.1', port: 0 } } });
  assert.equal(ditto.isSyncActive, false);
  assert.equal(ditto.lanPort, null);
  ditto.startSync();
  assert.equal(ditto.isSyncActive, true);
  assert.ok(ditto.lanPort > 0);
  ditto.stopSync();
  assert.equal(ditto.isSyncActive, false);
  assert.equal(ditto.lanPort, null);
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
  await assert.rejects(cars.upsert([1, 2]), { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT' });
});

test('store: findAll reads past one page', async (t) => {
  const ditto = openDitto(t);
  const items = ditto.store.collection('items');
  await Promise.all(Array.from({ length: 1205 }, (_, i) => items.upsert({ _id: `i${String(i).padStart(5, '0')}`, n: i })));
  const all = await items.findAll();
  assert.equal(all.length, 1205);
  assert.equal(all[1204]._id, 'i01204');
});

test('store: execute runs a DQL query; a bad one rejects naming its position', async (t) => {
  const ditto = openDitto(t);
  const cars = ditto.store.collection('cars');
  await cars.upsert({ _id: 'c1', make: 'Volvo', seats: 5 });
  await cars.upsert({ _id: 'c2', make: 'Saab', seats: 4 });
  const result = await ditto.store.execute('SELECT make FROM cars WHERE seats >= :min ORDER BY seats DESC', { min: 4 });
  assert.deepEqual(result.items.map((item) => item.value), [{ make: 'Volvo' }, { make: 'Saab' }]);
  assert.equal(result.items[0].jsonString(), '{"make":"Volvo"}');
  assert.deepEqual((await ditto.store.execute('SELECT COUNT(*) FROM cars')).items[0].value, { count: 2 });
  await assert.rejects(ditto.store.execute('SELECT * cars'), { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', message: /expected FROM at position 10/ });
  await assert.rejects(ditto.store.execute('SELECT * FROM cars WHERE make = :m'), { code: 'SP_ERR_INVALID_ARGUMENT', message: /argument :m .* is not given/ });
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

test('user collection sync scopes: on the collection, default AllPeers, set and persisted; system collections refused', async (t) => {
  const dir = tempDir(t);
  let ditto = new Ditto({ type: 'offlinePlayground', appID: APP_ID }, dir);
  const orders = ditto.store.collection('orders');
  assert.equal(orders.syncScope, 'AllPeers');
  await orders.setSyncScope('SmallPeersOnly');
  assert.equal(orders.syncScope, 'SmallPeersOnly');
  await assert.rejects(ditto.store.collection('__small_peer_info').setSyncScope('AllPeers'), { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT' });
  await assert.rejects(orders.setSyncScope('allpeers'), {
    name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', message: /'AllPeers', 'BigPeerOnly', 'LocalPeerOnly', 'SmallPeersOnly'/,
  });
  await ditto.close();
  ditto = new Ditto({ type: 'offlinePlayground', appID: APP_ID }, dir);
  t.after(() => ditto.close());
  assert.equal(ditto.store.collection('orders').syncScope, 'SmallPeersOnly');
});

test('presence: a typed graph in camelCase; local peer key, no peers, not connected before sync', (t) => {
  const ditto = openDitto(t);
  const graph = ditto.presence.graph;
  assert.deepEqual(Object.keys(graph).sort(), ['bigPeerConnectionHistory', 'connectionsByTransport', 'isConnectedToBigPeer', 'localPeerKey', 'peers']);
  assert.equal(graph.localPeerKey, ditto.presence.localPeerKey);
  assert.equal(graph.isConnectedToBigPeer, false);
  assert.deepEqual(graph.peers, []);
  assert.deepEqual(graph.bigPeerConnectionHistory, []);
  assert.deepEqual(ditto.presence.connectedPeers, []);
  assert.equal(ditto.presence.isConnectedToBigPeer, false);
  for (const count of Object.values(graph.connectionsByTransport)) assert.equal(count, 0);
  assert.ok('WebSocket' in graph.connectionsByTransport);
});

test('presence: two peers over LAN TCP see each other and replicate a document', async (t) => {
  const a = openDitto(t);
  const b = openDitto(t);
  a.deviceName = 'peer-a';
  a.setTransportConfig({ listen: { tcp: { isEnabled: true, interfaceIp: '127.0.0.1', port: 0 } } });
  a.startSync();
  b.setTransportConfig({ connect: { tcpServers: [`127.0.0.1:${a.lanPort}`] } });
  b.startSync();
  const peers = await waitFor(() => (b.presence.connectedPeers.length > 0 ? b.presence.connectedPeers : null));
  assert.ok(peers, 'b never connected to a');
  assert.deepEqual(peers[0], { peerKey: a.presence.localPeerKey, deviceName: 'peer-a', transport: peers[0].transport, isBigPeer: false });
  assert.equal(typeof peers[0].transport, 'string');
  const graph = b.presence.graph;
  assert.equal(graph.localPeerKey, b.presence.localPeerKey);
  assert.equal(graph.isConnectedToBigPeer, false);
  assert.equal(Object.values(graph.connectionsByTransport).reduce((x, y) => x + y, 0), 1);
  assert.ok(Array.isArray(graph.bigPeerConnectionHistory));
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
    await Logger.unsetCustomLogCallback();
  });
  Logger.enabled = true;
  assert.equal(Logger.enabled, true);
  Logger.minimumLogLevel = 'Warning';
  assert.equal(Logger.minimumLogLevel, 'Warning');
  assert.throws(() => { Logger.minimumLogLevel = 'warning'; }, { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', message: /'Error', 'Warning', 'Info', 'Debug', 'Verbose'/ });

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

  await Logger.unsetCustomLogCallback();
  await Logger.unsetCustomLogCallback();
  const count = received.length;
  ditto.log('Error', 'js-after-removal');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(received.length, count);

  const exported = path.join(dir, 'logs.jsonl.gz');
  const bytes = await Logger.exportToFile(exported);
  assert.equal(bytes, fs.statSync(exported).size, 'exportToFile resolves to the bytes written');
  const text = zlib.gunzipSync(fs.readFileSync(exported)).toString('utf8').trim().split('\n');
  assert.ok(text.some((l) => JSON.parse(l).msg.includes('js-info-hidden')), 'the engine log keeps every level');
  const errors = path.join(dir, 'errors.gz');
  await Logger.exportToFile(errors, { minimumLogLevel: 'Error' });
  const errorLines = zlib.gunzipSync(fs.readFileSync(errors)).toString('utf8').trim().split('\n');
  assert.ok(errorLines.length > 0 && errorLines.length < text.length);
  for (const [name, options] of [['future.gz', { since: new Date(Date.now() + 3600e3) }], ['past.gz', { until: new Date(0) }]]) {
    await Logger.exportToFile(path.join(dir, name), options);
    assert.equal(zlib.gunzipSync(fs.readFileSync(path.join(dir, name))).length, 0, name);
  }
  await Logger.exportToFile(path.join(dir, 'capped.gz'), { maxBytes: 400 });
  assert.ok(zlib.gunzipSync(fs.readFileSync(path.join(dir, 'capped.gz'))).length <= 400);
  await assert.rejects(Logger.exportToFile(path.join(dir, 'x.gz'), { since: 'yesterday' }), { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT' });
});

test('Logger.exportToFile refuses contradictory filters by the engine\'s rules and writes nothing', async (t) => {
  const dir = tempDir(t);
  openDitto(t);
  const now = new Date();
  const backwards = path.join(dir, 'backwards.gz');
  await assert.rejects(Logger.exportToFile(backwards, { since: now, until: new Date(now.getTime() - 60e3) }), {
    name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', message: 'since is after until',
  });
  assert.equal(fs.existsSync(backwards), false, 'a refused export wrote a file');
  for (const maxBytes of [0, -1]) {
    await assert.rejects(Logger.exportToFile(path.join(dir, 'capped.gz'), { maxBytes }), {
      name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', message: /max_bytes must be a positive integer/,
    });
  }
  await assert.rejects(Logger.exportToFile(path.join(dir, 'x.gz'), { maxBytes: 1.5 }), { name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT' });
  await assert.rejects(Logger.exportToFile(path.join(dir, 'x.gz'), { ditto: null }), {
    name: 'DittoError', code: 'SP_ERR_INVALID_ARGUMENT', message: /no option 'ditto'/,
  });
});

test('Logger.exportToFile takes no Ditto: one file holds the logs of every open instance', async (t) => {
  const dir = tempDir(t);
  const a = openDitto(t);
  const b = openDitto(t);
  a.log('Warning', 'from-instance-a');
  b.log('Warning', 'from-instance-b');
  const file = path.join(dir, 'all.gz');
  const bytes = await Logger.exportToFile(file);
  assert.equal(bytes, fs.statSync(file).size);
  const text = zlib.gunzipSync(fs.readFileSync(file)).toString('utf8');
  assert.match(text, /from-instance-a/);
  assert.match(text, /from-instance-b/);
});
