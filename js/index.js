'use strict';
/**
 * SmallPeer for Node.js: open small peers, turn on Small Peer Info, sync with a Big Peer.
 *
 *   const ditto = new Ditto({ type: 'onlinePlayground', appID: 'app', token: 'token' }, '/tmp/app');
 *   ditto.smallPeerInfo.isEnabled = true;
 *   await ditto.smallPeerInfo.setSyncScope('BigPeerOnly');
 *
 * Work that touches disk or network (close, store calls, setting a sync scope, collectNow, log
 * export, sendLogs) runs off the JS thread and returns a Promise. Failures throw (or reject with) a
 * DittoError whose `code` names the C status (e.g. 'SP_ERR_VALIDATION') and `status` is its number;
 * a bad argument (wrong type, unknown name, a string with a lone surrogate) is the DittoError
 * 'SP_ERR_INVALID_ARGUMENT', as in every language of SmallPeer.
 */

const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

/**
 * The prebuilt addon for this platform: prebuilds/<platform>-<arch>/smallpeer.napi.node (the
 * node-gyp-build layout; the C library sits beside it). The package builds nothing at install, so
 * a platform it has no prebuild for is an error that names the ones it has.
 */
function loadAddon() {
  const prebuilds = path.join(__dirname, 'prebuilds');
  const platform = `${process.platform}-${process.arch}`;
  const addon = path.join(prebuilds, platform, 'smallpeer.napi.node');
  if (!fs.existsSync(addon)) {
    let have = [];
    try {
      have = fs.readdirSync(prebuilds).filter((d) => fs.existsSync(path.join(prebuilds, d, 'smallpeer.napi.node')));
    } catch {
      // No prebuilds folder at all: the message says "none".
    }
    throw new Error(`smallpeer: no prebuilt addon for ${platform}; this package has prebuilds for: ${have.sort().join(', ') || 'none'}`);
  }
  try {
    return require(addon);
  } catch (e) {
    throw new Error(`smallpeer: cannot load the native addon ${addon}: ${e.message}`, { cause: e });
  }
}

/** @type {any} */
const native = loadAddon();

/** An engine failure or a bad argument: `code` is the C status name (SP_ERR_*), `status` its number. */
class DittoError extends Error {
  /** Built by the addon for each failed C call, and by this package for each bad argument. */
  constructor(message, code, status) {
    super(message);
    this.name = 'DittoError';
    this.code = code;
    this.status = status;
  }
}
native.setErrorClass(DittoError);

/** The C header's values (statuses, scopes, log levels, change kinds), compiled into the addon from smallpeer.h. */
const C = native.constants;

/** The Small Peer Info scopes, in Ditto's order (names to C values). */
const SPI_SCOPES = Object.freeze({ LocalPeerOnly: C.SP_SYNC_SCOPE_LOCAL_PEER_ONLY, BigPeerOnly: C.SP_SYNC_SCOPE_BIG_PEER_ONLY });
/** The user collection scopes (names to C values). */
const COLLECTION_SCOPES = Object.freeze({
  AllPeers: C.SP_SYNC_SCOPE_ALL_PEERS,
  BigPeerOnly: C.SP_SYNC_SCOPE_BIG_PEER_ONLY,
  LocalPeerOnly: C.SP_SYNC_SCOPE_LOCAL_PEER_ONLY,
  SmallPeersOnly: C.SP_SYNC_SCOPE_SMALL_PEERS_ONLY,
});
/** Log levels, most severe first (names to C values). */
const LOG_LEVELS = Object.freeze({
  Error: C.SP_LOG_ERROR,
  Warning: C.SP_LOG_WARNING,
  Info: C.SP_LOG_INFO,
  Debug: C.SP_LOG_DEBUG,
  Verbose: C.SP_LOG_VERBOSE,
});

/** A short description of a value for error messages. */
function describe(value) {
  if (value === null) return 'null';
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' || typeof value === 'function' ? `a ${typeof value}` : `${typeof value} ${String(value)}`;
}

