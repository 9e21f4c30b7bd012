import CSmallPeer
import Dispatch
import Foundation
import Testing

@testable import SmallPeer

extension SmallPeerTests {
    /// `ditto.store`: collections, documents, observers and sync scopes.
    @Suite final class StoreTests {
        let scratch: Scratch
        let ditto: Ditto

        init() throws {
            scratch = try Scratch()
            ditto = try Ditto(persistenceDirectory: scratch.path("peer"))
        }

        @Test func upsertFindByIDAndReplace() throws {
            let cars = ditto.store.collection("cars")
            #expect(cars.name == "cars")
            #expect(try cars.upsert(["_id": "car-1", "make": "Volvo", "seats": 5]) == "car-1")
            let doc = try #require(try cars.findByID("car-1"))
            #expect(doc.id == "car-1")
            #expect(doc["make"] as? String == "Volvo")
            #expect(doc["seats"] as? Int == 5)
            try cars.upsert(["_id": "car-1", "make": "Saab"])
            #expect(try cars.findByID("car-1")?["make"] as? String == "Saab")
            #expect(try cars.findByID("car-1")?["seats"] == nil)
            #expect(try cars.findByID("no-such-car") == nil)
        }

        @Test func upsertWithoutAnIDGeneratesOne() throws {
            let cars = ditto.store.collection("cars")
            let id = try cars.upsert(["make": "Fiat"])
            #expect(!id.isEmpty)
            #expect(try cars.findByID(id)?["make"] as? String == "Fiat")
        }

        @Test func badDocumentsAndNamesAreRefused() throws {
            let cars = ditto.store.collection("cars")
            let nonStringID = #expect(throws: DittoError.self) { try cars.upsert(["_id": 7]) }
            #expect(nonStringID?.status == SP_ERR_VALIDATION)
            let system = #expect(throws: DittoError.self) {
                try self.ditto.store.collection("__small_peer_info").upsert(["a": 1])
            }
            #expect(system?.status == SP_ERR_INVALID_ARGUMENT)
            let empty = #expect(throws: DittoError.self) { try self.ditto.store.collection("").upsert(["a": 1]) }
            #expect(empty?.status == SP_ERR_INVALID_ARGUMENT)
            #expect(try ditto.store.collectionNames() == [])
        }

        @Test func findAllReadsEveryPageInIDOrder() throws {
            let items = ditto.store.collection("items")
            let ids = (0..<25).map { String(format: "item-%02d", $0) }
            for id in ids.shuffled() { try items.upsert(["_id": id]) }
            #expect(try items.findAll(pageSize: 10).map(\.id) == ids)
            #expect(try items.findAll(pageSize: 25).map(\.id) == ids)
            #expect(try items.findAll().map(\.id) == ids)
            #expect(try ditto.store.collection("empty").findAll() == [])
        }

        @Test func findAllHasAnAsyncVariant() async throws {
            let items = ditto.store.collection("items")
            for id in ["b", "a", "c"] { try items.upsert(["_id": id, "v": id]) }
            let documents = try await items.findAll()
            #expect(documents.map(\.id) == ["a", "b", "c"])
            #expect(documents.map { $0["v"] as? String } == ["a", "b", "c"])
        }

