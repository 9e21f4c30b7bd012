package io.smallpeer

import io.smallpeer.internal.SmallPeerNative

/** A peer this one is connected to. */
data class DittoConnectedPeer(
    /** The remote peer's key. */
    val peerKey: String,
    /** Its device name. */
    val deviceName: String,
    /** "WebSocket" or "AccessPoint" (LAN TCP). */
    val transport: String,
    /** Whether it is the Big Peer. */
    val isBigPeer: Boolean
)

/** One entry of the Big Peer connection history. */
data class DittoBigPeerConnectionEvent(
    /** "connected", "disconnected" or "auth_failed". */
    val event: String,
    /** When, RFC 3339 UTC. */
    val timestamp: String,
    /** Why, when known (for example the Big Peer's refusal). */
    val reason: String?
)

/** A snapshot of this peer's live connections. */
data class DittoPresenceGraph(
    /** This peer's key (the same as [DittoPresence.localPeerKey]). */
    val localPeerKey: String,
    /** Whether a Big Peer connection is up. */
    val isConnectedToBigPeer: Boolean,
    /** Connection counts by transport name (AccessPoint, Bluetooth, P2PWiFi, WebSocket). */
    val connectionsByTransport: Map<String, Long>,
    /** The connected peers. */
    val peers: List<DittoConnectedPeer>,
    /** The last Big Peer connection events, oldest first. */
    val bigPeerConnectionHistory: List<DittoBigPeerConnectionEvent>
)

/** `ditto.presence`: this peer's key and who it is connected to. */
class DittoPresence internal constructor(private val native: NativeDitto) {
    /** This peer's key: the `_id` of its Small Peer Info document. */
    val localPeerKey: String
        @Throws(DittoError::class)
        get() = native.call { h -> outString { SmallPeerNative.sp_ditto_peer_key(h, it) } }

    /** The live connections now. */
    val graph: DittoPresenceGraph
        @Throws(DittoError::class)
        get() {
            val json = Json.decodeObject(native.call { h -> outString { SmallPeerNative.sp_presence_get_json(h, it) } })
            val counts = (json["connections_by_transport"] as Map<*, *>).entries.associate { (k, v) -> k as String to (v as Number).toLong() }
            val peers = (json["peers"] as List<*>).map {
                val p = it as Map<*, *>
                DittoConnectedPeer(p["peer_key"] as String, p["device_name"] as String, p["transport"] as String, p["is_big_peer"] as Boolean)
            }
            val history = (json["big_peer_connection_history"] as List<*>).map {
                val e = it as Map<*, *>
                DittoBigPeerConnectionEvent(e["event"] as String, e["timestamp"] as String, e["reason"] as String?)
            }
            return DittoPresenceGraph(json["local_peer_key"] as String, json["is_connected_to_big_peer"] as Boolean, counts, peers, history)
        }
}
