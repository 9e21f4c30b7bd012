import CSmallPeer
import Foundation

/// Who a small peer is, which decides whom it may sync with.
public enum DittoIdentity: Sendable, Equatable, CustomStringConvertible {
    /// A development identity that needs no server: syncs over the LAN with peers of the same kind, never with a Big Peer.
    case offlinePlayground
    /// A development identity for an app registered with a Big Peer: its app ID and playground token.
    case onlinePlayground(appID: String, token: String)

    /// The identity as the `identity` object of `sp_ditto_open`'s configuration.
    var json: [String: Any] {
        switch self {
        case .offlinePlayground:
            ["type": "offline_playground"]
        case .onlinePlayground(let appID, let token):
            ["type": "online_playground", "app_id": appID, "token": token]
        }
    }

    /// The identity with its token redacted, safe to log.
    public var description: String {
        switch self {
        case .offlinePlayground: "offlinePlayground"
        case .onlinePlayground(let appID, _): "onlinePlayground(appID: \(appID), token: <redacted>)"
        }
    }
}

/// One open small peer: its Small Peer Info settings, its store, its sync and its presence.
///
/// The native instance stays open while this object, or any object it handed out (`smallPeerInfo`,
/// `store`, a collection, `presence`), is alive; the last one to go closes it and releases the
/// persistence directory (there is no `close()`: ARC makes `deinit` deterministic).
/// Every member may be used from any thread.
public final class Ditto: Sendable {
    /// The ABI version this package was written against (`SP_ABI_VERSION`).
    public static let abiVersion = Int(SP_ABI_VERSION)

    /// The version of the loaded libsmallpeer, e.g. `0.1.0`.
    public static var version: String { String(cString: sp_version()) }

    /// The directory holding this peer's store, identity key and engine logs.
    public let persistenceDirectory: URL
    /// The identity this peer was opened with.
    public let identity: DittoIdentity
    /// Small Peer Info: `ditto.smallPeerInfo.isEnabled = true`, `ditto.smallPeerInfo.syncScope = .bigPeerOnly`.
    public let smallPeerInfo: DittoSmallPeerInfo
    /// The document store: `ditto.store.collection("cars")`.
    public let store: DittoStore
    /// This peer's key and its live connections.
    public let presence: DittoPresence

    let native: NativeDitto

    /// Opens a small peer whose data lives in `persistenceDirectory` (created if missing).
    ///
    /// - Parameters:
    ///   - identity: `.offlinePlayground` (default) or `.onlinePlayground(appID:token:)` to sync with a Big Peer.
    ///   - persistenceDirectory: a directory no other open instance uses.
    ///   - deviceName: the name reported in Small Peer Info; the host name when `nil`.
    /// - Throws: `DittoError.locked` if another open instance uses the directory, `.io` if it cannot
    ///   be written, `.invalidArgument` for an empty app ID, token or device name, `.internal` if
    ///   the loaded libsmallpeer has another ABI version.
    public init(identity: DittoIdentity = .offlinePlayground, persistenceDirectory: URL, deviceName: String? = nil)
        throws
    {
        let loaded = sp_abi_version()
        guard loaded == SP_ABI_VERSION else {
            throw DittoError.internal(
                message: "libsmallpeer has ABI version \(loaded); this package needs \(SP_ABI_VERSION)")
        }
        var config: [String: Any] = [
            "persistence_dir": persistenceDirectory.path,
            "identity": identity.json,
            "sdk_language": "Swift",
        ]
        if let deviceName { config["device_name"] = deviceName }
        let configJSON = try JSONText.encode(config, what: "the open configuration")
        var raw: OpaquePointer?
        try check(configJSON.withCString { sp_ditto_open($0, &raw) })
        guard let raw else { throw DittoError.internal(message: "sp_ditto_open succeeded without a handle") }
        let native = NativeDitto(raw: raw)
        self.native = native
        self.persistenceDirectory = persistenceDirectory
        self.identity = identity
        self.smallPeerInfo = DittoSmallPeerInfo(native: native)
        self.store = DittoStore(native: native)
        self.presence = DittoPresence(native: native)
    }

