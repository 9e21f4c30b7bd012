// The cost of a property get and set through the Swift package SmallPeer, for
// bench/binding_call_bench.py, which compares it with the same C call (bench/capi_call_bench.cpp).
// Prints one line per call: the C benchmark's name, nanoseconds per call (best of the repeats) and
// the call as Swift spells it.
//
//   SwiftCallBench [calls-per-repeat] [repeats]
import Foundation
import SmallPeer

/// A whole number of at least 1 from the command line, or `fallback` when absent.
func countArg(_ index: Int, _ fallback: Int, _ what: String) -> Int {
    guard CommandLine.arguments.count > index else { return fallback }
    let text = CommandLine.arguments[index]
    guard let n = Int(text), n >= 1 else {
        FileHandle.standardError.write(
            Data("swift_call_bench: \(what) must be a whole number >= 1, got '\(text)'\n".utf8))
        exit(2)
    }
    return n
}

let calls = countArg(1, 5_000_000, "calls-per-repeat")
let repeats = countArg(2, 7, "repeats")

/// Nanoseconds on the monotonic clock.
func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// Nanoseconds per call of `loop` (which makes `calls` calls): the best of `repeats` timed runs after one warm-up run.
func nsPerCall(_ loop: (Int) -> Int) -> Double {
    var sink = loop(calls)
    var best = Double.infinity
    for _ in 0..<repeats {
        let start = now()
        sink &+= loop(calls)
        best = min(best, Double(now() - start) / Double(calls))
    }
    if sink == Int.min { print("") }  // keeps every call's result alive
    return best
}

/// Prints the line for one call.
func report(_ name: String, _ spelling: String, _ loop: (Int) -> Int) {
    print("\(name) \(String(format: "%.1f", nsPerCall(loop))) \(spelling)")
}

let dir = FileManager.default.temporaryDirectory.appendingPathComponent("smallpeer-bench-\(UUID().uuidString)")
do {
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let ditto = try Ditto(persistenceDirectory: dir, deviceName: "bench")
    defer { ditto.close() }
    let spi = ditto.smallPeerInfo
    print("swift_call_bench: best of \(repeats) x \(calls) calls, release build")
    report("BM_SpiIsEnabledGet", "ditto.smallPeerInfo.isEnabled") { n in
        var on = 0
        for _ in 0..<n where spi.isEnabled { on += 1 }
        return on
    }
    report("BM_SpiIsEnabledSet", "ditto.smallPeerInfo.isEnabled = false") { n in
        for _ in 0..<n { spi.isEnabled = false }
        return 0
    }
    report("BM_LoggerMinimumLevelGet", "DittoLogger.minimumLogLevel") { n in
        var sum = 0
        for _ in 0..<n { sum &+= DittoLogger.minimumLogLevel.rawValue }
        return sum
    }
    report("BM_LoggerMinimumLevelSet", "DittoLogger.minimumLogLevel = .info") { n in
        for _ in 0..<n { DittoLogger.minimumLogLevel = .info }
        return 0
    }
} catch {
    FileHandle.standardError.write(Data("swift_call_bench: \(error)\n".utf8))
    exit(1)
}
