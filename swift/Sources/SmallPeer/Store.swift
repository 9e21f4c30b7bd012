import CSmallPeer
import Dispatch
import Foundation

/// Where a user collection's documents may sync to.
public enum DittoSyncScope: Int32, CaseIterable, Sendable, CustomStringConvertible {
    /// This device only.
    case localPeerOnly = 0
    /// The Big Peer only.
    case bigPeerOnly = 1
    /// Every peer: the Big Peer and small peers (the default for user collections).
    case allPeers = 2
    /// Other small peers, never the Big Peer.
    case smallPeersOnly = 3

    /// Ditto's name for the scope: `LocalPeerOnly`, `BigPeerOnly`, `AllPeers` or `SmallPeersOnly`.
    public var description: String {
        switch self {
        case .localPeerOnly: "LocalPeerOnly"
        case .bigPeerOnly: "BigPeerOnly"
        case .allPeers: "AllPeers"
        case .smallPeersOnly: "SmallPeersOnly"
        }
    }
}

/// One document: its `_id`, its JSON text and its parsed value.
public struct DittoDocument: Sendable, Equatable {
    /// The document's `_id`.
    public let id: String
    /// The document as JSON text, as the engine stores it.
    public let jsonString: String

    /// Wraps JSON text from the engine, which is always an object with a string `_id`.
    init(jsonString: String) throws(DittoError) {
        guard let object = JSONText.decode(jsonString) as? [String: Any], let id = object["_id"] as? String else {
            throw DittoError.internal(message: "the engine returned a document without a string _id")
        }
        self.id = id
        self.jsonString = jsonString
    }

    /// The document parsed into Foundation values (`String`, `NSNumber`/`Int`/`Double`/`Bool`, arrays, dictionaries, `NSNull`).
    public var value: [String: Any] { JSONText.object(jsonString) }

    /// The value of one top-level field, or `nil` if absent.
    public subscript(key: String) -> Any? { value[key] }
}

/// A committed change to a document, as told to a collection observer.
public struct DittoCollectionChange: Sendable, Equatable {
    /// What happened to the document.
    public enum Kind: Sendable, Equatable {
        /// The document was inserted or replaced.
        case upsert
        /// The document was removed.
        case remove
    }

    /// The collection's name.
    public let collection: String
    /// The document's `_id`.
    public let id: String
    /// What happened.
    public let kind: Kind
    /// The document after an upsert; `nil` after a remove.
    public let document: DittoDocument?
}

/// `ditto.store`: the document store.
public final class DittoStore: Sendable {
    let native: NativeDitto

    init(native: NativeDitto) { self.native = native }

    /// A user collection by name (it exists once it holds a document).
    public func collection(_ name: String) -> DittoCollection {
        DittoCollection(native: native, name: name)
    }

    /// The names of the user collections that hold documents, sorted.
    public func collectionNames() throws -> [String] {
        let text = try ownedString { sp_store_collection_names(native.raw, $0) }
        return try JSONText.decode([String].self, from: text)
    }

    /// Runs a read-only DQL query (docs/QUERY.md) over any collection, `__small_peer_info` included,
    /// binding `:name` placeholders from `arguments`; a bad query throws `invalidArgument`.
    public func execute(query: String, arguments: [String: Any] = [:]) throws -> DittoQueryResult {
        try execute(query: query, argumentsJSON: try Self.argumentsJSON(arguments))
    }

    /// Runs a read-only DQL query off the caller's executor (see the synchronous `execute`).
    public func execute(query: String, arguments: [String: Any] = [:]) async throws -> DittoQueryResult {
        let argumentsJSON = try Self.argumentsJSON(arguments)
        return try await offloaded { try self.execute(query: query, argumentsJSON: argumentsJSON) }
    }

    /// The arguments as JSON text, or nil when there are none.
    private static func argumentsJSON(_ arguments: [String: Any]) throws(DittoError) -> String? {
        arguments.isEmpty ? nil : try JSONText.encode(arguments, what: "the query arguments")
    }

    /// Runs `query` with arguments already written as JSON.
    func execute(query: String, argumentsJSON: String?) throws -> DittoQueryResult {
        struct Result: Decodable { let items: [JSONFragment] }
        try requireNoNUL(query, "the query")
        let text = try ownedString { out in
            query.withCString { q in
                if let argumentsJSON {
                    argumentsJSON.withCString { sp_store_execute(native.raw, q, $0, out) }
                } else {
                    sp_store_execute(native.raw, q, nil, out)
                }
            }
        }
        let result = try JSONText.decode(Result.self, from: text)
        return DittoQueryResult(items: result.items.map { DittoQueryResultItem(json: $0.text) })
    }
}

