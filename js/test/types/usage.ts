// Typed usage of the whole API: `tsc -p js/test/types` must accept every line, and each line marked
// as an expected error must really be one (else tsc reports the directive as unused).
import { ActiveTransportConfig, Collection, Ditto, DittoError, Identity, JSONObject, Logger, LogLevel, PresenceGraph, SmallPeerInfoSyncScope, StoreObserver, SyncScope, version } from 'smallpeer';

declare function report(...values: unknown[]): void;

async function main(): Promise<void> {
  const identity: Identity = { type: 'onlinePlayground', appID: 'app', token: 'token' };
  const ditto = new Ditto(identity, '/tmp/typed');
  const offline = new Ditto({ type: 'offlinePlayground' });
  const defaults = new Ditto();
  const named = new Ditto({ type: 'offlinePlayground' }, '/tmp/named', { deviceName: 'typed-device' });

  // The documented lines.
  ditto.smallPeerInfo.isEnabled = true;
  await ditto.smallPeerInfo.setSyncScope('BigPeerOnly');

  const scope: SmallPeerInfoSyncScope = ditto.smallPeerInfo.syncScope;
  const scopeLater: SmallPeerInfoSyncScope = await ditto.smallPeerInfo.getSyncScope();
  ditto.smallPeerInfo.metadata = { site: 'north', rack: { row: 3, tags: ['a'] }, ok: true, none: null };
  const metadata: JSONObject = ditto.smallPeerInfo.metadata;
  const text: string = ditto.smallPeerInfo.metadataJSONString;
  ditto.smallPeerInfo.metadataJSONString = '{"site":"south"}';
  ditto.smallPeerInfo.collectionInterval = 60_000;
  const interval: number = ditto.smallPeerInfo.collectionInterval;
  const doc: JSONObject = await ditto.smallPeerInfo.collectNow();
  const last: JSONObject | null = ditto.smallPeerInfo.document;
  ditto.deviceName = 'typed';

  ditto.setTransportConfig({
    connect: { websocketURLs: ['ws://127.0.0.1:8080/sync'], tcpServers: [] },
    listen: { tcp: { isEnabled: true, interfaceIp: '127.0.0.1', port: 0 } },
  });
  ditto.setTransportConfig({ connect: { websocketURLs: ['ws://127.0.0.1:8080/sync'] } });
  const active: ActiveTransportConfig = ditto.transportConfig;
  const urls: string[] = active.connect.websocketURLs;
  const listening: boolean = active.listen.tcp.isEnabled;
  ditto.startSync();
  const running: boolean = ditto.isSyncActive;
  const port: number | null = ditto.lanPort;
  ditto.stopSync();

  const cars: Collection = ditto.store.collection('cars');
  const id: string = await cars.upsert({ make: 'Volvo' });
  const car: JSONObject | null = await cars.findByID(id);
  const all: JSONObject[] = await cars.findAll();
  const removed: boolean = await cars.remove(id);
  const names: string[] = await ditto.store.collectionNames();
  const userScope: SyncScope = cars.syncScope;
  await cars.setSyncScope('SmallPeersOnly');
  const observer: StoreObserver = cars.observe((change) => {
    const kind: 'upsert' | 'remove' = change.kind;
    const body: JSONObject | null = change.document;
    report(change.collection, change.id, kind, body);
  });
  observer.stop();
  const stopped: boolean = observer.isStopped;

  const key: string = ditto.presence.localPeerKey;
  const connected: boolean = ditto.presence.isConnectedToBigPeer;
  for (const peer of ditto.presence.connectedPeers) report(peer.peerKey, peer.deviceName, peer.transport, peer.isBigPeer);
  const graph: PresenceGraph = ditto.presence.graph;
  const reason: string | null = graph.bigPeerConnectionHistory[0]?.reason ?? null;
  report(graph.localPeerKey, graph.isConnectedToBigPeer, graph.connectionsByTransport.WebSocket, reason);

  Logger.enabled = true;
  Logger.minimumLogLevel = 'Debug';
  const level: LogLevel = Logger.minimumLogLevel;
  Logger.setLogFile('/tmp/typed.log');
  Logger.setLogFile(null);
  Logger.setConsoleEnabled(false);
  await Logger.setCustomLogCallback((logLevel: LogLevel, message: string) => report(logLevel, message));
  await Logger.setCustomLogCallback(null);
  await Logger.unsetCustomLogCallback();
  const bytes: number = await Logger.exportToFile('/tmp/typed.jsonl.gz');
  const filtered: number = await Logger.exportToFile('/tmp/typed.jsonl.gz', { minimumLogLevel: 'Info', since: new Date(0), until: new Date(), maxBytes: 1024 });
  ditto.log('Warning', 'typed');
  const requestID: string = await ditto.sendLogs({ minimumLogLevel: 'Warning', maxBytes: 4096 });

  try {
    await ditto.close();
  } catch (e) {
    if (e instanceof DittoError) report(e.code, e.status, e.message);
  }
  const closed: boolean = ditto.isClosed;
  const handles: number = Ditto.liveHandleCount();
  report(version, scope, scopeLater, metadata, text, interval, doc, last, urls, listening, running, port, car, all, removed, names,
    userScope, stopped, key, connected, level, bytes, filtered, requestID, closed, handles, offline, defaults, named);

  // Mistakes the types catch.
  // @ts-expect-error: scope names are case-sensitive
  await ditto.smallPeerInfo.setSyncScope('bigpeeronly');
  // @ts-expect-error: Small Peer Info takes only LocalPeerOnly or BigPeerOnly
  await ditto.smallPeerInfo.setSyncScope('AllPeers');
  // @ts-expect-error: isEnabled is a boolean
  ditto.smallPeerInfo.isEnabled = 'yes';
  // @ts-expect-error: metadata is an object of JSON values
  ditto.smallPeerInfo.metadata = { when: new Date() };
  // @ts-expect-error: an online playground needs a token
  new Ditto({ type: 'onlinePlayground', appID: 'app' });
  // @ts-expect-error: log levels are capitalised
  Logger.minimumLogLevel = 'debug';
  // @ts-expect-error: the presence graph is read-only
  ditto.presence.graph = ditto.presence.graph;
  // @ts-expect-error: sendLogs acts on its own instance, it takes no ditto
  await ditto.sendLogs({ ditto });
  // @ts-expect-error: exportToFile exports every open instance, it takes no ditto
  await Logger.exportToFile('/tmp/x.gz', { ditto });
  // @ts-expect-error: the engine's transport JSON is not Ditto's shape
  ditto.setTransportConfig({ big_peer: { urls: [] } });
  // @ts-expect-error: the device name lives on Ditto, not on smallPeerInfo
  report(ditto.smallPeerInfo.deviceName);
  // @ts-expect-error: a collection's scope is set on the collection
  await ditto.store.setSyncScope('cars', 'AllPeers');
  // @ts-expect-error: the collection scope is read-only; set it with setSyncScope
  cars.syncScope = 'AllPeers';
  // @ts-expect-error: handles come from the API, not from constructors
  new StoreObserver();
}

report(main);
