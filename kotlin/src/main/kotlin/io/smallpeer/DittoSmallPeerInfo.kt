package io.smallpeer

import io.smallpeer.internal.SmallPeerNative
import io.smallpeer.internal.SmallPeerNativeConstants as C
import java.time.Duration

/** Where the Small Peer Info document goes: kept on this device only (the default) or sent to the Big Peer. */
enum class DittoSmallPeerInfoSyncScope(internal val value: Int) {
    /** Sent to the Big Peer over a direct connection, never to other small peers. */
    BigPeerOnly(C.SP_SYNC_SCOPE_BIG_PEER_ONLY),

    /** Kept on this device only (the default). */
    LocalPeerOnly(C.SP_SYNC_SCOPE_LOCAL_PEER_ONLY);

    /** Ditto's name for the scope, as the document's `sync_scope` field says it. */
    val description: String
        get() = name

    internal companion object {
        fun of(value: Int): DittoSmallPeerInfoSyncScope =
            values().firstOrNull { it.value == value } ?: throw DittoError.Internal(C.SP_ERR_INTERNAL, "unknown Small Peer Info scope $value")
    }
}

/**
 * `ditto.smallPeerInfo`: the Small Peer Info settings of one small peer (a field in Java:
 * `ditto.smallPeerInfo.setEnabled(true)`). When enabled, a document describing the device is
 * written at once and then every [collectionInterval]. The device name it reports is
 * [Ditto.deviceName]. Every setter throws on a refused value and keeps the old one.
 */
class DittoSmallPeerInfo internal constructor(private val native: NativeDitto) {
    /** Whether Small Peer Info is on (off by default). Java: `isEnabled()` / `setEnabled(boolean)`. */
    var isEnabled: Boolean
        @Throws(DittoError::class)
        get() = native.call { h -> outBoolean { SmallPeerNative.sp_spi_get_enabled(h, it) } }
        @Throws(DittoError::class)
        set(value) = native.call { h -> SmallPeerNative.sp_spi_set_enabled(h, value) }

    /** Where the document goes; [DittoSmallPeerInfoSyncScope.LocalPeerOnly] by default. */
    var syncScope: DittoSmallPeerInfoSyncScope
        @Throws(DittoError::class)
        get() = DittoSmallPeerInfoSyncScope.of(native.call { h -> outInt { SmallPeerNative.sp_spi_get_sync_scope(h, it) } })
        @Throws(DittoError::class)
        set(value) = native.call { h -> SmallPeerNative.sp_spi_set_sync_scope(h, value.value) }

    /**
     * The app's metadata, reported in the document: JSON values only (Map, List, String, Number,
     * Boolean, null), at most 128 KB as minified JSON and 64 levels deep; otherwise the setter
     * throws [DittoError.Validation] and the old metadata stays.
     */
    var metadata: Map<String, Any?>
        @Throws(DittoError::class)
        get() = Json.decodeObject(metadataJsonString)
        @Throws(DittoError::class)
        set(value) {
            metadataJsonString = Json.encodeObject(value, "metadata")
        }

    /**
     * The metadata as JSON text (minified when read); setting it requires a JSON object within the
     * limits ([DittoError.Validation] otherwise; text with no UTF-8 form: [DittoError.InvalidArgument]).
     */
    var metadataJsonString: String
        @Throws(DittoError::class)
        get() = native.call { h -> outString { SmallPeerNative.sp_spi_get_metadata_json(h, it) } }
        @Throws(DittoError::class)
        set(value) = native.call { h -> SmallPeerNative.sp_spi_set_metadata_json(h, value) }

    /**
     * How often the document is written: 5 minutes by default, at least 1 second, in whole
     * milliseconds (shorter: [DittoError.InvalidArgument]). A `java.time.Duration` in Kotlin and Java
     * alike: the Kotlin 1.3 standard library this binding builds with has no `kotlin.time`.
     */
    var collectionInterval: Duration
        @Throws(DittoError::class)
        get() = Duration.ofMillis(native.call { h -> outLong { SmallPeerNative.sp_spi_get_collection_interval_ms(h, it) } })
        @Throws(DittoError::class)
        set(value) {
            val millis = try {
                value.toMillis()
            } catch (e: ArithmeticException) {
                throw DittoError.InvalidArgument("collection interval $value is too long")
            }
            native.call { h -> SmallPeerNative.sp_spi_set_collection_interval_ms(h, millis) }
        }

