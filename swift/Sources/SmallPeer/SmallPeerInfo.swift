import CSmallPeer
import Foundation

/// Where the Small Peer Info document may sync to.
public enum DittoSmallPeerInfoSyncScope: UInt, CaseIterable, Sendable {
    /// Kept on this device only (the default).
    case localPeerOnly = 0
    /// Sent to the Big Peer, never to other small peers.
    case bigPeerOnly = 1

    /// The C value (`SP_SYNC_SCOPE_*`).
    var cValue: sp_sync_scope_t { sp_sync_scope_t(rawValue) }
}

/// `ditto.smallPeerInfo`: the Small Peer Info settings of one small peer.
///
/// When enabled, the engine writes a document describing this device into the `__small_peer_info`
/// collection at once, then every `collectionInterval`.
public final class DittoSmallPeerInfo: Sendable {
    let native: NativeDitto

    init(native: NativeDitto) { self.native = native }

    /// Whether Small Peer Info is collected (default `false`). Turning it on writes a document at once.
    ///
    /// A setter cannot throw: if the engine refuses (its store failed), the setting is unchanged and the
    /// error is written to the log at error level.
    public var isEnabled: Bool {
        get {
            engineRead("smallPeerInfo.isEnabled") {
                var enabled = false
                try check(sp_spi_get_enabled(native.raw, &enabled))
                return enabled
            }
        }
        set {
            do {
                try check(sp_spi_set_enabled(native.raw, newValue))
            } catch {
                native.reportFailure("smallPeerInfo.isEnabled = \(newValue)", error)
            }
        }
    }

    /// Where the document syncs (default `.localPeerOnly`); `.bigPeerOnly` sends it to the Big Peer.
    ///
    /// A setter cannot throw: if the engine refuses (its store failed), the setting is unchanged and the
    /// error is written to the log at error level.
    public var syncScope: DittoSmallPeerInfoSyncScope {
        get {
            engineRead("smallPeerInfo.syncScope") {
                var scope: sp_sync_scope_t = 0
                try check(sp_spi_get_sync_scope(native.raw, &scope))
                guard scope >= 0, let value = DittoSmallPeerInfoSyncScope(rawValue: UInt(scope)) else {
                    throw DittoError.internal(message: "unknown small peer info sync scope \(scope)")
                }
                return value
            }
        }
        set {
            do {
                try check(sp_spi_set_sync_scope(native.raw, newValue.cValue))
            } catch {
                native.reportFailure("smallPeerInfo.syncScope = .\(newValue)", error)
            }
        }
    }

    /// The app's metadata, reported in the document's `metadata` field (default empty).
    public var metadata: [String: Any] {
        JSONText.object(metadataJSONString)
    }

    /// The app's metadata as minified JSON text.
    public var metadataJSONString: String {
        engineRead("smallPeerInfo.metadataJSONString") {
            try ownedString { sp_spi_get_metadata_json(native.raw, $0) }
        }
    }

    /// Replaces the metadata with a JSON-serializable dictionary.
    ///
    /// - Throws: `DittoError.validation` if it is over 128 KB minified or deeper than 64 levels (the
    ///   dictionary itself is level 1), `.invalidArgument` if it is not JSON-serializable. The old
    ///   metadata is kept on failure.
    public func setMetadata(_ metadata: [String: Any]) throws {
        try setMetadataJSONString(try JSONText.encode(metadata, what: "metadata"))
    }

    /// Replaces the metadata with JSON text, which must be an object.
    ///
    /// - Throws: `DittoError.validation` if it is not a JSON object, is over 128 KB minified or is deeper
    ///   than 64 levels. The old metadata is kept on failure.
    public func setMetadataJSONString(_ json: String) throws {
        try check(json.withCString { sp_spi_set_metadata_json(native.raw, $0) })
    }

    /// The device name reported in the document (the host name unless set).
    public var deviceName: String {
        engineRead("smallPeerInfo.deviceName") {
            try ownedString { sp_spi_get_device_name(native.raw, $0) }
        }
    }

    /// Changes the device name reported in the document.
    ///
    /// - Throws: `DittoError.invalidArgument` unless it is 1 to 256 bytes of UTF-8.
    public func setDeviceName(_ name: String) throws {
        try check(name.withCString { sp_spi_set_device_name(native.raw, $0) })
    }

    /// Seconds between two documents while enabled (default 300).
    public var collectionInterval: TimeInterval {
        engineRead("smallPeerInfo.collectionInterval") {
            var milliseconds: Int64 = 0
            try check(sp_spi_get_collection_interval_ms(native.raw, &milliseconds))
            return TimeInterval(milliseconds) / 1000
        }
    }

    /// Changes the seconds between two documents (whole milliseconds count); the next one is due
    /// one new interval after the last.
    ///
    /// - Throws: `DittoError.invalidArgument` if it is under 1 second (or not finite); the interval is then unchanged.
    public func setCollectionInterval(_ interval: TimeInterval) throws {
        guard interval.isFinite, abs(interval) < TimeInterval(Int64.max / 1000) else {
            throw DittoError.invalidArgument(
                message: "collection interval must be a finite number of seconds (got \(interval))")
        }
        try check(sp_spi_set_collection_interval_ms(native.raw, Int64((interval * 1000).rounded())))
    }

    /// Builds and writes the document now, whether enabled or not, and returns it.
    ///
    /// - Throws: `DittoError.store` or `.io` if it cannot be written.
    public func collectNow() throws -> DittoDocument {
        let text = try ownedString { sp_spi_collect_now(native.raw, $0) }
        return try DittoDocument(jsonString: text)
    }

    /// Builds and writes the document now, off the caller's executor, and returns it.
    public func collectNow() async throws -> DittoDocument {
        try await offloaded { try self.collectNow() }
    }

    /// The last document written, or `nil` before the first write.
    public func currentDocument() throws -> DittoDocument? {
        do {
            let text = try ownedString { sp_spi_get_document(native.raw, $0) }
            return try DittoDocument(jsonString: text)
        } catch DittoError.notFound {
            return nil
        }
    }
}
