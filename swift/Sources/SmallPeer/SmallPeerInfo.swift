import CSmallPeer
import Foundation

/// Where the Small Peer Info document may sync to: Ditto's cases, in Ditto's order.
public enum DittoSmallPeerInfoSyncScope: UInt, CaseIterable, Sendable, CustomStringConvertible {
    /// Sent to the Big Peer, never to other small peers.
    case bigPeerOnly = 1
    /// Kept on this device only (the default).
    case localPeerOnly = 0

    /// The C value (`SP_SYNC_SCOPE_*`).
    var cValue: sp_sync_scope_t { sp_sync_scope_t(rawValue) }

    /// Ditto's name for the scope, as the document's `sync_scope` field says it: `LocalPeerOnly` or `BigPeerOnly`.
    public var description: String {
        switch self {
        case .localPeerOnly: "LocalPeerOnly"
        case .bigPeerOnly: "BigPeerOnly"
        }
    }
}

/// `ditto.smallPeerInfo`: the Small Peer Info settings of one small peer.
///
/// When enabled, the engine writes a document describing this device into the `__small_peer_info`
/// collection at once, then every `collectionInterval`. The device name is `ditto.deviceName`.
///
/// The settable properties (`isEnabled`, `syncScope`, `metadata`, `collectionInterval`) trap with the
/// engine's message when it refuses the value or the instance was closed, as Swift's own APIs do on a
/// programmer error; each has throwing twins, `get…()` and `set…(_:)`, for values from outside.
public final class DittoSmallPeerInfo: Sendable {
    let native: NativeDitto

    init(native: NativeDitto) { self.native = native }

    // MARK: Enabled

    /// Whether Small Peer Info is collected (default `false`). Turning it on writes a document at once.
    public var isEnabled: Bool {
        get { trapping("smallPeerInfo.isEnabled") { try getEnabled() } }
        set { trapping("smallPeerInfo.isEnabled = \(newValue)") { try setEnabled(newValue) } }
    }

    /// Whether Small Peer Info is collected (see `isEnabled`).
    ///
    /// - Throws: `DittoError.closed` after `ditto.close()`.
    public func getEnabled() throws -> Bool {
        var enabled = false
        try check(sp_spi_get_enabled(native.raw, &enabled))
        return enabled
    }

    /// Turns Small Peer Info on (a document is written at once) or off.
    ///
    /// - Throws: `DittoError.store` if the setting cannot be persisted (it is then unchanged), `.closed` after `ditto.close()`.
    public func setEnabled(_ enabled: Bool) throws {
        try check(sp_spi_set_enabled(native.raw, enabled))
    }

    // MARK: Sync scope

    /// Where the document syncs (default `.localPeerOnly`); `.bigPeerOnly` sends it to the Big Peer.
    public var syncScope: DittoSmallPeerInfoSyncScope {
        get { trapping("smallPeerInfo.syncScope") { try getSyncScope() } }
        set { trapping("smallPeerInfo.syncScope = .\(newValue)") { try setSyncScope(newValue) } }
    }

    /// Where the document syncs (see `syncScope`).
    ///
    /// - Throws: `DittoError.closed` after `ditto.close()`.
    public func getSyncScope() throws -> DittoSmallPeerInfoSyncScope {
        var scope: sp_sync_scope_t = 0
        try check(sp_spi_get_sync_scope(native.raw, &scope))
        guard scope >= 0, let value = DittoSmallPeerInfoSyncScope(rawValue: UInt(scope)) else {
            throw DittoError.internal(message: "unknown small peer info sync scope \(scope)")
        }
        return value
    }

    /// Changes where the document syncs; persisted.
    ///
    /// - Throws: `DittoError.store` if the setting cannot be persisted (it is then unchanged), `.closed` after `ditto.close()`.
    public func setSyncScope(_ scope: DittoSmallPeerInfoSyncScope) throws {
        try check(sp_spi_set_sync_scope(native.raw, scope.cValue))
    }

    // MARK: Metadata