    /** Builds and writes the document now (enabled or not) and returns it; suspends meanwhile. Java: [collectNowBlocking]. */
    @JvmSynthetic
    @Throws(DittoError::class)
    suspend fun collectNow(): Map<String, Any?> = Background.run { collectNowBlocking() }

    /** [collectNow] blocking the calling thread; Java calls it `collectNow`. */
    @JvmName("collectNow")
    @Throws(DittoError::class)
    fun collectNowBlocking(): Map<String, Any?> =
        Json.decodeObject(native.call { h -> outString { SmallPeerNative.sp_spi_collect_now(h, it) } })

    /** The last written document, or null before the first write. */
    val document: Map<String, Any?>?
        @Throws(DittoError::class)
        get() = try {
            Json.decodeObject(native.call { h -> outString { SmallPeerNative.sp_spi_get_document(h, it) } })
        } catch (e: DittoError.NotFound) {
            null
        }

    /**
     * Whether this device's document goes straight to an admin device met on the LAN that proves a valid grant
     * (false by default; persisted). Java: `getShareWithAdminDevices()` / `setShareWithAdminDevices(boolean)`.
     */
    var shareWithAdminDevices: Boolean
        @Throws(DittoError::class)
        get() = native.call { h -> outBoolean { SmallPeerNative.sp_spi_get_share_with_admin_devices(h, it) } }
        @Throws(DittoError::class)
        set(value) = native.call { h -> SmallPeerNative.sp_spi_set_share_with_admin_devices(h, value) }

    /** True while this device holds a valid, unexpired, unrevoked admin grant from its Big Peer. Java: `isAdminDevice()`. */
    val isAdminDevice: Boolean
        @Throws(DittoError::class)
        get() = native.call { h -> outBoolean { SmallPeerNative.sp_spi_is_admin_device(h, it) } }

    /**
     * The Big Peer's admin signing key (`ask…`) this device checks admin grants with: the one the app configured, else the
     * one its Big Peer sent; null before either. Setting it pins it (persisted; grants are then checked against it only,
     * whatever key a Big Peer sends; a malformed key throws [DittoError.InvalidArgument] and changes nothing); null forgets
     * it. Java: `getAdminSigningKey()` / `setAdminSigningKey(String)`.
     */
    var adminSigningKey: String?
        @Throws(DittoError::class)
        get() = native.call { h -> outString { SmallPeerNative.sp_spi_get_admin_signing_key(h, it) } }.ifEmpty { null }
        @Throws(DittoError::class)
        set(value) = native.call { h -> SmallPeerNative.sp_spi_set_admin_signing_key(h, value ?: "") }

    /** On an admin device, every device's Small Peer Info document, ordered by `_id`; empty on any other device. */
    val fleet: List<Map<String, Any?>>
        @Throws(DittoError::class)
        @Suppress("UNCHECKED_CAST")
        get() = Json.decode(native.call { h -> outString { SmallPeerNative.sp_spi_get_fleet_json(h, it) } }) as List<Map<String, Any?>>

    /**
     * On an admin device, calls [listener] on an engine thread as the fleet changes: [DittoChange.id] is a device's peer
     * key, [DittoChange.document] its newest Small Peer Info document from the Big Peer or carried from the field (a
     * removal once none is held), until the observer is closed.
     */
    @Throws(DittoError::class)
    fun observeFleet(listener: DittoChangeListener): DittoStoreObserver =
        native.observeChanges(listener) { h, adapter, token -> SmallPeerNative.sp_spi_observe_fleet(h, adapter, token) }

    /** Kotlin lambdas: `smallPeerInfo.observeFleet { change -> ... }`. */
    @JvmSynthetic
    @Throws(DittoError::class)
    fun observeFleet(listener: (DittoChange) -> Unit): DittoStoreObserver = observeFleet(object : DittoChangeListener {
        override fun onChange(change: DittoChange) = listener(change)
    })

    companion object {
        /** The collection that holds the fleet's documents from the Big Peer on an admin device: query it with `execute`; observe the fleet with [observeFleet]. */
        const val FLEET_COLLECTION_NAME: String = "__small_peer_info_fleet"
    }
}
