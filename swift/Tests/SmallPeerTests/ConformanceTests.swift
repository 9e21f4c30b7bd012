import Dispatch
import Foundation
import Testing

@testable import SmallPeer

// The behaviour table (tests/conformance/cases.json) run through the Swift API. The mapping from an
// operation name to API calls below is the Swift column of the README's parity table, in code; the
// format and every operation are described in tests/conformance/README.md.

extension SmallPeerTests {
    /// Every case of the behaviour table, through the public API only. Nested in the serial suite:
    /// cases reset and use the process-wide `DittoLogger`, which the logger tests also change.
    @Suite final class ConformanceTests {
        @Test func everyCaseOfTheBehaviourTablePasses() async throws {
            let table = try ConformanceTable.load()
            var passed = 0
            var failures: [String] = []
            for testCase in table.cases {
                print("conformance-case swift: running \(testCase.name)")
                if let failure = await ConformanceCase(testCase).run() {
                    failures.append("\(testCase.name): \(failure)")
                    print("conformance-case swift: FAIL \(testCase.name): \(failure)")
                    Issue.record("case '\(testCase.name)': \(failure)")
                } else {
                    passed += 1
                    print("conformance-case swift: PASS \(testCase.name)")
                }
            }
            print("conformance swift: \(table.cases.count) cases, \(passed) passed, \(failures.count) failed")
            #expect(failures.isEmpty, "failed cases:\n\(failures.joined(separator: "\n"))")
            #expect(!table.cases.isEmpty)
        }

        @Test func anOperationTheRunnerDoesNotMapFailsTheCase() async {
            let unknown = ConformanceTable.Case(name: "unknown", steps: [.object(["op": .string("no.such.op")])])
            let failure = await ConformanceCase(unknown).run()
            #expect(
                failure?.hasPrefix("step 0 (no.such.op): failed: unknown op") == true, "\(String(describing: failure))")
        }
    }
}

// MARK: - JSON values

/// A JSON value as the table writes it; numbers compare by value.
enum JSON: Equatable, Decodable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSON].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSON].self))
        }
    }

    /// Parses JSON text.
    static func parse(_ text: String) throws -> JSON {
        try JSONDecoder().decode(JSON.self, from: Data(text.utf8))
    }

    /// Converts a Foundation value (as `JSONSerialization` reads and writes) by writing and reading it back.
    static func from(foundation value: Any) throws -> JSON {
        let data = try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed])
        return try JSONDecoder().decode(JSON.self, from: data)
    }

    /// The Foundation value the Swift API takes (`[String: Any]` and friends).
    var foundation: Any {
        switch self {
        case .null: NSNull()
        case .bool(let b): b
        case .int(let i): Int(i)
        case .double(let d): d
        case .string(let s): s
        case .array(let a): a.map(\.foundation)
        case .object(let o): o.mapValues(\.foundation)
        }
    }

    /// The JSON type names the table's `expect_fields` uses.
    var typeNames: Set<String> {
        switch self {
        case .null: ["null"]
        case .bool: ["boolean"]
        case .int: ["integer", "number"]
        case .double(let d): d.rounded() == d ? ["integer", "number"] : ["number"]
        case .string: ["string"]
        case .array: ["array"]
        case .object: ["object"]
        }
    }

    var string: String? { if case .string(let s) = self { s } else { nil } }
    var array: [JSON]? { if case .array(let a) = self { a } else { nil } }
    var object: [String: JSON]? { if case .object(let o) = self { o } else { nil } }
    var integer: Int64? {
        switch self {
        case .int(let i): i
        case .double(let d) where d.rounded() == d: Int64(d)
        default: nil
        }
    }
    var isNull: Bool { self == .null }

    /// The value at a dotted path (`""` is the value itself).
    func at(path: String) -> JSON? {
        var value: JSON? = self
        for key in path.split(separator: ".", omittingEmptySubsequences: true) {
            value = value?.object?[String(key)]
        }
        return value
    }

    static func == (a: JSON, b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x == y
        case (.int(let x), .int(let y)): x == y
        case (.int(let x), .double(let y)), (.double(let y), .int(let x)): Double(x) == y
        case (.double(let x), .double(let y)): x == y
        default: false
        }
    }

    /// `expect_subset`: every key of `expected` is in `self` with an equal value (objects recursively).
    func contains(subset expected: JSON) -> Bool {
        guard case .object(let want) = expected else { return self == expected }
        guard case .object(let have) = self else { return false }
        return want.allSatisfy { key, value in have[key].map { $0.contains(subset: value) } ?? false }
    }

    var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return String(b)
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s): return s.count > 80 ? "\"\(s.prefix(80))…\" (\(s.utf8.count) bytes)" : "\"\(s)\""
        case .array(let a): return "[" + a.map(\.description).joined(separator: ",") + "]"
        case .object(let o):
            return "{" + o.keys.sorted().map { "\"\($0)\":\(o[$0]!.description)" }.joined(separator: ",") + "}"
        }
    }
}

