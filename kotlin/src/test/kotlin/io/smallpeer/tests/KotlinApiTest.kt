package io.smallpeer.tests

import io.smallpeer.Ditto
import io.smallpeer.DittoChange
import io.smallpeer.DittoChangeKind
import io.smallpeer.DittoError
import io.smallpeer.DittoIdentity
import io.smallpeer.DittoLogLevel
import io.smallpeer.DittoLogger
import io.smallpeer.DittoSmallPeerInfoSyncScope
import io.smallpeer.DittoSyncScope
import io.smallpeer.DittoTransportConfig
import io.smallpeer.testing.BigPeer
import io.smallpeer.testing.blocking
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import java.io.File
import java.time.Duration
import java.time.Instant
import java.util.concurrent.CopyOnWriteArrayList
import java.util.zip.GZIPInputStream

/** Every row of SPEC section 3, from Kotlin. */
class KotlinApiTest {
    private lateinit var dir: File
    private lateinit var ditto: Ditto

    @BeforeEach
    fun open() {
        dir = BigPeer.tempDirectory()
        ditto = Ditto(dir, DittoIdentity.OfflinePlayground("kotlin-api"), deviceName = "kotlin-device")
    }

    @AfterEach
    fun close() {
        ditto.close()
        dir.deleteRecursively()
    }

    @Test
    fun `opens a small peer with a persistence directory, identity and device name`() {
        assertEquals(dir, ditto.persistenceDirectory)
        assertTrue(Ditto.version.matches(Regex("\\d+\\.\\d+\\.\\d+.*")), Ditto.version)
        assertEquals("kotlin-device", ditto.deviceName)
        assertTrue(File(dir, "peer_identity.key").exists())
        val doc = blocking { ditto.smallPeerInfo.collectNow() }
        assertEquals("Kotlin", doc["ditto_sdk_language"])
        assertEquals(ditto.presence.localPeerKey, doc["_id"])
    }

    @Test
    fun `identities say what they are and hide the token`() {
        val online = DittoIdentity.OnlinePlayground("app", "secret-token")
        assertEquals("app", online.appId)
        assertFalse(online.toString().contains("secret-token"))
        assertNull(DittoIdentity.OfflinePlayground().appId)
    }

    @Test
    fun `small peer info is off by default and writes a document when turned on`() {
        assertFalse(ditto.smallPeerInfo.isEnabled)
        assertNull(ditto.smallPeerInfo.document)
        ditto.smallPeerInfo.isEnabled = true
        assertTrue(ditto.smallPeerInfo.isEnabled)
        assertTrue(BigPeer.eventually(5000) { ditto.smallPeerInfo.document != null })
        ditto.smallPeerInfo.isEnabled = false
        assertFalse(ditto.smallPeerInfo.isEnabled)
    }

    @Test
    fun `sync scope defaults to LocalPeerOnly and is reported`() {
        assertEquals(DittoSmallPeerInfoSyncScope.LocalPeerOnly, ditto.smallPeerInfo.syncScope)
        ditto.smallPeerInfo.syncScope = DittoSmallPeerInfoSyncScope.BigPeerOnly
        assertEquals(DittoSmallPeerInfoSyncScope.BigPeerOnly, ditto.smallPeerInfo.syncScope)
        assertEquals("BigPeerOnly", ditto.smallPeerInfo.collectNowBlocking()["sync_scope"])
        assertEquals(DittoSyncScope.BigPeerOnly, ditto.store.collection("__small_peer_info").syncScope)
    }

    @Test
    fun `metadata round-trips as a map and as JSON text`() {
        assertEquals(emptyMap<String, Any?>(), ditto.smallPeerInfo.metadata)
        val metadata = mapOf("site" to "north 🌲", "floor" to 3L, "ratio" to 0.5, "tags" to listOf("a", "b"),
            "nested" to mapOf("ok" to true, "none" to null))
        ditto.smallPeerInfo.metadata = metadata
        assertEquals(metadata, ditto.smallPeerInfo.metadata)
        assertEquals(metadata, ditto.smallPeerInfo.collectNowBlocking()["metadata"])
        ditto.smallPeerInfo.metadataJsonString = """{"x": [1, 2]}"""
        assertEquals("""{"x":[1,2]}""", ditto.smallPeerInfo.metadataJsonString)
        assertEquals(mapOf("x" to listOf(1L, 2L)), ditto.smallPeerInfo.metadata)
    }

    @Test
    fun `device name and collection interval are settings`() {
        ditto.deviceName = "renamed ✓"
        assertEquals("renamed ✓", ditto.deviceName)
        assertEquals("renamed ✓", ditto.smallPeerInfo.collectNowBlocking()["device_name"])
        assertEquals(Duration.ofMinutes(5), ditto.smallPeerInfo.collectionInterval)
        ditto.smallPeerInfo.collectionInterval = Duration.ofSeconds(1)
        assertEquals(Duration.ofSeconds(1), ditto.smallPeerInfo.collectionInterval)
    }

