package io.smallpeer.tests

import io.smallpeer.Ditto
import io.smallpeer.DittoError
import io.smallpeer.DittoIdentity
import io.smallpeer.DittoSyncScope
import io.smallpeer.DittoTransportConfig
import io.smallpeer.testing.BigPeer
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import java.io.File
import java.time.Duration
import java.util.Date

/** Bad input gets a clear error naming the problem and changes nothing (SPEC section 9). */
class KotlinErrorsTest {
    private lateinit var dir: File
    private lateinit var ditto: Ditto

    @BeforeEach
    fun open() {
        dir = BigPeer.tempDirectory()
        ditto = Ditto(dir)
        ditto.smallPeerInfo.metadata = mapOf("keep" to "me")
    }

    @AfterEach
    fun close() {
        ditto.close()
        dir.deleteRecursively()
    }

    private fun nested(levels: Int): Map<String, Any?> {
        var value: Map<String, Any?> = mapOf("leaf" to 1L)
        repeat(levels - 1) { value = mapOf("n" to value) }
        return value
    }

    @Test
    fun `metadata over the limits is refused and the old metadata stays`() {
        ditto.smallPeerInfo.metadata = nested(64)
        ditto.smallPeerInfo.metadata = mapOf("keep" to "me")
        val deep = assertThrows(DittoError.Validation::class.java) { ditto.smallPeerInfo.metadata = nested(65) }
        assertEquals(2, deep.code)
        assertTrue(deep.message!!.contains("64"), deep.message)
        val big = assertThrows(DittoError.Validation::class.java) { ditto.smallPeerInfo.metadata = mapOf("blob" to "x".repeat(129 * 1024)) }
        assertTrue(big.message!!.contains("128 KB"), big.message)
        val notObject = assertThrows(DittoError.Validation::class.java) { ditto.smallPeerInfo.metadataJsonString = "[1, 2]" }
        assertTrue(notObject.message!!.contains("object"), notObject.message)
        assertThrows(DittoError::class.java) { ditto.smallPeerInfo.metadataJsonString = "{not json" }
        assertEquals(mapOf("keep" to "me"), ditto.smallPeerInfo.metadata)
    }

    @Test
    fun `values that are not JSON are refused by name before reaching the engine`() {
        val e = assertThrows(DittoError.Validation::class.java) { ditto.smallPeerInfo.metadata = mapOf("when" to Date()) }
        assertTrue(e.message!!.contains("metadata.when") && e.message!!.contains("java.util.Date"), e.message)
        val nan = assertThrows(DittoError.Validation::class.java) { ditto.smallPeerInfo.metadata = mapOf("x" to Double.NaN) }
        assertTrue(nan.message!!.contains("metadata.x"), nan.message)
        val nul = assertThrows(DittoError.InvalidArgument::class.java) { ditto.deviceName = "a\u0000b" }
        assertTrue(nul.message!!.contains("NUL"), nul.message)
        val surrogate = assertThrows(DittoError.InvalidArgument::class.java) { ditto.smallPeerInfo.metadataJsonString = "{\"k\":\"\ud800\"}" }
        assertTrue(surrogate.message!!.contains("surrogate"), surrogate.message)
        ditto.deviceName = "pair \ud83c\udf32" // a surrogate pair is one character, and fine
        assertEquals("pair 🌲", ditto.deviceName)
        assertEquals(mapOf("keep" to "me"), ditto.smallPeerInfo.metadata)
    }

    @Test
    fun `settings out of range are refused`() {
        val interval = assertThrows(DittoError.InvalidArgument::class.java) { ditto.smallPeerInfo.collectionInterval = Duration.ofMillis(999) }
        assertTrue(interval.message!!.contains("1000") || interval.message!!.contains("1 s"), interval.message)
        assertEquals(Duration.ofMinutes(5), ditto.smallPeerInfo.collectionInterval)
        assertThrows(DittoError.InvalidArgument::class.java) { ditto.deviceName = "" }
        assertThrows(DittoError.InvalidArgument::class.java) { ditto.deviceName = "x".repeat(257) }
        assertThrows(DittoError::class.java) { ditto.store.collection("__small_peer_info").syncScope = DittoSyncScope.AllPeers }
        assertThrows(DittoError::class.java) { ditto.store.collection("").upsert(mapOf("a" to 1L)) }
        assertThrows(DittoError::class.java) { ditto.store.collection("docs").upsert(mapOf("_id" to 42L)) }
    }

    @Test
    fun `transport URLs that do not parse change nothing`() {
        val good = DittoTransportConfig().apply { connect.websocketURLs.add("ws://127.0.0.1:9/sync") }
        ditto.transportConfig = good
        val bad = assertThrows(DittoError.InvalidArgument::class.java) {
            ditto.transportConfig = DittoTransportConfig().apply { connect.websocketURLs.add("not a url") }
        }
        assertEquals(1, bad.code)
        assertTrue(bad.message!!.contains("not a url"), bad.message)
        assertThrows(DittoError.InvalidArgument::class.java) {
            ditto.transportConfig = DittoTransportConfig().apply { connect.websocketURLs.add("ws://example.com/sync") }
        }
        assertEquals(good, ditto.transportConfig)
    }

    @Test
    fun `Big Peer URLs need an online identity`() {
        ditto.transportConfig = DittoTransportConfig().apply { connect.websocketURLs.add("ws://127.0.0.1:9/sync") }
        assertThrows(DittoError::class.java) { ditto.startSync() }
    }

    @Test
    fun `a directory in use or unwritable cannot be opened`() {
        val locked = assertThrows(DittoError.Locked::class.java) { Ditto(dir) }
        assertEquals(6, locked.code)
        val file = File(dir, "a-file")
        file.writeText("not a directory")
        val io = assertThrows(DittoError::class.java) { Ditto(File(file, "sub")) }
        assertTrue(io is DittoError.Io || io is DittoError.InvalidArgument, io.toString())
        assertThrows(DittoError.InvalidArgument::class.java) { Ditto(File(""), DittoIdentity.OfflinePlayground()) }
    }
}
