package io.smallpeer

/** Who a small peer is, as in Ditto: offline playground (no Big Peer) or online playground (app id + token). */
sealed class DittoIdentity {
    /** A development identity that never talks to a Big Peer; [appId] groups peers on the LAN. */
    class OfflinePlayground @JvmOverloads constructor(
        /** The app id, or null for the engine's default. */
        val appId: String? = null
    ) : DittoIdentity() {
        override fun json(): Map<String, Any?> =
            if (appId == null) mapOf("type" to "offline_playground") else mapOf("type" to "offline_playground", "app_id" to appId)

        /** Shows the kind and app id. */
        override fun toString(): String = "OfflinePlayground(appId=$appId)"
    }

    /** An app registered with a Big Peer: the app id and the app token it accepts. */
    class OnlinePlayground(
        /** The app id the Big Peer serves. */
        val appId: String,
        /** The app token (a secret: never shown by toString). */
        val token: String
    ) : DittoIdentity() {
        override fun json(): Map<String, Any?> = mapOf("type" to "online_playground", "app_id" to appId, "token" to token)

        /** Shows the kind and app id, not the token. */
        override fun toString(): String = "OnlinePlayground(appId=$appId)"
    }

    /** The "identity" object of sp_ditto_open's configuration. */
    internal abstract fun json(): Map<String, Any?>
}