    @Test
    fun `collectNow writes the document at once and counts up`() {
        val first = blocking { ditto.smallPeerInfo.collectNow() }
        val second = ditto.smallPeerInfo.collectNowBlocking()
        assertEquals((first["sequence"] as Long) + 1, second["sequence"])
        assertEquals(second, ditto.smallPeerInfo.document)
        assertEquals(1L, first["schema_version"])
    }

    @Test
    fun `transport config round-trips and starts a LAN listener`() {
        val config = DittoTransportConfig().apply {
            connect.tcpServers.add("127.0.0.1:1")
            listen.tcp.isEnabled = true
            listen.tcp.port = 0
        }
        ditto.transportConfig = config
        assertEquals(config, ditto.transportConfig)
        assertFalse(ditto.isSyncActive)
        assertNull(ditto.lanPort, "not listening: no port")
        ditto.startSync()
        assertTrue(ditto.isSyncActive)
        assertTrue(ditto.lanPort!! > 0)
        ditto.stopSync()
        assertFalse(ditto.isSyncActive)
    }

    @Test
    fun `store upserts, finds, pages, removes and lists collections`() {
        val cars = ditto.store.collection("cars")
        val id = cars.upsert(mapOf("make" to "Volvo", "year" to 1999L))
        assertEquals(mapOf("_id" to id, "make" to "Volvo", "year" to 1999L), cars.findById(id))
        assertEquals("fixed", cars.upsert(mapOf("_id" to "fixed", "make" to "Saab")))
        assertEquals(listOf(id, "fixed").sorted(), cars.findAll().map { it["_id"] })
        assertEquals(listOf("cars"), ditto.store.collectionNames)
        assertTrue(cars.remove("fixed"))
        assertFalse(cars.remove("fixed"))
        assertNull(cars.findById("fixed"))
        val many = ditto.store.collection("many")
        for (i in 0 until 1001) many.upsert(mapOf("_id" to "doc%04d".format(i)))
        val all = many.findAll()
        assertEquals(1001, all.size)
        assertEquals("doc1000", all.last()["_id"])
    }

    @Test
    fun `store execute runs a DQL query and names a bad one`() {
        val cars = ditto.store.collection("cars")
        cars.upsert(mapOf("_id" to "c1", "make" to "Volvo", "seats" to 5L))
        cars.upsert(mapOf("_id" to "c2", "make" to "Saab", "seats" to 4L))
        val result = blocking { ditto.store.execute("SELECT make FROM cars WHERE seats >= :min ORDER BY seats DESC", mapOf("min" to 4L)) }
        assertEquals(listOf(mapOf("make" to "Volvo"), mapOf("make" to "Saab")), result.items.map { it.value })
        assertEquals("{\"make\":\"Volvo\"}", result.items[0].jsonString())
        assertEquals(listOf(mapOf("count" to 2L)), ditto.store.executeBlocking("SELECT COUNT(*) FROM cars").items.map { it.value })
        val error = assertThrows(DittoError.InvalidArgument::class.java) { ditto.store.executeBlocking("SELECT * cars") }
        assertTrue(error.message!!.contains("expected FROM at position 10"), error.message)
    }

    @Test
    fun `store observers see upserts and removals in order`() {
        val changes = CopyOnWriteArrayList<DittoChange>()
        val observer = ditto.store.collection("events").observe { changes.add(it) }
        ditto.store.collection("events").upsert(mapOf("_id" to "a", "n" to 1L))
        ditto.store.collection("events").remove("a")
        assertTrue(BigPeer.eventually(5000) { changes.size == 2 })
        assertEquals(DittoChange("events", "a", DittoChangeKind.Upsert, mapOf("_id" to "a", "n" to 1L)), changes[0])
        assertEquals(DittoChange("events", "a", DittoChangeKind.Remove, null), changes[1])
        observer.close()
        assertFalse(observer.isActive)
    }

    @Test
    fun `user collections have persisted sync scopes`() {
        val c = ditto.store.collection("private")
        assertEquals(DittoSyncScope.AllPeers, c.syncScope)
        c.syncScope = DittoSyncScope.LocalPeerOnly
        assertEquals(DittoSyncScope.LocalPeerOnly, c.syncScope)
        c.syncScope = DittoSyncScope.SmallPeersOnly
        ditto.close()
        ditto = Ditto(dir)
        assertEquals(DittoSyncScope.SmallPeersOnly, ditto.store.collection("private").syncScope)
    }

