'use strict';
/**
 * SmallPeer for Node.js: open small peers, turn on Small Peer Info, sync with a Big Peer.
 *
 *   const ditto = new Ditto({ type: 'onlinePlayground', appID: 'app', token: 'token' }, '/tmp/app');
 *   ditto.smallPeerInfo.isEnabled = true;
 *   await ditto.smallPeerInfo.setSyncScope('BigPeerOnly');
 *
 * Work that touches disk or network (close, store calls, sync scope, collectNow, log export) runs
 * off the JS thread and returns a Promise. Failed engine calls throw (or reject with) a DittoError
 * whose `code` names the C status (e.g. 'SP_ERR_VALIDATION') and `status` is its number; bad
 * arguments are TypeErrors with Node's codes (ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE).
 */

const path = require('node:path');

/** @type {any} */
let native;
try {
  native = require('./native/smallpeer.node');
} catch (e) {
  throw new Error(`smallpeer: cannot load the native addon ${path.join(__dirname, 'native', 'smallpeer.node')}: ${e.message}`, { cause: e });
}

/** An engine failure: `code` is the C status name (SP_ERR_*), `status` its number. */
class DittoError extends Error {
  /** Built by the addon for each failed C call. */
  constructor(message, code, status) {
    super(message);
    this.name = 'DittoError';
    this.code = code;
    this.status = status;
  }
}
native.setErrorClass(DittoError);

const SP_ERR_VALIDATION = 2;

/** The Small Peer Info scopes (C enum values). */
const SPI_SCOPES = Object.freeze({ LocalPeerOnly: 0, BigPeerOnly: 1 });
/** The user collection scopes (C enum values). */
const COLLECTION_SCOPES = Object.freeze({ LocalPeerOnly: 0, BigPeerOnly: 1, AllPeers: 2, SmallPeersOnly: 3 });
/** Log levels, most severe first (C enum values). */
const LOG_LEVELS = Object.freeze({ Error: 1, Warning: 2, Info: 3, Debug: 4, Verbose: 5 });

/** A short description of a value for error messages. */
function describe(value) {
  if (value === null) return 'null';
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' || typeof value === 'function' ? `a ${typeof value}` : `${typeof value} ${String(value)}`;
}

/** A TypeError (ERR_INVALID_ARG_TYPE) for an argument of the wrong type. */
function typeError(what, expected, value) {
  const e = new TypeError(`${what} must be ${expected}, got ${describe(value)}`);
  e.code = 'ERR_INVALID_ARG_TYPE';
  return e;
}

/** A TypeError naming the allowed values of an enumeration. */
function valueError(what, table, value) {
  const allowed = Object.keys(table).map((k) => `'${k}'`).join(', ');
  const e = new TypeError(`${what} must be one of ${allowed}; got ${describe(value)}`);
  e.code = 'ERR_INVALID_ARG_VALUE';
  return e;
}

/** Returns `value` if it is a string, else throws a TypeError. */
function requireString(value, what) {
  if (typeof value !== 'string') throw typeError(what, 'a string', value);
  return value;
}

/** Returns `value` if it is a boolean, else throws a TypeError. */
function requireBoolean(value, what) {
  if (typeof value !== 'boolean') throw typeError(what, 'a boolean', value);
  return value;
}

/** Returns `value` if it is a function, else throws a TypeError. */
function requireFunction(value, what) {
  if (typeof value !== 'function') throw typeError(what, 'a function', value);
  return value;
}

/** Whether `value` is an object that is neither null nor an array. */
function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Returns `value` if it is a plain object, else throws a TypeError. */
function requireObject(value, what) {
  if (!isPlainObject(value)) throw typeError(what, 'an object', value);
  return value;
}

/** The C value of an enumeration name; any other value is a TypeError naming the allowed ones. */
function enumValue(table, value, what) {
  if (typeof value !== 'string' || !Object.hasOwn(table, value)) throw valueError(what, table, value);
  return table[value];
}

/** The name of a C enumeration value the engine returned. */
function enumName(table, number) {
  const name = Object.keys(table).find((k) => table[k] === number);
  if (name === undefined) throw new DittoError(`unknown value ${number} from the engine`, 'SP_ERR_INTERNAL', 8);
  return name;
}

/** Serializes a plain object as JSON; deep recursion becomes the engine's depth error. */
function toJSON(value, what) {
  requireObject(value, what);
  try {
    return JSON.stringify(value);
  } catch (e) {
    if (e instanceof RangeError) throw new DittoError(`${what} is deeper than 64 levels`, 'SP_ERR_VALIDATION', SP_ERR_VALIDATION);
    throw typeError(what, 'JSON-serializable', value);
  }
}

