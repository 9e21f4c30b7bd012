import CSmallPeer
import Dispatch
import Foundation

/// Log levels, most severe first.
public enum DittoLogLevel: Int, CaseIterable, Sendable, Comparable {
    /// Failures.
    case error = 1
    /// Problems the engine works around.
    case warning = 2
    /// What the engine does, at a glance (the default minimum).
    case info = 3
    /// Detail for debugging.
    case debug = 4
    /// Everything.
    case verbose = 5

    /// The C value (`SP_LOG_*`).
    var cValue: sp_log_level_t { sp_log_level_t(rawValue) }

    /// The name the engine's export options use (`"error"` … `"verbose"`).
    var name: String { String(describing: self) }

    /// `a < b` when `a` is more severe than `b`.
    public static func < (a: DittoLogLevel, b: DittoLogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// Which engine log lines `DittoLogger.export(to:options:)` and `Ditto.sendLogs(options:)` write: the
/// engine's one log filter (README "Logs"); `since` after `until` and `maxBytes` 0 are `DittoError.invalidArgument`.
public struct DittoLogExportOptions: Sendable, Equatable {
    /// The least severe level included (`nil`: everything the engine kept, debug and above).
    public var minimumLogLevel: DittoLogLevel?
    /// Only lines at or after this time.
    public var since: Date?
    /// Only lines at or before this time.
    public var until: Date?
    /// At most this many bytes of uncompressed lines; the newest lines are kept.
    public var maxBytes: UInt64?

    /// Options; the defaults export every line the engine kept.
    public init(minimumLogLevel: DittoLogLevel? = nil, since: Date? = nil, until: Date? = nil, maxBytes: UInt64? = nil)
    {
        self.minimumLogLevel = minimumLogLevel
        self.since = since
        self.until = until
        self.maxBytes = maxBytes
    }

    /// The engine's `options_json`, or `nil` for the defaults.
    func json() throws(DittoError) -> String? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var object: [String: Any] = [:]
        if let minimumLogLevel { object["min_level"] = minimumLogLevel.name }
        if let since { object["since"] = formatter.string(from: since) }
        if let until { object["until"] = formatter.string(from: until) }
        if let maxBytes { object["max_bytes"] = maxBytes }
        return object.isEmpty ? nil : try JSONText.encode(object, what: "the export options")
    }
}

/// The process-wide log output, like Ditto's `DittoLogger`: console, an optional file and a custom callback.
///
/// These settings govern that output only; every `Ditto` also keeps its own rotating engine log files
/// (debug and above), which `export(to:options:)` reads. The settable properties trap with the engine's
/// message if it refuses; `setEnabled(_:)` and `setMinimumLogLevel(_:)` throw instead.
public enum DittoLogger {
    private static let callback = Locked<(token: OpaquePointer, delivery: Delivery<(DittoLogLevel, String)>)?>(nil)

    /// Whether log output is on (default `true`).
    public static var enabled: Bool {
        get {
            trapping("reading DittoLogger.enabled") {
                var enabled = false
                try check(sp_logger_get_enabled(&enabled))
                return enabled
            }
        }
        set { trapping("DittoLogger.enabled = \(newValue)") { try setEnabled(newValue) } }
    }

    /// Turns log output on or off (see `enabled`).
    public static func setEnabled(_ enabled: Bool) throws {
        try check(sp_logger_set_enabled(enabled))
    }

    /// Only messages at this level or more severe are shown (default `.info`).
    public static var minimumLogLevel: DittoLogLevel {
        get {
            trapping("reading DittoLogger.minimumLogLevel") {
                var level: sp_log_level_t = 0
                try check(sp_logger_get_minimum_level(&level))
                guard let value = DittoLogLevel(rawValue: Int(level)) else {
                    throw DittoError.internal(message: "unknown log level \(level)")
                }
                return value
            }
        }
        set { trapping("DittoLogger.minimumLogLevel = .\(newValue)") { try setMinimumLogLevel(newValue) } }
    }

    /// Shows only messages at `level` or more severe (see `minimumLogLevel`).
    public static func setMinimumLogLevel(_ level: DittoLogLevel) throws {
        try check(sp_logger_set_minimum_level(level.cValue))
    }

