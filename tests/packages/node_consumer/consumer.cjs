'use strict';
// The npm package's consumer (node_package_test.sh): the job every package test's program does.
// Usage: node consumer.cjs PERSISTENCE_DIR APP_ID APP_TOKEN SYNC_URL SECONDS
const { Ditto, Logger } = require('smallpeer');

const [dir, appID, token, syncURL, seconds] = process.argv.slice(2);
Logger.setConsoleEnabled(false);
const ditto = new Ditto({ type: 'onlinePlayground', appID, token }, dir);
ditto.setTransportConfig({ connect: { websocketURLs: [syncURL] } });
ditto.smallPeerInfo.isEnabled = true;
ditto.smallPeerInfo.setSyncScope('BigPeerOnly').then(() => {
  ditto.startSync();
  console.log(`peer_key ${ditto.presence.localPeerKey}`);
  setTimeout(() => ditto.close(), Number(seconds) * 1000);
});
