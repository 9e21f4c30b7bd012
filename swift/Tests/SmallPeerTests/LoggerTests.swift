import CSmallPeer
import Dispatch
import Foundation
import Testing

@testable import SmallPeer

extension SmallPeerTests {
    /// `DittoLogger`: the process-wide log output, custom callbacks and the export of engine logs.
    @Suite final class LoggerTests {
        let scratch: Scratch
        let ditto: Ditto

        init() throws {
            scratch = try Scratch()
            ditto = try Ditto(persistenceDirectory: scratch.path("peer"))
        }

        deinit {
            DittoLogger.setCustomLogCallback(nil)
            try? DittoLogger.setLogFile(nil)
            DittoLogger.enabled = true
            DittoLogger.minimumLogLevel = .info
        }

        @Test func levelsAreTheFiveDocumentedOnesWithTheCValues() {
            #expect(DittoLogLevel.allCases == [.error, .warning, .info, .debug, .verbose])
            #expect(
                DittoLogLevel.allCases.map(\.rawValue)
                    == [SP_LOG_ERROR, SP_LOG_WARNING, SP_LOG_INFO, SP_LOG_DEBUG, SP_LOG_VERBOSE].map(Int.init))
            #expect(DittoLogLevel.error < DittoLogLevel.verbose)
        }

        @Test func enabledAndMinimumLevelRoundTrip() {
            #expect(DittoLogger.enabled)
            #expect(DittoLogger.minimumLogLevel == .info)
            DittoLogger.enabled = false
            #expect(DittoLogger.enabled == false)
            DittoLogger.enabled = true
            for level in DittoLogLevel.allCases {
                DittoLogger.minimumLogLevel = level
                #expect(DittoLogger.minimumLogLevel == level)
            }
        }

        @Test func theCustomCallbackGetsShownMessagesInOrderOnTheChosenQueue() async throws {
            let queue = DispatchQueue(label: "smallpeer.test.log")
            let key = DispatchSpecificKey<Int>()
            queue.setSpecific(key: key, value: 7)
            let received = Recorder<String>()
            DittoLogger.minimumLogLevel = .warning
            DittoLogger.setCustomLogCallback(deliverOn: queue) { level, message in
                dispatchPrecondition(condition: .onQueue(queue))
                guard DispatchQueue.getSpecific(key: key) == 7 else { return received.append("wrong queue") }
                if message.contains("swift-marker") { received.append("\(level):\(message)") }
            }
            ditto.log("swift-marker hidden debug", level: .debug)
            ditto.log("swift-marker shown warning", level: .warning)
            ditto.log("swift-marker shown error", level: .error)
            #expect(await eventually { received.values.count >= 2 })
            let values = received.values
            #expect(values.count == 2)
            #expect(values.first?.hasPrefix("warning:") == true && values.first?.contains("shown warning") == true)
            #expect(values.last?.hasPrefix("error:") == true && values.last?.contains("shown error") == true)
        }

        @Test func disabledOutputReachesNoCallback() async throws {
            let queue = DispatchQueue(label: "smallpeer.test.log.disabled")
            let received = Recorder<String>()
            DittoLogger.setCustomLogCallback(deliverOn: queue) { _, message in
                if message.contains("swift-marker") { received.append(message) }
            }
            DittoLogger.enabled = false
            ditto.log("swift-marker while disabled", level: .error)
            DittoLogger.enabled = true
            ditto.log("swift-marker while enabled", level: .error)
            #expect(await eventually { !received.values.isEmpty })
            queue.sync {}
            #expect(received.values.count == 1)
            #expect(received.values.first?.contains("while enabled") == true)
        }

        @Test func replacingTheCallbackStopsTheOldOne() async throws {
            let queue = DispatchQueue(label: "smallpeer.test.log.replace")
            let old = Recorder<String>()
            let new = Recorder<String>()
            DittoLogger.setCustomLogCallback(deliverOn: queue) { _, m in if m.contains("swift-marker") { old.append(m) }
            }
            ditto.log("swift-marker one", level: .error)
            #expect(await eventually { old.values.count == 1 })
            DittoLogger.setCustomLogCallback(deliverOn: queue) { _, m in if m.contains("swift-marker") { new.append(m) }
            }
            ditto.log("swift-marker two", level: .error)
            #expect(await eventually { new.values.count == 1 })
            queue.sync {}
            #expect(old.values.count == 1)
            let registered = CallbackRegistry.count
            DittoLogger.setCustomLogCallback(nil)
            #expect(CallbackRegistry.count == registered - 1)
        }

