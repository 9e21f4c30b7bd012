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
            #expect(try ditto.transportConfig == DittoTransportConfig())
            try ditto.updateTransportConfig {
                $0.connect.websocketURLs = ["ws://127.0.0.1:9/sync"]
                $0.connect.tcpServers = ["127.0.0.1:4040"]
                $0.listen.tcp = DittoTCPListenConfig(isEnabled: true, interfaceIP: "127.0.0.1", port: 0)
            }
            let config = try ditto.transportConfig
            #expect(config.connect.websocketURLs == ["ws://127.0.0.1:9/sync"])
            #expect(config.connect.tcpServers == ["127.0.0.1:4040"])
            #expect(config.listen.tcp == DittoTCPListenConfig(isEnabled: true, interfaceIP: "127.0.0.1", port: 0))
            #expect(config.connect.caFile == nil)

            // IPv6 listen addresses, the CA file, and setting a whole value.
            var next = DittoTransportConfig()
            next.listen.tcp = DittoTCPListenConfig(isEnabled: true, interfaceIP: "::1", port: 4041)
            next.connect.caFile = "/etc/ssl/certs/ca.pem"
            try ditto.setTransportConfig(next)
            #expect(try ditto.transportConfig == next)
        }

        @Test func aBadURLOrAddressIsRefusedAndChangesNothing() throws {
            let ditto = try Ditto(persistenceDirectory: scratch.path("peer"))
            try ditto.updateTransportConfig { $0.connect.websocketURLs = ["ws://127.0.0.1:9/sync"] }
            let before = try ditto.transportConfig
            let bad: [(inout DittoTransportConfig) -> Void] = [
                { $0.connect.websocketURLs = ["not a url"] },
                { $0.connect.websocketURLs = ["http://127.0.0.1:9/sync"] },
                { $0.connect.websocketURLs = ["ws://example.com/sync"] },  // plain ws:// only for loopback
                { $0.connect.tcpServers = ["127.0.0.1"] },
                { $0.listen.tcp = DittoTCPListenConfig(isEnabled: true, port: 99999) },
            ]
            for edit in bad {
                let error = #expect(throws: DittoError.self) { try ditto.updateTransportConfig(edit) }
                #expect(error?.status == SP_ERR_INVALID_ARGUMENT)
                #expect(error?.message.isEmpty == false)
            }
            #expect(try ditto.transportConfig == before)
        }

        @Test func anOfflineIdentityCannotSyncWithABigPeer() throws {
            let ditto = try Ditto(persistenceDirectory: scratch.path("peer"))
            try ditto.updateTransportConfig { $0.connect.websocketURLs = ["ws://127.0.0.1:9/sync"] }
            let error = #expect(throws: DittoError.self) { try ditto.startSync() }
            #expect(error?.status == SP_ERR_INVALID_ARGUMENT)
            #expect(try ditto.isSyncActive == false)
        }

        @Test func startAndStopSync() throws {
            let ditto = try Ditto(persistenceDirectory: scratch.path("peer"))
            try ditto.updateTransportConfig { $0.listen.tcp.isEnabled = true }
            #expect(try ditto.isSyncActive == false)
            #expect(try ditto.lanPort == nil)
            try ditto.startSync()
            #expect(try ditto.isSyncActive)
            let port = try #require(try ditto.lanPort)
            #expect(port > 0)
            try ditto.stopSync()
            #expect(try ditto.isSyncActive == false)
            #expect(try ditto.lanPort == nil)
            try ditto.stopSync()
        }

        @Test func twoPeersSyncOverTheLANAndSeeEachOtherInPresence() async throws {
            let a = try Ditto(persistenceDirectory: scratch.path("a"), deviceName: "peer-a")
            let b = try Ditto(persistenceDirectory: scratch.path("b"), deviceName: "peer-b")
            #expect(try a.presence.graph.localPeerKey == a.presence.localPeerKey)
            #expect(try a.presence.graph.peers.isEmpty)
            #expect(try a.presence.graph.isConnectedToBigPeer == false)

            try a.updateTransportConfig { $0.listen.tcp.isEnabled = true }
            try a.startSync()
            let port = try #require(try a.lanPort)
            try b.updateTransportConfig { $0.connect.tcpServers = ["127.0.0.1:\(port)"] }
            try b.startSync()

            let queue = DispatchQueue(label: "smallpeer.test.lan")
            let arrived = Recorder<DittoCollectionChange>()
            let observer = try b.store.collection("cars").observe(deliverOn: queue) { change in
                dispatchPrecondition(condition: .onQueue(queue))
                arrived.append(change)
            }

            let aKey = try a.presence.localPeerKey
            let bKey = try b.presence.localPeerKey
            #expect(
                try await eventually {
                    try a.presence.graph.peers.contains { $0.peerKey == bKey && $0.deviceName == "peer-b" }
                        && b.presence.graph.peers.contains { $0.peerKey == aKey && !$0.isBigPeer }
                })
            #expect(try b.presence.graph.connectionsByTransport.values.reduce(0, +) >= 1)

            try a.store.collection("cars").upsert(["_id": "from-a", "make": "Volvo"])
            #expect(await eventually { arrived.values.contains { $0.id == "from-a" && $0.kind == .upsert } })
            #expect(try b.store.collection("cars").findByID("from-a")?["make"] as? String == "Volvo")

            try b.stopSync()
            #expect(try await eventually { try a.presence.graph.peers.isEmpty })
            observer.cancel()
            try a.stopSync()
        }
    }
}
