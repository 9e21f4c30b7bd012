import CSmallPeer

/// A peer this small peer is connected to.
public struct DittoPeer: Sendable, Equatable, Decodable {
    /// The peer's key (`pk…`).
    public let peerKey: String
    /// The name the peer reports.
    public let deviceName: String
    /// How it is connected, e.g. `WebSocket` or `AccessPoint` (LAN TCP).
    public let transport: String
    /// Whether the peer is the Big Peer.
    public let isBigPeer: Bool
}

/// One event in the history of this peer's Big Peer connection.
public struct DittoBigPeerConnectionEvent: Sendable, Equatable, Decodable {
    /// What happened, e.g. `connected`, `disconnected` or `refused`.
    public let event: String
    /// When, as RFC 3339 UTC.
    public let timestamp: String
    /// Why, when the engine knows (e.g. the Big Peer's reason for a refusal).
    public let reason: String?
}

/// A snapshot of this peer's live connections.
public struct DittoPresenceGraph: Sendable, Equatable, Decodable {
    /// This peer's key.
    public let localPeerKey: String
    /// Whether a Big Peer connection is up.
    public let isConnectedToBigPeer: Bool
    /// How many connections are up, per transport name.
    public let connectionsByTransport: [String: Int]
    /// The connected peers (the Big Peer among them, marked `isBigPeer`).
    public let peers: [DittoPeer]
    /// Recent Big Peer connection events, oldest first.
    public let bigPeerConnectionHistory: [DittoBigPeerConnectionEvent]
}

/// `ditto.presence`: this peer's key and who it is connected to.
public final class DittoPresence: Sendable {
    let native: NativeDitto

    init(native: NativeDitto) { self.native = native }

    /// This peer's key: `pk` + its unpadded base64url Ed25519 public key, also the `_id` of its Small Peer Info document.
    ///
    /// - Throws: `DittoError.closed` after `ditto.close()`.
    public var localPeerKey: String {
        get throws { try ownedString { sp_ditto_peer_key(native.raw, $0) } }
    }

    /// The live connections now.
    ///
    /// - Throws: `DittoError.closed` after `ditto.close()`.
    public var graph: DittoPresenceGraph {
        get throws {
            let text = try ownedString { sp_presence_get_json(native.raw, $0) }
            return try JSONText.decode(DittoPresenceGraph.self, from: text)
        }
    }
}
