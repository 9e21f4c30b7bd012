// Type definitions for the `smallpeer` npm package (hand-written; checked by tsc in the test run).

/** A JSON value as the engine stores it. */
export type JSONValue = string | number | boolean | null | JSONValue[] | { [key: string]: JSONValue };
/** A JSON object (documents, metadata, configuration). */
export type JSONObject = { [key: string]: JSONValue };

/** Who the peer is: an offline playground (no Big Peer) or an online playground (app id + token). */
export type Identity = IdentityOfflinePlayground | IdentityOnlinePlayground;

/** An offline playground identity; the app id is optional. */
export interface IdentityOfflinePlayground {
  /** Discriminant. */
  type: 'offlinePlayground';
  /** The app id (optional offline). */
  appID?: string;
}

/** An online playground identity: the app token proves membership of the app to the Big Peer. */
export interface IdentityOnlinePlayground {
  /** Discriminant. */
  type: 'onlinePlayground';
  /** The app id. */
  appID: string;
  /** The app token. */
  token: string;
}

/** The sync scopes Small Peer Info accepts: Ditto's, in Ditto's order. */
export type SmallPeerInfoSyncScope = 'BigPeerOnly' | 'LocalPeerOnly';
/** The sync scopes of user collections. */
export type SyncScope = 'LocalPeerOnly' | 'BigPeerOnly' | 'AllPeers' | 'SmallPeersOnly';
/** Log levels, most severe first. */
export type LogLevel = 'Error' | 'Warning' | 'Info' | 'Debug' | 'Verbose';
/** The C status names a DittoError carries (SP_ERR_INVALID_ARGUMENT also for a bad argument caught in JS). */
export type DittoErrorCode =
  | 'SP_ERR_INVALID_ARGUMENT'
  | 'SP_ERR_VALIDATION'
  | 'SP_ERR_NOT_FOUND'
  | 'SP_ERR_CLOSED'
  | 'SP_ERR_IO'
  | 'SP_ERR_LOCKED'
  | 'SP_ERR_STORE'
  | 'SP_ERR_INTERNAL'
  | 'SP_ERR_UNKNOWN';

/** An engine failure or a bad argument: `code` names the C status, `status` is its number. */
export declare class DittoError extends Error {
  /** Built by the addon for each failed C call, and by the package for each bad argument. */
  constructor(message: string, code: DittoErrorCode, status: number);
  /** The C status name, e.g. 'SP_ERR_VALIDATION'. */
  readonly code: DittoErrorCode;
  /** The C status number (sp_status_t). */
  readonly status: number;
}

/** Where this peer connects and listens, in Ditto's shape; every part is optional when setting (absent: none). */
export interface TransportConfig {
  /** Outgoing connections. */
  connect?: {
    /** Big Peer sync URLs (plain ws:// only on loopback, else wss://). */
    websocketURLs?: string[];
    /** LAN peers' TCP listeners as "host:port". */
    tcpServers?: string[];
  };
  /** Incoming connections. */
  listen?: {
    /** The LAN TCP listener (off by default). */
    tcp?: TransportConfigListenTCP;
  };
}

/** The LAN TCP listener of a transport config. */
export interface TransportConfigListenTCP {
  /** Whether to listen (default false). */
  isEnabled?: boolean;
  /** The IPv4 or IPv6 address to bind (default '127.0.0.1'). */
  interfaceIp?: string;
  /** The port, 0-65535; 0 lets the system choose (see Ditto#lanPort). */
  port?: number;
}

/** A transport config as `ditto.transportConfig` returns it: every part present. */
export interface ActiveTransportConfig {
  /** Outgoing connections. */
  connect: { websocketURLs: string[]; tcpServers: string[] };
  /** Incoming connections. */
  listen: { tcp: Required<TransportConfigListenTCP> };
}

/** A connected peer as presence reports it. */
export interface ConnectedPeer {
  /** The remote peer's key. */
  peerKey: string;
  /** The remote peer's device name. */
  deviceName: string;
  /** The transport, e.g. 'WebSocket' or 'AccessPoint'. */
  transport: string;
  /** Whether the remote peer is a Big Peer. */
  isBigPeer: boolean;
}

/** One entry of the Big Peer connection history. */
export interface BigPeerConnectionEvent {
  /** What happened. */
  event: 'connected' | 'disconnected' | 'auth_failed';
  /** RFC 3339 UTC time. */
  timestamp: string;
  /** Why, when known, else null. */
  reason: string | null;
}

/** The live connections of one peer (a new object on each read of `presence.graph`). */
export interface PresenceGraph {
  /** This peer's key. */
  localPeerKey: string;
  /** Whether a Big Peer connection is up. */
  isConnectedToBigPeer: boolean;
  /** Connection counts per transport. */
  connectionsByTransport: { [transport: string]: number };
  /** The connected peers. */
  peers: ConnectedPeer[];
  /** The last Big Peer connection events. */
  bigPeerConnectionHistory: BigPeerConnectionEvent[];
}

