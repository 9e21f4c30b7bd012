package io.smallpeer.tests

import io.smallpeer.Ditto
import io.smallpeer.DittoError
import io.smallpeer.DittoIdentity
import io.smallpeer.DittoLogLevel
import io.smallpeer.DittoLogger
import io.smallpeer.DittoSmallPeerInfoSyncScope
import io.smallpeer.DittoStoreObserver
import io.smallpeer.DittoSyncScope
import io.smallpeer.DittoTransportConfig
import io.smallpeer.testing.Args
import io.smallpeer.testing.CaseContext
import io.smallpeer.testing.ConformanceOps
import io.smallpeer.testing.ConformanceSuite
import io.smallpeer.testing.UnknownOp
import io.smallpeer.testing.blocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.TestFactory
import org.junit.jupiter.api.TestInstance
import java.time.Duration
import java.time.Instant
import java.util.Locale
import java.util.function.Supplier

/**
 * The behaviour table (tests/conformance/cases.json) through the Kotlin API: [KotlinOps] is the
 * parity table in Kotlin, each op its Kotlin call (properties, `suspend` functions, kotlin lambdas).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConformanceTest {
    private val suite = ConformanceSuite("kotlin", Supplier { KotlinOps() })

    /** Every case, one dynamic test each. */
    @TestFactory
    fun cases(): List<DynamicTest> = suite.dynamicTests()

    /** Prints the summary line and fails unless every case passed. */
    @AfterAll
    fun summary() {
        println(suite.summary())
        assertEquals(emptyList<String>(), suite.failures(), suite.summary())
    }
}

/** An op that sets a property: no result. */
private inline fun set(assign: () -> Unit): Any? {
    assign()
    return null
}

/** The table's ops in Kotlin. */
private class KotlinOps : ConformanceOps {
    private lateinit var context: CaseContext
    private var ditto: Ditto? = null
    private var openArgs: Map<String, Any?> = emptyMap()
    private val observers = ArrayList<DittoStoreObserver>()

    override fun begin(context: CaseContext) {
        this.context = context
        DittoLogger.enabled = true
        DittoLogger.minimumLogLevel = DittoLogLevel.INFO
        DittoLogger.setLogFile(null)
        DittoLogger.unsetCustomLogCallback()
        DittoLogger.setConsoleEnabled(false)
    }

    override fun end() {
        observers.forEach { it.close() }
        DittoLogger.unsetCustomLogCallback()
        DittoLogger.setLogFile(null)
        ditto?.close()
    }

    override fun errorKind(error: Throwable): String? = when (error) {
        is DittoError.InvalidArgument -> "invalid_argument"
        is DittoError.Validation -> "validation"
        is DittoError.NotFound -> "not_found"
        is DittoError.Closed -> "closed"
        is DittoError.Io -> "io"
        is DittoError.Locked -> "locked"
        is DittoError.Store -> "store"
        is DittoError.Internal -> "internal"
        else -> null
    }

    private val d: Ditto get() = ditto ?: throw IllegalStateException("no instance is open (op 'open' first)")

    private fun open(): Ditto {
        val online = openArgs["online"] == true
        val identity = if (online) context.bigPeer().let { DittoIdentity.OnlinePlayground(it.appId, it.appToken) } else DittoIdentity.OfflinePlayground()
        val opened = Ditto(context.dittoDirectory(), identity, openArgs["device_name"] as String?)
        if (online) opened.transportConfig = DittoTransportConfig().apply { connect.websocketURLs.add(context.bigPeer().syncUrl) }
        return opened
    }

