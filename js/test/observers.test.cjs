'use strict';
// Observers and the log callback while the JS thread is busy: engine threads never wait for it,
// nothing is lost, and callbacks run only on the JS thread, in order.
const assert = require('node:assert/strict');
const { test } = require('node:test');
const { smallpeer, openDitto, waitFor } = require('./helpers.cjs');

function busyFor(ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* hold the event loop */ }
}

test('changes made while the event loop is blocked are all delivered afterwards, on the JS thread', async (t) => {
  const ditto = openDitto(t);
  const col = ditto.store.collection('busy');
  const seen = [];
  const observer = col.observe((change) => seen.push(change.id));
  t.after(() => observer.stop());
  const writes = Array.from({ length: 200 }, (_, i) => col.upsert({ _id: `d${String(i).padStart(3, '0')}`, i }));
  busyFor(500); // the writes commit on the thread pool and their changes queue meanwhile
  assert.equal(seen.length, 0, 'an observer callback ran while the JS thread was busy');
  await Promise.all(writes);
  await waitFor(() => seen.length >= 200, 20000, 10);
  assert.equal(seen.length, 200);
  assert.deepEqual([...seen].sort(), Array.from({ length: 200 }, (_, i) => `d${String(i).padStart(3, '0')}`));
});

test('a slow observer does not hold up writes, and sees every change in commit order', async (t) => {
  const ditto = openDitto(t);
  const col = ditto.store.collection('slow');
  const seen = [];
  const observer = col.observe((change) => {
    busyFor(5);
    seen.push(change.document.n);
  });
  t.after(() => observer.stop());
  for (let n = 0; n < 100; n++) await col.upsert({ _id: 'counter', n }); // sequential: commit order is n
  await waitFor(() => seen.length >= 100, 20000, 10);
  assert.deepEqual(seen, Array.from({ length: 100 }, (_, n) => n));
});

test('an observer may call back into the API', async (t) => {
  const ditto = openDitto(t);
  const source = ditto.store.collection('source');
  const mirror = ditto.store.collection('mirror');
  const observer = source.observe((change) => {
    if (change.kind === 'upsert') mirror.upsert({ ...change.document, mirroredBy: ditto.presence.localPeerKey });
  });
  t.after(() => observer.stop());
  await source.upsert({ _id: 'm1', v: 1 });
  const copy = await waitFor(() => mirror.findByID('m1'), 10000, 10);
  assert.deepEqual(copy, { _id: 'm1', v: 1, mirroredBy: ditto.presence.localPeerKey });
});

test('the custom log callback delivers messages logged while the JS thread is busy, in order', async (t) => {
  const ditto = openDitto(t);
  const got = [];
  await smallpeer.Logger.setCustomLogCallback((level, message) => {
    const m = /\[app\] (busy-\d+)$/.exec(message);
    if (m) got.push(m[1]);
  });
  t.after(() => smallpeer.Logger.setCustomLogCallback(null));
  for (let i = 0; i < 50; i++) ditto.log('Warning', `busy-${i}`);
  busyFor(200);
  assert.equal(got.length, 0);
  await waitFor(() => got.length >= 50, 10000, 10);
  assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => `busy-${i}`));
});