/** The DittoError SP_ERR_INVALID_ARGUMENT for a bad argument. */
function invalidArgument(message) {
  return new DittoError(message, 'SP_ERR_INVALID_ARGUMENT', C.SP_ERR_INVALID_ARGUMENT);
}

/** The DittoError SP_ERR_VALIDATION (a value outside the engine's limits, e.g. metadata that is not a JSON object). */
function validationError(message) {
  return new DittoError(message, 'SP_ERR_VALIDATION', C.SP_ERR_VALIDATION);
}

/** The DittoError for an argument of the wrong type. */
function typeError(what, expected, value) {
  return invalidArgument(`${what} must be ${expected}, got ${describe(value)}`);
}

/** The DittoError naming the allowed values of an enumeration. */
function valueError(what, table, value) {
  const allowed = Object.keys(table).map((k) => `'${k}'`).join(', ');
  return invalidArgument(`${what} must be one of ${allowed}; got ${describe(value)}`);
}

/** A lone surrogate: UTF-16 that has no UTF-8 form (Node would replace it with U+FFFD without a word). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `text` can be encoded as UTF-8 (String.prototype.isWellFormed where Node has it). */
function isWellFormed(text) {
  return typeof text.isWellFormed === 'function' ? text.isWellFormed() : !LONE_SURROGATE.test(text);
}

/** Refuses a string that holds a lone surrogate (it is not Unicode text, so it cannot reach the engine as UTF-8). */
function requireWellFormed(text, what) {
  if (!isWellFormed(text)) throw invalidArgument(`${what} is not valid Unicode: it holds a lone surrogate, which has no UTF-8 form`);
  return text;
}

/** Returns `value` if it is a well-formed string, else throws a DittoError. */
function requireString(value, what) {
  if (typeof value !== 'string') throw typeError(what, 'a string', value);
  return requireWellFormed(value, what);
}

/** Returns `value` if it is a boolean, else throws a DittoError. */
function requireBoolean(value, what) {
  if (typeof value !== 'boolean') throw typeError(what, 'a boolean', value);
  return value;
}

/** Returns `value` if it is a function, else throws a DittoError. */
function requireFunction(value, what) {
  if (typeof value !== 'function') throw typeError(what, 'a function', value);
  return value;
}

/** Returns `value` if it is an integer, else throws a DittoError. */
function requireInteger(value, what, expected = 'an integer') {
  if (!Number.isSafeInteger(value)) throw typeError(what, expected, value);
  return value;
}

/** Returns `value` if it is an array of well-formed strings, else throws a DittoError. */
function requireStrings(value, what) {
  if (!Array.isArray(value)) throw typeError(what, 'an array of strings', value);
  value.forEach((v, i) => requireString(v, `${what}[${i}]`));
  return value;
}

/** Whether `value` is an object that is neither null nor an array. */
function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Returns `value` if it is a plain object, else throws a DittoError. */
function requireObject(value, what) {
  if (!isPlainObject(value)) throw typeError(what, 'an object', value);
  return value;
}

/** Refuses keys of an options object that are not among `allowed` (a typo would otherwise be ignored). */
function requireKnownKeys(value, allowed, what) {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw invalidArgument(`${what} has no option '${key}'; it takes ${allowed.map((k) => `'${k}'`).join(', ')}`);
  }
  return value;
}

/** The C value of an enumeration name; any other value is a DittoError naming the allowed ones. */
function enumValue(table, value, what) {
  if (typeof value !== 'string' || !Object.hasOwn(table, value)) throw valueError(what, table, value);
  return table[value];
}

/** The name of a C enumeration value the engine returned. */
function enumName(table, number) {
  const name = Object.keys(table).find((k) => table[k] === number);
  if (name === undefined) throw new DittoError(`unknown value ${number} from the engine`, 'SP_ERR_INTERNAL', C.SP_ERR_INTERNAL);
  return name;
}