    override fun run(op: String, args: Map<String, Any?>): Any? = when (op) {
        "open" -> {
            openArgs = args
            ditto = open()
            null
        }
        "openSecond" -> {
            open().close()
            null
        }
        "close" -> d.close()
        "reopen" -> {
            ditto?.close()
            ditto = open()
            null
        }
        "ditto.deviceName" -> d.deviceName
        "ditto.setDeviceName" -> set { d.deviceName = Args.string(args, "value") }
        "ditto.peerKey" -> d.presence.localPeerKey
        "ditto.log" -> d.log(level(Args.string(args, "level")), Args.string(args, "message"))
        "ditto.sendLogs" -> blocking {
            d.sendLogs(Args.optString(args, "minimumLogLevel")?.let(::level), instant(args, "since"), instant(args, "until"), Args.optInteger(args, "maxBytes"))
        }

        "spi.isEnabled" -> d.smallPeerInfo.isEnabled
        "spi.setEnabled" -> set { d.smallPeerInfo.isEnabled = Args.bool(args, "value") }
        "spi.syncScope" -> d.smallPeerInfo.syncScope.name
        "spi.setSyncScope" -> set { d.smallPeerInfo.syncScope = spiScope(Args.string(args, "value")) }
        "spi.metadata" -> d.smallPeerInfo.metadata
        "spi.setMetadata" -> set { d.smallPeerInfo.metadata = Args.obj(args, "value") }
        "spi.metadataJSONString" -> d.smallPeerInfo.metadataJsonString
        "spi.setMetadataJSONString" -> set { d.smallPeerInfo.metadataJsonString = Args.string(args, "text") }
        "spi.collectionIntervalMs" -> d.smallPeerInfo.collectionInterval.toMillis()
        "spi.setCollectionIntervalMs" -> set { d.smallPeerInfo.collectionInterval = Duration.ofMillis(Args.integer(args, "value")) }
        "spi.collectNow" -> blocking { d.smallPeerInfo.collectNow() }
        "spi.document" -> d.smallPeerInfo.document
        "spi.adminSigningKey" -> d.smallPeerInfo.adminSigningKey
        "spi.setAdminSigningKey" -> set { d.smallPeerInfo.adminSigningKey = Args.optString(args, "value") }
        "spi.shareWithAdminDevices" -> d.smallPeerInfo.shareWithAdminDevices
        "spi.setShareWithAdminDevices" -> set { d.smallPeerInfo.shareWithAdminDevices = Args.bool(args, "value") }
        "spi.isAdminDevice" -> d.smallPeerInfo.isAdminDevice
        "spi.fleet" -> d.smallPeerInfo.fleet
        "spi.observeFleet" -> {
            observers += d.smallPeerInfo.observeFleet { change ->
                context.changes.add("${change.collection}/${change.id}/${change.kind.name.toLowerCase(Locale.ROOT)}")
            }
            null
        }

        "store.upsert" -> d.store.collection(Args.string(args, "collection")).upsert(Args.obj(args, "document"))
        // findById is Ditto's: null for an absent document, the table's null.
        "store.get" -> d.store.collection(Args.string(args, "collection")).findById(Args.string(args, "id"))
        "store.findAll" -> d.store.collection(Args.string(args, "collection")).findAll()
        "store.execute" -> blocking {
            @Suppress("UNCHECKED_CAST")
            d.store.execute(Args.string(args, "query"), (args["args"] as Map<String, Any?>?) ?: emptyMap()).items.map { it.value }
        }
        "store.remove" -> d.store.collection(Args.string(args, "collection")).remove(Args.string(args, "id"))
        "store.collectionNames" -> d.store.collectionNames
        "store.observe" -> {
            observers += d.store.collection(Args.string(args, "collection")).observe { change ->
                context.changes.add("${change.collection}/${change.id}/${change.kind.name.toLowerCase(Locale.ROOT)}")
            }
            null
        }
        "collection.syncScope" -> d.store.collection(Args.string(args, "collection")).syncScope.name
        "collection.setSyncScope" -> set { d.store.collection(Args.string(args, "collection")).syncScope = collectionScope(Args.string(args, "value")) }

        "sync.transportConfig" -> tableShape(d.transportConfig)
        "sync.setTransportConfig" -> set { d.transportConfig = typed(Args.obj(args, "value")) }
        "sync.start" -> d.startSync()
        "sync.stop" -> d.stopSync()
        "sync.isRunning" -> d.isSyncActive
        "sync.lanPort" -> d.lanPort

        "presence.graph" -> d.presence.graph.let { graph ->
            mapOf(
                "localPeerKey" to graph.localPeerKey,
                "isConnectedToBigPeer" to graph.isConnectedToBigPeer,
                "peers" to graph.peers.map { mapOf("peerKey" to it.peerKey, "deviceName" to it.deviceName, "transport" to it.transport, "isBigPeer" to it.isBigPeer) },
                "connectionsByTransport" to graph.connectionsByTransport,
                "bigPeerConnectionHistory" to graph.bigPeerConnectionHistory.map { mapOf("event" to it.event, "timestamp" to it.timestamp, "reason" to it.reason) })
        }

        "logger.enabled" -> DittoLogger.enabled
        "logger.setEnabled" -> set { DittoLogger.enabled = Args.bool(args, "value") }
        "logger.minimumLogLevel" -> DittoLogger.minimumLogLevel.name.toLowerCase(Locale.ROOT)
        "logger.setMinimumLogLevel" -> set { DittoLogger.minimumLogLevel = level(Args.string(args, "value")) }
        "logger.setLogFile" -> DittoLogger.setLogFile(Args.optString(args, "path")?.let { context.file(it).path })
        "logger.setCustomLogCallback" -> DittoLogger.setCustomLogCallback { _, message -> context.logMessages.add(message) }
        "logger.unsetCustomLogCallback" -> DittoLogger.unsetCustomLogCallback()
        "logger.exportToFile" -> blocking {
            DittoLogger.exportToFile(context.file(Args.string(args, "path")).path, Args.optString(args, "minimumLogLevel")?.let(::level),
                instant(args, "since"), instant(args, "until"), Args.optInteger(args, "maxBytes"))
        }.toLong()

        else -> throw UnknownOp(op)
    }.let { if (it == Unit) null else it }

