'use strict';
// The two documented lines of SPEC against a real Big Peer process (env SMALLPEER_CLI).
const assert = require('node:assert/strict');
const { test } = require('node:test');
const { smallpeer, APP_ID, APP_TOKEN, tempDir, waitFor, BigPeer } = require('./helpers.cjs');

const { Ditto } = smallpeer;

/** An online-playground small peer pointed at `bp`, syncing, closed when the test ends. */
function smallPeer(t, bp, token = APP_TOKEN) {
  const ditto = new Ditto({ type: 'onlinePlayground', appID: APP_ID, token }, tempDir(t));
  t.after(() => ditto.close());
  ditto.setTransportConfig({ big_peer: { urls: [bp.syncURL] } });
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
  assert.ok(ditto.presence.connectedPeers.some((p) => p.is_big_peer));
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
    const h = ditto.presence.graph.big_peer_connection_history;
    return h.some((e) => e.reason) ? h : null;
  }, 15000);
  assert.ok(history, 'no refusal recorded');
  assert.equal(ditto.presence.isConnectedToBigPeer, false);
});
