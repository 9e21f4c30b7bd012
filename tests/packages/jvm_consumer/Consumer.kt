// The jar's Kotlin consumer (jvm_package_test.sh): the job every package test's program does.
import io.smallpeer.Ditto
import io.smallpeer.DittoIdentity
import io.smallpeer.DittoSmallPeerInfoSyncScope
import io.smallpeer.DittoTransportConfig
import java.io.File

/** Usage: kotlin ConsumerKt PERSISTENCE_DIR APP_ID APP_TOKEN SYNC_URL SECONDS */
fun main(args: Array<String>) {
    Ditto(File(args[0]), DittoIdentity.OnlinePlayground(args[1], args[2])).use { ditto ->
        ditto.transportConfig = DittoTransportConfig().apply { connect.websocketURLs.add(args[3]) }
        ditto.smallPeerInfo.isEnabled = true
        ditto.smallPeerInfo.syncScope = DittoSmallPeerInfoSyncScope.BigPeerOnly
        ditto.startSync()
        println("peer_key ${ditto.presence.localPeerKey}")
        System.out.flush()
        Thread.sleep(args[4].toLong() * 1000)
    }
}