    /// Also appends shown messages to the file at `path` (created if missing); `nil` stops that.
    ///
    /// - Throws: `DittoError.io` if the file cannot be opened; the previous file stays in use.
    public static func setLogFile(_ path: String?) throws {
        if let path {
            try requireNoNUL(path, "the log file path")
            try check(path.withCString { sp_logger_set_log_file($0) })
        } else {
            try check(sp_logger_set_log_file(nil))
        }
    }

    /// Also appends shown messages to the file at `url` (a file URL); `nil` stops that.
    ///
    /// - Throws: `DittoError.io` if the file cannot be opened; the previous file stays in use.
    public static func setLogFileURL(_ url: URL?) throws {
        try setLogFile(url?.path)
    }

    /// Turns the console (standard error) output on (default) or off.
    public static func setConsoleEnabled(_ enabled: Bool) {
        trapping("DittoLogger.setConsoleEnabled(\(enabled))") { try check(sp_logger_set_console_enabled(enabled)) }
    }

    /// Sends each shown message to `callback` on `queue`, in order (when `queue` is serial); `nil`
    /// removes the callback. Replaces any previous callback, which is never called again.
    public static func setCustomLogCallback(
        deliverOn queue: DispatchQueue = .main,
        _ callback: (@Sendable (DittoLogLevel, String) -> Void)?
    ) {
        // Held throughout, so concurrent calls replace one another cleanly. The C callback only queues
        // work on `queue`, so waiting for it in sp_token_free never needs this lock.
        Self.callback.withLock { current in
            if let old = current {
                old.delivery.cancel()
                sp_token_free(old.token)
                current = nil
            }
            guard let callback else { return }
            let delivery = Delivery<(DittoLogLevel, String)>(queue: queue) { callback($0.0, $0.1) }
            var token: OpaquePointer?
            // On failure the C side has already released the userdata through its free function.
            let status = sp_logger_add_callback(
                { userdata, level, message in
                    guard let message,
                        let delivery = CallbackUserdata.object(userdata, as: Delivery<(DittoLogLevel, String)>.self)
                    else { return }
                    delivery.deliver((DittoLogLevel(rawValue: Int(level)) ?? .verbose, String(cString: message)))
                }, CallbackUserdata.retain(delivery), CallbackUserdata.free, &token)
            guard status == SP_OK, let token else {
                preconditionFailure(
                    "SmallPeer: DittoLogger.setCustomLogCallback failed: \(String(cString: sp_last_error_message()))")
            }
            current = (token, delivery)
        }
    }

    /// Removes the custom log callback, if any; it is never called again.
    public static func unsetCustomLogCallback() {
        setCustomLogCallback(nil)
    }

    /// Exports the engine logs of every `Ditto` open in this process to `url` as one gzip JSON Lines file
    /// (one object per line: `ts`, `level`, `peer`, `component`, `msg`; oldest first) and returns the bytes written.
    /// With no instance open it writes an empty export.
    ///
    /// - Throws: `DittoError.invalidArgument` for contradictory options (`since` after `until`, `maxBytes` 0),
    ///   `.io` if the file cannot be written.
    @discardableResult
    public static func export(to url: URL, options: DittoLogExportOptions = DittoLogExportOptions()) throws -> UInt64 {
        let optionsJSON = try options.json()
        let path = url.path
        try requireNoNUL(path, "the export path")
        var bytes: UInt64 = 0
        let status = path.withCString { path in
            if let optionsJSON {
                optionsJSON.withCString { sp_logger_export_to_file(path, $0, &bytes) }
            } else {
                sp_logger_export_to_file(path, nil, &bytes)
            }
        }
        try check(status)
        return bytes
    }

    /// Exports the engine logs of every open `Ditto` (see `export(to:options:)`) off the caller's executor; returns the bytes written.
    @discardableResult
    public static func export(to url: URL, options: DittoLogExportOptions = DittoLogExportOptions()) async throws
        -> UInt64
    {
        try await offloaded { try export(to: url, options: options) }
    }
}