// MARK: - The table

/// `tests/conformance/cases.json`.
struct ConformanceTable: Decodable {
    struct Case: Decodable {
        let name: String
        let steps: [JSON]
    }

    let version: Int
    let cases: [Case]

    /// Reads the table from `SMALLPEER_CONFORMANCE_CASES`, else from its place in this repository.
    static func load() throws -> ConformanceTable {
        let path =
            ProcessInfo.processInfo.environment["SMALLPEER_CONFORMANCE_CASES"].flatMap { $0.isEmpty ? nil : $0 }
            ?? URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("tests/conformance/cases.json").path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HarnessError(description: "cannot read the behaviour table at \(path)")
        }
        return try JSONDecoder().decode(ConformanceTable.self, from: data)
    }
}

/// Why a step's operation did not give a result: the kind is the table's error kind.
struct StepError: Error, CustomStringConvertible {
    let kind: String
    let message: String

    /// The table's kind of a `DittoError`.
    init(_ error: DittoError) {
        switch error {
        case .invalidArgument: kind = "invalid_argument"
        case .validation: kind = "validation"
        case .notFound: kind = "not_found"
        case .closed: kind = "closed"
        case .io: kind = "io"
        case .locked: kind = "locked"
        case .store: kind = "store"
        case .internal: kind = "internal"
        case .unknown(let status, _): kind = "unknown status \(status)"
        }
        message = error.message
    }

    init(kind: String, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// A value the Swift type cannot hold, refused before the API (an unknown enum name, text that is not UTF-8).
    static func refusedByType(_ message: String) -> StepError { StepError(kind: "invalid_argument", message) }

    var description: String { "\(kind): \(message)" }
}

// MARK: - One case

/// One case run in a fresh directory: the instance `d`, its callbacks and its Big Peer, all closed after.
final class ConformanceCase {
    let testCase: ConformanceTable.Case
    let scratch: Scratch
    var d: Ditto?
    var openArgs: [String: JSON] = [:]
    var bigPeer: BigPeerProcess?
    var saved: [String: JSON] = [:]
    var observers: [DittoStoreObserver] = []
    let changes = Recorder<DittoCollectionChange>()
    let observerQueue = DispatchQueue(label: "smallpeer.conformance.observer")
    let logMessages = Recorder<String>()
    let logQueue = DispatchQueue(label: "smallpeer.conformance.log")

    init(_ testCase: ConformanceTable.Case) {
        self.testCase = testCase
        // Scratch() only fails if the temporary directory cannot be made; then nothing can run.
        self.scratch = try! Scratch()
    }

    /// Runs every step; returns why the case failed, or `nil` if it passed.
    func run() async -> String? {
        resetLogger()
        defer { teardown() }
        for (index, step) in testCase.steps.enumerated() {
            let op = step.object?["op"]?.string ?? "<no op>"
            if let failure = await runStep(step) {
                return "step \(index) (\(op)): \(failure)"
            }
        }
        return nil
    }

    /// The logger as every case starts: enabled, level info, no file, no callback, console off.
    func resetLogger() {
        DittoLogger.unsetCustomLogCallback()
        try? DittoLogger.setLogFile(nil)
        DittoLogger.enabled = true
        DittoLogger.minimumLogLevel = .info
        DittoLogger.setConsoleEnabled(false)
    }

