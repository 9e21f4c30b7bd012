package io.smallpeer

import io.smallpeer.internal.NativeStoreObserver
import io.smallpeer.internal.SmallPeerNative
import io.smallpeer.internal.SmallPeerNativeConstants as C

/** Who a user collection's documents replicate to (SPEC section 5); AllPeers by default. */
enum class DittoSyncScope(internal val value: Int) {
    /** Every small peer and the Big Peer (the default). */
    AllPeers(C.SP_SYNC_SCOPE_ALL_PEERS),

    /** Only the Big Peer, over a direct connection. */
    BigPeerOnly(C.SP_SYNC_SCOPE_BIG_PEER_ONLY),

    /** Only other small peers, never the Big Peer. */
    SmallPeersOnly(C.SP_SYNC_SCOPE_SMALL_PEERS_ONLY),

    /** Nobody: the documents stay on this device. */
    LocalPeerOnly(C.SP_SYNC_SCOPE_LOCAL_PEER_ONLY);

    internal companion object {
        fun of(value: Int): DittoSyncScope = values().firstOrNull { it.value == value } ?: throw DittoError.Internal(C.SP_ERR_INTERNAL, "unknown sync scope $value")
    }
}

/** What happened to a document. */
enum class DittoChangeKind {
    /** Inserted or replaced. */
    Upsert,

    /** Removed (a tombstone was written). */
    Remove
}

/** One committed change in an observed collection; [document] is null for a removal. */
data class DittoChange(
    /** The collection's name. */
    val collection: String,
    /** The document's _id. */
    val id: String,
    /** Upsert or removal. */
    val kind: DittoChangeKind,
    /** The document after an upsert. */
    val document: Map<String, Any?>?
)

/** Told about each committed change; runs on an engine thread, one change at a time, in order. */
interface DittoChangeListener {
    /** Called once per committed change. */
    fun onChange(change: DittoChange)
}

/** An active observation; [close] stops it: once close returns the listener is not running and never runs again. */
class DittoStoreObserver internal constructor(private val owner: NativeDitto, private val token: NativeToken) : AutoCloseable {
    /** Whether the listener is still registered. */
    val isActive: Boolean get() = token.isActive

    /** Stops the observation. Idempotent; closing the Ditto closes its observers too. */
    override fun close() {
        owner.forget(token)
        token.free()
    }
}

/**
 * Registers [listener] through [register] (a native call given the handle, the native observer and the out-token): the one
 * way collection and fleet observers are made.
 */
internal fun NativeDitto.observeChanges(
    listener: DittoChangeListener,
    register: (Long, NativeStoreObserver, LongArray) -> Unit
): DittoStoreObserver {
    val adapter = NativeStoreObserver { collection, id, kind, documentJson ->
        listener.onChange(DittoChange(collection, id,
            if (kind == C.SP_CHANGE_REMOVE) DittoChangeKind.Remove else DittoChangeKind.Upsert,
            documentJson?.let { Json.decodeObject(it) }))
    }
    // Adopted under the same call, so a concurrent close() cannot miss the new token.
    val token = call { h -> NativeToken(outLong { register(h, adapter, it) }).also { adopt(it) } }
    return DittoStoreObserver(this, token)
}

/** `ditto.store`: user collections and their documents. */
class DittoStore internal constructor(private val native: NativeDitto) {
    /** The collection called [name] (validated when it is first used). */
    fun collection(name: String): DittoCollection = DittoCollection(native, name)

    /** The user collections that hold documents, sorted. */
    val collectionNames: List<String>
        @Throws(DittoError::class)
        get() {
            val names = Json.decode(native.call { h -> outString { SmallPeerNative.sp_store_collection_names(h, it) } }) as List<*>
            return names.map { it as String }
        }

    /**
     * Runs a read-only DQL query (docs/QUERY.md) over any collection, `__small_peer_info` included,
     * binding `:name` placeholders from [arguments]; suspends meanwhile. Java: [executeBlocking].
     */
    @JvmSynthetic
    @Throws(DittoError::class)
    suspend fun execute(query: String, arguments: Map<String, Any?> = emptyMap()): DittoQueryResult =
        Background.run { executeBlocking(query, arguments) }

