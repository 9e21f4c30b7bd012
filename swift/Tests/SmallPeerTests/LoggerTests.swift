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
            DittoLogger.unsetCustomLogCallback()
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

        @Test func enabledAndMinimumLevelRoundTrip() throws {
            #expect(DittoLogger.enabled)
            #expect(DittoLogger.minimumLogLevel == .info)
            DittoLogger.enabled = false
            #expect(DittoLogger.enabled == false)
            DittoLogger.enabled = true
            for level in DittoLogLevel.allCases {
                DittoLogger.minimumLogLevel = level
                #expect(DittoLogger.minimumLogLevel == level)
            }
            // The throwing twins the property setters stand on.
            try DittoLogger.setEnabled(false)
            #expect(DittoLogger.enabled == false)
            try DittoLogger.setEnabled(true)
            try DittoLogger.setMinimumLogLevel(.warning)
            #expect(DittoLogger.minimumLogLevel == .warning)
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
            try ditto.log("swift-marker hidden debug", level: .debug)
            try ditto.log("swift-marker shown warning", level: .warning)
            try ditto.log("swift-marker shown error", level: .error)
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
            try ditto.log("swift-marker while disabled", level: .error)
            DittoLogger.enabled = true
            try ditto.log("swift-marker while enabled", level: .error)
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
            try ditto.log("swift-marker one", level: .error)
            #expect(await eventually { old.values.count == 1 })
            DittoLogger.setCustomLogCallback(deliverOn: queue) { _, m in if m.contains("swift-marker") { new.append(m) }
            }
            try ditto.log("swift-marker two", level: .error)
            #expect(await eventually { new.values.count == 1 })
            queue.sync {}
            #expect(old.values.count == 1)
            let registered = liveDeliveryCount
            DittoLogger.unsetCustomLogCallback()
            #expect(liveDeliveryCount == registered - 1)
            try ditto.log("swift-marker three", level: .error)
            try await Task.sleep(nanoseconds: 100_000_000)
            queue.sync {}
            #expect(new.values.count == 1, "an unset callback was called")
        }

        @Test func theLogFileReceivesShownMessages() async throws {
            let file = scratch.path("app.log")
            try DittoLogger.setLogFileURL(file)
            try ditto.log("swift-marker to the file", level: .error)
            #expect(
                await eventually {
                    (try? String(contentsOf: file, encoding: .utf8))?.contains("swift-marker to the file") == true
                })
            try DittoLogger.setLogFile(nil)
            try ditto.log("swift-marker after the file", level: .error)
            #expect(try String(contentsOf: file, encoding: .utf8).contains("after the file") == false)

            // Under a regular file, no directory can be made and no file opened.
            let blocker = scratch.path("a-file")
            try Data("x".utf8).write(to: blocker)
            let error = #expect(throws: DittoError.self) {
                try DittoLogger.setLogFileURL(blocker.appendingPathComponent("app.log"))
            }
            #expect(error?.status == SP_ERR_IO)

            // The path-string form, as in Ditto.
            let second = scratch.path("second.log")
            try DittoLogger.setLogFile(second.path)
            try ditto.log("swift-marker to the second file", level: .error)
            #expect(
                await eventually {
                    (try? String(contentsOf: second, encoding: .utf8))?.contains("to the second file") == true
                })
            try DittoLogger.setLogFile(nil)
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
            try ditto.log("swift-console one", level: .error)
            #expect(await eventually { captured().contains("swift-console one") })
            DittoLogger.setConsoleEnabled(false)
            try ditto.log("swift-console two", level: .error)
            DittoLogger.setConsoleEnabled(true)
            try ditto.log("swift-console three", level: .error)
            #expect(await eventually { captured().contains("swift-console three") })
            #expect(!captured().contains("swift-console two"))
        }

        /// The synchronous export (an async context would pick the async overload).
        @discardableResult
        func exportSynchronously(_ url: URL, _ options: DittoLogExportOptions = DittoLogExportOptions()) throws
            -> UInt64
        {
            try DittoLogger.export(to: url, options: options)
        }

        /// The JSON lines of a gzip export.
        func lines(_ url: URL) throws -> [String] {
            try gunzip(try Data(contentsOf: url)).split(separator: "\n").map(String.init)
        }

        @Test func exportWritesGzipJSONLinesFilteredByTheOptionsAndReturnsTheBytes() throws {
            for i in 0..<5 { try ditto.log("swift-export line \(i)", level: .info) }
            try ditto.log("swift-export failure", level: .error)
            let all = scratch.path("all.jsonl.gz")
            let bytes = try exportSynchronously(all)
            let data = try Data(contentsOf: all)
            #expect(bytes == UInt64(data.count))
            #expect(data.prefix(2) == Data([0x1f, 0x8b]))
            let total = try lines(all)
            #expect(total.filter { $0.contains("swift-export") }.count == 6)

            let errors = scratch.path("errors.jsonl.gz")
            try exportSynchronously(errors, DittoLogExportOptions(minimumLogLevel: .error))
            let errorLines = try lines(errors)
            #expect(errorLines.contains { $0.contains("swift-export failure") })
            #expect(!errorLines.contains { $0.contains("swift-export line") })

            let future = scratch.path("future.jsonl.gz")
            try exportSynchronously(future, DittoLogExportOptions(since: Date().addingTimeInterval(3600)))
            #expect(try lines(future).isEmpty)

            let capped = scratch.path("capped.jsonl.gz")
            try exportSynchronously(capped, DittoLogExportOptions(maxBytes: 200))
            #expect(try lines(capped).count < total.count)
        }

        @Test func exportCoversEveryOpenInstance() throws {
            let other = try Ditto(persistenceDirectory: scratch.path("other"))
            try ditto.log("swift-export from the first", level: .warning)
            try other.log("swift-export from the second", level: .warning)
            let url = scratch.path("both.jsonl.gz")
            try exportSynchronously(url)
            let text = try lines(url).joined(separator: "\n")
            #expect(text.contains("swift-export from the first"))
            #expect(text.contains("swift-export from the second"))
            withExtendedLifetime(other) {}
        }

        @Test func exportHasAnAsyncVariant() async throws {
            try ditto.log("swift-export async", level: .warning)
            let url = scratch.path("async.jsonl.gz")
            let bytes = try await DittoLogger.export(to: url, options: DittoLogExportOptions(minimumLogLevel: .warning))
            #expect(bytes >= 20)
            #expect(try Data(contentsOf: url).prefix(2) == Data([0x1f, 0x8b]))
            #expect(try lines(url).contains { $0.contains("swift-export async") })
        }

        @Test func exportRefusesContradictoryOptions() throws {
            let now = Date()
            let backwards = #expect(throws: DittoError.self) {
                try self.exportSynchronously(
                    self.scratch.path("x.gz"), DittoLogExportOptions(since: now, until: now.addingTimeInterval(-60)))
            }
            #expect(backwards?.status == SP_ERR_INVALID_ARGUMENT)
            let zero = #expect(throws: DittoError.self) {
                try self.exportSynchronously(self.scratch.path("y.gz"), DittoLogExportOptions(maxBytes: 0))
            }
            #expect(zero?.status == SP_ERR_INVALID_ARGUMENT)
            #expect(!FileManager.default.fileExists(atPath: scratch.path("x.gz").path))
        }
    }
}
