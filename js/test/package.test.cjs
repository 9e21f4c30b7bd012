'use strict';
// `npm pack` makes a tarball that installs offline into an empty folder and works there, from
// CommonJS and from an ES module (nothing is fetched: the tarball has no dependencies).
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const { packageDir, tempDir } = require('./helpers.cjs');

const npm = process.env.SMALLPEER_NPM || 'npm';

test('npm pack, npm install <tarball> --offline into an empty folder, then require and import it', async (t) => {
  const work = tempDir(t, 'smallpeer-npm-');
  const env = {
    ...process.env,
    npm_config_cache: path.join(work, 'npm-cache'),
    npm_config_update_notifier: 'false',
    npm_config_loglevel: 'error',
  };
  const packed = JSON.parse(execFileSync(npm, ['pack', '--json', '--pack-destination', work, packageDir], { env, encoding: 'utf8' }));
  const files = packed[0].files.map((f) => f.path).sort();
  assert.deepEqual(files, ['README.md', 'index.d.ts', 'index.js', 'index.mjs', 'native/libsmallpeer.so.1', 'native/smallpeer.node', 'package.json']);
  const tarball = path.join(work, packed[0].filename);
  assert.ok(fs.existsSync(tarball));

  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  execFileSync(npm, ['install', tarball, '--offline', '--no-audit', '--no-fund'], { cwd: app, env, encoding: 'utf8' });
  assert.ok(fs.existsSync(path.join(app, 'node_modules', 'smallpeer', 'native', 'smallpeer.node')));

  const data = path.join(work, 'data');
  fs.writeFileSync(path.join(app, 'use.cjs'), `
    const { Ditto, Logger, DittoError, version } = require('smallpeer');
    Logger.setConsoleEnabled(false);
    (async () => {
      const ditto = new Ditto({ type: 'offlinePlayground', appID: 'packed' }, process.argv[2] + '-cjs');
      ditto.smallPeerInfo.isEnabled = true;
      await ditto.smallPeerInfo.setSyncScope('BigPeerOnly');
      const id = await ditto.store.collection('c').upsert({ v: 1 });
      const doc = await ditto.store.collection('c').findByID(id);
      const rejected = await ditto.smallPeerInfo.setSyncScope('bigpeeronly').catch((e) => e instanceof DittoError && e.code === 'SP_ERR_INVALID_ARGUMENT');
      const scope = await ditto.smallPeerInfo.getSyncScope();
      await ditto.close();
      const closed = await ditto.smallPeerInfo.getSyncScope().catch((e) => e instanceof DittoError && e.code);
      console.log(JSON.stringify({ version, scope, v: doc.v, rejected, closed }));
    })();
  `);
  fs.writeFileSync(path.join(app, 'use.mjs'), `
    import { Ditto, Logger, version } from 'smallpeer';
    Logger.setConsoleEnabled(false);
    const ditto = new Ditto({ type: 'offlinePlayground', appID: 'packed' }, process.argv[2] + '-esm');
    ditto.smallPeerInfo.isEnabled = true;
    await ditto.smallPeerInfo.setSyncScope('BigPeerOnly');
    const scope = await ditto.smallPeerInfo.getSyncScope();
    const sdk = ditto.smallPeerInfo.document.ditto_sdk_language;
    await ditto.close();
    console.log(JSON.stringify({ version, scope, sdk }));
  `);
  const cjs = JSON.parse(execFileSync(process.execPath, ['use.cjs', data], { cwd: app, encoding: 'utf8' }));
  assert.deepEqual(cjs, { version: cjs.version, scope: 'BigPeerOnly', v: 1, rejected: true, closed: 'SP_ERR_CLOSED' });
  assert.match(cjs.version, /^\d+\.\d+\.\d+/);
  const esm = JSON.parse(execFileSync(process.execPath, ['use.mjs', data], { cwd: app, encoding: 'utf8' }));
  assert.deepEqual(esm, { version: cjs.version, scope: 'BigPeerOnly', sdk: 'JavaScript' });
});
