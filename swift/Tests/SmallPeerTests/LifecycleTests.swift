import CSmallPeer
import CSmallPeer.Diagnostics
import Dispatch
import Foundation
import Testing

@testable import SmallPeer

extension SmallPeerTests {
    /// Opening, errors, and releasing the native handle on deinit (counted through `sp_ditto_live_handles`).
    @Suite final class LifecycleTests {
        let scratch: Scratch

        init() throws { scratch = try Scratch() }

        @Test func theLibraryMatchesThePackage() {
            #expect(Int(sp_abi_version()) == Ditto.abiVersion)
            #expect(Ditto.version == String(cString: sp_version()))
            #expect(Ditto.version.split(separator: ".").count == 3)
        }

        @Test func openingADirectoryInUseThrowsLockedWithTheStatusAndMessage() throws {
            let dir = scratch.path("peer")
            let first = try Ditto(persistenceDirectory: dir)
            let error = #expect(throws: DittoError.self) { try Ditto(persistenceDirectory: dir) }
            guard case .locked(let message) = error else {
                Issue.record("expected .locked, got \(String(describing: error))")
                return
            }
            #expect(error?.status == SP_ERR_LOCKED)
            #expect(!message.isEmpty)
            #expect(error?.description == "\(message) (status \(SP_ERR_LOCKED))")
            withExtendedLifetime(first) {}
        }

        @Test func aDirectoryThatCannotBeCreatedThrowsIO() throws {
            let file = scratch.path("a-file")
            try Data("x".utf8).write(to: file)
            let error = #expect(throws: DittoError.self) {
                try Ditto(persistenceDirectory: file.appendingPathComponent("peer"))
            }
            #expect(error?.status == SP_ERR_IO)
            #expect(error?.message.isEmpty == false)
        }

