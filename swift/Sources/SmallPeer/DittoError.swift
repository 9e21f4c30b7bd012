import CSmallPeer

/// An error from the SmallPeer engine: one case per C status code (`SP_ERR_*`), each with the engine's message.
public enum DittoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A parameter is malformed: empty, an unknown value, JSON of the wrong shape, a URL that does not parse.
    case invalidArgument(message: String)
    /// Well-formed input breaks a documented limit (metadata over 128 KB or deeper than 64 levels).
    case validation(message: String)
    /// The document or id does not exist.
    case notFound(message: String)
    /// The native instance was closed.
    case closed(message: String)
    /// The file system refused (permissions, a missing directory, a full disk).
    case io(message: String)
    /// The persistence directory is used by another open instance, in this process or another.
    case locked(message: String)
    /// The storage engine failed.
    case store(message: String)
    /// An internal error: a bug in the engine or a library that does not match this package.
    case `internal`(message: String)
    /// A status code this package does not know (a newer library appended it).
    case unknown(status: Int32, message: String)

    /// Builds the error for a failed C call from its status and `sp_last_error_message()`.
    init(status: sp_status_t, message: String) {
        switch status {
        case SP_ERR_INVALID_ARGUMENT: self = .invalidArgument(message: message)
        case SP_ERR_VALIDATION: self = .validation(message: message)
        case SP_ERR_NOT_FOUND: self = .notFound(message: message)
        case SP_ERR_CLOSED: self = .closed(message: message)
        case SP_ERR_IO: self = .io(message: message)
        case SP_ERR_LOCKED: self = .locked(message: message)
        case SP_ERR_STORE: self = .store(message: message)
        case SP_ERR_INTERNAL: self = .internal(message: message)
        default: self = .unknown(status: status, message: message)
        }
    }

    /// The C status code (`SP_ERR_*`) this error carries.
    public var status: Int32 {
        switch self {
        case .invalidArgument: SP_ERR_INVALID_ARGUMENT
        case .validation: SP_ERR_VALIDATION
        case .notFound: SP_ERR_NOT_FOUND
        case .closed: SP_ERR_CLOSED
        case .io: SP_ERR_IO
        case .locked: SP_ERR_LOCKED
        case .store: SP_ERR_STORE
        case .internal: SP_ERR_INTERNAL
        case .unknown(let status, _): status
        }
    }

    /// The engine's explanation of the failure.
    public var message: String {
        switch self {
        case .invalidArgument(let m), .validation(let m), .notFound(let m), .closed(let m), .io(let m),
            .locked(let m), .store(let m), .internal(let m), .unknown(_, let m):
            m
        }
    }

    /// The message followed by the status code, e.g. `metadata is deeper than 64 levels (status 2)`.
    public var description: String { "\(message) (status \(status))" }
}
