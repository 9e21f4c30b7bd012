package io.smallpeer.tests

import io.smallpeer.Ditto
import io.smallpeer.DittoChange
import io.smallpeer.DittoChangeListener
import io.smallpeer.DittoError
import io.smallpeer.DittoLogLevel
import io.smallpeer.DittoLogger
import io.smallpeer.testing.BigPeer
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import java.io.File
import java.lang.ref.WeakReference
import java.util.Collections
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger

/** Callbacks arrive on engine threads attached for the call, never after their observer closes, and leak no thread. */
class KotlinCallbacksTest {
    private lateinit var dir: File
    private lateinit var ditto: Ditto

    @BeforeEach
    fun open() {
        dir = BigPeer.tempDirectory()
        ditto = Ditto(dir)
    }

    @AfterEach
    fun close() {
        ditto.close()
        dir.deleteRecursively()
    }

    @Test
    fun `observer callbacks run on an attached engine thread, in order`() {
        val threads = Collections.synchronizedSet(HashSet<String>())
        val ids = CopyOnWriteArrayList<String>()
        val observer = ditto.store.collection("c").observe { change ->
            threads.add(Thread.currentThread().name)
            assertNotEquals("main", Thread.currentThread().name)
            ids.add(change.id)
        }
        for (i in 0 until 50) ditto.store.collection("c").upsert(mapOf("_id" to "d$i"))
        assertTrue(BigPeer.eventually(10_000) { ids.size == 50 })
        assertEquals((0 until 50).map { "d$it" }, ids.toList())
        assertEquals(setOf("smallpeer-callback"), threads.toSet())
        observer.close()
    }

    @Test
    fun `a closed observer is never called again`() {
        val closedCalls = AtomicInteger()
        val first = ditto.store.collection("c").observe { closedCalls.incrementAndGet() }
        first.close()
        val seen = CountDownLatch(1)
        val second = ditto.store.collection("c").observe { if (it.id == "last") seen.countDown() }
        for (i in 0 until 20) ditto.store.collection("c").upsert(mapOf("_id" to "x$i"))
        ditto.store.collection("c").upsert(mapOf("_id" to "last"))
        assertTrue(seen.await(10, TimeUnit.SECONDS))
        assertEquals(0, closedCalls.get())
        second.close()
    }

    @Test
    fun `close waits for a running callback`() {
        val entered = CountDownLatch(1)
        val release = CountDownLatch(1)
        val finished = AtomicBoolean(false)
        val observer = ditto.store.collection("c").observe {
            entered.countDown()
            release.await(10, TimeUnit.SECONDS)
            finished.set(true)
        }
        ditto.store.collection("c").upsert(mapOf("_id" to "slow"))
        assertTrue(entered.await(10, TimeUnit.SECONDS))
        val closer = Thread { observer.close() }
        closer.start()
        closer.join(300)
        assertTrue(closer.isAlive, "close() returned while the callback was still running")
        release.countDown()
        closer.join(10_000)
        assertFalse(closer.isAlive)
        assertTrue(finished.get())
    }

    @Test
    fun `a callback may call back into the API, and a throwing one does not stop delivery`() {
        val names = CopyOnWriteArrayList<String>()
        val observer = ditto.store.collection("c").observe { change: DittoChange ->
            if (change.id == "boom") throw IllegalStateException("thrown by a test listener on purpose")
            names.add(ditto.store.collection("c").findById(change.id)!!["_id"] as String)
        }
        ditto.store.collection("c").upsert(mapOf("_id" to "boom"))
        ditto.store.collection("c").upsert(mapOf("_id" to "after"))
        assertTrue(BigPeer.eventually(10_000) { names.contains("after") })
        observer.close()
    }

    @Test
    fun `closing the Ditto closes its observers and leaves no attached thread`() {
        val calls = AtomicInteger()
        val observer = ditto.store.collection("c").observe { calls.incrementAndGet() }
        for (i in 0 until 10) ditto.store.collection("c").upsert(mapOf("_id" to "y$i"))
        assertTrue(BigPeer.eventually(10_000) { calls.get() == 10 })
        ditto.close()
        assertFalse(observer.isActive)
        assertTrue(BigPeer.eventually(5000) { BigPeer.callbackThreads().isEmpty() }, BigPeer.callbackThreads().toString())
        assertThrows(DittoError.Closed::class.java) { ditto.store.collection("c").upsert(mapOf("_id" to "z")) }
        assertEquals(10, calls.get())
    }

    @Test
    fun `a refused registration releases its callback exactly once`() {
        // The engine runs the userdata free function on a failed registration too (smallpeer.h), and
        // the JNI glue then drops only its own reference: the listener becomes unreachable, no crash.
        val refs = ArrayList<WeakReference<Any>>()
        for (i in 0 until 50) {
            val listener = object : DittoChangeListener {
                override fun onChange(change: DittoChange) {}
            }
            refs.add(WeakReference(listener))
            assertThrows(DittoError.InvalidArgument::class.java) { ditto.store.collection("").observe(listener) }
        }
        assertTrue(BigPeer.eventually(10_000) {
            System.gc()
            refs.all { it.get() == null }
        }, "${refs.count { it.get() != null }} refused listeners are still referenced")
    }

    @Test
    fun `log callbacks arrive on an engine thread and stop when removed`() {
        val threads = Collections.synchronizedSet(HashSet<String>())
        val messages = CopyOnWriteArrayList<String>()
        DittoLogger.setConsoleEnabled(false)
        try {
            DittoLogger.setCustomLogCallback { _, message ->
                threads.add(Thread.currentThread().name)
                messages.add(message)
            }
            ditto.log(DittoLogLevel.ERROR, "callback-probe-1")
            assertTrue(BigPeer.eventually(5000) { messages.any { it.contains("callback-probe-1") } })
            assertEquals(setOf("smallpeer-callback"), threads.toSet())
            DittoLogger.unsetCustomLogCallback()
            ditto.log(DittoLogLevel.ERROR, "callback-probe-2")
            // The first callback was removed before probe 2 was logged: it must see neither probe 2 nor probe 3.
            val later = CountDownLatch(1)
            DittoLogger.setCustomLogCallback { _, message -> if (message.contains("callback-probe-3")) later.countDown() }
            ditto.log(DittoLogLevel.ERROR, "callback-probe-3")
            assertTrue(later.await(5, TimeUnit.SECONDS))
            assertFalse(messages.any { it.contains("callback-probe-2") || it.contains("callback-probe-3") })
        } finally {
            DittoLogger.unsetCustomLogCallback()
            DittoLogger.setConsoleEnabled(true)
        }
        assertTrue(BigPeer.eventually(5000) { BigPeer.callbackThreads().isEmpty() })
    }
}
