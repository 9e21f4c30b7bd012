package io.smallpeer

import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.atomic.AtomicInteger
import kotlin.coroutines.suspendCoroutine

/**
 * The threads the `suspend` variants run their blocking call on, so a coroutine never blocks its
 * dispatcher. The standard library's suspendCoroutine is enough: the JVM binding depends on no
 * coroutines library (Debian's kotlinx-coroutines is 1.0.1, and the jar ships only kotlin-stdlib
 * and Gson as dependencies). Cancelling the coroutine does not interrupt the call under way.
 */
internal object Background {
    private val counter = AtomicInteger()

    /** Daemon threads, created on demand and reused; none outlives its idle minute. */
    private val executor: ExecutorService = Executors.newCachedThreadPool { runnable ->
        Thread(runnable, "smallpeer-blocking-${counter.incrementAndGet()}").apply { isDaemon = true }
    }

    /** Runs [block] on a background thread and resumes with its result or its exception. */
    suspend fun <T> run(block: () -> T): T = suspendCoroutine { continuation ->
        executor.execute { continuation.resumeWith(runCatching(block)) }
    }
}
