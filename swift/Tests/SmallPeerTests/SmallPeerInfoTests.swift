import CSmallPeer
import Foundation
import Testing

@testable import SmallPeer

extension SmallPeerTests {
    /// `ditto.smallPeerInfo`: every property and method, its defaults, its limits and its errors.
    @Suite final class SmallPeerInfoTests {
        let scratch: Scratch
        let ditto: Ditto

        init() throws {
            scratch = try Scratch()
            ditto = try Ditto(persistenceDirectory: scratch.path("peer"), deviceName: "swift-test-device")
        }

        @Test func defaultsAreOffLocalFiveMinutesNoMetadataNoDocument() throws {
            let info = ditto.smallPeerInfo
            #expect(info.isEnabled == false)
            #expect(info.syncScope == .localPeerOnly)
            #expect(info.collectionInterval == 300)
            #expect(try info.metadataJSONString == "{}")
            #expect(info.metadata.isEmpty)
            #expect(ditto.deviceName == "swift-test-device")
            #expect(try info.document == nil)
        }

        @Test func enablingWritesTheDocumentAtOnce() throws {
            ditto.smallPeerInfo.isEnabled = true
            #expect(ditto.smallPeerInfo.isEnabled)
            let doc = try #require(try ditto.smallPeerInfo.document)
            #expect(try doc.id == ditto.presence.localPeerKey)
            #expect(doc["ditto_sdk_language"] as? String == "Swift")
            #expect(doc["device_name"] as? String == "swift-test-device")
            #expect(doc["sync_scope"] as? String == "LocalPeerOnly")
            #expect(try ditto.store.collection("__small_peer_info").findByID(doc.id) == doc)
            ditto.smallPeerInfo.isEnabled = false
            #expect(ditto.smallPeerInfo.isEnabled == false)
        }

        @Test func syncScopeHasTheTwoDocumentedCasesWithTheCValues() throws {
            // Ditto's order (bigPeerOnly first), with the C header's values.
            #expect(DittoSmallPeerInfoSyncScope.allCases == [.bigPeerOnly, .localPeerOnly])
            #expect(DittoSmallPeerInfoSyncScope.localPeerOnly.rawValue == UInt(SP_SYNC_SCOPE_LOCAL_PEER_ONLY))
            #expect(DittoSmallPeerInfoSyncScope.bigPeerOnly.rawValue == UInt(SP_SYNC_SCOPE_BIG_PEER_ONLY))
            #expect(DittoSmallPeerInfoSyncScope.allCases.map(\.description) == ["BigPeerOnly", "LocalPeerOnly"])
            ditto.smallPeerInfo.syncScope = .bigPeerOnly
            #expect(ditto.smallPeerInfo.syncScope == .bigPeerOnly)
            #expect(try ditto.store.collection("__small_peer_info").syncScope == .bigPeerOnly)
            #expect(try ditto.smallPeerInfo.collectNow()["sync_scope"] as? String == "BigPeerOnly")
            ditto.smallPeerInfo.syncScope = .localPeerOnly
            #expect(ditto.smallPeerInfo.syncScope == .localPeerOnly)
            try ditto.smallPeerInfo.setSyncScope(.bigPeerOnly)
            #expect(try ditto.smallPeerInfo.getSyncScope() == .bigPeerOnly)
        }

        @Test func settingsPersistAcrossReopening() throws {
            let dir = scratch.path("reopen")
            do {
                let first = try Ditto(persistenceDirectory: dir)
                first.smallPeerInfo.isEnabled = true
                first.smallPeerInfo.syncScope = .bigPeerOnly
                first.smallPeerInfo.metadata = ["site": "north"]
                first.smallPeerInfo.collectionInterval = 42
            }
            let second = try Ditto(persistenceDirectory: dir)
            #expect(second.smallPeerInfo.isEnabled)
            #expect(second.smallPeerInfo.syncScope == .bigPeerOnly)
            #expect(second.smallPeerInfo.metadata["site"] as? String == "north")
            #expect(second.smallPeerInfo.collectionInterval == 42)
        }

        @Test func metadataRoundTripsAsMinifiedJSON() throws {
            try ditto.smallPeerInfo.setMetadata([
                "site": "north", "floor": 3, "tags": ["a", "b"], "nested": ["ok": true],
            ])
            let metadata = try ditto.smallPeerInfo.getMetadata()
            #expect(metadata["site"] as? String == "north")
            #expect(metadata["floor"] as? Int == 3)
            #expect(metadata["tags"] as? [String] == ["a", "b"])
            #expect((metadata["nested"] as? [String: Any])?["ok"] as? Bool == true)
            #expect(try !ditto.smallPeerInfo.metadataJSONString.contains(" "))
            let doc = try ditto.smallPeerInfo.collectNow()
            #expect((doc["metadata"] as? [String: Any])?["site"] as? String == "north")

            try ditto.smallPeerInfo.setMetadataJSONString(#"{ "zone" : "b7" }"#)
            #expect(try ditto.smallPeerInfo.metadataJSONString == #"{"zone":"b7"}"#)
        }

        @Test func metadataThatIsNotAnObjectIsRefusedAndTheOldIsKept() throws {
            try ditto.smallPeerInfo.setMetadata(["keep": 1])
            for bad in ["[1,2]", "\"text\"", "{not json", ""] {
                let error = #expect(throws: DittoError.self) { try self.ditto.smallPeerInfo.setMetadataJSONString(bad) }
                #expect(error?.status == SP_ERR_VALIDATION, "\(bad)")
                #expect(error?.message.isEmpty == false)
            }
            #expect(try ditto.smallPeerInfo.metadataJSONString == #"{"keep":1}"#)
        }

        @Test func metadataOver128KBThrowsValidationAndKeepsTheOld() throws {
            try ditto.smallPeerInfo.setMetadata(["keep": "me"])
            // {"b":"…"} is 8 bytes plus the string: exactly 128 KB is allowed, one byte more is not.
            let limit = 128 * 1024
            try ditto.smallPeerInfo.setMetadata(["b": String(repeating: "x", count: limit - 8)])
            #expect(try ditto.smallPeerInfo.metadataJSONString.utf8.count == limit)
            try ditto.smallPeerInfo.setMetadata(["keep": "me"])

            let error = #expect(throws: DittoError.self) {
                try self.ditto.smallPeerInfo.setMetadata(["b": String(repeating: "x", count: limit - 7)])
            }
            guard case .validation(let message) = error else {
                Issue.record("expected .validation, got \(String(describing: error))")
                return
            }
            #expect(message.contains("128 KB"))
            #expect(error?.status == SP_ERR_VALIDATION)
            #expect(try ditto.smallPeerInfo.metadataJSONString == #"{"keep":"me"}"#)
        }