    /** A level name of the table as the Kotlin enum; a name it has no case for is refused here. */
    private fun level(name: String): DittoLogLevel =
        DittoLogLevel.values().firstOrNull { it.name.toLowerCase(Locale.ROOT) == name } ?: throw DittoError.InvalidArgument("no DittoLogLevel '$name'")

    private fun spiScope(name: String): DittoSmallPeerInfoSyncScope =
        DittoSmallPeerInfoSyncScope.values().firstOrNull { it.name == name } ?: throw DittoError.InvalidArgument("no DittoSmallPeerInfoSyncScope '$name'")

    private fun collectionScope(name: String): DittoSyncScope =
        DittoSyncScope.values().firstOrNull { it.name == name } ?: throw DittoError.InvalidArgument("no DittoSyncScope '$name'")

    private fun instant(args: Map<String, Any?>, key: String): Instant? = Args.optString(args, key)?.let { Instant.parse(it) }

    /** The table's {bigPeerUrls, lanListen, lanConnect} as Ditto's typed config. */
    private fun typed(value: Map<String, Any?>): DittoTransportConfig = DittoTransportConfig().apply {
        (value["bigPeerUrls"] as List<*>).forEach { connect.websocketURLs.add(it as String) }
        (value["lanConnect"] as List<*>).forEach { connect.tcpServers.add(it as String) }
        (value["lanListen"] as String?)?.let { listen ->
            // "host:port" into the typed interfaceIp and port; text without a port has no typed form and is refused here.
            val colon = listen.lastIndexOf(':')
            val port = if (colon < 0) null else listen.substring(colon + 1).toIntOrNull()
            if (port == null) throw DittoError.InvalidArgument("lanListen '$listen' is not host:port")
            this.listen.tcp.isEnabled = true
            this.listen.tcp.interfaceIp = listen.substring(0, colon).removePrefix("[").removeSuffix("]")
            this.listen.tcp.port = port
        }
    }

    /** Ditto's typed config in the table's shape. */
    private fun tableShape(config: DittoTransportConfig): Map<String, Any?> {
        val tcp = config.listen.tcp
        val host = if (tcp.interfaceIp.contains(':')) "[${tcp.interfaceIp}]" else tcp.interfaceIp
        return mapOf(
            "bigPeerUrls" to config.connect.websocketURLs.toList(),
            "lanListen" to if (tcp.isEnabled) "$host:${tcp.port}" else null,
            "lanConnect" to config.connect.tcpServers.toList())
    }
}
