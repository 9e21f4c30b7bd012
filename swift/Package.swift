// swift-tools-version: 6.0
// SmallPeer for Swift: the Swift API over libsmallpeer's C header (capi/include/smallpeer/smallpeer.h).
import PackageDescription

let package = Package(
    name: "SmallPeer",
    products: [
        .library(name: "SmallPeer", targets: ["SmallPeer"])
    ],
    targets: [
        // The C library, found through pkg-config (smallpeer.pc, which the CMake build generates and installs).
        .systemLibrary(
            name: "CSmallPeer",
            path: "Sources/CSmallPeer",
            pkgConfig: "smallpeer"
        ),
        .target(name: "SmallPeer", dependencies: ["CSmallPeer"]),
        .testTarget(name: "SmallPeerTests", dependencies: ["SmallPeer", "CSmallPeer"]),
    ],
    swiftLanguageModes: [.v6]
)
