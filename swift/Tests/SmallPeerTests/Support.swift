import Dispatch
import Foundation
import Testing

@testable import SmallPeer

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Every suite nests in this one, so the whole run is serial: the logger and the live-handle count are process-wide.
@Suite(.serialized, .timeLimit(.minutes(3)))
enum SmallPeerTests {}

/// A fresh temporary directory, removed when the test's suite instance goes away.
final class Scratch {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("smallpeer-swift-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        // Keep test output readable: engine messages still reach callbacks, files and engine logs.
        DittoLogger.setConsoleEnabled(false)
    }

    /// A path inside the scratch directory (not created).
    func path(_ name: String) -> URL { url.appendingPathComponent(name) }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Thread-safe list of values that callbacks append to.
final class Recorder<Value: Sendable>: Sendable {
    private let items = Locked<[Value]>([])

    func append(_ value: Value) { items.withLock { $0.append(value) } }

    var values: [Value] { items.withLock { $0 } }
}

/// Polls `condition` until it holds or `timeout` seconds pass; returns whether it held.
func eventually(timeout: TimeInterval = 20, _ condition: () throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        try? await Task.sleep(nanoseconds: 50_000_000)
    }
    return try condition()
}

/// Polls an async `condition` until it holds or `timeout` seconds pass; returns whether it held.
func eventuallyAsync(timeout: TimeInterval = 30, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await condition() { return true }
        try await Task.sleep(nanoseconds: 100_000_000)
    }
    return try await condition()
}

/// Decompresses gzip data with the system's `gzip -dc` (Foundation has no gzip reader on Linux).
func gunzip(_ data: Data) throws -> String {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("smallpeer-\(UUID().uuidString).gz")
    try data.write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = ["-dc", file.path]
    let stdout = Pipe()
    process.standardOutput = stdout
    try process.run()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw HarnessError(description: "gzip -dc failed: \(process.terminationStatus)")
    }
    return String(decoding: output, as: UTF8.self)
}

/// A failure in the test harness itself.
struct HarnessError: Error, CustomStringConvertible {
    let description: String
}

/// A real `smallpeer big-peer` process on a free loopback port (the command line from env SMALLPEER_CLI).
/// `@unchecked`: `Process` is not marked Sendable; this class only reads its state and signals it.
final class BigPeerProcess: @unchecked Sendable {
    static let appID = "smallpeer-swift-test"
    static let appToken = "smallpeer-swift-test-token"

    private let process: Process
    private let output = Locked<[String]>([])
    /// The HTTP base URL, e.g. `http://127.0.0.1:41234`.
    let url: String
    /// The admin token for the HTTP API.
    let adminToken: String

