package io.smallpeer

/**
 * Where a small peer connects and listens, shaped like Ditto's DittoTransportConfig:
 *
 * ```kotlin
 * ditto.transportConfig = DittoTransportConfig().apply {
 *     connect.websocketURLs.add("ws://127.0.0.1:8080/sync")
 *     listen.tcp.isEnabled = true   // LAN TCP on listen.tcp.interfaceIp:listen.tcp.port
 * }
 * ```
 */
class DittoTransportConfig {
    /** Outgoing connections. */
    val connect = Connect()

    /** Incoming connections. */
    val listen = Listen()

    /** Outgoing connections: Big Peer WebSocket URLs and LAN TCP peers. */
    class Connect {
        /** Big Peer sync URLs (`ws://` on loopback only, `wss://` otherwise). */
        val websocketURLs: MutableSet<String> = LinkedHashSet()

        /** LAN peers' TCP listeners as "host:port". */
        val tcpServers: MutableSet<String> = LinkedHashSet()
    }

    /** Incoming connections. */
    class Listen {
        /** The LAN TCP listener. */
        val tcp = Tcp()
    }

    /** The LAN TCP listener: off by default. */
    class Tcp {
        /** Whether to listen. */
        var isEnabled = false

        /** The address to bind. */
        var interfaceIp = "127.0.0.1"

        /** The port to bind; 0 lets the system choose (see Ditto.lanPort). */
        var port = 0
    }

    /** The sp_sync_set_transport_config JSON. */
    internal fun toJson(): String {
        val host = if (listen.tcp.interfaceIp.contains(':')) "[${listen.tcp.interfaceIp}]" else listen.tcp.interfaceIp
        val lan = linkedMapOf<String, Any?>(
            "listen" to if (listen.tcp.isEnabled) "$host:${listen.tcp.port}" else null,
            "connect" to tcpServers())
        return Json.encodeObject(linkedMapOf("big_peer" to mapOf("urls" to connect.websocketURLs.toList()), "lan" to lan), "transportConfig")
    }

    private fun tcpServers(): List<String> = connect.tcpServers.toList()

    /** Shows the configuration as its JSON. */
    override fun toString(): String = toJson()

    /** Equal when every setting is. */
    override fun equals(other: Any?): Boolean = other is DittoTransportConfig && other.toJson() == toJson()

    /** Consistent with equals. */
    override fun hashCode(): Int = toJson().hashCode()

    internal companion object {
        /** Reads sp_sync_get_transport_config's JSON. */
        fun fromJson(text: String): DittoTransportConfig {
            val json = Json.decodeObject(text)
            val config = DittoTransportConfig()
            (json["big_peer"] as Map<*, *>?)?.get("urls")?.let { urls -> (urls as List<*>).forEach { config.connect.websocketURLs.add(it as String) } }
            val lan = json["lan"] as Map<*, *>?
            (lan?.get("connect") as List<*>?)?.forEach { config.connect.tcpServers.add(it as String) }
            val listen = lan?.get("listen") as String?
            if (listen != null) {
                val colon = listen.lastIndexOf(':')
                config.listen.tcp.isEnabled = true
                config.listen.tcp.interfaceIp = listen.substring(0, colon).removePrefix("[").removeSuffix("]")
                config.listen.tcp.port = listen.substring(colon + 1).toInt()
            }
            return config
        }
    }
}
