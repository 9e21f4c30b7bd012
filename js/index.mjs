// ES module entry point of `smallpeer`: the same objects as the CommonJS entry (index.js).
import smallpeer from './index.js';

export const { Ditto, DittoError, Logger, SmallPeerInfo, Store, Collection, StoreObserver, QueryResult, QueryResultItem, Presence, version } = smallpeer;