/// What a DQL query returned (Ditto's `DittoQueryResult`).
public struct DittoQueryResult: Sendable {
    /// The items, in the query's order.
    public let items: [DittoQueryResultItem]
}

/// One item of a query result: a document, a projection of one, or a group's count.
public struct DittoQueryResultItem: Sendable, Equatable {
    private let json: String

    init(json: String) { self.json = json }

    /// The item parsed into Foundation values (`String`, `NSNumber`, arrays, dictionaries, `NSNull`).
    public var value: [String: Any] { JSONText.object(json) }

    /// The item as JSON text.
    public func jsonString() -> String { json }
}

/// A user collection: upsert, find, remove and observe its documents, and set its sync scope.
public final class DittoCollection: Sendable {
    /// The collection's name.
    public let name: String
    let native: NativeDitto

    init(native: NativeDitto, name: String) {
        self.native = native
        self.name = name
    }

    /// Inserts or replaces a document and returns its `_id` (generated when the document has none).
    ///
    /// - Throws: `DittoError.validation` if its `_id` is not a string, `.invalidArgument` if it is not
    ///   JSON-serializable or the collection name is empty or a system collection's.
    @discardableResult
    public func upsert(_ document: [String: Any]) throws -> String {
        try requireNoNUL(name, "the collection name")
        let json = try JSONText.encode(document, what: "the document")
        return try ownedString { out in
            name.withCString { c in json.withCString { sp_store_upsert(native.raw, c, $0, out) } }
        }
    }

    /// The live document with this `_id`, or `nil`.
    public func findByID(_ id: String) throws -> DittoDocument? {
        try requireNoNUL(name, "the collection name")
        try requireNoNUL(id, "the id")
        do {
            let text = try ownedString { out in
                name.withCString { c in id.withCString { sp_store_get(native.raw, c, $0, out) } }
            }
            return try DittoDocument(jsonString: text)
        } catch DittoError.notFound {
            return nil
        }
    }

    /// Every live document, ordered by `_id` (read in pages of 1,000).
    public func findAll() throws -> [DittoDocument] {
        try findAll(pageSize: 1000)
    }

    /// Every live document, ordered by `_id`, read off the caller's executor.
    public func findAll() async throws -> [DittoDocument] {
        try await offloaded { try self.findAll() }
    }

    /// Every live document, read `pageSize` (1-1000) at a time.
    func findAll(pageSize: Int32) throws -> [DittoDocument] {
        struct Page: Decodable {
            let documents: [JSONFragment]
            let nextAfter: String?
        }
        try requireNoNUL(name, "the collection name")
        var documents: [DittoDocument] = []
        var after: String?
        repeat {
            let text = try ownedString { out in
                name.withCString { c in
                    if let after {
                        after.withCString { sp_store_find_all(native.raw, c, pageSize, $0, out) }
                    } else {
                        sp_store_find_all(native.raw, c, pageSize, nil, out)
                    }
                }
            }
            let page = try JSONText.decode(Page.self, from: text)
            for fragment in page.documents { documents.append(try DittoDocument(jsonString: fragment.text)) }
            after = page.nextAfter
        } while after != nil
        return documents
    }

    /// Removes the document with this `_id` (leaving a tombstone that syncs); returns whether one was there.
    @discardableResult
    public func remove(id: String) throws -> Bool {
        try requireNoNUL(name, "the collection name")
        try requireNoNUL(id, "the id")
        var removed = false
        try check(name.withCString { c in id.withCString { sp_store_remove(native.raw, c, $0, &removed) } })
        return removed
    }

    /// Calls `handler` on `queue` for each committed change to this collection, in commit order (when
    /// `queue` is serial), until the returned observer is cancelled or released.
    ///
    /// Keep the observer: releasing it cancels it. It does not keep the `Ditto` open.
    /// - Parameters:
    ///   - queue: where `handler` runs (default: the main queue).
    ///   - handler: receives each change.
    public func observe(
        deliverOn queue: DispatchQueue = .main,
        handler: @escaping @Sendable (DittoCollectionChange) -> Void
    ) throws -> DittoStoreObserver {
        try requireNoNUL(name, "the collection name")
        return try observeChanges(deliverOn: queue, handler: handler, what: "sp_store_observe") {
            callback, userdata, token in
            name.withCString { sp_store_observe(native.raw, $0, callback, userdata, CallbackUserdata.free, token) }
        }
    }

