package io.smallpeer.tests

import io.smallpeer.Ditto
import io.smallpeer.DittoError
import io.smallpeer.DittoSmallPeerInfoSyncScope
import io.smallpeer.DittoTransportConfig
import io.smallpeer.internal.SmallPeerNative
import io.smallpeer.testing.BigPeer
import io.smallpeer.testing.blocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.function.Executable
import java.io.File
import java.util.zip.ZipFile

/** Closing, use after close, the Cleaner fallback and the packaging. */
class KotlinLifecycleTest {
    @Test
    fun `every use after close throws DittoError Closed`() {
        val dir = BigPeer.tempDirectory()
        val ditto = Ditto(dir)
        val info = ditto.smallPeerInfo
        val cars = ditto.store.collection("cars")
        ditto.close()
        assertTrue(ditto.isClosed)
        ditto.close() // idempotent
        val uses = listOf<Executable>(
            Executable { info.isEnabled = true },
            Executable { info.isEnabled },
            Executable { info.syncScope = DittoSmallPeerInfoSyncScope.BigPeerOnly },
            Executable { info.metadata = mapOf("a" to 1L) },
            Executable { info.collectNowBlocking() },
            Executable { blocking { info.collectNow() } },
            Executable { ditto.deviceName },
            Executable { ditto.sendLogsBlocking() },
            Executable { cars.upsert(mapOf("a" to 1L)) },
            Executable { cars.observe { } },
            Executable { ditto.store.collectionNames },
            Executable { ditto.presence.localPeerKey },
            Executable { ditto.presence.graph },
            Executable { ditto.transportConfig = DittoTransportConfig() },
            Executable { ditto.startSync() })
        for (use in uses) {
            val e = assertThrows(DittoError.Closed::class.java, use)
            assertTrue(e.message!!.contains("closed"), e.message)
        }
        dir.deleteRecursively()
    }

    @Test
    fun `close releases the directory and the native handle`() {
        val dir = BigPeer.tempDirectory()
        val before = SmallPeerNative.sp_ditto_live_handles()
        Ditto(dir).use { assertEquals(before + 1, SmallPeerNative.sp_ditto_live_handles()) }
        assertEquals(before, SmallPeerNative.sp_ditto_live_handles())
        Ditto(dir).use { assertFalse(it.isClosed) }
        dir.deleteRecursively()
    }

    @Test
    fun `a forgotten Ditto is closed by the Cleaner`() {
        val dir = BigPeer.tempDirectory()
        val before = SmallPeerNative.sp_ditto_live_handles()
        openAndForget(dir)
        assertEquals(before + 1, SmallPeerNative.sp_ditto_live_handles())
        assertTrue(BigPeer.eventually(20_000) {
            System.gc()
            SmallPeerNative.sp_ditto_live_handles() == before
        }, "the Cleaner never freed the handle")
        Ditto(dir).use { assertEquals("forgotten", it.deviceName) }
        dir.deleteRecursively()
    }

    private fun openAndForget(dir: File) {
        Ditto(dir).deviceName = "forgotten"
    }

    @Test
    fun `the jar carries the native libraries and no SWIG pointer types`() {
        val jar = ZipFile(property("smallpeer.jar"))
        val names = jar.entries().toList().map { it.name }
        assertTrue(names.any { it.matches(Regex("io/smallpeer/internal/native/linux-[^/]+/libsmallpeer_jni\\.so")) }, names.toString())
        assertTrue(names.any { it.matches(Regex("io/smallpeer/internal/native/linux-[^/]+/libsmallpeer\\.so")) }, names.toString())
        assertTrue("io/smallpeer/Ditto.class" in names)
        assertTrue(names.none { it.contains("SWIGTYPE") }, names.filter { it.contains("SWIGTYPE") }.toString())
        jar.close()
    }

    @Test
    fun `the AAR has classes, a manifest and the host ABI's libraries`() {
        val abi = property("smallpeer.android.abi")
        ZipFile(property("smallpeer.aar")).use { aar ->
            val names = aar.entries().toList().map { it.name }.toSet()
            for (entry in listOf("classes.jar", "AndroidManifest.xml", "jni/$abi/libsmallpeer.so", "jni/$abi/libsmallpeer_jni.so")) {
                assertTrue(entry in names, "$entry missing from $names")
            }
            assertTrue(aar.getInputStream(aar.getEntry("AndroidManifest.xml")).bufferedReader().readText().contains("package=\"io.smallpeer\""))
            val classes = File.createTempFile("classes", ".jar")
            aar.getInputStream(aar.getEntry("classes.jar")).use { input -> classes.outputStream().use { input.copyTo(it) } }
            ZipFile(classes).use { jar ->
                val inner = jar.entries().toList().map { it.name }
                assertTrue("io/smallpeer/Ditto.class" in inner)
                assertTrue("io/smallpeer/internal/SmallPeerNativeJNI.class" in inner)
                assertTrue(inner.none { it.endsWith(".so") }, "native libraries belong in jni/, not classes.jar")
            }
            classes.delete()
        }
    }

    private fun property(name: String): String =
        System.getProperty(name) ?: throw IllegalStateException("run with -D$name=... (ctest passes it)")
}