        @Test func theLogFileReceivesShownMessages() async throws {
            let file = scratch.path("app.log")
            try DittoLogger.setLogFile(file)
            ditto.log("swift-marker to the file", level: .error)
            #expect(
                await eventually {
                    (try? String(contentsOf: file, encoding: .utf8))?.contains("swift-marker to the file") == true
                })
            try DittoLogger.setLogFile(nil)
            ditto.log("swift-marker after the file", level: .error)
            #expect(try String(contentsOf: file, encoding: .utf8).contains("after the file") == false)

            // Under a regular file, no directory can be made and no file opened.
            let blocker = scratch.path("a-file")
            try Data("x".utf8).write(to: blocker)
            let error = #expect(throws: DittoError.self) {
                try DittoLogger.setLogFile(blocker.appendingPathComponent("app.log"))
            }
            #expect(error?.status == SP_ERR_IO)
        }

        @Test func theConsoleOutputCanBeTurnedOff() async throws {
            // Capture standard error in a file for the length of the test.
            let capture = scratch.path("stderr.txt")
            #expect(FileManager.default.createFile(atPath: capture.path, contents: nil))
            let file = open(capture.path, O_WRONLY)
            let saved = dup(STDERR_FILENO)
            #expect(file >= 0 && saved >= 0)
            dup2(file, STDERR_FILENO)
            defer {
                dup2(saved, STDERR_FILENO)
                close(saved)
                close(file)
                DittoLogger.setConsoleEnabled(false)
            }
            func captured() -> String { (try? String(contentsOf: capture, encoding: .utf8)) ?? "" }

            DittoLogger.setConsoleEnabled(true)
            ditto.log("swift-console one", level: .error)
            #expect(await eventually { captured().contains("swift-console one") })
            DittoLogger.setConsoleEnabled(false)
            ditto.log("swift-console two", level: .error)
            DittoLogger.setConsoleEnabled(true)
            ditto.log("swift-console three", level: .error)
            #expect(await eventually { captured().contains("swift-console three") })
            #expect(!captured().contains("swift-console two"))
        }

        @Test func exportWritesGzipJSONLinesFilteredByTheOptions() throws {
            for i in 0..<5 { ditto.log("swift-export line \(i)", level: .info) }
            ditto.log("swift-export failure", level: .error)
            let all = scratch.path("all.jsonl.gz")
            let total = try DittoLogger.export(to: all, from: ditto)
            #expect(total >= 6)
            let bytes = try Data(contentsOf: all)
            #expect(bytes.prefix(2) == Data([0x1f, 0x8b]))

            let errors = scratch.path("errors.jsonl.gz")
            let errorLines = try DittoLogger.export(
                to: errors, from: ditto, options: DittoLogExportOptions(minimumLogLevel: .error))
            #expect(errorLines >= 1 && errorLines < total)

            let future = try DittoLogger.export(
                to: scratch.path("future.jsonl.gz"), from: ditto,
                options: DittoLogExportOptions(since: Date().addingTimeInterval(3600)))
            #expect(future == 0)

            let capped = try DittoLogger.export(
                to: scratch.path("capped.jsonl.gz"), from: ditto,
                options: DittoLogExportOptions(maxBytes: 200))
            #expect(capped >= 1 && capped < total)
        }

        @Test func exportHasAnAsyncVariant() async throws {
            ditto.log("swift-export async", level: .warning)
            let url = scratch.path("async.jsonl.gz")
            let lines = try await DittoLogger.export(
                to: url, from: ditto, options: DittoLogExportOptions(minimumLogLevel: .warning))
            #expect(lines >= 1)
            #expect(try Data(contentsOf: url).prefix(2) == Data([0x1f, 0x8b]))
        }

        @Test func exportRefusesContradictoryOptions() throws {
            let now = Date()
            let backwards = #expect(throws: DittoError.self) {
                try DittoLogger.export(
                    to: self.scratch.path("x.gz"), from: self.ditto,
                    options: DittoLogExportOptions(since: now, until: now.addingTimeInterval(-60)))
            }
            #expect(backwards?.status == SP_ERR_INVALID_ARGUMENT)
            let zero = #expect(throws: DittoError.self) {
                try DittoLogger.export(
                    to: self.scratch.path("y.gz"), from: self.ditto, options: DittoLogExportOptions(maxBytes: 0))
            }
            #expect(zero?.status == SP_ERR_INVALID_ARGUMENT)
            #expect(!FileManager.default.fileExists(atPath: scratch.path("x.gz").path))
        }
    }
}