/**
 * Serializes a plain object as JSON; strings with lone surrogates are SP_ERR_INVALID_ARGUMENT and
 * deep recursion is the engine's depth error. A value that is not an object, or not JSON (a cycle,
 * a BigInt), is SP_ERR_VALIDATION for metadata (as the engine judges metadata text, and as Ditto's
 * validation error), SP_ERR_INVALID_ARGUMENT elsewhere.
 */
function toJSON(value, what, notJSON = invalidArgument) {
  if (!isPlainObject(value)) throw notJSON(`${what} must be an object, got ${describe(value)}`);
  const check = (key, v) => {
    requireWellFormed(key, `a key in ${what}`);
    if (typeof v === 'string') requireWellFormed(v, `a string in ${what}`);
    return v;
  };
  try {
    return JSON.stringify(value, check);
  } catch (e) {
    if (e instanceof DittoError) throw e;
    if (e instanceof RangeError) throw validationError(`${what} is deeper than 64 levels`);
    throw notJSON(`${what} must be JSON-serializable: ${e.message}`);
  }
}

/** `ditto.smallPeerInfo`: the Small Peer Info settings of one small peer. */
class SmallPeerInfo {
  #h;

  /** @internal */
  constructor(handle) {
    this.#h = handle;
  }

  /** Whether Small Peer Info is on (default false); turning it on writes the document at once. */
  get isEnabled() {
    return native.spiGetEnabled(this.#h);
  }

  set isEnabled(value) {
    native.spiSetEnabled(this.#h, requireBoolean(value, 'isEnabled'));
  }

  /** The sync scope of the Small Peer Info document: 'LocalPeerOnly' (default) or 'BigPeerOnly'. */
  get syncScope() {
    return enumName(SPI_SCOPES, native.spiGetSyncScope(this.#h));
  }

  /** Sets (and persists) the document's sync scope, 'LocalPeerOnly' or 'BigPeerOnly'; any other value rejects with SP_ERR_INVALID_ARGUMENT. */
  async setSyncScope(syncScope) {
    const scope = enumValue(SPI_SCOPES, syncScope, 'syncScope');
    await native.spiSetSyncScope(this.#h, scope);
  }

  /** The sync scope, as a Promise (SPEC's spelling; the same value as the `syncScope` property). */
  async getSyncScope() {
    return this.syncScope;
  }

  /** The app's metadata: a JSON object of at most 128 KB (minified) and 64 levels. */
  get metadata() {
    return JSON.parse(native.spiGetMetadataJSON(this.#h));
  }

  set metadata(value) {
    native.spiSetMetadataJSON(this.#h, toJSON(value, 'metadata', validationError));
  }

  /** The app's metadata as minified JSON text; setting it takes JSON text of an object. */
  get metadataJSONString() {
    return native.spiGetMetadataJSON(this.#h);
  }

  set metadataJSONString(value) {
    native.spiSetMetadataJSON(this.#h, requireString(value, 'metadataJSONString'));
  }

  /** How often the document is written, in milliseconds (default 300000, at least 1000). */
  get collectionInterval() {
    return native.spiGetCollectionIntervalMs(this.#h);
  }

  set collectionInterval(value) {
    native.spiSetCollectionIntervalMs(this.#h, requireInteger(value, 'collectionInterval', 'an integer number of milliseconds'));
  }

  /** Builds and writes the Small Peer Info document now (enabled or not) and resolves to it. */
  async collectNow() {
    return JSON.parse(await native.spiCollectNow(this.#h));
  }

  /** The last written Small Peer Info document, or null before the first write. */
  get document() {
    try {
      return JSON.parse(native.spiGetDocument(this.#h));
    } catch (e) {
      if (e instanceof DittoError && e.code === 'SP_ERR_NOT_FOUND') return null;
      throw e;
    }
  }

  /** Whether this device's document goes straight to an admin device met on the LAN (default false; persisted). */
  get shareWithAdminDevices() {
    return native.spiGetShareWithAdminDevices(this.#h);
  }

  set shareWithAdminDevices(value) {
    native.spiSetShareWithAdminDevices(this.#h, requireBoolean(value, 'shareWithAdminDevices'));
  }

  /** True while this device holds a valid, unexpired, unrevoked admin grant from its Big Peer. */
  get isAdminDevice() {
    return native.spiIsAdminDevice(this.#h);
  }

  /**
   * The Big Peer's admin signing key ('ask…') this device checks admin grants with: the one the app
   * configured, else the one its Big Peer sent; null before either.
   */
  get adminSigningKey() {
    const key = native.spiGetAdminSigningKey(this.#h);
    return key === '' ? null : key;
  }

  /** Pins the admin signing key from the app's configuration (persisted; a malformed key throws SP_ERR_INVALID_ARGUMENT); null forgets it. */
  set adminSigningKey(value) {
    native.spiSetAdminSigningKey(this.#h, value === null ? '' : requireString(value, 'adminSigningKey'));
  }

  /** On an admin device, every device's Small Peer Info document, ordered by _id; [] on any other device. */
  get fleet() {
    return JSON.parse(native.spiGetFleetJSON(this.#h));
  }

  /**
   * On an admin device, calls `callback({ collection, id, kind, document })` on the JS thread after
   * each change to the fleet: `id` is the device's peer key, `document` its newest Small Peer Info
   * document from the Big Peer or carried from the field (null when `kind` is 'remove'), until the
   * observer is stopped or the Ditto closed.
   */
  observeFleet(callback) {
    requireFunction(callback, 'callback');
    return new StoreObserver(native.spiObserveFleet(this.#h, changeDelivery(callback)));
  }

  /** The collection that holds the fleet's documents from the Big Peer on an admin device (query it with execute). */
  static get fleetCollectionName() {
    return '__small_peer_info_fleet';
  }
}

// The native change event ({collection, id, kind, documentJSON}) as observers receive it.
function changeDelivery(callback) {
  return (change) =>
    callback({
      collection: change.collection,
      id: change.id,
      kind: change.kind,
      document: change.documentJSON === null ? null : JSON.parse(change.documentJSON),
    });
}

/** Returned by Collection.observe() and SmallPeerInfo.observeFleet(); stop() ends the callbacks. */
class StoreObserver {
  #token;

  /** @internal */
  constructor(token) {
    this.#token = token;
  }

  /** Stops the callbacks: none runs after stop() returns. Idempotent. */
  stop() {
    native.storeObserverCancel(this.#token);
  }

  /** Whether stop() was called or the Ditto instance was closed. */
  get isStopped() {
    return !native.storeObserverIsActive(this.#token);
  }
}

/** A user collection: `ditto.store.collection(name)`. */
class Collection {
  #h;

  /** @internal */
  constructor(handle, name) {
    this.#h = handle;
    /** The collection's name. */
    this.name = name;
  }

  /** Inserts or replaces a document (a string `_id` or none, then one is generated); resolves to its `_id`. */
  async upsert(document) {
    return native.storeUpsert(this.#h, this.name, toJSON(document, 'document'));
  }

  /** The document with this `_id`, or null. */
  async findByID(id) {
    try {
      return JSON.parse(await native.storeGet(this.#h, this.name, requireString(id, 'id')));
    } catch (e) {
      if (e instanceof DittoError && e.code === 'SP_ERR_NOT_FOUND') return null;
      throw e;
    }
  }

  /** Every live document, ordered by `_id` (read in pages of 1000). */
  async findAll() {
    const documents = [];
    let after = null;
    do {
      const page = JSON.parse(await native.storeFindAll(this.#h, this.name, 1000, after));
      documents.push(...page.documents);
      after = page.next_after;
    } while (after !== null);
    return documents;
  }

  /** Removes a document (leaving a tombstone); resolves to whether one was there. */
  async remove(id) {
    return native.storeRemove(this.#h, this.name, requireString(id, 'id'));
  }

  /** This collection's sync scope: 'AllPeers' (default), 'BigPeerOnly', 'LocalPeerOnly' or 'SmallPeersOnly' (for '__small_peer_info': the Small Peer Info scope). */
  get syncScope() {
    return enumName(COLLECTION_SCOPES, native.storeGetCollectionScope(this.#h, this.name));
  }

  /** Sets (and persists) this collection's sync scope; system collections and unknown names reject with SP_ERR_INVALID_ARGUMENT. */
  async setSyncScope(syncScope) {
    await native.storeSetCollectionScope(this.#h, this.name, enumValue(COLLECTION_SCOPES, syncScope, 'syncScope'));
  }

  /**
   * Calls `callback({ collection, id, kind, document })` on the JS thread for each committed change
   * (`kind` is 'upsert' or 'remove'; `document` is null on remove) until the observer is stopped
   * or the Ditto closed. An active observer keeps the process alive.
   */
  observe(callback) {
    requireFunction(callback, 'callback');
    return new StoreObserver(native.storeObserve(this.#h, this.name, changeDelivery(callback)));
  }
}

/** `ditto.store`: the user collections of one small peer. */
class Store {
  #h;

  /** @internal */
  constructor(handle) {
    this.#h = handle;
  }

  /** The collection with this name (it exists once it holds a document). */
  collection(name) {
    return new Collection(this.#h, requireString(name, 'name'));
  }

  /** The names of the user collections that hold documents, sorted. */
  async collectionNames() {
    return JSON.parse(await native.storeCollectionNames(this.#h));
  }

  /** Runs a read-only DQL query (docs/QUERY.md) over any collection, binding `:name` placeholders from `args`; resolves to a QueryResult. */
  async execute(query, args = {}) {
    const json = args === undefined || args === null || Object.keys(args).length === 0 ? null : toJSON(args, 'args');
    const result = JSON.parse(await native.storeExecute(this.#h, requireString(query, 'query'), json));
    return new QueryResult(result.items.map((value) => new QueryResultItem(value)));
  }
}

/** What a DQL query returned. */
class QueryResult {
  /** @internal */
  constructor(items) {
    /** The items, in the query's order. */
    this.items = items;
  }
}

/** One item of a query result: a document, a projection of one, or a group's count. */
class QueryResultItem {
  /** @internal */
  constructor(value) {
    /** The item as an object. */
    this.value = value;
  }

  /** The item as JSON text. */
  jsonString() {
    return JSON.stringify(this.value);
  }
}

/** The typed presence graph from the engine's JSON (camelCase, the same fields in every language). */
function presenceGraph(json) {
  const raw = JSON.parse(json);
  return {
    localPeerKey: raw.local_peer_key,
    isConnectedToBigPeer: raw.is_connected_to_big_peer === true,
    connectionsByTransport: { ...raw.connections_by_transport },
    peers: raw.peers.map((p) => ({ peerKey: p.peer_key, deviceName: p.device_name, transport: p.transport, isBigPeer: p.is_big_peer === true })),
    bigPeerConnectionHistory: raw.big_peer_connection_history.map((e) => ({ event: e.event, timestamp: e.timestamp, reason: e.reason ?? null })),
  };
}

/** `ditto.presence`: who this peer is connected to. */
class Presence {
  #h;

  /** @internal */
  constructor(handle) {
    this.#h = handle;
  }

  /** The live connections: { localPeerKey, isConnectedToBigPeer, connectionsByTransport, peers, bigPeerConnectionHistory }, a new object on each read. */
  get graph() {
    return presenceGraph(native.presenceJSON(this.#h));
  }

  /** This peer's key (the `_id` of its Small Peer Info document). */
  get localPeerKey() {
    return native.peerKey(this.#h);
  }

  /** The connected peers: { peerKey, deviceName, transport, isBigPeer }. */
  get connectedPeers() {
    return this.graph.peers;
  }

  /** Whether a Big Peer connection is up. */
  get isConnectedToBigPeer() {
    return this.graph.isConnectedToBigPeer;
  }
}

/** The listen address "host:port" of a typed TCP listener ("[::1]:0" for IPv6), after checking its fields. */
function listenAddress(tcp) {
  requireObject(tcp, 'transportConfig.listen.tcp');
  requireKnownKeys(tcp, ['isEnabled', 'interfaceIp', 'port'], 'transportConfig.listen.tcp');
  const isEnabled = tcp.isEnabled === undefined ? false : requireBoolean(tcp.isEnabled, 'transportConfig.listen.tcp.isEnabled');
  const ip = tcp.interfaceIp === undefined ? '127.0.0.1' : requireString(tcp.interfaceIp, 'transportConfig.listen.tcp.interfaceIp');
  const port = tcp.port === undefined ? 0 : requireInteger(tcp.port, 'transportConfig.listen.tcp.port', 'an integer from 0 to 65535');
  if (port < 0 || port > 65535) throw typeError('transportConfig.listen.tcp.port', 'an integer from 0 to 65535', port);
  if (net.isIP(ip) === 0) throw typeError('transportConfig.listen.tcp.interfaceIp', 'an IPv4 or IPv6 address', ip);
  if (!isEnabled) return null;
  return net.isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The engine's transport config JSON from Ditto's shape { connect: { websocketURLs, tcpServers }, listen: { tcp: { isEnabled, interfaceIp, port } } }. */
function engineTransportConfig(config) {
  requireObject(config, 'transportConfig');
  requireKnownKeys(config, ['connect', 'listen'], 'transportConfig');
  const connect = config.connect === undefined ? {} : requireObject(config.connect, 'transportConfig.connect');
  requireKnownKeys(connect, ['websocketURLs', 'tcpServers'], 'transportConfig.connect');
  const listen = config.listen === undefined ? {} : requireObject(config.listen, 'transportConfig.listen');
  requireKnownKeys(listen, ['tcp'], 'transportConfig.listen');
  const urls = connect.websocketURLs === undefined ? [] : requireStrings(connect.websocketURLs, 'transportConfig.connect.websocketURLs');
  const servers = connect.tcpServers === undefined ? [] : requireStrings(connect.tcpServers, 'transportConfig.connect.tcpServers');
  const address = listen.tcp === undefined ? null : listenAddress(listen.tcp);
  return JSON.stringify({ big_peer: { urls: [...urls] }, lan: { listen: address, connect: [...servers] } });
}

/** Ditto's shape of the engine's transport config JSON. */
function typedTransportConfig(json) {
  const raw = JSON.parse(json);
  const tcp = { isEnabled: false, interfaceIp: '127.0.0.1', port: 0 };
  const listen = raw.lan?.listen ?? null;
  if (listen !== null) {
    const colon = listen.lastIndexOf(':');
    tcp.isEnabled = true;
    tcp.interfaceIp = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    tcp.port = Number(listen.slice(colon + 1));
  }
  return {
    connect: { websocketURLs: [...(raw.big_peer?.urls ?? [])], tcpServers: [...(raw.lan?.connect ?? [])] },
    listen: { tcp },
  };
}

/** The C config's identity object for a Ditto-style identity; unknown keys and types are refused. */
function identityJSON(identity) {
  requireObject(identity, 'identity');
  requireKnownKeys(identity, ['type', 'appID', 'token'], 'identity');
  if (identity.type === 'offlinePlayground') {
    if (identity.token !== undefined) throw typeError('identity.token', 'absent for offlinePlayground', identity.token);
    const out = { type: 'offline_playground' };
    if (identity.appID !== undefined) out.app_id = requireString(identity.appID, 'identity.appID');
    return out;
  }
  if (identity.type === 'onlinePlayground') {
    return {
      type: 'online_playground',
      app_id: requireString(identity.appID, 'identity.appID'),
      token: requireString(identity.token, 'identity.token'),
    };
  }
  throw valueError('identity.type', { offlinePlayground: 0, onlinePlayground: 0 }, identity.type);
}

/** One open small peer. Release it with `await ditto.close()`. */
class Ditto {
  #h;
  #closing = null;

  /**
   * Opens a small peer with its data in `persistenceDirectory` (default: ./ditto, as in Ditto).
   * `identity` is { type: 'offlinePlayground', appID? } (default) or { type: 'onlinePlayground', appID, token };
   * `options.deviceName` sets the device name from the start (default: the host name).
   */
  constructor(identity = { type: 'offlinePlayground' }, persistenceDirectory = 'ditto', options = {}) {
    requireObject(options, 'options');
    requireKnownKeys(options, ['deviceName'], 'options');
    const config = {
      persistence_dir: path.resolve(requireString(persistenceDirectory, 'persistenceDirectory')),
      identity: identityJSON(identity),
      sdk_language: 'JavaScript',
    };
    if (options.deviceName !== undefined) config.device_name = requireString(options.deviceName, 'options.deviceName');
    this.#h = native.open(JSON.stringify(config));
    /** The identity the instance was opened with. */
    this.identity = Object.freeze({ ...identity });
    /** The absolute persistence directory. */
    this.persistenceDirectory = config.persistence_dir;
    /** Small Peer Info settings. */
    this.smallPeerInfo = new SmallPeerInfo(this.#h);
    /** User collections. */
    this.store = new Store(this.#h);
    /** Live connections. */
    this.presence = new Presence(this.#h);
  }

  /** How many native Ditto handles this process holds (each is freed by close(), or by GC as a fallback). A leak check over
   * sp_ditto_live_handles (smallpeer_diagnostics.h): diagnostics, not part of the stable API. */
  static liveHandleCount() {
    return native.liveHandles();
  }

  /** Stops sync and observers and closes the store; later calls fail with SP_ERR_CLOSED. Idempotent. */
  close() {
    if (this.#closing === null) this.#closing = native.close(this.#h);
    return this.#closing;
  }

  /** Whether close() was called. */
  get isClosed() {
    return native.isClosed(this.#h);
  }

  /** The device name reported in the Small Peer Info document (1-256 bytes; default: the host name), as in Ditto. */
  get deviceName() {
    return native.spiGetDeviceName(this.#h);
  }

  set deviceName(value) {
    native.spiSetDeviceName(this.#h, requireString(value, 'deviceName'));
  }

  /** The active transport configuration in Ditto's shape: { connect: { websocketURLs, tcpServers }, listen: { tcp: { isEnabled, interfaceIp, port } } }. */
  get transportConfig() {
    return typedTransportConfig(native.syncGetTransportConfig(this.#h));
  }

  /** Sets (and persists) where this peer connects and listens (absent parts: none); applies at once if sync is running. */
  setTransportConfig(transportConfig) {
    native.syncSetTransportConfig(this.#h, engineTransportConfig(transportConfig));
  }

  /** Starts sync (listening and connecting, reconnecting with back-off); keeps the process alive until stopSync() or close(). */
  startSync() {
    native.syncStart(this.#h);
  }

  /** Stops sync and closes every connection. */
  stopSync() {
    native.syncStop(this.#h);
  }

  /** Whether sync is running. */
  get isSyncActive() {
    return native.syncIsRunning(this.#h);
  }

  /** The bound LAN TCP port (useful with port 0), or null when not listening. */
  get lanPort() {
    const port = native.syncLanPort(this.#h);
    return port === 0 ? null : port;
  }

  /** Writes a message to this instance's engine log (and to the Logger's output if it passes). */
  log(level, message) {
    native.log(this.#h, enumValue(LOG_LEVELS, level, 'level'), requireString(message, 'message'));
  }

  /**
   * Sends this instance's engine logs to the Big Peer ("send logs to support"), filtered like
   * Logger.exportToFile; uploads at once if connected, else on reconnect. Resolves to the log
   * request id the Big Peer lists it under ("dev_...").
   */
  async sendLogs(options = {}) {
    return native.sendLogs(this.#h, logFilterJSON(options, 'options'));
  }
}

/** The native handle of the current custom log callback, or null. */
let customLogCallback = null;

/** Process-wide log output, like Ditto's Logger: console, log file and a custom callback; and the export of every open instance's logs. */
class Logger {
  /** @internal */
  constructor() {
    throw invalidArgument('Logger is not constructible; use its static members');
  }

  /** Whether log output is on (default true). */
  static get enabled() {
    return native.loggerGetEnabled();
  }

  static set enabled(value) {
    native.loggerSetEnabled(requireBoolean(value, 'enabled'));
  }

  /** The least severe level shown: 'Error', 'Warning', 'Info' (default), 'Debug' or 'Verbose'. */
  static get minimumLogLevel() {
    return enumName(LOG_LEVELS, native.loggerGetMinimumLevel());
  }

  static set minimumLogLevel(value) {
    native.loggerSetMinimumLevel(enumValue(LOG_LEVELS, value, 'minimumLogLevel'));
  }

  /** Also appends shown messages to the file at `path`; null stops that. */
  static setLogFile(path) {
    native.loggerSetLogFile(path === null ? null : requireString(path, 'path'));
  }

  /** Turns the console (stderr) output on (default) or off. */
  static setConsoleEnabled(enabled) {
    native.loggerSetConsoleEnabled(requireBoolean(enabled, 'enabled'));
  }

  /** Replaces the custom callback (null removes it, as unsetCustomLogCallback does); it receives (level, message) on the JS thread and never keeps the process alive. */
  static async setCustomLogCallback(callback) {
    if (callback !== null) requireFunction(callback, 'callback');
    const old = customLogCallback;
    customLogCallback = null;
    if (old !== null) native.loggerRemoveCallback(old);
    if (callback !== null) {
      customLogCallback = native.loggerAddCallback((level, message) => callback(enumName(LOG_LEVELS, level), message));
    }
  }

  /** Removes the custom callback: none runs after the Promise resolves. Idempotent. */
  static async unsetCustomLogCallback() {
    await Logger.setCustomLogCallback(null);
  }

  /**
   * Exports the engine logs of every Ditto open in this process to `path` as one gzip JSON Lines
   * file, oldest line first, and resolves to the bytes written (with none open: an empty export).
   * Every filter is optional (default level 'Debug': every line the engine logs hold); since after
   * until or maxBytes below 1 rejects with SP_ERR_INVALID_ARGUMENT and writes nothing.
   */
  static async exportToFile(path, options = {}) {
    return native.loggerExportToFile(resolvePath(requireString(path, 'path')), logFilterJSON(options, 'options'));
  }
}

/** `p` made absolute (the engine's messages then name the file unambiguously). */
function resolvePath(p) {
  return path.resolve(p);
}

/**
 * The engine's log filter (`min_level`, `since`, `until`, `max_bytes`) from the options of
 * Logger.exportToFile and Ditto#sendLogs, as JSON, or null when none is set. Only the types are
 * checked here; the values follow the engine's one set of rules (README "Logs"): since after until
 * and maxBytes below 1 are DittoErrors SP_ERR_INVALID_ARGUMENT, as in every language.
 */
function logFilterJSON(options, what) {
  requireObject(options, what);
  requireKnownKeys(options, ['minimumLogLevel', 'since', 'until', 'maxBytes'], what);
  const filter = {};
  if (options.minimumLogLevel !== undefined) {
    enumValue(LOG_LEVELS, options.minimumLogLevel, `${what}.minimumLogLevel`);
    filter.min_level = options.minimumLogLevel.toLowerCase();
  }
  for (const key of ['since', 'until']) {
    const v = options[key];
    if (v === undefined) continue;
    if (!(v instanceof Date) || Number.isNaN(v.getTime())) throw typeError(`${what}.${key}`, 'a valid Date', v);
    filter[key] = v.toISOString();
  }
  if (options.maxBytes !== undefined) filter.max_bytes = requireInteger(options.maxBytes, `${what}.maxBytes`);
  return Object.keys(filter).length ? JSON.stringify(filter) : null;
}

/** The engine library's version, e.g. "0.1.0". */
const version = native.version();

module.exports = { Ditto, DittoError, Logger, SmallPeerInfo, Store, Collection, StoreObserver, QueryResult, QueryResultItem, Presence, version };