    /// The app's metadata, reported in the document's `metadata` field (default empty): a JSON-serializable
    /// dictionary, at most 128 KB minified and 64 levels deep.
    public var metadata: [String: Any] {
        get { trapping("smallPeerInfo.metadata") { try getMetadata() } }
        set { trapping("smallPeerInfo.metadata = …") { try setMetadata(newValue) } }
    }

    /// The app's metadata (see `metadata`).
    ///
    /// - Throws: `DittoError.closed` after `ditto.close()`.
    public func getMetadata() throws -> [String: Any] {
        JSONText.object(try metadataJSONString)
    }

    /// The app's metadata as minified JSON text.
    ///
    /// - Throws: `DittoError.closed` after `ditto.close()`.
    public var metadataJSONString: String {
        get throws { try ownedString { sp_spi_get_metadata_json(native.raw, $0) } }
    }

    /// Replaces the metadata with a JSON-serializable dictionary.
    ///
    /// - Throws: `DittoError.validation` if it is not JSON-serializable, over 128 KB minified or deeper
    ///   than 64 levels (the dictionary itself is level 1), as Ditto's validation error; `.closed` after
    ///   `ditto.close()`. The old metadata is kept on failure.
    public func setMetadata(_ metadata: [String: Any]) throws {
        let text: String
        do {
            text = try JSONText.encode(metadata, what: "metadata")
        } catch {
            throw DittoError.validation(message: error.message)
        }
        try setMetadataJSONString(text)
    }

    /// Replaces the metadata with JSON text, which must be an object.
    ///
    /// - Throws: `DittoError.validation` if it is not JSON, not an object, over 128 KB minified or deeper
    ///   than 64 levels, `.closed` after `ditto.close()`. The old metadata is kept on failure.
    public func setMetadataJSONString(_ json: String) throws {
        try requireNoNUL(json, "the metadata JSON text")
        try check(json.withCString { sp_spi_set_metadata_json(native.raw, $0) })
    }

    // MARK: Collection interval

    /// Seconds between two documents while enabled (default 300, at least 1); whole milliseconds count.
    public var collectionInterval: TimeInterval {
        get { trapping("smallPeerInfo.collectionInterval") { try getCollectionInterval() } }
        set { trapping("smallPeerInfo.collectionInterval = \(newValue)") { try setCollectionInterval(newValue) } }
    }

    /// Seconds between two documents (see `collectionInterval`).
    ///
    /// - Throws: `DittoError.closed` after `ditto.close()`.
    public func getCollectionInterval() throws -> TimeInterval {
        var milliseconds: Int64 = 0
        try check(sp_spi_get_collection_interval_ms(native.raw, &milliseconds))
        return TimeInterval(milliseconds) / 1000
    }

    /// Changes the seconds between two documents (whole milliseconds count); the next one is due
    /// one new interval after the last.
    ///
    /// - Throws: `DittoError.invalidArgument` if it is under 1 second (or not finite); the interval is then
    ///   unchanged. `.closed` after `ditto.close()`.
    public func setCollectionInterval(_ interval: TimeInterval) throws {
        guard interval.isFinite, abs(interval) < TimeInterval(Int64.max / 1000) else {
            throw DittoError.invalidArgument(
                message: "collection interval must be a finite number of seconds (got \(interval))")
        }
        try check(sp_spi_set_collection_interval_ms(native.raw, Int64((interval * 1000).rounded())))
    }

    // MARK: Documents

    /// Builds and writes the document now, whether enabled or not, and returns it.
    ///
    /// - Throws: `DittoError.store` or `.io` if it cannot be written, `.closed` after `ditto.close()`.
    public func collectNow() throws -> DittoDocument {
        let text = try ownedString { sp_spi_collect_now(native.raw, $0) }
        return try DittoDocument(jsonString: text)
    }

    /// Builds and writes the document now, off the caller's executor, and returns it.
    public func collectNow() async throws -> DittoDocument {
        try await offloaded { try self.collectNow() }
    }

    /// The last document written, or `nil` before the first write.
    ///
    /// - Throws: `DittoError.closed` after `ditto.close()`.
    public var document: DittoDocument? {
        get throws {
            do {
                let text = try ownedString { sp_spi_get_document(native.raw, $0) }
                return try DittoDocument(jsonString: text)
            } catch DittoError.notFound {
                return nil
            }
        }
    }

