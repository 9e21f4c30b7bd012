package io.smallpeer

import io.smallpeer.internal.SmallPeerNative
import io.smallpeer.internal.SmallPeerNativeConstants as C
import java.io.Closeable
import java.io.File
import java.lang.ref.Cleaner
import java.time.Instant

/**
 * One open small peer, as in Ditto's Kotlin SDK:
 *
 * ```kotlin
 * Ditto(File("/data/app/ditto"), DittoIdentity.OnlinePlayground("app", "token")).use { ditto ->
 *     ditto.deviceName = "till-7"
 *     ditto.smallPeerInfo.isEnabled = true
 *     ditto.smallPeerInfo.syncScope = DittoSmallPeerInfoSyncScope.BigPeerOnly
 * }
 * ```
 *
 * and in Java, where [smallPeerInfo] is a field as in Ditto's Android SDK:
 *
 * ```java
 * try (Ditto ditto = new Ditto(dir, new DittoIdentity.OnlinePlayground("app", "token"))) {
 *     ditto.setDeviceName("till-7");
 *     ditto.smallPeerInfo.setEnabled(true);
 * }
 * ```
 *
 * Close it ([close], `use`, try-with-resources) to stop its background work and release the
 * persistence directory; a Cleaner closes a forgotten instance when it is collected. Any use after
 * close throws [DittoError.Closed]. Every member is safe to call from any thread.
 */