    // MARK: Sync

    /// Where this peer connects and listens (Big Peer WebSocket URLs, LAN TCP); persisted across opens.
    public var transportConfig: DittoTransportConfig {
        engineRead("transportConfig") {
            let text = try ownedString { sp_sync_get_transport_config(native.raw, $0) }
            return try JSONText.decode(DittoTransportConfig.self, from: text)
        }
    }

    /// Changes the transport configuration: `block` edits a copy of the current one, which then applies
    /// at once (reconnecting if sync is running) and is persisted.
    ///
    /// - Throws: `DittoError.invalidArgument` naming the URL or address that does not parse (plain
    ///   `ws://` is accepted for loopback hosts only); the configuration is then unchanged.
    public func updateTransportConfig(_ block: (inout DittoTransportConfig) -> Void) throws {
        var config = transportConfig
        block(&config)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let text: String
        do {
            text = String(decoding: try encoder.encode(config), as: UTF8.self)
        } catch {
            throw DittoError.invalidArgument(message: "the transport configuration cannot be written as JSON: \(error)")
        }
        try check(text.withCString { sp_sync_set_transport_config(native.raw, $0) })
    }

    /// Starts sync: listens and connects as the transport configuration says, reconnecting with back-off.
    ///
    /// - Throws: `DittoError.invalidArgument` if the configuration names a Big Peer and the identity is
    ///   not an online playground, `.io` if the LAN listen address cannot be bound.
    public func startSync() throws {
        try check(sp_sync_start(native.raw))
    }

    /// Stops sync and closes every connection. Does nothing when sync is not running.
    public func stopSync() {
        do {
            try check(sp_sync_stop(native.raw))
        } catch {
            native.reportFailure("stopSync()", error)
        }
    }

    /// Whether sync is running.
    public var isSyncActive: Bool {
        engineRead("isSyncActive") {
            var running = false
            try check(sp_sync_is_running(native.raw, &running))
            return running
        }
    }

    /// The bound LAN TCP port (useful with `lan.listen = "127.0.0.1:0"`), or `nil` when not listening.
    public var lanPort: Int? {
        engineRead("lanPort") {
            var port: Int32 = 0
            try check(sp_sync_lan_port(native.raw, &port))
            return port == 0 ? nil : Int(port)
        }
    }

    // MARK: Logs

    /// Writes `message` to this peer's engine log, and to the `DittoLogger` output if it passes the minimum level.
    public func log(_ message: String, level: DittoLogLevel) {
        do {
            try check(message.withCString { sp_ditto_log(native.raw, level.cValue, $0) })
        } catch {
            preconditionFailure("SmallPeer: log(_:level:) failed: \(error)")
        }
    }

    /// Sends this peer's engine logs to the Big Peer ("send logs to support") and returns the log request id it is listed under.
    ///
    /// The gzip JSON Lines bundle is built now (filtered by `options`, as for `DittoLogger.export`) and kept
    /// in the persistence directory; it uploads at once if the Big Peer is connected, else when it next
    /// connects, and an interrupted upload resumes. The id starts with `dev_`.
    ///
    /// - Throws: `DittoError.invalidArgument` for contradictory options, `.io` if the bundle cannot be written.
    @discardableResult
    public func sendLogs(options: DittoLogExportOptions = DittoLogExportOptions()) throws -> String {
        let optionsJSON = try options.json()
        return try ownedString { out in
            if let optionsJSON {
                optionsJSON.withCString { sp_ditto_send_logs(native.raw, $0, out) }
            } else {
                sp_ditto_send_logs(native.raw, nil, out)
            }
        }
    }

    /// Sends this peer's engine logs to the Big Peer, building the bundle off the caller's executor; returns the log request id.
    @discardableResult
    public func sendLogs(options: DittoLogExportOptions = DittoLogExportOptions()) async throws -> String {
        try await offloaded { try self.sendLogs(options: options) }
    }
}