    // MARK: Admin devices

    /// Whether this device's document goes straight to an admin device met on the LAN that proves a
    /// valid grant (default `false`; persisted). The sync scope rules are otherwise unchanged.
    public var shareWithAdminDevices: Bool {
        get { trapping("smallPeerInfo.shareWithAdminDevices") { try getShareWithAdminDevices() } }
        set { trapping("smallPeerInfo.shareWithAdminDevices = \(newValue)") { try setShareWithAdminDevices(newValue) } }
    }

    /// Whether the document goes to admin devices met on the LAN (see `shareWithAdminDevices`).
    ///
    /// - Throws: `DittoError.closed` after `ditto.close()`.
    public func getShareWithAdminDevices() throws -> Bool {
        var share = false
        try check(sp_spi_get_share_with_admin_devices(native.raw, &share))
        return share
    }

    /// Turns sharing with admin devices met on the LAN on or off.
    ///
    /// - Throws: `DittoError.store` if the setting cannot be persisted (it is then unchanged), `.closed` after `ditto.close()`.
    public func setShareWithAdminDevices(_ share: Bool) throws {
        try check(sp_spi_set_share_with_admin_devices(native.raw, share))
    }

    /// The collection that holds the fleet's documents from the Big Peer on an admin device: query it with
    /// `ditto.store.execute`; observe the whole fleet with `observeFleet`.
    public static let fleetCollectionName = "__small_peer_info_fleet"

    /// True while this device holds a valid, unexpired, unrevoked admin grant from its Big Peer.
    ///
    /// - Throws: `DittoError.closed` after `ditto.close()`.
    public var isAdminDevice: Bool {
        get throws {
            var isAdmin = false
            try check(sp_spi_is_admin_device(native.raw, &isAdmin))
            return isAdmin
        }
    }

    /// The Big Peer's admin signing key (`ask…`) this device checks admin grants with: the one the app configured with
    /// `setAdminSigningKey`, else the one its Big Peer sent; `nil` before either.
    ///
    /// - Throws: `DittoError.closed` after `ditto.close()`.
    public var adminSigningKey: String? {
        get throws {
            let key = try ownedString { sp_spi_get_admin_signing_key(native.raw, $0) }
            return key.isEmpty ? nil : key
        }
    }

    /// Pins the admin signing key from the app's configuration (persisted): grants are then checked against it only,
    /// whatever key a Big Peer sends. `nil` (or "") forgets it, and the next Big Peer session teaches the key again.
    ///
    /// - Throws: `DittoError.invalidArgument` if `key` is not `ask` and 43 base64url characters (nothing changes then),
    ///   `.closed` after `ditto.close()`.
    public func setAdminSigningKey(_ key: String?) throws {
        let text = key ?? ""
        try requireNoNUL(text, "the admin signing key")
        try check(text.withCString { sp_spi_set_admin_signing_key(native.raw, $0) })
    }

    /// On an admin device, every device's Small Peer Info document, ordered by `_id`; empty on any other device.
    ///
    /// - Throws: `DittoError.closed` after `ditto.close()`.
    public var fleet: [DittoDocument] {
        get throws {
            let text = try ownedString { sp_spi_get_fleet_json(native.raw, $0) }
            return try JSONText.decode([JSONFragment].self, from: text).map { try DittoDocument(jsonString: $0.text) }
        }
    }

    /// On an admin device, calls `handler` on `queue` as the fleet changes: `id` is a device's peer key, `document` its newest
    /// Small Peer Info document from the Big Peer or carried from the field (`.remove` once none is held), until the returned
    /// observer is cancelled or released.
    ///
    /// - Throws: `DittoError.closed` after `ditto.close()`.
    public func observeFleet(
        deliverOn queue: DispatchQueue = .main,
        handler: @escaping @Sendable (DittoCollectionChange) -> Void
    ) throws -> DittoStoreObserver {
        try observeChanges(deliverOn: queue, handler: handler, what: "sp_spi_observe_fleet") {
            callback, userdata, token in
            sp_spi_observe_fleet(native.raw, callback, userdata, CallbackUserdata.free, token)
        }
    }
}
