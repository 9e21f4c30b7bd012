import CSmallPeer
import Dispatch
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

/// One open small peer: its device name, its Small Peer Info settings, its store, its sync and its presence.
///
/// `close()` stops it and releases the persistence directory; after that every call on it (or on an
/// object it handed out) throws `DittoError.closed`, and every settable property traps. Without
/// `close()`, the instance closes when the last object using it goes (`deinit`): `Ditto`, or an object
/// it handed out (`smallPeerInfo`, `store`, a collection, `presence`). Every member may be used from any thread.
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
    ///   - deviceName: the name reported in Small Peer Info (1-256 bytes); the host name when `nil`.
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

    /// Stops sync and background work, closes the store and releases the persistence directory. Idempotent.
    ///
    /// Afterwards every call on this instance, or on an object it handed out, throws `DittoError.closed`
    /// (a settable property traps). Releasing the last reference closes it too.
    public func close() {
        trapping("close()") { try check(sp_ditto_close(native.raw)) }
    }

    /// Closes this instance (see `close()`), waiting for its background work off the caller's executor.
    public func close() async {
        let native = self.native
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global(qos: .userInitiated).async {
                trapping("close()") { try check(sp_ditto_close(native.raw)) }
                continuation.resume()
            }
        }
    }

    // MARK: Device name

    /// The name this peer reports in Small Peer Info and presence (1-256 bytes; the host name unless set).
    ///
    /// Setting an empty or longer name, or using a closed instance, traps with the engine's message;
    /// `setDeviceName(_:)` and `getDeviceName()` throw instead.
    public var deviceName: String {
        get { trapping("ditto.deviceName") { try getDeviceName() } }
        set { trapping("ditto.deviceName = \"\(newValue)\"") { try setDeviceName(newValue) } }
    }

    /// The device name (see `deviceName`).
    ///
    /// - Throws: `DittoError.closed` after `close()`.
    public func getDeviceName() throws -> String {
        try ownedString { sp_spi_get_device_name(native.raw, $0) }
    }

    /// Changes the device name reported in Small Peer Info and to other peers.
    ///
    /// - Throws: `DittoError.invalidArgument` unless it is 1 to 256 bytes of UTF-8 (the name is then unchanged),
    ///   `.closed` after `close()`.
    public func setDeviceName(_ name: String) throws {
        try requireNoNUL(name, "the device name")
        try check(name.withCString { sp_spi_set_device_name(native.raw, $0) })
    }

    // MARK: Sync

    /// Where this peer connects and listens (Big Peer WebSocket URLs, LAN TCP); persisted across opens.
    ///
    /// - Throws: `DittoError.closed` after `close()`.
    public var transportConfig: DittoTransportConfig {
        get throws {
            let text = try ownedString { sp_sync_get_transport_config(native.raw, $0) }
            return try DittoTransportConfig(engineJSON: text)
        }
    }

    /// Replaces the transport configuration; it applies at once (reconnecting if sync is running) and is persisted.
    ///
    /// - Throws: `DittoError.invalidArgument` naming the URL or address that does not parse (plain
    ///   `ws://` is accepted for loopback hosts only); the configuration is then unchanged.
    public func setTransportConfig(_ config: DittoTransportConfig) throws {
        let text = try config.engineJSON()
        try check(text.withCString { sp_sync_set_transport_config(native.raw, $0) })
    }

    /// Changes the transport configuration: `block` edits a copy of the current one, which is then set
    /// as by `setTransportConfig(_:)`.
    ///
    /// - Throws: as `setTransportConfig(_:)`; the configuration is then unchanged.
    public func updateTransportConfig(_ block: (inout DittoTransportConfig) -> Void) throws {
        var config = try transportConfig
        block(&config)
        try setTransportConfig(config)
    }

    /// Starts sync: listens and connects as the transport configuration says, reconnecting with back-off.
    ///
    /// - Throws: `DittoError.invalidArgument` if the configuration names a Big Peer and the identity is
    ///   not an online playground, `.io` if the LAN listen address cannot be bound, `.closed` after `close()`.
    public func startSync() throws {
        try check(sp_sync_start(native.raw))
    }

    /// Stops sync and closes every connection. Does nothing when sync is not running.
    ///
    /// - Throws: `DittoError.closed` after `close()`.
    public func stopSync() throws {
        try check(sp_sync_stop(native.raw))
    }

    /// Whether sync is running.
    ///
    /// - Throws: `DittoError.closed` after `close()`.
    public var isSyncActive: Bool {
        get throws {
            var running = false
            try check(sp_sync_is_running(native.raw, &running))
            return running
        }
    }

    /// The bound LAN TCP port (useful with `listen.tcp.port = 0`), or `nil` when not listening.
    ///
    /// - Throws: `DittoError.closed` after `close()`.
    public var lanPort: Int? {
        get throws {
            var port: Int32 = 0
            try check(sp_sync_lan_port(native.raw, &port))
            return port == 0 ? nil : Int(port)
        }
    }

    // MARK: Logs

    /// Writes `message` to this peer's engine log, and to the `DittoLogger` output if it passes the minimum level.
    ///
    /// - Throws: `DittoError.invalidArgument` if the message contains NUL, `.closed` after `close()`.
    public func log(_ message: String, level: DittoLogLevel) throws {
        try requireNoNUL(message, "the log message")
        try check(message.withCString { sp_ditto_log(native.raw, level.cValue, $0) })
    }

    /// Sends this peer's engine logs to the Big Peer ("send logs to support") and returns the log request id it is listed under.
    ///
    /// The gzip JSON Lines bundle is built now (filtered by `options`, as for `DittoLogger.export`) and kept
    /// in the persistence directory; it uploads at once if the Big Peer is connected, else when it next
    /// connects, and an interrupted upload resumes. The id starts with `dev_`.
    ///
    /// - Throws: `DittoError.invalidArgument` for contradictory options, `.io` if the bundle cannot be written,
    ///   `.closed` after `close()`.
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