    /// Closes everything the case made, pass or fail.
    func teardown() {
        for observer in observers { observer.cancel() }
        observers = []
        DittoLogger.unsetCustomLogCallback()
        try? DittoLogger.setLogFile(nil)
        d?.close()
        d = nil
        bigPeer?.stop()
        bigPeer = nil
        DittoLogger.enabled = true
        DittoLogger.minimumLogLevel = .info
    }

    /// Runs one step and checks its outcome; returns what went wrong, or `nil`.
    func runStep(_ step: JSON) async -> String? {
        guard let fields = step.object, let op = fields["op"]?.string else { return "the step has no op" }
        let result: Result<JSON, StepError>
        do {
            let args = try resolve(fields["args"] ?? .object([:])).object ?? [:]
            result = .success(try await perform(op, args, expectsError: fields["error"] != nil))
        } catch let error as StepError {
            result = .failure(error)
        } catch let error as DittoError {
            result = .failure(StepError(error))
        } catch {
            result = .failure(StepError(kind: "harness", "\(error)"))
        }

        if let kind = fields["error"]?.string {
            switch result {
            case .success(let value): return "expected the error \(kind), got the result \(value)"
            case .failure(let error):
                return error.kind == kind ? nil : "expected the error \(kind), got \(error)"
            }
        }
        let value: JSON
        switch result {
        case .success(let v): value = v
        case .failure(let error): return "failed: \(error)"
        }
        do {
            if let expected = fields["expect"] {
                let want = try resolve(expected)
                if value != want { return "expected \(want), got \(value)" }
            }
            if let types = fields["expect_fields"]?.object {
                guard value.object != nil || types.keys.allSatisfy({ $0.isEmpty }) else {
                    return "expected an object, got \(value)"
                }
                for (path, type) in types.sorted(by: { $0.key < $1.key }) {
                    guard let found = value.at(path: path) else { return "the field '\(path)' is missing in \(value)" }
                    let allowed = Set((type.string ?? "").split(separator: "|").map(String.init))
                    if allowed.isDisjoint(with: found.typeNames) {
                        return "the field '\(path)' is \(found), not of type \(type.string ?? "?")"
                    }
                }
            }
            if let expected = fields["expect_subset"] {
                let want = try resolve(expected)
                if !value.contains(subset: want) { return "expected a superset of \(want), got \(value)" }
            }
            if let length = fields["expect_length"]?.integer {
                let actual: Int
                switch value {
                case .string(let s): actual = s.utf8.count
                case .array(let a): actual = a.count
                default: return "expected a string or array of length \(length), got \(value)"
                }
                if actual != length { return "expected length \(length), got \(actual)" }
            }
            if let pattern = fields["expect_match"]?.string {
                guard let text = value.string else { return "expected a string matching /\(pattern)/, got \(value)" }
                if text.firstMatch(of: try Regex(pattern)) == nil { return "\(value) does not match /\(pattern)/" }
            }
        } catch {
            return "the expected value cannot be built: \(error)"
        }
        if let name = fields["save"]?.string { saved[name] = value }
        return nil
    }

    // MARK: Arguments

    /// Replaces `{"$var": …}` and `{"$gen": …}` in an argument or expected value.
    func resolve(_ value: JSON) throws -> JSON {
        switch value {
        case .array(let items): return .array(try items.map(resolve))
        case .object(let fields):
            if let name = fields["$var"]?.string {
                let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
                guard let base = saved[parts[0]], let found = base.at(path: parts.count > 1 ? parts[1] : "") else {
                    throw StepError(kind: "harness", "no saved value \(name)")
                }
                if let plus = fields["plus"]?.integer {
                    guard let n = found.integer else { throw StepError(kind: "harness", "\(name) is not an integer") }
                    return .int(n + plus)
                }
                return found
            }
            if let generator = fields["$gen"]?.string { return .string(try generate(generator, fields)) }
            return .object(try fields.mapValues(resolve))
        default: return value
        }
    }

