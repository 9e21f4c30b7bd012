package io.smallpeer

import io.smallpeer.internal.NativeException
import io.smallpeer.internal.SmallPeerNativeConstants as C

/**
 * A failed SmallPeer call: [code] is the C API's status (SPEC section 9), the subclass is its kind
 * and the message says what was wrong. Every failure of the API is a DittoError, a bad value and a
 * closed instance included: no call throws a bare IllegalArgumentException or IllegalStateException.
 */
sealed class DittoError(
    /** The C status code (SP_ERR_*). */
    @JvmField val code: Int,
    message: String
) : Exception(message) {
    /** A parameter is malformed (empty name, unknown value, JSON of the wrong shape, bad URL). */
    class InvalidArgument(message: String) : DittoError(C.SP_ERR_INVALID_ARGUMENT, message)

    /** Well-formed input breaks a documented limit (metadata size or depth, document shape). */
    class Validation(message: String) : DittoError(C.SP_ERR_VALIDATION, message)

    /** The [Ditto] (or an object it handed out) was used after [Ditto.close]. */
    class Closed(message: String) : DittoError(C.SP_ERR_CLOSED, message)

    /** The document or id does not exist. */
    class NotFound(message: String) : DittoError(C.SP_ERR_NOT_FOUND, message)

    /** The file system refused (permissions, missing directory, disk full). */
    class Io(message: String) : DittoError(C.SP_ERR_IO, message)

    /** The persistence directory is used by another open instance. */
    class Locked(message: String) : DittoError(C.SP_ERR_LOCKED, message)

    /** The storage engine failed. */
    class Store(message: String) : DittoError(C.SP_ERR_STORE, message)

    /** An internal error (a bug), or a status this version does not know. */
    class Internal(code: Int, message: String) : DittoError(code, message)
}

/** Runs a raw native call, turning its NativeException into the public error. */
internal inline fun <T> native(block: () -> T): T =
    try {
        block()
    } catch (e: NativeException) {
        throw e.toPublic()
    }

/** The public exception for a failed C status. */
internal fun NativeException.toPublic(): DittoError {
    val text = message ?: "SmallPeer call failed with status $code"
    return when (code) {
        C.SP_ERR_CLOSED -> DittoError.Closed(text)
        C.SP_ERR_INVALID_ARGUMENT -> DittoError.InvalidArgument(text)
        C.SP_ERR_VALIDATION -> DittoError.Validation(text)
        C.SP_ERR_NOT_FOUND -> DittoError.NotFound(text)
        C.SP_ERR_IO -> DittoError.Io(text)
        C.SP_ERR_LOCKED -> DittoError.Locked(text)
        C.SP_ERR_STORE -> DittoError.Store(text)
        else -> DittoError.Internal(code, text)
    }
}
