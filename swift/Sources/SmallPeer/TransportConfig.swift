import Foundation

/// Where a small peer connects and listens, in the shape of Ditto's `DittoTransportConfig`:
///
/// ```swift
/// try ditto.updateTransportConfig { config in
///     config.connect.websocketURLs.insert("wss://big-peer.example.com/sync")
///     config.listen.tcp.isEnabled = true   // LAN TCP on listen.tcp.interfaceIP:listen.tcp.port
/// }
/// ```
public struct DittoTransportConfig: Sendable, Equatable {
    /// Outgoing connections: the Big Peer's WebSocket URLs and LAN TCP peers.
    public struct Connect: Sendable, Equatable {
        /// WebSocket URLs of the Big Peer's `/sync` endpoint (`wss://`, or `ws://` for loopback hosts).
        public var websocketURLs: Set<String>
        /// LAN peers' TCP listeners as `host:port`.
        public var tcpServers: Set<String>
        /// A PEM file of certificate authorities to trust for `wss://`, instead of the system's (SmallPeer's addition).
        public var caFile: String?

        /// Outgoing connections; none by default.
        public init(websocketURLs: Set<String> = [], tcpServers: Set<String> = [], caFile: String? = nil) {
            self.websocketURLs = websocketURLs
            self.tcpServers = tcpServers
            self.caFile = caFile
        }
    }

    /// Incoming connections.
    public struct Listen: Sendable, Equatable {
        /// The LAN TCP listener.
        public var tcp: DittoTCPListenConfig

        /// Incoming connections; none by default.
        public init(tcp: DittoTCPListenConfig = DittoTCPListenConfig()) {
            self.tcp = tcp
        }
    }

    /// Outgoing connections.
    public var connect: Connect
    /// Incoming connections.
    public var listen: Listen

    /// A configuration (empty by default: no Big Peer, no LAN).
    public init(connect: Connect = Connect(), listen: Listen = Listen()) {
        self.connect = connect
        self.listen = listen
    }
}

/// The LAN TCP listener of a `DittoTransportConfig`: off by default.
public struct DittoTCPListenConfig: Sendable, Equatable {
    /// Whether to listen.
    public var isEnabled: Bool
    /// The IP address to bind (`127.0.0.1` by default; `0.0.0.0` for every interface).
    public var interfaceIP: String
    /// The port to bind; 0 lets the system choose (see `Ditto.lanPort`).
    public var port: Int

    /// A listener configuration; off by default.
    public init(isEnabled: Bool = false, interfaceIP: String = "127.0.0.1", port: Int = 0) {
        self.isEnabled = isEnabled
        self.interfaceIP = interfaceIP
        self.port = port
    }
}

extension DittoTransportConfig {
    /// The engine's JSON for this configuration (`sp_sync_set_transport_config`); sets are written sorted.
    func engineJSON() throws(DittoError) -> String {
        var bigPeer: [String: Any] = ["urls": connect.websocketURLs.sorted()]
        if let caFile = connect.caFile { bigPeer["ca_file"] = caFile }
        var listenAddress: Any = NSNull()
        if listen.tcp.isEnabled {
            let ip = listen.tcp.interfaceIP
            listenAddress = (ip.contains(":") ? "[\(ip)]" : ip) + ":\(listen.tcp.port)"
        }
        let lan: [String: Any] = ["listen": listenAddress, "connect": connect.tcpServers.sorted()]
        return try JSONText.encode(["big_peer": bigPeer, "lan": lan], what: "the transport configuration")
    }

    /// Reads the engine's JSON (`sp_sync_get_transport_config`).
    init(engineJSON text: String) throws(DittoError) {
        struct Engine: Decodable {
            struct BigPeer: Decodable {
                var urls: [String]?
                var caFile: String?
            }
            struct LAN: Decodable {
                var listen: String?
                var connect: [String]?
            }
            var bigPeer: BigPeer?
            var lan: LAN?
        }
        let engine = try JSONText.decode(Engine.self, from: text)
        self.init()
        connect.websocketURLs = Set(engine.bigPeer?.urls ?? [])
        connect.caFile = engine.bigPeer?.caFile
        connect.tcpServers = Set(engine.lan?.connect ?? [])
        if let address = engine.lan?.listen {
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...])
            else {
                throw DittoError.internal(message: "the engine's LAN listen address '\(address)' is not host:port")
            }
            var host = String(address[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            listen.tcp = DittoTCPListenConfig(isEnabled: true, interfaceIP: host, port: port)
        }
    }
}
