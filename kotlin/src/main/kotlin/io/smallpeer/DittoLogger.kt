package io.smallpeer

import io.smallpeer.internal.NativeLogCallback
import io.smallpeer.internal.SmallPeerNative
import io.smallpeer.internal.SmallPeerNativeConstants as C
import java.io.File
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
        fun of(value: Int): DittoLogLevel = values().firstOrNull { it.value == value } ?: throw IllegalStateException("unknown log level $value")
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
 */
object DittoLogger {
    /** The registered custom callback, guarded by this object's monitor. */
    private var callbackToken: NativeToken? = null

    /** Whether log output is on (default on). */
    @JvmStatic
    var enabled: Boolean
        get() = native { outBoolean { SmallPeerNative.sp_logger_get_enabled(it) } }
        set(value) = native { SmallPeerNative.sp_logger_set_enabled(value) }

    /** The least severe level shown (default [DittoLogLevel.INFO]). */
    @JvmStatic
    var minimumLogLevel: DittoLogLevel
        get() = DittoLogLevel.of(native { outInt { SmallPeerNative.sp_logger_get_minimum_level(it) } })
        set(value) = native { SmallPeerNative.sp_logger_set_minimum_level(value.value) }

    /** Also appends shown messages to [file]; null stops that. */
    @JvmStatic
    @Throws(DittoError::class)
    fun setLogFile(file: File?) = native { SmallPeerNative.sp_logger_set_log_file(file?.path) }

    /** Turns the console (stderr) output on (default) or off. */
    @JvmStatic
    fun setConsoleEnabled(enabled: Boolean) = native { SmallPeerNative.sp_logger_set_console_enabled(enabled) }

    /**
     * Replaces the custom callback; null removes it. When this returns, the previous callback is not
     * running and never runs again.
     */
    @JvmStatic
    fun setCustomLogCallback(callback: DittoLogCallback?) {
        // Tokens are freed outside the lock: freeing waits for a running callback, which may call this.
        synchronized(this) { callbackToken.also { callbackToken = null } }?.free()
        if (callback == null) return
        val adapter = NativeLogCallback { level, message -> callback.log(DittoLogLevel.of(level), message) }
        val token = NativeToken(native { outLong { SmallPeerNative.sp_logger_add_callback(adapter, it) } })
        synchronized(this) { callbackToken.also { callbackToken = token } }?.free()
    }

    /** Kotlin lambdas: `DittoLogger.setCustomLogCallback { level, message -> ... }`. */
    @JvmStatic
    @JvmSynthetic
    fun setCustomLogCallback(callback: (DittoLogLevel, String) -> Unit) = setCustomLogCallback(object : DittoLogCallback {
        override fun log(level: DittoLogLevel, message: String) = callback(level, message)
    })

    /**
     * Exports [ditto]'s engine logs to [file] as gzip JSON Lines: lines at [minimumLevel] or more
     * severe (default debug: every line the engine log holds), written in [since, until], newest kept
     * within [maxBytes]. Returns the number of lines. The filters follow the engine's one log filter
     * (README "Logs"), as the Big Peer's log requests do: each is optional, [since] after [until] and
     * [maxBytes] below 1 throw [DittoError.InvalidArgument] and write nothing.
     */
    @JvmStatic
    @JvmOverloads
    @Throws(DittoError::class)
    fun exportToFile(
        ditto: Ditto,
        file: File,
        minimumLevel: DittoLogLevel? = null,
        since: Instant? = null,
        until: Instant? = null,
        maxBytes: Long? = null
    ): Long {
        val json = logOptionsJson(minimumLevel, since, until, maxBytes)
        return ditto.call { h -> outLong { SmallPeerNative.sp_ditto_export_logs(h, file.path, json, it) } }
    }
}

/** The `options_json` of `sp_ditto_export_logs` / `sp_ditto_send_logs`, or null for the defaults. */
internal fun logOptionsJson(minimumLevel: DittoLogLevel?, since: Instant?, until: Instant?, maxBytes: Long?): String? {
    val options = LinkedHashMap<String, Any?>()
    if (minimumLevel != null) options["min_level"] = minimumLevel.name.toLowerCase(Locale.ROOT)
    if (since != null) options["since"] = since.toString()
    if (until != null) options["until"] = until.toString()
    if (maxBytes != null) options["max_bytes"] = maxBytes
    return if (options.isEmpty()) null else Json.encodeObject(options, "options")
}