        @Test func metadataDeeperThan64LevelsThrowsValidationAndKeepsTheOld() throws {
            func nested(_ levels: Int) -> [String: Any] {
                var value: [String: Any] = [:]
                for _ in 1..<levels { value = ["d": value] }
                return value
            }
            try ditto.smallPeerInfo.setMetadata(nested(64))
            #expect(try ditto.smallPeerInfo.metadataJSONString.filter { $0 == "{" }.count == 64)
            try ditto.smallPeerInfo.setMetadata(["keep": "me"])

            let error = #expect(throws: DittoError.self) { try self.ditto.smallPeerInfo.setMetadata(nested(65)) }
            guard case .validation(let message) = error else {
                Issue.record("expected .validation, got \(String(describing: error))")
                return
            }
            #expect(message.contains("64"))
            #expect(try ditto.smallPeerInfo.metadataJSONString == #"{"keep":"me"}"#)
        }

        @Test func metadataThatIsNotJSONSerializableIsAValidationError() throws {
            let error = #expect(throws: DittoError.self) { try self.ditto.smallPeerInfo.setMetadata(["when": Date()]) }
            #expect(error?.status == SP_ERR_VALIDATION)
            #expect(try ditto.smallPeerInfo.metadataJSONString == "{}")
        }

        @Test func collectionIntervalIsConfigurableDownToOneSecond() throws {
            ditto.smallPeerInfo.collectionInterval = 2
            #expect(try ditto.smallPeerInfo.getCollectionInterval() == 2)
            try ditto.smallPeerInfo.setCollectionInterval(1.5)
            #expect(ditto.smallPeerInfo.collectionInterval == 1.5)
            try ditto.smallPeerInfo.setCollectionInterval(1)
            #expect(ditto.smallPeerInfo.collectionInterval == 1)
            for bad in [0.5, 0, -3, .nan, .infinity] {
                let error = #expect(throws: DittoError.self) { try self.ditto.smallPeerInfo.setCollectionInterval(bad) }
                #expect(error?.status == SP_ERR_INVALID_ARGUMENT, "\(bad)")
            }
            #expect(ditto.smallPeerInfo.collectionInterval == 1)
        }

        @Test func anEnabledPeerWritesAgainEachInterval() async throws {
            try ditto.smallPeerInfo.setCollectionInterval(1)
            ditto.smallPeerInfo.isEnabled = true
            let first = try #require(try ditto.smallPeerInfo.document)
            let firstSequence = try #require(first["sequence"] as? Int)
            let rewritten = try await eventually(timeout: 10) {
                (try ditto.smallPeerInfo.document?["sequence"] as? Int ?? 0) > firstSequence
            }
            #expect(rewritten)
        }

        @Test func deviceNameIsOnDittoSetAndValidated() throws {
            ditto.deviceName = "kiosk-7"
            #expect(ditto.deviceName == "kiosk-7")
            #expect(try collectSynchronously()["device_name"] as? String == "kiosk-7")
            try ditto.setDeviceName("kiosk-8")
            #expect(try ditto.getDeviceName() == "kiosk-8")
            for bad in ["", String(repeating: "x", count: 257)] {
                let error = #expect(throws: DittoError.self) { try self.ditto.setDeviceName(bad) }
                #expect(error?.status == SP_ERR_INVALID_ARGUMENT)
            }
            #expect(ditto.deviceName == "kiosk-8")
        }

        @Test func aPropertySetterTrapsWithTheEnginesMessage() async {
            // A settable property cannot throw: a value the engine refuses is a programmer error.
            await #expect(processExitsWith: .failure) {
                let scratch = try Scratch()
                let ditto = try Ditto(persistenceDirectory: scratch.path("trap"))
                ditto.deviceName = ""
            }
        }

        /// The synchronous `collectNow()` (an async context would pick the async overload).
        func collectSynchronously() throws -> DittoDocument { try ditto.smallPeerInfo.collectNow() }

        @Test func collectNowWritesEvenWhenDisabledAndCountsUp() async throws {
            #expect(ditto.smallPeerInfo.isEnabled == false)
            let first = try collectSynchronously()
            let second = try await ditto.smallPeerInfo.collectNow()
            #expect(try first.id == ditto.presence.localPeerKey)
            #expect(second.id == first.id)
            let a = try #require(first["sequence"] as? Int)
            #expect(second["sequence"] as? Int == a + 1)
            #expect(try ditto.smallPeerInfo.document == second)
        }
    }
}
