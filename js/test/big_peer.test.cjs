'use strict';
// The two documented lines of SPEC against a real Big Peer process (env SMALLPEER_CLI).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { test } = require('node:test');
const { smallpeer, APP_ID, APP_TOKEN, tempDir, waitFor, rejectsWithCode, BigPeer } = require('./helpers.cjs');

const { Ditto } = smallpeer;

/** An online-playground small peer pointed at `bp`, syncing, closed when the test ends. */
function smallPeer(t, bp, token = APP_TOKEN, dir = tempDir(t)) {
  const ditto = new Ditto({ type: 'onlinePlayground', appID: APP_ID, token }, dir);
  t.after(() => ditto.close());
  ditto.setTransportConfig({ connect: { websocketURLs: [bp.syncURL] } });
  ditto.startSync();
  return ditto;
}

test('the documented lines: the Big Peer receives the Small Peer Info document', async (t) => {
  const bp = await BigPeer.start(t);
  const ditto = smallPeer(t, bp);
  ditto.deviceName = 'js-documented-lines';
  ditto.smallPeerInfo.metadata = { site: 'north' };

  ditto.smallPeerInfo.isEnabled = true;
  await ditto.smallPeerInfo.setSyncScope('BigPeerOnly');

  const key = ditto.presence.localPeerKey;
  // The document written by `isEnabled = true` may arrive first (it says LocalPeerOnly); the
  // rewrite the scope change triggers follows within the engine's debounce.
  const found = await waitFor(async () => {
    const d = await bp.document('__small_peer_info', key);
    return d?.document.sync_scope === 'BigPeerOnly' ? d : null;
  }, 30000);
  assert.ok(found, `the Big Peer never received the BigPeerOnly document:\n${bp.output.join('\n')}`);
  const doc = found.document;
  assert.equal(doc._id, key);
  assert.equal(doc.ditto_sdk_language, 'JavaScript');
  assert.equal(doc.device_name, 'js-documented-lines');
  assert.equal(doc.sync_scope, 'BigPeerOnly');
  assert.deepEqual(doc.metadata, { site: 'north' });
  assert.ok(await waitFor(() => ditto.presence.isConnectedToBigPeer, 10000));
  assert.ok(ditto.presence.connectedPeers.some((p) => p.isBigPeer));
  assert.equal(ditto.presence.graph.bigPeerConnectionHistory.at(-1).event, 'connected');
});

test('LocalPeerOnly (the default) keeps the document off the Big Peer', async (t) => {
  const bp = await BigPeer.start(t);
  const ditto = smallPeer(t, bp);
  ditto.smallPeerInfo.isEnabled = true;
  assert.ok(await waitFor(() => ditto.presence.isConnectedToBigPeer, 20000), bp.output.join('\n'));
  // A user document synced after the SPI write proves the connection carried everything it would.
  await ditto.store.collection('probe').upsert({ _id: 'p1' });
  assert.ok(await waitFor(() => bp.document('probe', 'p1'), 20000), 'the user document never reached the Big Peer');
  assert.equal(await bp.document('__small_peer_info', ditto.presence.localPeerKey), null);
});

test('a wrong app token is refused and the reason shows in the connection history', async (t) => {
  const bp = await BigPeer.start(t);
  const ditto = smallPeer(t, bp, 'wrong-token');
  const history = await waitFor(() => {
    const h = ditto.presence.graph.bigPeerConnectionHistory;
    return h.some((e) => e.reason) ? h : null;
  }, 15000);
  assert.ok(history, 'no refusal recorded');
  assert.equal(ditto.presence.isConnectedToBigPeer, false);
});

test('sendLogs uploads a bundle the operator can download', async (t) => {
  const bp = await BigPeer.start(t);
  const ditto = smallPeer(t, bp);
  const marker = `the user pressed send logs ${process.hrtime.bigint()}`;
  ditto.log('Error', marker);
  const requestID = await ditto.sendLogs({ minimumLogLevel: 'Warning' });
  assert.match(requestID, /^dev_/);
  const state = await waitFor(async () => {
    const s = await bp.get(`/api/v1/log-requests/${requestID}`);
    return s?.state === 'ready' ? s : null;
  }, 30000);
  assert.ok(state, `the request never became ready:\n${bp.output.join('\n')}`);
  assert.equal(state.requested_by, 'device');
  const lines = zlib.gunzipSync(await bp.getBytes(state.download_url)).toString();
  assert.ok(lines.includes(marker), 'the bundle lacks the marker');
  assert.ok(!lines.includes('"level":"info"'), 'min level Warning let an info line through');
});

test('sendLogs refuses bad options and leaves nothing to send', async (t) => {
  const bp = await BigPeer.start(t);
  const dir = tempDir(t);
  const ditto = smallPeer(t, bp, APP_TOKEN, dir);
  await rejectsWithCode(ditto.sendLogs({ maxBytes: 0 }), 'SP_ERR_INVALID_ARGUMENT');
  await rejectsWithCode(ditto.sendLogs({ minimumLogLevel: 'loud' }), 'SP_ERR_INVALID_ARGUMENT');
  const outbox = path.join(dir, 'log-outbox');
  assert.deepEqual(fs.existsSync(outbox) ? fs.readdirSync(outbox) : [], [], 'a refused send left a bundle');
});
