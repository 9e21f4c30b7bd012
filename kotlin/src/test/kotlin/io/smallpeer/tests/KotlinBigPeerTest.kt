package io.smallpeer.tests

import io.smallpeer.Ditto
import io.smallpeer.DittoError
import io.smallpeer.DittoIdentity
import io.smallpeer.DittoLogLevel
import io.smallpeer.DittoSmallPeerInfoSyncScope
import io.smallpeer.testing.BigPeer
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import java.io.ByteArrayInputStream
import java.io.File
import java.util.zip.GZIPInputStream

/** The documented Kotlin lines against a real Big Peer process. */
class KotlinBigPeerTest {
    private lateinit var bigPeer: BigPeer
    private lateinit var dir: File

    @BeforeEach
    fun start() {
        bigPeer = BigPeer()
        dir = BigPeer.tempDirectory()
    }

    @AfterEach
    fun stop() {
        bigPeer.close()
        dir.deleteRecursively()
    }

    @Test
    fun `the documented Kotlin lines send the Small Peer Info document to the Big Peer`() {
        Ditto(dir, bigPeer.identity(), deviceName = "kotlin-documented").use { ditto ->
            ditto.transportConfig = bigPeer.transportConfig()
            ditto.startSync()
            ditto.smallPeerInfo.metadata = mapOf("suite" to "kotlin")

            ditto.smallPeerInfo.isEnabled = true
            ditto.smallPeerInfo.syncScope = DittoSmallPeerInfoSyncScope.BigPeerOnly

            val key = ditto.presence.localPeerKey
            val doc = bigPeer.waitForDocument("__small_peer_info", key) { it["sync_scope"] == "BigPeerOnly" }
            assertNotNull(doc, "the Big Peer never received $key:\n${bigPeer.log}")
            assertEquals(key, doc!!["_id"])
            assertEquals("Kotlin", doc["ditto_sdk_language"])
            assertEquals("kotlin-documented", doc["device_name"])
            assertEquals(mapOf("suite" to "kotlin"), doc["metadata"])
            assertTrue(BigPeer.eventually(20_000) { ditto.presence.graph.isConnectedToBigPeer })
        }
    }

    @Test
    fun `LocalPeerOnly keeps the document off the Big Peer`() {
        Ditto(dir, bigPeer.identity()).use { ditto ->
            ditto.transportConfig = bigPeer.transportConfig()
            ditto.startSync()
            ditto.smallPeerInfo.isEnabled = true
            assertTrue(BigPeer.eventually(20_000) { ditto.presence.graph.isConnectedToBigPeer })
            // A user document with the default scope arrives; the SPI document, sent over the same connection, must not.
            ditto.store.collection("probe").upsert(mapOf("_id" to "p"))
            assertNotNull(bigPeer.waitForDocument("probe", "p"))
            assertNotNull(ditto.smallPeerInfo.collectNowBlocking())
            assertNull(bigPeer.document("__small_peer_info", ditto.presence.localPeerKey))
        }
    }

    @Test
    fun `sendLogs uploads a bundle the operator can download`() {
        Ditto(dir, bigPeer.identity(), deviceName = "kotlin-support-button").use { ditto ->
            ditto.transportConfig = bigPeer.transportConfig()
            ditto.startSync()
            val marker = "the user pressed send logs ${System.nanoTime()}"
            ditto.log(DittoLogLevel.ERROR, marker)
            val requestId = ditto.sendLogsBlocking(minimumLogLevel = DittoLogLevel.WARNING)
            assertTrue(requestId.startsWith("dev_"), requestId)
            var state: Map<String, Any?>? = null
            assertTrue(BigPeer.eventually(30_000) {
                state = bigPeer.get("/api/v1/log-requests/$requestId")
                state?.get("state") == "ready"
            }, "never ready: $state\n${bigPeer.log}")
            assertEquals("device", state!!["requested_by"])
            val gzip = bigPeer.getBytes(state!!["download_url"] as String)
            val lines = GZIPInputStream(ByteArrayInputStream(gzip)).bufferedReader().readText()
            assertTrue(lines.contains(marker), "the bundle lacks the marker")
            assertFalse(lines.contains("\"level\":\"info\""), "min level warning let an info line through")
        }
    }

    @Test
    fun `sendLogs refuses bad options and leaves nothing to send`() {
        Ditto(dir, bigPeer.identity()).use { ditto ->
            val error = assertThrows(DittoError::class.java) { ditto.sendLogsBlocking(maxBytes = 0L) }
            assertTrue(error.message!!.contains("max_bytes"), error.message)
            assertTrue(File(dir, "log-outbox").list().isNullOrEmpty(), "a refused send left a bundle")
        }
    }

    @Test
    fun `a wrong app token is refused and the history says so`() {
        Ditto(dir, DittoIdentity.OnlinePlayground(bigPeer.appId, "wrong-token")).use { ditto ->
            ditto.transportConfig = bigPeer.transportConfig()
            ditto.startSync()
            assertTrue(BigPeer.eventually(20_000) { ditto.presence.graph.bigPeerConnectionHistory.any { it.event == "auth_failed" } },
                ditto.presence.graph.toString())
            val refusal = ditto.presence.graph.bigPeerConnectionHistory.first { it.event == "auth_failed" }
            assertNotNull(refusal.reason)
        }
    }
}
