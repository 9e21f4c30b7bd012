// swift-tools-version: 6.0
// The Swift package's consumer (swift_package_test.sh): a package of its own that depends on
// SmallPeer by path, as an app's package would; the C library comes from an installed prefix.
import PackageDescription

let package = Package(
    name: "Consumer",
    dependencies: [
        .package(name: "SmallPeer", path: "../SmallPeer")
    ],
    targets: [
        .executableTarget(name: "Consumer", dependencies: [.product(name: "SmallPeer", package: "SmallPeer")])
    ],
    swiftLanguageModes: [.v6]
)
