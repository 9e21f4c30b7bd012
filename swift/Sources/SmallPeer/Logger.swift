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

/// Which engine log lines `DittoLogger.export(to:from:options:)` writes: the engine's one log filter
/// (README "Logs"); `since` after `until` and `maxBytes` 0 are `DittoError.invalidArgument`.
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

    /// The `options_json` of `sp_ditto_export_logs`, or `nil` for the defaults.
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
/// (debug and above), which `export(to:from:options:)` reads.
public enum DittoLogger {
    private static let callback = Locked<(token: OpaquePointer, delivery: Delivery<(DittoLogLevel, String)>)?>(nil)

    /// Whether log output is on (default `true`).
    public static var enabled: Bool {
        get {
            engineRead("DittoLogger.enabled") {
                var enabled = false
                try check(sp_logger_get_enabled(&enabled))
                return enabled
            }
        }
        set {
            engineRead("DittoLogger.enabled = \(newValue)") { try check(sp_logger_set_enabled(newValue)) }
        }
    }

    /// Only messages at this level or more severe are shown (default `.info`).
    public static var minimumLogLevel: DittoLogLevel {
        get {
            engineRead("DittoLogger.minimumLogLevel") {
                var level: sp_log_level_t = 0
                try check(sp_logger_get_minimum_level(&level))
                guard let value = DittoLogLevel(rawValue: Int(level)) else {
                    throw DittoError.internal(message: "unknown log level \(level)")
                }
                return value
            }
        }
        set {
            engineRead("DittoLogger.minimumLogLevel = .\(newValue)") {
                try check(sp_logger_set_minimum_level(newValue.cValue))
            }
        }
    }

    /// Also appends shown messages to the file at `url` (created if missing); `nil` stops that.
    ///
    /// - Throws: `DittoError.io` if the file cannot be opened; the previous file stays in use.
    public static func setLogFile(_ url: URL?) throws {
        if let url {
            try check(url.path.withCString { sp_logger_set_log_file($0) })
        } else {
            try check(sp_logger_set_log_file(nil))
        }
    }

    /// Turns the console (standard error) output on (default) or off.
    public static func setConsoleEnabled(_ enabled: Bool) {
        engineRead("DittoLogger.setConsoleEnabled(\(enabled))") { try check(sp_logger_set_console_enabled(enabled)) }
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
            let userdata = CallbackRegistry.register(delivery)
            var token: OpaquePointer?
            let status = sp_logger_add_callback(
                { userdata, level, message in
                    guard let message,
                        let delivery = CallbackRegistry.lookup(userdata, as: Delivery<(DittoLogLevel, String)>.self)
                    else { return }
                    delivery.deliver((DittoLogLevel(rawValue: Int(level)) ?? .verbose, String(cString: message)))
                }, userdata, { CallbackRegistry.unregister($0) }, &token)
            guard status == SP_OK, let token else {
                CallbackRegistry.unregister(userdata)
                preconditionFailure(
                    "SmallPeer: DittoLogger.setCustomLogCallback failed: \(String(cString: sp_last_error_message()))")
            }
            current = (token, delivery)
        }
    }

    /// Exports `ditto`'s engine logs to `url` as gzip JSON Lines (one object per line: `ts`, `level`,
    /// `peer`, `component`, `msg`) and returns the number of lines written.
    ///
    /// - Throws: `DittoError.invalidArgument` for contradictory options (`since` after `until`, `maxBytes` 0),
    ///   `.io` if the file cannot be written.
    @discardableResult
    public static func export(to url: URL, from ditto: Ditto, options: DittoLogExportOptions = DittoLogExportOptions())
        throws -> UInt64
    {
        let optionsJSON = try options.json()
        var lines: UInt64 = 0
        let status = url.path.withCString { path in
            if let optionsJSON {
                optionsJSON.withCString { sp_ditto_export_logs(ditto.native.raw, path, $0, &lines) }
            } else {
                sp_ditto_export_logs(ditto.native.raw, path, nil, &lines)
            }
        }
        try check(status)
        return lines
    }

    /// Exports `ditto`'s engine logs to `url` as gzip JSON Lines, off the caller's executor; returns the number of lines.
    @discardableResult
    public static func export(to url: URL, from ditto: Ditto, options: DittoLogExportOptions = DittoLogExportOptions())
        async throws -> UInt64
    {
        try await offloaded { try export(to: url, from: ditto, options: options) }
    }
}