        @Test func executeRunsADQLQueryAndNamesABadOne() throws {
            let cars = ditto.store.collection("cars")
            try cars.upsert(["_id": "c1", "make": "Volvo", "seats": 5])
            try cars.upsert(["_id": "c2", "make": "Saab", "seats": 4])
            let result = try ditto.store.execute(
                query: "SELECT make FROM cars WHERE seats >= :min ORDER BY seats DESC", arguments: ["min": 4])
            #expect(result.items.map { $0.value["make"] as? String } == ["Volvo", "Saab"])
            #expect(result.items.first?.jsonString() == #"{"make":"Volvo"}"#)
            #expect {
                try ditto.store.execute(query: "SELECT * cars")
            } throws: { error in
                guard case .invalidArgument(let message) = error as? DittoError else { return false }
                return message.contains("expected FROM at position 10")
            }
        }

        @Test func executeHasAnAsyncVariant() async throws {
            try ditto.store.collection("cars").upsert(["_id": "c1", "make": "Volvo"])
            let counted = try await ditto.store.execute(query: "SELECT COUNT(*) FROM cars")
            #expect(counted.items.first?.value["count"] as? Int == 1)
        }

        @Test func removeLeavesNothingToFind() throws {
            let cars = ditto.store.collection("cars")
            try cars.upsert(["_id": "a"])
            try cars.upsert(["_id": "b"])
            #expect(try cars.remove(id: "a") == true)
            #expect(try cars.remove(id: "a") == false)
            #expect(try cars.findByID("a") == nil)
            #expect(try cars.findAll().map(\.id) == ["b"])
        }

        @Test func collectionNamesListUserCollectionsOnly() throws {
            ditto.smallPeerInfo.isEnabled = true
            try ditto.store.collection("people").upsert(["name": "Ada"])
            try ditto.store.collection("cars").upsert(["make": "Volvo"])
            #expect(try ditto.store.collectionNames() == ["cars", "people"])
        }

        @Test func collectionSyncScopesDefaultToAllPeersAndPersist() throws {
            #expect(
                DittoSyncScope.allCases.map(\.rawValue) == [
                    SP_SYNC_SCOPE_LOCAL_PEER_ONLY, SP_SYNC_SCOPE_BIG_PEER_ONLY,
                    SP_SYNC_SCOPE_ALL_PEERS, SP_SYNC_SCOPE_SMALL_PEERS_ONLY,
                ])
            #expect(
                DittoSyncScope.allCases.map(\.description) == [
                    "LocalPeerOnly", "BigPeerOnly", "AllPeers", "SmallPeersOnly",
                ])
            let cars = ditto.store.collection("cars")
            #expect(try cars.syncScope == .allPeers)
            try cars.setSyncScope(.smallPeersOnly)
            #expect(try cars.syncScope == .smallPeersOnly)
            #expect(try ditto.store.collection("cars").syncScope == .smallPeersOnly)
            let error = #expect(throws: DittoError.self) {
                try self.ditto.store.collection("__small_peer_info").setSyncScope(.allPeers)
            }
            #expect(error?.status == SP_ERR_INVALID_ARGUMENT)
            #expect(try ditto.store.collection("__small_peer_info").syncScope == .localPeerOnly)
            // A name the engine refuses is an error, not a crash.
            let bad = #expect(throws: DittoError.self) { try self.ditto.store.collection("").syncScope }
            #expect(bad?.status == SP_ERR_INVALID_ARGUMENT)
        }

        @Test func aNULInANameOrIdIsRefusedNotCutShort() throws {
            try ditto.store.collection("cars").upsert(["_id": "a"])
            #expect(throws: DittoError.self) { try self.ditto.store.collection("cars\0x").findByID("a") }
            #expect(throws: DittoError.self) { try self.ditto.store.collection("cars").findByID("a\0b") }
            #expect(throws: DittoError.self) { try self.ditto.store.collection("cars\0x").upsert(["_id": "b"]) }
            #expect(try ditto.store.collection("cars").findByID("b") == nil, "a refused upsert wrote nothing")
        }

        @Test func observersDeliverEveryChangeInOrderOnTheChosenQueue() async throws {
            let queue = DispatchQueue(label: "smallpeer.test.observer")
            let key = DispatchSpecificKey<String>()
            queue.setSpecific(key: key, value: "observer-queue")
            let changes = Recorder<DittoCollectionChange>()
            let onQueue = Recorder<Bool>()
            let cars = ditto.store.collection("cars")
            let observer = try cars.observe(deliverOn: queue) { change in
                dispatchPrecondition(condition: .onQueue(queue))
                onQueue.append(DispatchQueue.getSpecific(key: key) == "observer-queue")
                changes.append(change)
            }
            try cars.upsert(["_id": "a", "n": 1])
            try cars.upsert(["_id": "b", "n": 2])
            try cars.remove(id: "a")
            try ditto.store.collection("other").upsert(["_id": "x"])
            #expect(await eventually { changes.values.count >= 3 })
            let seen = changes.values
            #expect(seen.map(\.id) == ["a", "b", "a"])
            #expect(seen.map(\.kind) == [.upsert, .upsert, .remove])
            #expect(seen.allSatisfy { $0.collection == "cars" })
            #expect(seen[0].document?["n"] as? Int == 1)
            #expect(seen[2].document == nil)
            #expect(onQueue.values.allSatisfy { $0 } && onQueue.values.count == seen.count)
            #expect(!observer.isCancelled)
            observer.cancel()
            #expect(observer.isCancelled)
        }

        @Test func aCancelledObserverIsNeverCalledAgain() async throws {
            let queue = DispatchQueue(label: "smallpeer.test.cancel")
            let cars = ditto.store.collection("cars")
            let cancelled = Recorder<String>()
            let live = Recorder<String>()
            let first = try cars.observe(deliverOn: queue) { cancelled.append($0.id) }
            let second = try cars.observe(deliverOn: queue) { live.append($0.id) }
            try cars.upsert(["_id": "before"])
            #expect(await eventually { cancelled.values == ["before"] && live.values == ["before"] })
            first.cancel()
            first.cancel()
            try cars.upsert(["_id": "after"])
            #expect(await eventually { live.values == ["before", "after"] })
            queue.sync {}
            #expect(cancelled.values == ["before"])
            withExtendedLifetime(second) {}
        }

        @Test func releasingAnObserverUnregistersItAndFreesItsHandler() async throws {
            final class Witness: Sendable {}
            let baseline = liveDeliveryCount
            weak var weakWitness: Witness?
            let queue = DispatchQueue(label: "smallpeer.test.release")
            let seen = Recorder<String>()
            do {
                let witness = Witness()
                weakWitness = witness
                let observer = try ditto.store.collection("cars").observe(deliverOn: queue) { change in
                    withExtendedLifetime(witness) { seen.append(change.id) }
                }
                #expect(liveDeliveryCount == baseline + 1)
                try ditto.store.collection("cars").upsert(["_id": "one"])
                #expect(await eventually { seen.values == ["one"] })
                withExtendedLifetime(observer) {}
            }
            queue.sync {}
            #expect(liveDeliveryCount == baseline)
            #expect(weakWitness == nil)
        }
    }
}