    init(dataDirectory: URL) throws {
        guard let cli = ProcessInfo.processInfo.environment["SMALLPEER_CLI"], !cli.isEmpty else {
            throw HarnessError(description: "SMALLPEER_CLI is not set: it must name the smallpeer command line")
        }
        // The process writes its facts here as JSON once it listens (--ready-file); its log lines are for people.
        let readyFile = URL(fileURLWithPath: dataDirectory.path + ".ready.json")
        try? FileManager.default.removeItem(at: readyFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: cli)
        process.arguments = [
            "big-peer", "--listen", "127.0.0.1:0", "--data", dataDirectory.path,
            "--app-id", Self.appID, "--app-token", Self.appToken, "--ready-file", readyFile.path,
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        // Dispatch's worker threads (where tests run) block signals, and a child inherits the mask:
        // spawn with none blocked, or the Big Peer would never see the SIGTERM that stops it.
        var unblocked = sigset_t()
        var previous = sigset_t()
        sigemptyset(&unblocked)
        pthread_sigmask(SIG_SETMASK, &unblocked, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        try process.run()
        self.process = process

        let output = self.output
        let reader = pipe.fileHandleForReading
        // Reads until EOF, so the process never blocks on a full pipe.
        DispatchQueue.global().async {
            var pending = Data()
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    output.withLock { $0.append(line) }
                }
            }
        }
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: readyFile.path), process.isRunning, Date() < deadline {
            usleep(20_000)
        }
        guard let data = FileManager.default.contents(atPath: readyFile.path),
            let facts = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let url = facts["url"] as? String, let token = facts["admin_token"] as? String
        else {
            process.terminate()
            let lines = output.withLock { $0 }
            throw HarnessError(description: "the Big Peer did not start in 30 s:\n" + lines.joined(separator: "\n"))
        }
        self.url = url
        self.adminToken = token
    }

    /// The Big Peer's sync WebSocket URL.
    var syncURL: String { url.replacingOccurrences(of: "http://", with: "ws://") + "/sync" }

    /// Everything the process printed so far.
    var printed: [String] { output.withLock { $0 } }

    /// GETs an API path with the admin token: the parsed JSON object, or `nil` on 404.
    func get(_ path: String) async throws -> [String: Any]? {
        var request = URLRequest(url: URL(string: url + path)!)
        request.setValue("Bearer \(adminToken)", forHTTPHeaderField: "Authorization")
        request.timeoutInterval = 10
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        if status == 404 { return nil }
        guard status == 200 else {
            throw HarnessError(description: "GET \(path): HTTP \(status): \(String(decoding: data, as: UTF8.self))")
        }
        return try JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    /// POSTs a JSON object to an API path with the admin token: the parsed answer; throws unless HTTP `status`.
    @discardableResult
    func post(_ path: String, _ body: [String: Any], status expected: Int = 201) async throws -> [String: Any]? {
        var request = URLRequest(url: URL(string: url + path)!)
        request.httpMethod = "POST"
        request.setValue("Bearer \(adminToken)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        request.timeoutInterval = 10
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == expected else {
            throw HarnessError(description: "POST \(path): HTTP \(status): \(String(decoding: data, as: UTF8.self))")
        }
        return try JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    /// GETs an API path with the admin token and returns the body's bytes (for downloads); throws unless HTTP 200.
    func getBytes(_ path: String) async throws -> Data {
        var request = URLRequest(url: URL(string: url + path)!)
        request.setValue("Bearer \(adminToken)", forHTTPHeaderField: "Authorization")
        request.timeoutInterval = 10
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200 else {
            throw HarnessError(description: "GET \(path): HTTP \(status): \(String(decoding: data, as: UTF8.self))")
        }
        return data
    }

    /// The stored document (the `document` field of the API's answer), or `nil` while the Big Peer has none.
    func document(collection: String, id: String) async throws -> [String: Any]? {
        guard let answer = try await get("/api/v1/collections/\(collection)/documents/\(id)") else { return nil }
        guard let document = answer["document"] as? [String: Any] else {
            throw HarnessError(description: "the Big Peer's answer has no document: \(answer)")
        }
        return document
    }

    /// Polls for a document until it arrives (and satisfies `predicate`) or 20 s pass.
    func waitForDocument(
        collection: String, id: String, timeout: TimeInterval = 20,
        where predicate: ([String: Any]) -> Bool = { _ in true }
    ) async throws -> [String: Any]? {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if let doc = try await document(collection: collection, id: id), predicate(doc) { return doc }
            try await Task.sleep(nanoseconds: 100_000_000)
        } while Date() < deadline
        return nil
    }

    /// Stops the process with SIGTERM, waiting up to 15 s before SIGKILL; returns whether SIGTERM stopped it.
    @discardableResult
    func stop() -> Bool {
        guard process.isRunning else { return true }
        process.terminate()
        let deadline = Date().addingTimeInterval(15)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        guard process.isRunning else { return true }
        kill(process.processIdentifier, SIGKILL)
        while process.isRunning { usleep(20_000) }
        return false
    }

    deinit { stop() }
}
