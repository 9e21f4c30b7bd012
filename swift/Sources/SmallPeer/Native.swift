import CSmallPeer
import Foundation

/// Owns one `sp_ditto_t`: every object of an open `Ditto` shares it, and the last one to go frees it.
///
/// `Ditto.close()` closes the engine instance early (`sp_ditto_close`); the handle itself stays valid,
/// and every later call on it fails with `SP_ERR_CLOSED`, until the last owner frees it.
/// `@unchecked Sendable` is true here: the pointer never changes and the C API is thread-safe.
final class NativeDitto: @unchecked Sendable {
    let raw: OpaquePointer

    init(raw: OpaquePointer) { self.raw = raw }

    deinit { sp_ditto_free(raw) }
}

/// Throws the `DittoError` for a failed C status (read from this thread's `sp_last_error_message()`).
func check(_ status: sp_status_t) throws(DittoError) {
    guard status != SP_OK else { return }
    throw DittoError(status: status, message: String(cString: sp_last_error_message()))
}

/// Throws `.invalidArgument` if `text` contains NUL, where C would silently cut it short.
func requireNoNUL(_ text: String, _ what: String) throws(DittoError) {
    if text.utf8.contains(0) { throw DittoError.invalidArgument(message: "\(what) must not contain NUL characters") }
}

/// Calls a C function that returns an owned string through `char **`, and frees it after copying.
func ownedString(_ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> sp_status_t) throws(DittoError)
    -> String
{
    var out: UnsafeMutablePointer<CChar>?
    try check(body(&out))
    guard let out else { throw DittoError.internal(message: "the engine returned success without a string") }
    defer { sp_free(out) }
    return String(cString: out)
}

/// Runs the body of a settable property's getter or setter, which cannot throw: a failure (a value the
/// engine refuses, or an instance that was closed) is a programmer error, and stops with the engine's
/// message, as Swift's own APIs do. Each such property has throwing twins for values from outside.
/// `what` is an autoclosure: a setter's description (`"… = \(newValue)"`) is built only on failure,
/// not on every call (that interpolation cost a setter hundreds of nanoseconds).
func trapping<T>(_ what: @autoclosure () -> String, _ body: () throws -> T) -> T {
    do {
        return try body()
    } catch {
        preconditionFailure("SmallPeer: \(what()) failed: \(error)")
    }
}

/// Runs blocking engine work off the caller's executor, for the `async` variants of long operations.
func offloaded<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async {
            continuation.resume(with: Result { try body() })
        }
    }
}

/// A value guarded by a lock, for the little mutable state the Swift layer keeps (tokens, flags).
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    /// Runs `body` with exclusive access to the value.
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// JSON text <-> Foundation objects, with the errors this package reports.
enum JSONText {
    /// Minified JSON for a Foundation object (`[String: Any]`, arrays, strings, numbers, booleans, `NSNull`).
    static func encode(_ object: Any, what: String) throws(DittoError) -> String {
        guard JSONSerialization.isValidJSONObject(object) else {
            throw DittoError.invalidArgument(
                message: "\(what) is not a JSON object of strings, numbers, booleans, arrays, dictionaries and NSNull")
        }
        do {
            let data = try JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])
            return String(decoding: data, as: UTF8.self)
        } catch {
            throw DittoError.invalidArgument(
                message: "\(what) cannot be written as JSON: \(error.localizedDescription)")
        }
    }

    /// Parses JSON text from the engine.
    static func decode(_ text: String) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    /// Parses a JSON object from the engine; the engine only ever returns objects where this is used.
    static func object(_ text: String) -> [String: Any] {
        decode(text) as? [String: Any] ?? [:]
    }

    /// Decodes an engine JSON document into a `Decodable` type (snake_case keys).
    static func decode<T: Decodable>(_ type: T.Type, from text: String) throws(DittoError) -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(type, from: Data(text.utf8))
        } catch {
            throw DittoError.internal(message: "unexpected JSON from the engine for \(T.self): \(error)")
        }
    }
}
