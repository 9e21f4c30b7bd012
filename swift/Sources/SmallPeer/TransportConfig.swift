/// Where a small peer connects and listens: `ditto.updateTransportConfig { $0.bigPeer.urls = [...] }`.
public struct DittoTransportConfig: Sendable, Equatable, Codable {
    /// The Big Peer connection.
    public struct BigPeer: Sendable, Equatable, Codable {
        /// WebSocket URLs of the Big Peer's `/sync` endpoint (`wss://`, or `ws://` for loopback hosts).
        public var urls: [String] = []
        /// A PEM file of certificate authorities to trust for `wss://`, instead of the system's.
        public var caFile: String?

        /// A Big Peer configuration with these URLs.
        public init(urls: [String] = [], caFile: String? = nil) {
            self.urls = urls
            self.caFile = caFile
        }
    }

    /// Peer-to-peer TCP on the local network.
    public struct LAN: Sendable, Equatable, Codable {
        /// The `host:port` to accept connections on (`127.0.0.1:0` picks a free port), or `nil` not to listen.
        public var listen: String?
        /// The `host:port` addresses of peers to connect to.
        public var connect: [String] = []

        /// A LAN configuration.
        public init(listen: String? = nil, connect: [String] = []) {
            self.listen = listen
            self.connect = connect
        }

        /// Writes `listen` as `null` when absent, as the engine expects.
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(listen, forKey: .listen)
            try c.encode(connect, forKey: .connect)
        }
    }

    /// The Big Peer connection.
    public var bigPeer = BigPeer()
    /// Peer-to-peer TCP on the local network.
    public var lan = LAN()

    /// A configuration (empty by default: no Big Peer, no LAN).
    public init(bigPeer: BigPeer = BigPeer(), lan: LAN = LAN()) {
        self.bigPeer = bigPeer
        self.lan = lan
    }
}