    /** [execute] blocking the calling thread; Java calls it `execute`. A bad query is [DittoError.InvalidArgument]. */
    @JvmName("execute")
    @JvmOverloads
    @Throws(DittoError::class)
    fun executeBlocking(query: String, arguments: Map<String, Any?> = emptyMap()): DittoQueryResult {
        val args = if (arguments.isEmpty()) null else Json.encodeObject(arguments, "arguments")
        val result = Json.decodeObject(native.call { h -> outString { SmallPeerNative.sp_store_execute(h, query, args, it) } })
        @Suppress("UNCHECKED_CAST")
        return DittoQueryResult((result["items"] as List<Map<String, Any?>>).map { DittoQueryResultItem(it) })
    }
}

/** What a DQL query returned (Ditto's `DittoQueryResult`). */
class DittoQueryResult internal constructor(
    /** The items, in the query's order. */
    val items: List<DittoQueryResultItem>
)

/** One item of a query result: a document, a projection of one, or a group's count. */
class DittoQueryResultItem internal constructor(
    /** The item as a map. */
    val value: Map<String, Any?>
) {
    /** The item as JSON text. */
    fun jsonString(): String = Json.encodeObject(value, "item")
}

/** One user collection: documents are JSON objects with a string `_id`. */
class DittoCollection internal constructor(private val native: NativeDitto, /** The collection's name. */ val name: String) {
    /** Inserts or replaces [document] (an `_id` is generated when it has none) and returns its `_id`. */
    @Throws(DittoError::class)
    fun upsert(document: Map<String, Any?>): String {
        val json = Json.encodeObject(document, "document")
        return native.call { h -> outString { SmallPeerNative.sp_store_upsert(h, name, json, it) } }
    }

    /** The live document with this `_id`, or null when there is none (Ditto's `findByID`). */
    @Throws(DittoError::class)
    fun findById(id: String): Map<String, Any?>? =
        try {
            Json.decodeObject(native.call { h -> outString { SmallPeerNative.sp_store_get(h, name, id, it) } })
        } catch (e: DittoError.NotFound) {
            null
        }

    /** Every live document, ordered by `_id` (read in pages of [PAGE_SIZE]). */
    @Throws(DittoError::class)
    fun findAll(): List<Map<String, Any?>> {
        val documents = ArrayList<Map<String, Any?>>()
        var after: String? = null
        do {
            val page = Json.decodeObject(native.call { h -> outString { SmallPeerNative.sp_store_find_all(h, name, PAGE_SIZE, after, it) } })
            @Suppress("UNCHECKED_CAST")
            documents.addAll(page["documents"] as List<Map<String, Any?>>)
            after = page["next_after"] as String?
        } while (after != null)
        return documents
    }

    /** Removes the document (leaving a tombstone); returns whether there was one. */
    @Throws(DittoError::class)
    fun remove(id: String): Boolean = native.call { h -> outBoolean { SmallPeerNative.sp_store_remove(h, name, id, it) } }

    /** Calls [listener] on an engine thread for each committed change until the observer is closed. */
    @Throws(DittoError::class)
    fun observe(listener: DittoChangeListener): DittoStoreObserver =
        native.observeChanges(listener) { h, adapter, token -> SmallPeerNative.sp_store_observe(h, name, adapter, token) }

    /** Kotlin lambdas: `collection.observe { change -> ... }`. */
    @JvmSynthetic
    @Throws(DittoError::class)
    fun observe(listener: (DittoChange) -> Unit): DittoStoreObserver = observe(object : DittoChangeListener {
        override fun onChange(change: DittoChange) = listener(change)
    })

    /** Who this collection's documents replicate to; persisted. System (`__`) collections are refused. */
    var syncScope: DittoSyncScope
        @Throws(DittoError::class)
        get() = DittoSyncScope.of(native.call { h -> outInt { SmallPeerNative.sp_store_get_collection_scope(h, name, it) } })
        @Throws(DittoError::class)
        set(value) = native.call { h -> SmallPeerNative.sp_store_set_collection_scope(h, name, value.value) }

    private companion object {
        const val PAGE_SIZE = 1000
    }
}