    /// The generated arguments of README "A step".
    func generate(_ generator: String, _ fields: [String: JSON]) throws -> String {
        let n = Int(fields["bytes"]?.integer ?? fields["depth"]?.integer ?? 0)
        switch generator {
        case "object_of_bytes": return "{\"pad\":\"" + String(repeating: "x", count: n - 10) + "\"}"
        case "nested_object":
            return String(repeating: "{\"a\":", count: n - 1) + "{}" + String(repeating: "}", count: n - 1)
        case "string_of_bytes": return String(repeating: "x", count: n)
        case "not_utf8":
            // Swift's String cannot hold the bytes {"k":"\xff"}: the type refuses them, before the API.
            let bytes: [UInt8] = Array("{\"k\":\"".utf8) + [0xff] + Array("\"}".utf8)
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw StepError.refusedByType("String(validating:as:) refuses bytes that are not UTF-8")
            }
            return text
        default: throw StepError(kind: "harness", "unknown generator \(generator)")
        }
    }

    func string(_ args: [String: JSON], _ key: String) throws -> String {
        guard let value = args[key]?.string else {
            throw StepError(kind: "harness", "argument '\(key)' is not a string")
        }
        return value
    }

    func integer(_ args: [String: JSON], _ key: String) throws -> Int64 {
        guard let value = args[key]?.integer else {
            throw StepError(kind: "harness", "argument '\(key)' is not an integer")
        }
        return value
    }

    func bool(_ args: [String: JSON], _ key: String) throws -> Bool {
        guard case .bool(let value) = args[key] else {
            throw StepError(kind: "harness", "argument '\(key)' is not a boolean")
        }
        return value
    }

    func dictionary(_ args: [String: JSON], _ key: String) throws -> [String: Any] {
        guard let value = args[key], case .object = value, let dictionary = value.foundation as? [String: Any] else {
            throw StepError(kind: "harness", "argument '\(key)' is not an object")
        }
        return dictionary
    }

    /// A path argument, relative to the case's directory.
    func path(_ args: [String: JSON], _ key: String = "path") throws -> String {
        scratch.path(try string(args, key)).path
    }

    func seconds(_ args: [String: JSON], _ key: String) throws -> TimeInterval {
        TimeInterval(try integer(args, key)) / 1000
    }

    /// The open instance `d`.
    func ditto() throws -> Ditto {
        guard let d else { throw StepError(kind: "harness", "no instance is open (the case has no open step)") }
        return d
    }

    func smallPeerInfoScope(_ name: String) throws -> DittoSmallPeerInfoSyncScope {
        guard let scope = DittoSmallPeerInfoSyncScope.allCases.first(where: { $0.description == name }) else {
            throw StepError.refusedByType("DittoSmallPeerInfoSyncScope has no case \(name)")
        }
        return scope
    }

    func collectionScope(_ name: String) throws -> DittoSyncScope {
        guard let scope = DittoSyncScope.allCases.first(where: { $0.description == name }) else {
            throw StepError.refusedByType("DittoSyncScope has no case \(name)")
        }
        return scope
    }

    func level(_ name: String) throws -> DittoLogLevel {
        guard let level = DittoLogLevel.allCases.first(where: { "\($0)" == name }) else {
            throw StepError.refusedByType("DittoLogLevel has no case \(name)")
        }
        return level
    }

    func date(_ text: String) throws -> Date {
        let formatter = ISO8601DateFormatter()
        guard let date = formatter.date(from: text) else { throw StepError(kind: "harness", "not RFC 3339: \(text)") }
        return date
    }

    /// The log filter arguments of `logger.exportToFile` and `ditto.sendLogs`.
    func exportOptions(_ args: [String: JSON]) throws -> DittoLogExportOptions {
        var options = DittoLogExportOptions()
        if let name = args["minimumLogLevel"]?.string { options.minimumLogLevel = try level(name) }
        if let since = args["since"]?.string { options.since = try date(since) }
        if let until = args["until"]?.string { options.until = try date(until) }
        if let maxBytes = args["maxBytes"]?.integer {
            guard let value = UInt64(exactly: maxBytes) else { throw StepError.refusedByType("maxBytes is a UInt64") }
            options.maxBytes = value
        }
        return options
    }