class Ditto @JvmOverloads @Throws(DittoError::class) constructor(
    /** Where the store, the peer identity key and the engine logs live. */
    val persistenceDirectory: File,
    /** Who this peer is; offline playground by default. */
    val identity: DittoIdentity = DittoIdentity.OfflinePlayground(),
    deviceName: String? = null
) : Closeable {
    private val native: NativeDitto
    private val cleanable: Cleaner.Cleanable

    /** Small Peer Info: whether and how this peer reports itself (off by default); a field in Java, as in Ditto's Android SDK. */
    @JvmField
    val smallPeerInfo: DittoSmallPeerInfo

    /** The same [smallPeerInfo] through a getter, for Java written as the SPEC's opening example, `ditto.getSmallPeerInfo().setEnabled(true)`. */
    fun getSmallPeerInfo(): DittoSmallPeerInfo = smallPeerInfo

    /** The documents of this peer's user collections. */
    val store: DittoStore

    /** This peer's key and its live connections. */
    val presence: DittoPresence

    init {
        val config = LinkedHashMap<String, Any?>()
        config["persistence_dir"] = persistenceDirectory.path
        config["identity"] = identity.json()
        if (deviceName != null) config["device_name"] = deviceName
        config["sdk_language"] = callerLanguage()
        val out = LongArray(1)
        native { SmallPeerNative.sp_ditto_open(Json.encodeObject(config, "config"), out) }
        native = NativeDitto(out[0])
        cleanable = CLEANER.register(this, native)
        smallPeerInfo = DittoSmallPeerInfo(native)
        store = DittoStore(native)
        presence = DittoPresence(native)
    }

    /**
     * This device's name, shown to other peers and reported by Small Peer Info (1 to 256 bytes of
     * UTF-8; anything else throws [DittoError.InvalidArgument] and keeps the old name).
     */
    var deviceName: String
        @Throws(DittoError::class)
        get() = native.call { h -> outString { SmallPeerNative.sp_spi_get_device_name(h, it) } }
        @Throws(DittoError::class)
        set(value) = native.call { h -> SmallPeerNative.sp_spi_set_device_name(h, value) }

    /** Where this peer connects and listens; applies at once if sync is running. */
    var transportConfig: DittoTransportConfig
        @Throws(DittoError::class)
        get() = DittoTransportConfig.fromJson(native.call { h -> outString { SmallPeerNative.sp_sync_get_transport_config(h, it) } })
        @Throws(DittoError::class)
        set(value) {
            val json = value.toJson()
            native.call { h -> SmallPeerNative.sp_sync_set_transport_config(h, json) }
        }

    /** Starts sync: listens and connects, reconnecting with back-off. Big Peer URLs need an online playground identity. */
    @Throws(DittoError::class)
    fun startSync() = native.call { h -> SmallPeerNative.sp_sync_start(h) }

    /** Stops sync and closes every connection. */
    @Throws(DittoError::class)
    fun stopSync() = native.call { h -> SmallPeerNative.sp_sync_stop(h) }

    /** Whether sync is running. */
    val isSyncActive: Boolean
        @Throws(DittoError::class)
        get() = native.call { h -> outBoolean { SmallPeerNative.sp_sync_is_running(h, it) } }

    /** The bound LAN TCP port (with `listen.tcp.port = 0`, the one the system chose), or null when not listening. */
    val lanPort: Int?
        @Throws(DittoError::class)
        get() = native.call { h -> outInt { SmallPeerNative.sp_sync_lan_port(h, it) } }.takeIf { it != 0 }

    /** Writes a message to this instance's engine log (and to the log output, if it passes [DittoLogger]'s level). */
    @Throws(DittoError::class)
    fun log(level: DittoLogLevel, message: String) = native.call { h -> SmallPeerNative.sp_ditto_log(h, level.value, message) }

    /**
     * Sends this instance's engine logs to the Big Peer ("send logs to support"), filtered as in
     * [DittoLogger.exportToFile] (same defaults, same [DittoError.InvalidArgument] refusals); uploads at
     * once if connected, else on reconnect, resuming an interrupted upload. Returns the log request id
     * the Big Peer lists it under (`dev_…`). Suspends while the bundle is built; Java: [sendLogsBlocking].
     */
    @JvmSynthetic
    @Throws(DittoError::class)
    suspend fun sendLogs(
        minimumLogLevel: DittoLogLevel? = null,
        since: Instant? = null,
        until: Instant? = null,
        maxBytes: Long? = null
    ): String = Background.run { sendLogsBlocking(minimumLogLevel, since, until, maxBytes) }

    /** [sendLogs] blocking the calling thread until the bundle is built; Java calls it `sendLogs`. */
    @JvmName("sendLogs")
    @JvmOverloads
    @Throws(DittoError::class)
    fun sendLogsBlocking(
        minimumLogLevel: DittoLogLevel? = null,
        since: Instant? = null,
        until: Instant? = null,
        maxBytes: Long? = null
    ): String {
        val json = logOptionsJson(minimumLogLevel, since, until, maxBytes)
        return native.call { h -> outString { SmallPeerNative.sp_ditto_send_logs(h, json, it) } }
    }

    /** Whether [close] has been called. */
    val isClosed: Boolean get() = native.isClosed

    /** Stops background work, unregisters every observer and closes the store; blocks until done. Idempotent. */
    override fun close() = cleanable.clean()

    /** [close] without blocking the coroutine's thread: suspends until the instance is closed. */
    @JvmSynthetic
    suspend fun closeAsync() = Background.run { close() }

    /** Library facts. */
    companion object {
        private val CLEANER: Cleaner = Cleaner.create()

        /** The native library's version, e.g. "0.1.0". */
        @JvmStatic
        val version: String
            get() = SmallPeerNative.sp_version()

        /**
         * "Kotlin" when the code constructing the Ditto is Kotlin (its class carries kotlin.Metadata),
         * else "Java": what the Small Peer Info document reports as ditto_sdk_language.
         */
        private fun callerLanguage(): String {
            val caller = Throwable().stackTrace.firstOrNull { frame ->
                val name = frame.className
                !(name == Ditto::class.java.name || name.startsWith(Ditto::class.java.name + "$") ||
                    name.startsWith("java.") || name.startsWith("jdk.") || name.startsWith("sun.") || name.startsWith("kotlin."))
            } ?: return "Java"
            val cls = try {
                Class.forName(caller.className, false, Ditto::class.java.classLoader)
            } catch (e: ClassNotFoundException) {
                return "Java"
            } catch (e: LinkageError) {
                return "Java"
            }
            return if (cls.isAnnotationPresent(Metadata::class.java)) "Kotlin" else "Java"
        }
    }
}

/** Calls a raw function with a one-element String output array and returns the string. */
internal inline fun outString(call: (Array<String?>) -> Unit): String {
    val box = arrayOfNulls<String>(1)
    call(box)
    return box[0] ?: throw DittoError.Internal(C.SP_ERR_INTERNAL, "the C API returned no string")
}

/** Calls a raw function with a one-element boolean output array. */
internal inline fun outBoolean(call: (BooleanArray) -> Unit): Boolean = BooleanArray(1).also(call)[0]

/** Calls a raw function with a one-element int output array. */
internal inline fun outInt(call: (IntArray) -> Unit): Int = IntArray(1).also(call)[0]

/** Calls a raw function with a one-element long output array. */
internal inline fun outLong(call: (LongArray) -> Unit): Long = LongArray(1).also(call)[0]