    @Test
    fun `presence shows the local key and LAN peers`() {
        val key = ditto.presence.localPeerKey
        assertTrue(key.startsWith("pk") && key.length == 45, key)
        val graph = ditto.presence.graph
        assertEquals(key, graph.localPeerKey)
        assertFalse(graph.isConnectedToBigPeer)
        assertTrue(graph.peers.isEmpty())
        ditto.transportConfig = DittoTransportConfig().apply { listen.tcp.isEnabled = true }
        ditto.startSync()
        val otherDir = BigPeer.tempDirectory()
        Ditto(otherDir, DittoIdentity.OfflinePlayground("kotlin-api"), deviceName = "neighbour").use { other ->
            other.transportConfig = DittoTransportConfig().apply { connect.tcpServers.add("127.0.0.1:${ditto.lanPort}") }
            other.startSync()
            assertTrue(BigPeer.eventually(20_000) { ditto.presence.graph.peers.any { it.deviceName == "neighbour" } }, ditto.presence.graph.toString())
            val peer = ditto.presence.graph.peers.first { it.deviceName == "neighbour" }
            assertEquals(other.presence.localPeerKey, peer.peerKey)
            assertEquals("AccessPoint", peer.transport)
            assertFalse(peer.isBigPeer)
            assertEquals(1L, ditto.presence.graph.connectionsByTransport["AccessPoint"])
            // User documents replicate over the LAN connection.
            ditto.store.collection("shared").upsert(mapOf("_id" to "hello", "from" to "kotlin"))
            assertTrue(BigPeer.eventually(20_000) { other.store.collection("shared").findById("hello") != null })
        }
        otherDir.deleteRecursively()
    }

    @Test
    fun `logger settings, log file, custom callback and export`() {
        val logFile = File(dir, "user.log")
        val messages = CopyOnWriteArrayList<Pair<DittoLogLevel, String>>()
        val oldLevel = DittoLogger.minimumLogLevel
        try {
            assertTrue(DittoLogger.enabled)
            DittoLogger.enabled = false
            assertFalse(DittoLogger.enabled)
            DittoLogger.enabled = true
            DittoLogger.minimumLogLevel = DittoLogLevel.WARNING
            assertEquals(DittoLogLevel.WARNING, DittoLogger.minimumLogLevel)
            DittoLogger.setConsoleEnabled(false)
            DittoLogger.setLogFile(logFile.path)
            DittoLogger.setCustomLogCallback { level, message -> messages.add(level to message) }
            ditto.log(DittoLogLevel.INFO, "kotlin info below the level")
            ditto.log(DittoLogLevel.ERROR, "kotlin error shown")
            assertTrue(BigPeer.eventually(5000) { messages.any { it.second.contains("kotlin error shown") } })
            assertEquals(DittoLogLevel.ERROR, messages.first { it.second.contains("kotlin error shown") }.first)
            assertFalse(messages.any { it.second.contains("below the level") })
            assertTrue(BigPeer.eventually(5000) { logFile.exists() && logFile.readText().contains("kotlin error shown") })
        } finally {
            DittoLogger.unsetCustomLogCallback()
            DittoLogger.setLogFile(null)
            DittoLogger.setConsoleEnabled(true)
            DittoLogger.minimumLogLevel = oldLevel
        }
        val export = File(dir, "export.jsonl.gz")
        val bytes = blocking { DittoLogger.exportToFile(export.path, minimumLogLevel = DittoLogLevel.DEBUG, since = Instant.now().minusSeconds(3600)) }
        assertEquals(export.length().toULong(), bytes, "exportToFile returns the bytes written")
        val text = GZIPInputStream(export.inputStream()).bufferedReader().readText()
        assertTrue(text.contains("kotlin info below the level"), "the engine log keeps debug and above whatever the user's level")
        val lines = text.lineSequence().filter { it.isNotEmpty() }.count()
        val capped = File(dir, "capped.jsonl.gz")
        DittoLogger.exportToFileBlocking(capped.path, maxBytes = 200L)
        assertTrue(GZIPInputStream(capped.inputStream()).bufferedReader().readText().lineSequence().filter { it.isNotEmpty() }.count() < lines)
    }

    @Test
    fun `exportToFile refuses contradictory filters and writes nothing`() {
        val now = Instant.now()
        val backwards = File(dir, "backwards.gz")
        val error = assertThrows(DittoError.InvalidArgument::class.java) {
            DittoLogger.exportToFileBlocking(backwards.path, since = now, until = now.minusSeconds(60))
        }
        assertEquals("since is after until", error.message)
        assertFalse(backwards.exists(), "a refused export wrote a file")
        val zero = assertThrows(DittoError.InvalidArgument::class.java) {
            blocking { DittoLogger.exportToFile(File(dir, "zero.gz").path, maxBytes = 0L) }
        }
        assertTrue(zero.message!!.contains("max_bytes must be a positive integer"), zero.message)
    }
}
