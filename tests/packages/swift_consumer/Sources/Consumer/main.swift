// The job every package test's program does.
// Usage: Consumer PERSISTENCE_DIR APP_ID APP_TOKEN SYNC_URL SECONDS
import Foundation
import SmallPeer

let args = CommandLine.arguments
let ditto = try Ditto(
    identity: .onlinePlayground(appID: args[2], token: args[3]),
    persistenceDirectory: URL(fileURLWithPath: args[1]))
try ditto.setTransportConfig(DittoTransportConfig(connect: .init(websocketURLs: [args[4]])))
ditto.smallPeerInfo.isEnabled = true
try ditto.smallPeerInfo.setSyncScope(.bigPeerOnly)
try ditto.startSync()
// Unbuffered, so the test sees the line while the program runs.
FileHandle.standardOutput.write(Data("peer_key \(try ditto.presence.localPeerKey)\n".utf8))
Thread.sleep(forTimeInterval: Double(args[5]) ?? 60)
ditto.close()