        @Test func anEmptyAppIDOrTokenIsAnInvalidArgument() throws {
            for identity in [
                DittoIdentity.onlinePlayground(appID: "", token: "t"), .onlinePlayground(appID: "app", token: ""),
            ] {
                let error = #expect(throws: DittoError.self) {
                    try Ditto(identity: identity, persistenceDirectory: self.scratch.path("p-\(UUID().uuidString)"))
                }
                #expect(error?.status == SP_ERR_INVALID_ARGUMENT)
            }
        }

        @Test func identityDescriptionsHideTheToken() {
            let identity = DittoIdentity.onlinePlayground(appID: "my-app", token: "s3cret")
            #expect(identity.description.contains("my-app"))
            #expect(!identity.description.contains("s3cret"))
            #expect(DittoIdentity.offlinePlayground.description == "offlinePlayground")
        }

        @Test func errorsCarryEveryCStatus() {
            let statuses: [Int32] = [
                SP_ERR_INVALID_ARGUMENT, SP_ERR_VALIDATION, SP_ERR_NOT_FOUND, SP_ERR_CLOSED,
                SP_ERR_IO, SP_ERR_LOCKED, SP_ERR_STORE, SP_ERR_INTERNAL, 99,
            ]
            for status in statuses {
                let error = DittoError(status: status, message: "why \(status)")
                #expect(error.status == status)
                #expect(error.message == "why \(status)")
            }
            #expect(DittoError(status: 99, message: "m") == .unknown(status: 99, message: "m"))
        }

        @Test func deinitReleasesTheNativeHandleAndTheDirectory() throws {
            let before = sp_ditto_live_handles()
            let dir = scratch.path("peer")
            do {
                let ditto = try Ditto(persistenceDirectory: dir)
                ditto.smallPeerInfo.isEnabled = true
                let observer = try ditto.store.collection("cars").observe(deliverOn: DispatchQueue(label: "leak")) {
                    _ in
                }
                try ditto.store.collection("cars").upsert(["_id": "a"])
                #expect(sp_ditto_live_handles() == before + 1)
                withExtendedLifetime((ditto, observer)) {}
            }
            #expect(sp_ditto_live_handles() == before)
            // The directory lock went with the handle: it opens again at once.
            let again = try Ditto(persistenceDirectory: dir)
            #expect(try again.store.collection("cars").findByID("a") != nil)
            #expect(sp_ditto_live_handles() == before + 1)
        }

        @Test func objectsHandedOutKeepTheInstanceOpenUntilTheLastGoes() throws {
            let before = sp_ditto_live_handles()
            var collection: DittoCollection?
            var info: DittoSmallPeerInfo?
            do {
                let ditto = try Ditto(persistenceDirectory: scratch.path("peer"))
                collection = ditto.store.collection("cars")
                info = ditto.smallPeerInfo
            }
            #expect(sp_ditto_live_handles() == before + 1)
            try collection?.upsert(["_id": "still-open"])
            #expect(info?.isEnabled == false)
            collection = nil
            #expect(sp_ditto_live_handles() == before + 1)
            info = nil
            #expect(sp_ditto_live_handles() == before)
        }

        @Test func manyInstancesOpenedAndDroppedLeaveNoHandles() throws {
            let before = sp_ditto_live_handles()
            let baseline = liveDeliveryCount
            for i in 0..<20 {
                let ditto = try Ditto(persistenceDirectory: scratch.path("peer-\(i % 3)"))
                let observer = try ditto.store.collection("c").observe(deliverOn: DispatchQueue(label: "many")) { _ in }
                _ = try ditto.smallPeerInfo.collectNow()
                withExtendedLifetime(observer) {}
            }
            #expect(sp_ditto_live_handles() == before)
            #expect(liveDeliveryCount == baseline)
        }

        @Test func closeReleasesTheDirectoryAndEveryLaterCallThrowsClosed() async throws {
            let dir = scratch.path("peer")
            let ditto = try Ditto(persistenceDirectory: dir, deviceName: "closing")
            let cars = ditto.store.collection("cars")
            try cars.upsert(["_id": "kept"])
            func closeSynchronously() { ditto.close() }
            closeSynchronously()
            await ditto.close()  // idempotent, and the async variant

            func expectClosed(_ what: String, _ body: () throws -> Void) {
                let error = #expect(throws: DittoError.self, "\(what)") { try body() }
                guard case .closed(let message) = error else {
                    Issue.record("\(what): expected .closed, got \(String(describing: error))")
                    return
                }
                #expect(!message.isEmpty)
            }
            expectClosed("getDeviceName") { _ = try ditto.getDeviceName() }
            expectClosed("setDeviceName") { try ditto.setDeviceName("x") }
            expectClosed("getEnabled") { _ = try ditto.smallPeerInfo.getEnabled() }
            expectClosed("setEnabled") { try ditto.smallPeerInfo.setEnabled(true) }
            expectClosed("getSyncScope") { _ = try ditto.smallPeerInfo.getSyncScope() }
            expectClosed("setMetadata") { try ditto.smallPeerInfo.setMetadata(["a": 1]) }
            expectClosed("getCollectionInterval") { _ = try ditto.smallPeerInfo.getCollectionInterval() }
            expectClosed("collectNow") { _ = try ditto.smallPeerInfo.collectNow() as DittoDocument }
            expectClosed("document") { _ = try ditto.smallPeerInfo.document }
            expectClosed("upsert") { try cars.upsert(["a": 1]) }
            expectClosed("findByID") { _ = try cars.findByID("kept") }
            expectClosed("collection syncScope") { _ = try cars.syncScope }
            expectClosed("startSync") { try ditto.startSync() }
            expectClosed("stopSync") { try ditto.stopSync() }
            expectClosed("isSyncActive") { _ = try ditto.isSyncActive }
            expectClosed("transportConfig") { _ = try ditto.transportConfig }
            expectClosed("presence.graph") { _ = try ditto.presence.graph }
            expectClosed("log") { try ditto.log("after close", level: .error) }
            expectClosed("sendLogs") { _ = try ditto.sendLogs() as String }

            // The directory is free at once, while `ditto` is still referenced.
            let again = try Ditto(persistenceDirectory: dir)
            #expect(try again.store.collection("cars").findByID("kept") != nil)
            await again.close()
            withExtendedLifetime(ditto) {}
        }

        @Test func aFailedRegistrationReleasesItsCallbackOnce() throws {
            let baseline = liveDeliveryCount
            let ditto = try Ditto(persistenceDirectory: scratch.path("peer"))
            ditto.close()
            let error = #expect(throws: DittoError.self) {
                _ = try ditto.store.collection("cars").observe(deliverOn: DispatchQueue(label: "closed")) { _ in }
            }
            #expect(error?.status == SP_ERR_CLOSED)
            // The C side ran the userdata free function: the delivery is gone, released exactly once.
            #expect(liveDeliveryCount == baseline)
        }
    }
}
