// swift-tools-version: 6.0
// The Swift half of bench/binding_call_bench.py: property calls through the SmallPeer package
// (../../swift), timed in a release (-O) build. Built by the CMake target smallpeer_swift_call_bench.
import PackageDescription

let package = Package(
    name: "SwiftCallBench",
    dependencies: [.package(path: "../../swift")],
    targets: [
        .executableTarget(name: "SwiftCallBench", dependencies: [.product(name: "SmallPeer", package: "swift")])
    ],
    swiftLanguageModes: [.v6]
)
