import CSmallPeer
import Dispatch
import Foundation
import Testing

@testable import SmallPeer

extension SmallPeerTests {
    /// Transport configuration, start/stop, LAN sync between two peers, and presence.
    @Suite final class SyncTests {
        let scratch: Scratch

        init() throws { scratch = try Scratch() }

        @Test func transportConfigDefaultsToNothingAndRoundTrips() throws {
            let ditto = try Ditto(persistenceDirectory: scratch.path("peer"))
            #expect(ditto.transportConfig == DittoTransportConfig())
            try ditto.updateTransportConfig {
                $0.bigPeer.urls = ["ws://127.0.0.1:9/sync"]
                $0.lan = DittoTransportConfig.LAN(listen: "127.0.0.1:0", connect: ["127.0.0.1:4040"])
            }
            let config = ditto.transportConfig
            #expect(config.bigPeer.urls == ["ws://127.0.0.1:9/sync"])
            #expect(config.lan.listen == "127.0.0.1:0")
            #expect(config.lan.connect == ["127.0.0.1:4040"])
        }

        @Test func aBadURLOrAddressIsRefusedAndChangesNothing() throws {
            let ditto = try Ditto(persistenceDirectory: scratch.path("peer"))
            try ditto.updateTransportConfig { $0.bigPeer.urls = ["ws://127.0.0.1:9/sync"] }
            let before = ditto.transportConfig
            let bad: [(inout DittoTransportConfig) -> Void] = [
                { $0.bigPeer.urls = ["not a url"] },
                { $0.bigPeer.urls = ["http://127.0.0.1:9/sync"] },
                { $0.bigPeer.urls = ["ws://example.com/sync"] },  // plain ws:// only for loopback
                { $0.lan.connect = ["127.0.0.1"] },
                { $0.lan.listen = "127.0.0.1:99999" },
            ]
            for edit in bad {
                let error = #expect(throws: DittoError.self) { try ditto.updateTransportConfig(edit) }
                #expect(error?.status == SP_ERR_INVALID_ARGUMENT)
                #expect(error?.message.isEmpty == false)
            }
            #expect(ditto.transportConfig == before)
        }

        @Test func anOfflineIdentityCannotSyncWithABigPeer() throws {
            let ditto = try Ditto(persistenceDirectory: scratch.path("peer"))
            try ditto.updateTransportConfig { $0.bigPeer.urls = ["ws://127.0.0.1:9/sync"] }
            let error = #expect(throws: DittoError.self) { try ditto.startSync() }
            #expect(error?.status == SP_ERR_INVALID_ARGUMENT)
            #expect(ditto.isSyncActive == false)
        }

        @Test func startAndStopSync() throws {
            let ditto = try Ditto(persistenceDirectory: scratch.path("peer"))
            try ditto.updateTransportConfig { $0.lan.listen = "127.0.0.1:0" }
            #expect(ditto.isSyncActive == false)
            #expect(ditto.lanPort == nil)
            try ditto.startSync()
            #expect(ditto.isSyncActive)
            let port = try #require(ditto.lanPort)
            #expect(port > 0)
            ditto.stopSync()
            #expect(ditto.isSyncActive == false)
            #expect(ditto.lanPort == nil)
            ditto.stopSync()
        }

        @Test func twoPeersSyncOverTheLANAndSeeEachOtherInPresence() async throws {
            let a = try Ditto(persistenceDirectory: scratch.path("a"), deviceName: "peer-a")
            let b = try Ditto(persistenceDirectory: scratch.path("b"), deviceName: "peer-b")
            #expect(a.presence.graph.localPeerKey == a.presence.localPeerKey)
            #expect(a.presence.graph.remotePeers.isEmpty)
            #expect(a.presence.graph.isConnectedToBigPeer == false)

            try a.updateTransportConfig { $0.lan.listen = "127.0.0.1:0" }
            try a.startSync()
            let port = try #require(a.lanPort)
            try b.updateTransportConfig { $0.lan.connect = ["127.0.0.1:\(port)"] }
            try b.startSync()

            let queue = DispatchQueue(label: "smallpeer.test.lan")
            let arrived = Recorder<DittoCollectionChange>()
            let observer = try b.store.collection("cars").observe(deliverOn: queue) { change in
                dispatchPrecondition(condition: .onQueue(queue))
                arrived.append(change)
            }

            #expect(
                await eventually {
                    a.presence.graph.remotePeers.contains {
                        $0.peerKey == b.presence.localPeerKey && $0.deviceName == "peer-b"
                    }
                        && b.presence.graph.remotePeers.contains {
                            $0.peerKey == a.presence.localPeerKey && !$0.isBigPeer
                        }
                })
            #expect((b.presence.graph.connectionsByTransport.values.reduce(0, +)) >= 1)

            try a.store.collection("cars").upsert(["_id": "from-a", "make": "Volvo"])
            #expect(await eventually { arrived.values.contains { $0.id == "from-a" && $0.kind == .upsert } })
            #expect(try b.store.collection("cars").findByID("from-a")?["make"] as? String == "Volvo")

            b.stopSync()
            #expect(await eventually { a.presence.graph.remotePeers.isEmpty })
            observer.cancel()
            a.stopSync()
        }
    }
}