/** A committed change, as a store observer receives it. */
export interface ChangeEvent {
  /** The collection changed. */
  collection: string;
  /** The document's `_id`. */
  id: string;
  /** What happened. */
  kind: 'upsert' | 'remove';
  /** The new document, or null on remove. */
  document: JSONObject | null;
}

/** `ditto.smallPeerInfo`: the Small Peer Info settings of one small peer. */
export declare class SmallPeerInfo {
  private constructor();
  /** Whether Small Peer Info is on (default false); turning it on writes the document at once. */
  isEnabled: boolean;
  /** The document's sync scope (default 'LocalPeerOnly'). */
  readonly syncScope: SmallPeerInfoSyncScope;
  /** Sets (and persists) the document's sync scope; any other value rejects with SP_ERR_INVALID_ARGUMENT naming the allowed ones. */
  setSyncScope(syncScope: SmallPeerInfoSyncScope): Promise<void>;
  /** The document's sync scope as a Promise (SPEC's spelling of `syncScope`). */
  getSyncScope(): Promise<SmallPeerInfoSyncScope>;
  /** The app's metadata: an object of at most 128 KB (minified JSON) and 64 levels. */
  metadata: JSONObject;
  /** The metadata as minified JSON text; setting it takes JSON text of an object. */
  metadataJSONString: string;
  /** How often the document is written, in milliseconds (default 300000, at least 1000). */
  collectionInterval: number;
  /** Builds and writes the document now (enabled or not) and returns it. */
  collectNow(): Promise<JSONObject>;
  /** The last written document, or null before the first write. */
  readonly document: JSONObject | null;
  /** Whether this device's document goes straight to an admin device met on the LAN that proves a valid grant (default false; persisted). */
  shareWithAdminDevices: boolean;
  /** True while this device holds a valid, unexpired, unrevoked admin grant from its Big Peer. */
  readonly isAdminDevice: boolean;
  /** On an admin device, every device's Small Peer Info document, ordered by _id; [] on any other device. */
  readonly fleet: JSONObject[];
  /** The admin signing key ('ask…') grants are checked with (configured, else learned from the Big Peer), or null; set it to pin it, null to forget it. */
  adminSigningKey: string | null;
  /** On an admin device, tells `callback` each device's newest document (by peer key, from either source) as the fleet changes. */
  observeFleet(callback: (change: ChangeEvent) => void): StoreObserver;
  /** The collection that holds the fleet's documents from the Big Peer on an admin device (query it with execute). */
  static readonly fleetCollectionName: '__small_peer_info_fleet';
}

/** Returned by Collection.observe() and SmallPeerInfo.observeFleet(). */
export declare class StoreObserver {
  private constructor();
  /** Stops the callbacks: none runs after stop() returns. Idempotent. */
  stop(): void;
  /** Whether stop() was called or the Ditto instance was closed. */
  readonly isStopped: boolean;
}

/** A user collection. */
export declare class Collection {
  private constructor();
  /** The collection's name. */
  readonly name: string;
  /** Inserts or replaces a document; resolves to its `_id` (generated when absent). */
  upsert(document: JSONObject): Promise<string>;
  /** The document with this `_id`, or null. */
  findByID(id: string): Promise<JSONObject | null>;
  /** Every live document, ordered by `_id`. */
  findAll(): Promise<JSONObject[]>;
  /** Removes a document; resolves to whether one was there. */
  remove(id: string): Promise<boolean>;
  /** This collection's sync scope (default 'AllPeers'; for '__small_peer_info': the Small Peer Info scope). */
  readonly syncScope: SyncScope;
  /** Sets (and persists) this collection's sync scope; system collections reject with SP_ERR_INVALID_ARGUMENT. */
  setSyncScope(syncScope: SyncScope): Promise<void>;
  /** Calls `callback` on the JS thread for each committed change until stopped or the Ditto is closed. */
  observe(callback: (change: ChangeEvent) => void): StoreObserver;
}

/** `ditto.store`: the user collections. */
export declare class Store {
  private constructor();
  /** The collection with this name. */
  collection(name: string): Collection;
  /** The names of the user collections that hold documents, sorted. */
  collectionNames(): Promise<string[]>;
  /** Runs a read-only DQL query (docs/QUERY.md) over any collection, binding `:name` placeholders from `args`. */
  execute(query: string, args?: JSONObject): Promise<QueryResult>;
}

/** What a DQL query returned. */
export declare class QueryResult {
  private constructor();
  /** The items, in the query's order. */
  readonly items: QueryResultItem[];
}