/** Open Ditto instances (weakly held), so Logger.exportToFile can find the only one. */
const openDittos = new Set();
/** Each Ditto's native handle, for Logger.exportToFile. */
const handles = new WeakMap();

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

  /** Sets the sync scope of the Small Peer Info document: 'LocalPeerOnly' (default) or 'BigPeerOnly'. */
  async setSyncScope(syncScope) {
    const scope = enumValue(SPI_SCOPES, syncScope, 'syncScope');
    await native.spiSetSyncScope(this.#h, scope);
  }

  /** The sync scope of the Small Peer Info document. */
  async getSyncScope() {
    return enumName(SPI_SCOPES, await native.spiGetSyncScope(this.#h));
  }

  /** The app's metadata: a JSON object of at most 128 KB (minified) and 64 levels. */
  get metadata() {
    return JSON.parse(native.spiGetMetadataJSON(this.#h));
  }

  set metadata(value) {
    native.spiSetMetadataJSON(this.#h, toJSON(value, 'metadata'));
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
    if (!Number.isInteger(value)) throw typeError('collectionInterval', 'an integer number of milliseconds', value);
    native.spiSetCollectionIntervalMs(this.#h, value);
  }

  /** Builds and writes the Small Peer Info document now (enabled or not) and returns it. */
  async collectNow() {
    return JSON.parse(await native.spiCollectNow(this.#h));
  }

  /** The last written Small Peer Info document, or null before the first write. */
  async getDocument() {
    try {
      return JSON.parse(await native.spiGetDocument(this.#h));
    } catch (e) {
      if (e instanceof DittoError && e.code === 'SP_ERR_NOT_FOUND') return null;
      throw e;
    }
  }
}

/** Returned by Collection.observe(); stop() ends the callbacks. */
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

  /**
   * Calls `callback({ collection, id, kind, document })` on the JS thread for each committed change
   * (`kind` is 'upsert' or 'remove'; `document` is null on remove) until the observer is stopped
   * or the Ditto closed. An active observer keeps the process alive.
   */
  observe(callback) {
    requireFunction(callback, 'callback');
    const token = native.storeObserve(this.#h, this.name, (change) => {
      callback({
        collection: change.collection,
        id: change.id,
        kind: change.kind,
        document: change.documentJSON === null ? null : JSON.parse(change.documentJSON),
      });
    });
    return new StoreObserver(token);
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

  /** The names of the user collections that hold documents. */
  async collectionNames() {
    return JSON.parse(await native.storeCollectionNames(this.#h));
  }

  /** Sets (and persists) a user collection's sync scope: 'AllPeers' (default), 'BigPeerOnly', 'SmallPeersOnly' or 'LocalPeerOnly'. */
  async setSyncScope(collection, syncScope) {
    requireString(collection, 'collection');
    await native.storeSetCollectionScope(this.#h, collection, enumValue(COLLECTION_SCOPES, syncScope, 'syncScope'));
  }

  /** A collection's sync scope (for '__small_peer_info': the Small Peer Info scope). */
  async getSyncScope(collection) {
    return enumName(COLLECTION_SCOPES, await native.storeGetCollectionScope(this.#h, requireString(collection, 'collection')));
  }
}

/** `ditto.presence`: who this peer is connected to. */
class Presence {
  #h;

  /** @internal */
  constructor(handle) {
    this.#h = handle;
  }

  /** The live connections: local_peer_key, is_connected_to_big_peer, connections_by_transport, peers, big_peer_connection_history. */
  get graph() {
    return JSON.parse(native.presenceJSON(this.#h));
  }

  /** This peer's key (the `_id` of its Small Peer Info document). */
  get localPeerKey() {
    return native.peerKey(this.#h);
  }

  /** The connected peers: { peer_key, device_name, transport, is_big_peer }. */
  get connectedPeers() {
    return this.graph.peers;
  }

  /** Whether a Big Peer connection is up. */
  get isConnectedToBigPeer() {
    return this.graph.is_connected_to_big_peer === true;
  }
}

/** The C config's identity object for a Ditto-style identity; unknown keys and types are refused. */
function identityJSON(identity) {
  requireObject(identity, 'identity');
  for (const key of Object.keys(identity)) {
    if (!['type', 'appID', 'token'].includes(key)) throw valueError('identity keys', { type: 0, appID: 0, token: 0 }, key);
  }
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
  #ref = new WeakRef(this);

  /**
   * Opens a small peer with its data in `persistenceDirectory` (default: ./ditto, as in Ditto).
   * `identity` is { type: 'offlinePlayground', appID? } (default) or { type: 'onlinePlayground', appID, token }.
   */
  constructor(identity = { type: 'offlinePlayground' }, persistenceDirectory = 'ditto') {
    const config = {
      persistence_dir: path.resolve(requireString(persistenceDirectory, 'persistenceDirectory')),
      identity: identityJSON(identity),
      sdk_language: 'JavaScript',
    };
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
    openDittos.add(this.#ref);
    handles.set(this, this.#h);
  }

  /** How many native Ditto handles this process holds (each is freed by close(), or by GC as a fallback). A leak check over
   * sp_ditto_live_handles (smallpeer_diagnostics.h): diagnostics, not part of the stable API. */
  static liveHandleCount() {
    return native.liveHandles();
  }

  /** Stops sync and observers and closes the store; later calls fail with SP_ERR_CLOSED. Idempotent. */
  close() {
    if (this.#closing === null) {
      openDittos.delete(this.#ref);
      this.#closing = native.close(this.#h);
    }
    return this.#closing;
  }

  /** Whether close() was called. */
  get isClosed() {
    return native.isClosed(this.#h);
  }

  /** The device name reported in the Small Peer Info document (1-256 bytes; default: the host name). */
  get deviceName() {
    return native.spiGetDeviceName(this.#h);
  }

  set deviceName(value) {
    native.spiSetDeviceName(this.#h, requireString(value, 'deviceName'));
  }

  /** The active transport configuration: { big_peer: { urls }, lan: { listen, connect } }. */
  get transportConfig() {
    return JSON.parse(native.syncGetTransportConfig(this.#h));
  }

  /** Sets (and persists) where this peer connects and listens; applies at once if sync is running. */
  setTransportConfig(transportConfig) {
    native.syncSetTransportConfig(this.#h, toJSON(transportConfig, 'transportConfig'));
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

  /** The bound LAN TCP port (with "listen": "127.0.0.1:0"), or 0 when not listening. */
  get lanPort() {
    return native.syncLanPort(this.#h);
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
    requireObject(options, 'options');
    return native.sendLogs(this.#h, logFilterJSON(options));
  }

}

/** The native handle of the current custom log callback, or null. */
let customLogCallback = null;

/** Process-wide log output, like Ditto's Logger: console, log file and a custom callback. */
class Logger {
  /** @internal */
  constructor() {
    throw new TypeError('Logger is not constructible; use its static members');
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

  /** Also appends shown messages to the file at `filePath`; null stops that. */
  static setLogFile(filePath) {
    native.loggerSetLogFile(filePath === null ? null : requireString(filePath, 'filePath'));
  }

  /** Turns the console (stderr) output on (default) or off. */
  static setConsoleEnabled(enabled) {
    native.loggerSetConsoleEnabled(requireBoolean(enabled, 'enabled'));
  }

  /** Replaces the custom callback (null removes it); it receives (level, message) on the JS thread and never keeps the process alive. */
  static async setCustomLogCallback(callback) {
    if (callback !== null) requireFunction(callback, 'callback');
    const old = customLogCallback;
    customLogCallback = null;
    if (old !== null) native.loggerRemoveCallback(old);
    if (callback !== null) {
      customLogCallback = native.loggerAddCallback((level, message) => callback(enumName(LOG_LEVELS, level), message));
    }
  }

  /**
   * Exports the engine logs of `options.ditto` (default: the only open Ditto) to `filePath` as gzip
   * JSON Lines; resolves to the number of lines written. Every filter is optional (default level
   * 'Debug': every line the engine log holds); since after until or maxBytes below 1 rejects with a
   * DittoError SP_ERR_INVALID_ARGUMENT and writes nothing.
   */
  static async exportToFile(filePath, options = {}) {
    requireString(filePath, 'filePath');
    requireObject(options, 'options');
    let ditto = options.ditto;
    if (ditto === undefined) {
      const open = [];
      for (const ref of openDittos) {
        const d = ref.deref();
        if (d === undefined) openDittos.delete(ref); // collected without close()
        else if (!d.isClosed) open.push(d);
      }
      if (open.length !== 1) {
        const e = new TypeError(`options.ditto is required when ${open.length} Ditto instances are open`);
        e.code = 'ERR_INVALID_ARG_VALUE';
        throw e;
      }
      ditto = open[0];
    } else if (!(ditto instanceof Ditto)) {
      throw typeError('options.ditto', 'a Ditto', ditto);
    }
    return native.exportLogs(handles.get(ditto), path.resolve(filePath), logFilterJSON(options));
  }
}

/**
 * The engine's log filter (`min_level`, `since`, `until`, `max_bytes`) from the options of
 * Logger.exportToFile and Ditto#sendLogs, as JSON, or null when none is set. Only the types are
 * checked here; the values follow the engine's one set of rules (README "Logs"): since after until
 * and maxBytes below 1 are DittoErrors SP_ERR_INVALID_ARGUMENT, as in every language.
 */
function logFilterJSON(options) {
  const filter = {};
  if (options.minimumLogLevel !== undefined) {
    enumValue(LOG_LEVELS, options.minimumLogLevel, 'options.minimumLogLevel');
    filter.min_level = options.minimumLogLevel.toLowerCase();
  }
  for (const key of ['since', 'until']) {
    const v = options[key];
    if (v === undefined) continue;
    if (!(v instanceof Date) || Number.isNaN(v.getTime())) throw typeError(`options.${key}`, 'a valid Date', v);
    filter[key] = v.toISOString();
  }
  if (options.maxBytes !== undefined) {
    if (!Number.isSafeInteger(options.maxBytes)) throw typeError('options.maxBytes', 'an integer', options.maxBytes);
    filter.max_bytes = options.maxBytes;
  }
  return Object.keys(filter).length ? JSON.stringify(filter) : null;
}

/** The engine library's version, e.g. "0.1.0". */
const version = native.version();

module.exports = { Ditto, DittoError, Logger, SmallPeerInfo, Store, Collection, StoreObserver, Presence, version };
