package io.smallpeer.testing

import java.util.concurrent.CountDownLatch
import kotlin.coroutines.Continuation
import kotlin.coroutines.EmptyCoroutineContext
import kotlin.coroutines.startCoroutine

/**
 * Runs a suspend function to completion and returns its result (or throws its exception): the
 * tests' runBlocking, from the standard library alone, as the binding uses no coroutines library.
 */
fun <T> blocking(block: suspend () -> T): T {
    val done = CountDownLatch(1)
    var value: T? = null
    var error: Throwable? = null
    block.startCoroutine(Continuation(EmptyCoroutineContext) { result ->
        result.fold({ value = it }, { error = it })
        done.countDown()
    })
    done.await()
    error?.let { throw it }
    @Suppress("UNCHECKED_CAST")
    return value as T
}
