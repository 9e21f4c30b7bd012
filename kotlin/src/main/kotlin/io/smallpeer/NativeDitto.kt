package io.smallpeer

import io.smallpeer.internal.SmallPeerNative
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicLong
import java.util.concurrent.locks.ReentrantReadWriteLock

/**
 * Owns one sp_ditto_t and the tokens registered on it. Calls share a read lock; closing takes the
 * write lock, so the handle is never freed under a running call. Once closing has begun new calls
 * fail at once (a callback that calls back in during close gets DittoError.Closed, not a
 * deadlock). It is also the Cleaner's action, so it holds no reference to the Ditto object.
 */
internal class NativeDitto(pointer: Long) : Runnable {
    private var pointer: Long = pointer
    private val lock = ReentrantReadWriteLock()
    @Volatile private var closing = false
    private val tokens = LinkedHashSet<NativeToken>()

    /** Whether close() has begun. */
    val isClosed: Boolean get() = closing

    /** Runs [block] with the live handle; DittoError.Closed once closed; native errors become DittoError. */
    fun <T> call(block: (Long) -> T): T {
        if (closing) throw closedError()
        val read = lock.readLock()
        // Waits only while close() holds the lock, and gives up as soon as closing is seen: a
        // callback calling in must not block the close() that is waiting for that callback.
        while (!read.tryLock(20, TimeUnit.MILLISECONDS)) {
            if (closing) throw closedError()
        }
        try {
            val p = pointer
            if (p == 0L) throw closedError()
            return native { block(p) }
        } finally {
            read.unlock()
        }
    }

    /** Remembers a token so that close() frees it first. */
    fun adopt(token: NativeToken) {
        synchronized(tokens) { tokens.add(token) }
    }

    /** Forgets a token its owner freed. */
    fun forget(token: NativeToken) {
        synchronized(tokens) { tokens.remove(token) }
    }

    /** Frees every token (their callbacks stop), then the handle. Idempotent. */
    fun close() {
        closing = true
        val write = lock.writeLock()
        write.lock()
        try {
            val pending = synchronized(tokens) { tokens.toList().also { tokens.clear() } }
            pending.forEach { it.free() }
            if (pointer != 0L) {
                SmallPeerNative.sp_ditto_free(pointer)
                pointer = 0L
            }
        } finally {
            write.unlock()
        }
    }

    /** The Cleaner's fallback when a Ditto was never closed. */
    override fun run() = close()

    private fun closedError() = DittoError.Closed("the Ditto instance is closed")
}

/** One sp_token_t; free() unregisters its callback exactly once. */
internal class NativeToken(pointer: Long) {
    private val pointer = AtomicLong(pointer)

    /** Whether the callback is still registered. */
    val isActive: Boolean get() = pointer.get() != 0L

    /** Unregisters: when this returns the callback is not running and never runs again. */
    fun free() {
        val p = pointer.getAndSet(0L)
        if (p != 0L) SmallPeerNative.sp_token_free(p)
    }
}
