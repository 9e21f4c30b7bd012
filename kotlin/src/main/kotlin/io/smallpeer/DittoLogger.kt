package io.smallpeer

import io.smallpeer.internal.NativeLogCallback
import io.smallpeer.internal.SmallPeerNative
import io.smallpeer.internal.SmallPeerNativeConstants as C
import java.time.Instant
import java.util.Locale

/** Log levels, most severe first. */
enum class DittoLogLevel(internal val value: Int) {
    /** Failures. */
    ERROR(C.SP_LOG_ERROR),

    /** Problems that were worked around. */
    WARNING(C.SP_LOG_WARNING),

    /** Notable events (the default minimum). */
    INFO(C.SP_LOG_INFO),

    /** Details for debugging. */
    DEBUG(C.SP_LOG_DEBUG),

    /** Everything. */
    VERBOSE(C.SP_LOG_VERBOSE);

    internal companion object {
        fun of(value: Int): DittoLogLevel = values().firstOrNull { it.value == value } ?: throw DittoError.Internal(C.SP_ERR_INTERNAL, "unknown log level $value")
    }
}

/** Receives each log message that passes [DittoLogger.minimumLogLevel]; runs on an engine thread. */
interface DittoLogCallback {
    /** One message. */
    fun log(level: DittoLogLevel, message: String)
}

/**
 * The process-wide log output, like Ditto's DittoLogger: console, an optional file and a custom
 * callback. It does not affect each instance's own engine log files, which [exportToFile] reads.
 * Every member is static in Java: `DittoLogger.setMinimumLogLevel(DittoLogLevel.DEBUG)`.
 */
object DittoLogger {
    /** The registered custom callback, guarded by this object's monitor. */
    private var callbackToken: NativeToken? = null

    /** Whether log output is on (default on). */
    @JvmStatic
    var enabled: Boolean
        @Throws(DittoError::class)
        get() = native { outBoolean { SmallPeerNative.sp_logger_get_enabled(it) } }
        @Throws(DittoError::class)
        set(value) = native { SmallPeerNative.sp_logger_set_enabled(value) }

    /** The least severe level shown (default [DittoLogLevel.INFO]). */
    @JvmStatic
    var minimumLogLevel: DittoLogLevel
        @Throws(DittoError::class)
        get() = DittoLogLevel.of(native { outInt { SmallPeerNative.sp_logger_get_minimum_level(it) } })
        @Throws(DittoError::class)
        set(value) = native { SmallPeerNative.sp_logger_set_minimum_level(value.value) }

    /** Also appends shown messages to the file at [path]; null stops that. */
    @JvmStatic
    @Throws(DittoError::class)
    fun setLogFile(path: String?) = native { SmallPeerNative.sp_logger_set_log_file(path) }

    /** Turns the console (stderr) output on (default) or off. */
    @JvmStatic
    @Throws(DittoError::class)
    fun setConsoleEnabled(enabled: Boolean) = native { SmallPeerNative.sp_logger_set_console_enabled(enabled) }

    /**
     * Sends every shown message to [callback] (on an engine thread) instead of the previous custom
     * callback; when this returns, the previous one is not running and never runs again. Null is
     * the same as [unsetCustomLogCallback].
     */
    @JvmStatic
    @Throws(DittoError::class)
    fun setCustomLogCallback(callback: DittoLogCallback?) {
        if (callback == null) return unsetCustomLogCallback()
        val adapter = NativeLogCallback { level, message -> callback.log(DittoLogLevel.of(level), message) }
        val token = NativeToken(native { outLong { SmallPeerNative.sp_logger_add_callback(adapter, it) } })
        // Tokens are freed outside the lock: freeing waits for a running callback, which may call this.
        synchronized(this) { callbackToken.also { callbackToken = token } }?.free()
    }

    /** Kotlin lambdas: `DittoLogger.setCustomLogCallback { level, message -> ... }`. */
    @JvmStatic
    @JvmSynthetic
    @Throws(DittoError::class)
    fun setCustomLogCallback(callback: (DittoLogLevel, String) -> Unit) = setCustomLogCallback(object : DittoLogCallback {
        override fun log(level: DittoLogLevel, message: String) = callback(level, message)
    })

    /** Removes the custom callback, if any: when this returns it is not running and never runs again. */
    @JvmStatic
    fun unsetCustomLogCallback() {
        synchronized(this) { callbackToken.also { callbackToken = null } }?.free()
    }

    /**
     * Exports the engine logs of every [Ditto] open in this process to the file at [path] as one gzip
     * JSON Lines file, oldest line first, and returns the bytes written (with none open, an empty
     * export). Lines at [minimumLogLevel] or more severe (default debug: every line the engine logs
     * hold), written in [since, until], newest kept within [maxBytes]: the engine's one log filter
     * (README "Logs"), as the Big Peer's log requests take it. [since] after [until] and [maxBytes]
     * below 1 throw [DittoError.InvalidArgument] and write nothing. Suspends while the file is
     * written; Java: [exportToFileBlocking].
     */
    @JvmSynthetic
    @Throws(DittoError::class)
    suspend fun exportToFile(
        path: String,
        minimumLogLevel: DittoLogLevel? = null,
        since: Instant? = null,
        until: Instant? = null,
        maxBytes: Long? = null
    ): ULong = Background.run { exportToFileBlocking(path, minimumLogLevel, since, until, maxBytes) }

    /** [exportToFile] blocking the calling thread; Java calls it `DittoLogger.exportToFile(path, ...)` and gets the bytes as a long. */
    @JvmStatic
    @JvmName("exportToFile")
    @JvmOverloads
    @Throws(DittoError::class)
    fun exportToFileBlocking(
        path: String,
        minimumLogLevel: DittoLogLevel? = null,
        since: Instant? = null,
        until: Instant? = null,
        maxBytes: Long? = null
    ): ULong {
        val json = logOptionsJson(minimumLogLevel, since, until, maxBytes)
        return native { outLong { SmallPeerNative.sp_logger_export_to_file(path, json, it) } }.toULong()
    }
}

/** The `options_json` of `sp_ditto_export_logs` / `sp_ditto_send_logs`, or null for the defaults. */
internal fun logOptionsJson(minimumLogLevel: DittoLogLevel?, since: Instant?, until: Instant?, maxBytes: Long?): String? {
    val options = LinkedHashMap<String, Any?>()
    if (minimumLogLevel != null) options["min_level"] = minimumLogLevel.name.toLowerCase(Locale.ROOT)
    if (since != null) options["since"] = since.toString()
    if (until != null) options["until"] = until.toString()
    if (maxBytes != null) options["max_bytes"] = maxBytes
    return if (options.isEmpty()) null else Json.encodeObject(options, "options")
}
