import Foundation
import Testing

@testable import SmallPeer

extension SmallPeerTests {
    /// The documented two lines against a real Big Peer process (`$SMALLPEER_CLI big-peer`).
    @Suite final class BigPeerTests {
        let scratch: Scratch
        let bigPeer: BigPeerProcess

        init() throws {
            scratch = try Scratch()
            bigPeer = try BigPeerProcess(dataDirectory: scratch.path("big-peer"))
        }

        deinit { bigPeer.stop() }

        /// A small peer with an online playground identity pointed at the Big Peer, syncing.
        func smallPeer(_ name: String, token: String = BigPeerProcess.appToken) throws -> Ditto {
            let ditto = try Ditto(
                identity: .onlinePlayground(appID: BigPeerProcess.appID, token: token),
                persistenceDirectory: scratch.path(name), deviceName: name)
            try ditto.updateTransportConfig { $0.connect.websocketURLs = [bigPeer.syncURL] }
            try ditto.startSync()
            return ditto
        }

        @Test func theTwoDocumentedLinesDeliverTheDocumentToTheBigPeer() async throws {
            let ditto = try smallPeer("swift-small-peer")

            ditto.smallPeerInfo.isEnabled = true
            ditto.smallPeerInfo.syncScope = .bigPeerOnly

            let peerKey = try ditto.presence.localPeerKey
            let doc = try await bigPeer.waitForDocument(collection: "__small_peer_info", id: peerKey) {
                $0["sync_scope"] as? String == "BigPeerOnly"
            }
            let received = try #require(
                doc, "the Big Peer never received the document; it printed:\n\(bigPeer.printed.joined(separator: "\n"))"
            )
            #expect(received["_id"] as? String == peerKey)
            #expect(received["ditto_sdk_language"] as? String == "Swift")
            #expect(received["device_name"] as? String == "swift-small-peer")
            #expect(try await eventually { try ditto.presence.graph.isConnectedToBigPeer })
            #expect(try ditto.presence.graph.peers.contains { $0.isBigPeer })
            #expect(bigPeer.stop(), "the Big Peer ignored SIGTERM")
        }

        @Test func withTheDefaultScopeTheDocumentStaysLocal() async throws {
            let local = try smallPeer("swift-local-only")
            local.smallPeerInfo.isEnabled = true
            #expect(local.smallPeerInfo.syncScope == .localPeerOnly)
            // A second peer with BigPeerOnly is the barrier: once its document is there, the first had its chance.
            let reporting = try smallPeer("swift-reporting")
            #expect(try await eventually { try local.presence.graph.isConnectedToBigPeer })
            reporting.smallPeerInfo.isEnabled = true
            reporting.smallPeerInfo.syncScope = .bigPeerOnly
            #expect(
                try await bigPeer.waitForDocument(
                    collection: "__small_peer_info", id: try reporting.presence.localPeerKey)
                    != nil)
            #expect(
                try await bigPeer.document(collection: "__small_peer_info", id: try local.presence.localPeerKey) == nil)
        }

        @Test func sendLogsUploadsABundleTheOperatorCanDownload() async throws {
            let ditto = try smallPeer("swift-support-button")
            let marker = "the user pressed send logs \(UUID().uuidString)"
            try ditto.log(marker, level: .error)
            let requestID = try await ditto.sendLogs(options: DittoLogExportOptions(minimumLogLevel: .warning))
            #expect(requestID.hasPrefix("dev_"))
            var state: [String: Any]?
            let ready = try await eventuallyAsync {
                state = try await self.bigPeer.get("/api/v1/log-requests/\(requestID)")
                return state?["state"] as? String == "ready"
            }
            #expect(
                ready,
                "the request never became ready: \(String(describing: state)); the Big Peer printed:\n\(bigPeer.printed.joined(separator: "\n"))"
            )
            #expect(state?["requested_by"] as? String == "device")
            let downloadURL = try #require(state?["download_url"] as? String)
            let gzip = try await bigPeer.getBytes(downloadURL)
            #expect(gzip.starts(with: [0x1f, 0x8b]), "the download is not gzip")
            // Decompress with the system's gzip: Foundation has no gzip reader on Linux.
            let lines = try gunzip(gzip)
            #expect(lines.contains(marker))
            #expect(!lines.contains("\"level\":\"info\""), "min level warning let an info line through")
        }

        @Test func sendLogsRefusesBadOptionsWithoutSending() throws {
            let ditto = try smallPeer("swift-bad-send")
            #expect(throws: DittoError.self) {
                try ditto.sendLogs(options: DittoLogExportOptions(maxBytes: 0))
            }
            let outbox = scratch.path("swift-bad-send").appendingPathComponent("log-outbox").path
            #expect(
                (try? FileManager.default.contentsOfDirectory(atPath: outbox))?.isEmpty ?? true,
                "a refused send left a bundle")
        }

        @Test func aWrongTokenIsRefusedAndTheHistorySaysWhy() async throws {
            let ditto = try smallPeer("swift-wrong-token", token: "not-the-token")
            #expect(
                try await eventually {
                    try ditto.presence.graph.bigPeerConnectionHistory.contains {
                        $0.event == "auth_failed" && $0.reason?.isEmpty == false
                    }
                })
            #expect(try ditto.presence.graph.isConnectedToBigPeer == false)
        }
    }
}