    /// The table's `{bigPeerUrls, lanListen, lanConnect}` as a typed `DittoTransportConfig`.
    func transportConfig(_ value: JSON?) throws -> DittoTransportConfig {
        guard let fields = value?.object else { throw StepError(kind: "harness", "value is not an object") }
        var config = DittoTransportConfig()
        for url in fields["bigPeerUrls"]?.array ?? [] {
            config.connect.websocketURLs.insert(url.string ?? "")
        }
        for address in fields["lanConnect"]?.array ?? [] {
            config.connect.tcpServers.insert(address.string ?? "")
        }
        if let listen = fields["lanListen"]?.string {
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
                throw StepError.refusedByType(
                    "listen.tcp needs an interface IP and a port; '\(listen)' is not host:port")
            }
            var host = String(listen[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            config.listen.tcp = DittoTCPListenConfig(isEnabled: true, interfaceIP: host, port: port)
        }
        return config
    }

    /// A typed `DittoTransportConfig` in the table's shape.
    func tableShape(_ config: DittoTransportConfig) -> JSON {
        let tcp = config.listen.tcp
        let host = tcp.interfaceIP.contains(":") ? "[\(tcp.interfaceIP)]" : tcp.interfaceIP
        return .object([
            "bigPeerUrls": .array(config.connect.websocketURLs.sorted().map(JSON.string)),
            "lanListen": tcp.isEnabled ? .string("\(host):\(tcp.port)") : .null,
            "lanConnect": .array(config.connect.tcpServers.sorted().map(JSON.string)),
        ])
    }

    /// A typed presence graph in the table's shape.
    func tableShape(_ graph: DittoPresenceGraph) -> JSON {
        .object([
            "localPeerKey": .string(graph.localPeerKey),
            "isConnectedToBigPeer": .bool(graph.isConnectedToBigPeer),
            "peers": .array(
                graph.peers.map {
                    .object([
                        "peerKey": .string($0.peerKey), "deviceName": .string($0.deviceName),
                        "transport": .string($0.transport), "isBigPeer": .bool($0.isBigPeer),
                    ])
                }),
            "connectionsByTransport": .object(graph.connectionsByTransport.mapValues { .int(Int64($0)) }),
            "bigPeerConnectionHistory": .array(
                graph.bigPeerConnectionHistory.map {
                    var event: [String: JSON] = ["event": .string($0.event), "timestamp": .string($0.timestamp)]
                    if let reason = $0.reason { event["reason"] = .string(reason) }
                    return .object(event)
                }),
        ])
    }

    func document(_ document: DittoDocument?) throws -> JSON {
        guard let document else { return .null }
        return try JSON.parse(document.jsonString)
    }

    /// Polls `condition` every 50 ms until it holds or `timeoutMs` pass; throws the runner's `timeout` otherwise.
    func waitUntil(_ what: String, timeoutMs: Int64, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(TimeInterval(timeoutMs) / 1000)
        while true {
            if try await condition() { return }
            if Date() >= deadline { throw StepError(kind: "timeout", "\(what) not seen within \(timeoutMs) ms") }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    // MARK: Operations

    /// Opens `d` in the case's `ditto/` directory with the `open` step's arguments.
    func open(_ args: [String: JSON]) throws -> Ditto {
        var identity = DittoIdentity.offlinePlayground
        let online = args["online"] == .bool(true)
        if online {
            guard bigPeer != nil else { throw StepError(kind: "harness", "open online needs bigpeer.start first") }
            identity = .onlinePlayground(appID: BigPeerProcess.appID, token: BigPeerProcess.appToken)
        }
        let ditto = try Ditto(
            identity: identity, persistenceDirectory: scratch.path("ditto"), deviceName: args["device_name"]?.string)
        if online, let bigPeer {
            try ditto.setTransportConfig(DittoTransportConfig(connect: .init(websocketURLs: [bigPeer.syncURL])))
        }
        return ditto
    }

    /// Runs one operation through the Swift API. A step that expects an error calls the throwing twin
    /// of a settable property (`set…(_:)`, `get…()`); any other step uses the property itself.
    func perform(_ op: String, _ args: [String: JSON], expectsError: Bool) async throws -> JSON {
        switch op {
        // Lifecycle
        case "open":
            openArgs = args
            d = try open(args)
            return .null
        case "openSecond":
            let second = try open(openArgs)
            await second.close()
            return .null
        case "close":
            try await ditto().close()
            return .null
        case "reopen":
            if let d { await d.close() }
            d = nil
            d = try open(openArgs)
            return .null

        // Ditto
        case "ditto.deviceName":
            return .string(expectsError ? try ditto().getDeviceName() : try ditto().deviceName)
        case "ditto.setDeviceName":
            let name = try string(args, "value")
            if expectsError { try ditto().setDeviceName(name) } else { try ditto().deviceName = name }
            return .null
        case "ditto.peerKey":
            return .string(try ditto().presence.localPeerKey)
        case "ditto.log":
            try ditto().log(try string(args, "message"), level: try level(try string(args, "level")))
            return .null
        case "ditto.sendLogs":
            return .string(try await ditto().sendLogs(options: try exportOptions(args)))

        // Small Peer Info
        case "spi.isEnabled":
            let info = try ditto().smallPeerInfo
            return .bool(expectsError ? try info.getEnabled() : info.isEnabled)
        case "spi.setEnabled":
            let info = try ditto().smallPeerInfo
            let value = try bool(args, "value")
            if expectsError { try info.setEnabled(value) } else { info.isEnabled = value }
            return .null
        case "spi.syncScope":
            let info = try ditto().smallPeerInfo
            return .string((expectsError ? try info.getSyncScope() : info.syncScope).description)
        case "spi.setSyncScope":
            let info = try ditto().smallPeerInfo
            let scope = try smallPeerInfoScope(try string(args, "value"))
            if expectsError { try info.setSyncScope(scope) } else { info.syncScope = scope }
            return .null
        case "spi.metadata":
            let info = try ditto().smallPeerInfo
            return try JSON.from(foundation: expectsError ? try info.getMetadata() : info.metadata)
        case "spi.setMetadata":
            let info = try ditto().smallPeerInfo
            let value = try dictionary(args, "value")
            if expectsError { try info.setMetadata(value) } else { info.metadata = value }
            return .null
        case "spi.metadataJSONString":
            return .string(try ditto().smallPeerInfo.metadataJSONString)
        case "spi.setMetadataJSONString":
            try ditto().smallPeerInfo.setMetadataJSONString(try string(args, "text"))
            return .null
        case "spi.collectionIntervalMs":
            let info = try ditto().smallPeerInfo
            let interval = expectsError ? try info.getCollectionInterval() : info.collectionInterval
            return .int(Int64((interval * 1000).rounded()))
        case "spi.setCollectionIntervalMs":
            let info = try ditto().smallPeerInfo
            let interval = try seconds(args, "value")
            if expectsError { try info.setCollectionInterval(interval) } else { info.collectionInterval = interval }
            return .null
        case "spi.collectNow":
            return try document(try await ditto().smallPeerInfo.collectNow())
        case "spi.document":
            return try document(try ditto().smallPeerInfo.document)
        case "spi.shareWithAdminDevices":
            let info = try ditto().smallPeerInfo
            return .bool(expectsError ? try info.getShareWithAdminDevices() : info.shareWithAdminDevices)
        case "spi.setShareWithAdminDevices":
            let info = try ditto().smallPeerInfo
            let share = try bool(args, "value")
            if expectsError { try info.setShareWithAdminDevices(share) } else { info.shareWithAdminDevices = share }
            return .null
        case "spi.adminSigningKey":
            return try ditto().smallPeerInfo.adminSigningKey.map { .string($0) } ?? .null
        case "spi.setAdminSigningKey":
            let value = args["value"] ?? .null
            try ditto().smallPeerInfo.setAdminSigningKey(value.isNull ? nil : try string(args, "value"))
            return .null
        case "spi.isAdminDevice":
            return .bool(try ditto().smallPeerInfo.isAdminDevice)
        case "spi.fleet":
            return .array(try ditto().smallPeerInfo.fleet.map { try document($0) })
        case "spi.observeFleet":
            let changes = self.changes
            observers.append(try ditto().smallPeerInfo.observeFleet(deliverOn: observerQueue) { changes.append($0) })
            return .null
        case "spi.awaitFleet":
            let key = try ditto().presence.localPeerKey
            try await self.waitUntil("this device in the fleet", timeoutMs: try integer(args, "timeout_ms")) {
                try self.ditto().smallPeerInfo.fleet.contains { $0.id == key }
            }
            return .null
        case "spi.awaitNewDocument":
            let info = try ditto().smallPeerInfo
            let after: Int64?
            if let saved = args["after"], !saved.isNull {
                // A saved document without a sequence is a broken case, never "any document".
                guard let sequence = saved.at(path: "sequence")?.integer else {
                    throw StepError(kind: "harness", "spi.awaitNewDocument: 'after' has no integer sequence")
                }
                after = sequence
            } else {
                after = nil
            }
            var found: DittoDocument?
            try await self.waitUntil("a new document", timeoutMs: try integer(args, "timeout_ms")) {
                guard let doc = try info.document else { return false }
                guard let after else {
                    found = doc
                    return true
                }
                let sequence = try JSON.parse(doc.jsonString).at(path: "sequence")?.integer ?? Int64.min
                if sequence > after { found = doc }
                return found != nil
            }
            return try document(found)

        // Store
        case "store.upsert":
            let collection = try ditto().store.collection(try string(args, "collection"))
            return .string(try collection.upsert(try dictionary(args, "document")))
        case "store.get":
            let collection = try ditto().store.collection(try string(args, "collection"))
            let id = try string(args, "id")
            // findByID answers nil for a missing document, as Ditto's: the table's null.
            guard let found = try collection.findByID(id) else { return .null }
            return try document(found)
        case "store.findAll":
            let collection = try ditto().store.collection(try string(args, "collection"))
            return .array(try await collection.findAll().map { try document($0) })
        case "store.execute":
            let arguments = args["args"] == nil ? [:] : try dictionary(args, "args")
            let result = try await ditto().store.execute(query: try string(args, "query"), arguments: arguments)
            return .array(try result.items.map { try JSON.parse($0.jsonString()) })
        case "store.remove":
            let collection = try ditto().store.collection(try string(args, "collection"))
            return .bool(try collection.remove(id: try string(args, "id")))
        case "store.collectionNames":
            return .array(try ditto().store.collectionNames().map(JSON.string))
        case "store.observe":
            let changes = self.changes
            let collection = try ditto().store.collection(try string(args, "collection"))
            observers.append(try collection.observe(deliverOn: observerQueue) { changes.append($0) })
            return .null
        case "store.awaitChange":
            let collection = try string(args, "collection")
            let id = try string(args, "id")
            let kind: DittoCollectionChange.Kind
            switch try string(args, "kind") {
            case "upsert": kind = .upsert
            case "remove": kind = .remove
            case let other: throw StepError(kind: "harness", "unknown change kind \(other)")
            }
            try await self.waitUntil("the \(kind) of \(collection)/\(id)", timeoutMs: try integer(args, "timeout_ms")) {
                self.changes.values.contains { $0.collection == collection && $0.id == id && $0.kind == kind }
            }
            return .null

        // Collections
        case "collection.syncScope":
            return .string(try ditto().store.collection(try string(args, "collection")).syncScope.description)
        case "collection.setSyncScope":
            let collection = try ditto().store.collection(try string(args, "collection"))
            try collection.setSyncScope(try collectionScope(try string(args, "value")))
            return .null

        // Sync
        case "sync.transportConfig":
            return tableShape(try ditto().transportConfig)
        case "sync.setTransportConfig":
            try ditto().setTransportConfig(try transportConfig(args["value"]))
            return .null
        case "sync.start":
            try ditto().startSync()
            return .null
        case "sync.stop":
            try ditto().stopSync()
            return .null
        case "sync.isRunning":
            return .bool(try ditto().isSyncActive)
        case "sync.lanPort":
            guard let port = try ditto().lanPort else { return .null }
            return .int(Int64(port))

        // Presence
        case "presence.graph":
            return tableShape(try ditto().presence.graph)

        // Logger
        case "logger.enabled":
            return .bool(DittoLogger.enabled)
        case "logger.setEnabled":
            let value = try bool(args, "value")
            if expectsError { try DittoLogger.setEnabled(value) } else { DittoLogger.enabled = value }
            return .null
        case "logger.minimumLogLevel":
            return .string("\(DittoLogger.minimumLogLevel)")
        case "logger.setMinimumLogLevel":
            let value = try level(try string(args, "value"))
            if expectsError { try DittoLogger.setMinimumLogLevel(value) } else { DittoLogger.minimumLogLevel = value }
            return .null
        case "logger.setLogFile":
            try DittoLogger.setLogFile(args["path"]?.isNull == false ? try path(args) : nil)
            return .null
        case "logger.setCustomLogCallback":
            let messages = logMessages
            DittoLogger.setCustomLogCallback(deliverOn: logQueue) { _, message in messages.append(message) }
            return .null
        case "logger.unsetCustomLogCallback":
            DittoLogger.unsetCustomLogCallback()
            return .null
        case "logger.awaitCallbackMessage":
            let text = try string(args, "contains")
            try await self.waitUntil(
                "a callback message containing '\(text)'", timeoutMs: try integer(args, "timeout_ms")
            ) {
                self.logMessages.values.contains { $0.contains(text) }
            }
            return .null
        case "logger.callbackSaw":
            let text = try string(args, "contains")
            try await Task.sleep(nanoseconds: UInt64(try integer(args, "wait_ms")) * 1_000_000)
            logQueue.sync {}
            return .bool(logMessages.values.contains { $0.contains(text) })
        case "logger.exportToFile":
            let url = URL(fileURLWithPath: try path(args))
            let bytes = try await DittoLogger.export(to: url, options: try exportOptions(args))
            return .int(Int64(bytes))

        // Files
        case "file.contains":
            // A missing file fails the step: "does not contain" must not pass because nothing was written.
            let text = try String(contentsOfFile: try path(args), encoding: .utf8)
            return .bool(text.contains(try string(args, "text")))
        case "file.gzipLines":
            let text = try gunzip(try Data(contentsOf: URL(fileURLWithPath: try path(args))))
            return .int(Int64(text.split(separator: "\n", omittingEmptySubsequences: true).count))
        case "file.gzipContains":
            let text = try gunzip(try Data(contentsOf: URL(fileURLWithPath: try path(args))))
            return .bool(text.contains(try string(args, "text")))

        // Big Peer
        case "bigpeer.start":
            bigPeer = try BigPeerProcess(dataDirectory: scratch.path("big-peer"))
            return .null
        case "bigpeer.awaitDevice":
            guard let bigPeer else { throw StepError(kind: "harness", "no Big Peer: the case has no bigpeer.start") }
            let key = try ditto().presence.localPeerKey
            try await self.waitUntil(
                "GET /api/v1/collections/__small_peer_info/documents/\(key) answering 200",
                timeoutMs: try integer(args, "timeout_ms")
            ) {
                try await bigPeer.get("/api/v1/collections/__small_peer_info/documents/\(key)") != nil
            }
            return .null
        case "bigpeer.grantAdmin":
            guard let bigPeer else { throw StepError(kind: "harness", "no Big Peer: the case has no bigpeer.start") }
            let expires = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
            try await bigPeer.post(
                "/api/v1/admin-devices",
                ["peer_key": try ditto().presence.localPeerKey, "expires_at": expires, "label": "conformance"])
            return .null
        case "bigpeer.awaitLogUpload":
            guard let bigPeer else { throw StepError(kind: "harness", "no Big Peer: the case has no bigpeer.start") }
            let id = try string(args, "request_id")
            // The Big Peer's log request says where it is in `state` (bigpeer/log_requests.cpp).
            try await self.waitUntil("log request \(id) ready", timeoutMs: try integer(args, "timeout_ms")) {
                try await bigPeer.get("/api/v1/log-requests/\(id)")?["state"] as? String == "ready"
            }
            return .null

        default:
            throw StepError(kind: "unknown op", "the Swift runner does not map the operation '\(op)'")
        }
    }
}