    /// This collection's sync scope (for `__small_peer_info`: the Small Peer Info scope).
    ///
    /// - Throws: `DittoError.invalidArgument` if the collection name is unusable (empty, over 256 bytes, or
    ///   containing NUL), `.closed` after `ditto.close()`.
    public var syncScope: DittoSyncScope {
        get throws {
            try requireNoNUL(name, "the collection name")
            var scope: sp_sync_scope_t = 0
            try check(name.withCString { sp_store_get_collection_scope(native.raw, $0, &scope) })
            guard let value = DittoSyncScope(rawValue: scope) else {
                throw DittoError.internal(message: "unknown sync scope \(scope)")
            }
            return value
        }
    }

    /// Sets this user collection's sync scope (default `.allPeers`); persisted.
    ///
    /// - Throws: `DittoError.invalidArgument` for a system collection such as `__small_peer_info`
    ///   (use `smallPeerInfo.syncScope`) or an empty name, `.closed` after `ditto.close()`.
    public func setSyncScope(_ scope: DittoSyncScope) throws {
        try requireNoNUL(name, "the collection name")
        try check(name.withCString { sp_store_set_collection_scope(native.raw, $0, scope.rawValue) })
    }
}

/// One JSON value kept as its text, so documents keep the engine's exact JSON.
struct JSONFragment: Decodable {
    let text: String

    init(from decoder: Decoder) throws {
        let value = try decoder.singleValueContainer().decode(AnyJSON.self)
        let data = try JSONSerialization.data(withJSONObject: value.object, options: [.withoutEscapingSlashes])
        text = String(decoding: data, as: UTF8.self)
    }
}

/// Decodes any JSON value into Foundation objects.
struct AnyJSON: Decodable {
    let object: Any

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            object = NSNull()
        } else if let b = try? c.decode(Bool.self) {
            object = b
        } else if let i = try? c.decode(Int64.self) {
            object = i
        } else if let d = try? c.decode(Double.self) {
            object = d
        } else if let s = try? c.decode(String.self) {
            object = s
        } else if let a = try? c.decode([AnyJSON].self) {
            object = a.map(\.object)
        } else {
            object = try c.decode([String: AnyJSON].self).mapValues(\.object)
        }
    }
}

/// The C callback of every change observer: turns the change into a `DittoCollectionChange` for the `Delivery` in userdata.
private let deliverChange: sp_store_observer_fn = { userdata, collection, id, kind, documentJSON in
    guard let collection, let id,
        let delivery = CallbackUserdata.object(userdata, as: Delivery<DittoCollectionChange>.self)
    else { return }
    let document = documentJSON.flatMap { try? DittoDocument(jsonString: String(cString: $0)) }
    delivery.deliver(
        DittoCollectionChange(
            collection: String(cString: collection),
            id: String(cString: id),
            kind: kind == SP_CHANGE_REMOVE ? .remove : .upsert,
            document: document))
}

/// Registers a change observer through `register` (a C call given the callback, its userdata and the out-token) and wraps
/// the token: the one way collection and fleet observers are made.
func observeChanges(
    deliverOn queue: DispatchQueue,
    handler: @escaping @Sendable (DittoCollectionChange) -> Void,
    what: String,
    register: (sp_store_observer_fn, UnsafeMutableRawPointer, UnsafeMutablePointer<OpaquePointer?>) -> sp_status_t
) throws -> DittoStoreObserver {
    let delivery = Delivery(queue: queue, handler: handler)
    var token: OpaquePointer?
    // On failure the C side has already released the userdata through its free function.
    try check(register(deliverChange, CallbackUserdata.retain(delivery), &token))
    guard let token else { throw DittoError.internal(message: "\(what) succeeded without a token") }
    return DittoStoreObserver(token: token, delivery: delivery)
}

/// A registered collection or fleet observer: `cancel()` or releasing it stops the calls.
public final class DittoStoreObserver: Sendable {
    private let token: Locked<OpaquePointer?>
    private let cancelDelivery: @Sendable () -> Void

    init<Value>(token: OpaquePointer, delivery: Delivery<Value>) {
        self.token = Locked(token)
        self.cancelDelivery = { delivery.cancel() }
    }

    /// Whether `cancel()` has been called.
    public var isCancelled: Bool { token.withLock { $0 == nil } }

    /// Stops the callbacks: none starts after this returns (one already running may finish). Idempotent.
    public func cancel() {
        let taken: OpaquePointer? = token.withLock { token in
            defer { token = nil }
            return token
        }
        guard let taken else { return }
        cancelDelivery()
        sp_token_free(taken)
    }

    deinit { cancel() }
}
