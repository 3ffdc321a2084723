// swift-tools-version:5.9
// The Jobpack core for the iOS shell: the generated Swift (Sources/Jobpack/Jobpack.swift)
// over the static library, packaged as JobpackFFI.xcframework by build-xcframework.sh.
// Neither file is checked in; run the script on a Mac first.
import PackageDescription

let package = Package(
    name: "Jobpack",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Jobpack", targets: ["Jobpack"]),
    ],
    targets: [
        .binaryTarget(name: "JobpackFFI", path: "JobpackFFI.xcframework"),
        .target(
            name: "Jobpack",
            dependencies: ["JobpackFFI"],
            path: "Sources/Jobpack"
        ),
    ]
)