/** One item of a query result: a document, a projection of one, or a group's count. */
export declare class QueryResultItem {
  private constructor();
  /** The item as an object. */
  readonly value: JSONObject;
  /** The item as JSON text. */
  jsonString(): string;
}

/** `ditto.presence`: who this peer is connected to. */
export declare class Presence {
  private constructor();
  /** The live connections. */
  readonly graph: PresenceGraph;
  /** This peer's key (the `_id` of its Small Peer Info document). */
  readonly localPeerKey: string;
  /** The connected peers. */
  readonly connectedPeers: ConnectedPeer[];
  /** Whether a Big Peer connection is up. */
  readonly isConnectedToBigPeer: boolean;
}

/** Options of `new Ditto`. */
export interface DittoOptions {
  /** The device name from the start (1-256 bytes; default: the host name). */
  deviceName?: string;
}

/** One open small peer. Release it with `await ditto.close()`. */
export declare class Ditto {
  /** Opens a small peer (default identity: offline playground; default directory: ./ditto). */
  constructor(identity?: Identity, persistenceDirectory?: string, options?: DittoOptions);
  /** How many native Ditto handles this process holds (a leak check; diagnostics, not part of the stable API). */
  static liveHandleCount(): number;
  /** The identity the instance was opened with. */
  readonly identity: Readonly<Identity>;
  /** The absolute persistence directory. */
  readonly persistenceDirectory: string;
  /** Small Peer Info settings. */
  readonly smallPeerInfo: SmallPeerInfo;
  /** User collections. */
  readonly store: Store;
  /** Live connections. */
  readonly presence: Presence;
  /** Stops sync and observers and closes the store; later calls fail with SP_ERR_CLOSED. Idempotent. */
  close(): Promise<void>;
  /** Whether close() was called. */
  readonly isClosed: boolean;
  /** The device name in the Small Peer Info document (1-256 bytes), as in Ditto. */
  deviceName: string;
  /** The active transport configuration, in Ditto's shape. */
  readonly transportConfig: ActiveTransportConfig;
  /** Sets (and persists) the transport configuration; applies at once if sync is running. */
  setTransportConfig(transportConfig: TransportConfig): void;
  /** Starts sync; keeps the process alive until stopSync() or close(). */
  startSync(): void;
  /** Stops sync. */
  stopSync(): void;
  /** Whether sync is running. */
  readonly isSyncActive: boolean;
  /** The bound LAN TCP port, or null when not listening. */
  readonly lanPort: number | null;
  /** Writes a message to this instance's engine log. */
  log(level: LogLevel, message: string): void;
  /** Sends this instance's engine logs to the Big Peer (now, or on reconnect); resolves to the log request id ("dev_..."). */
  sendLogs(options?: SendLogsOptions): Promise<string>;
}

/** Options of Logger.exportToFile and Ditto#sendLogs: the engine's log filter, every field optional (README "Logs"); other keys are refused. */
export interface ExportLogsOptions {
  /** Only lines at this level or more severe (default 'Debug': every line the engine log holds). */
  minimumLogLevel?: LogLevel;
  /** Only lines at or after this time; after `until` is a DittoError SP_ERR_INVALID_ARGUMENT. */
  since?: Date;
  /** Only lines at or before this time. */
  until?: Date;
  /** At most this many bytes, at least 1 (the newest lines are kept). */
  maxBytes?: number;
}

/** Options of Ditto#sendLogs: the filters of Logger.exportToFile. */
export type SendLogsOptions = ExportLogsOptions;

/** A custom log callback: runs on the JS thread. */
export type CustomLogCallback = (level: LogLevel, message: string) => void;

/** Process-wide log output, like Ditto's Logger. */
export declare class Logger {
  private constructor();
  /** Whether log output is on (default true). */
  static enabled: boolean;
  /** The least severe level shown (default 'Info'). */
  static minimumLogLevel: LogLevel;
  /** Also appends shown messages to the file at `path`; null stops that. */
  static setLogFile(path: string | null): void;
  /** Turns the console (stderr) output on or off. */
  static setConsoleEnabled(enabled: boolean): void;
  /** Replaces the custom log callback (null removes it, as unsetCustomLogCallback does); it never keeps the process alive. */
  static setCustomLogCallback(callback: CustomLogCallback | null): Promise<void>;
  /** Removes the custom log callback; none runs after the Promise resolves. */
  static unsetCustomLogCallback(): Promise<void>;
  /** Exports the engine logs of every Ditto open in this process to `path` as one gzip JSON Lines file; resolves to the bytes written. */
  static exportToFile(path: string, options?: ExportLogsOptions): Promise<number>;
}

/** The engine library's version, e.g. "0.1.0". */
export declare const version: string;
