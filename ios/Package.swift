// swift-tools-version:5.9
// The iOS shell of Jobpack, as a package with three layers:
//   Jobpack      the generated uniffi Swift (Sources/Jobpack/Generated, copied in by
//                use-bindings.sh) and a thin Swift layer over it: labels, Dates, async,
//                AsyncStream events, one Swift error enum. No rules.
//   JobpackApp   the screens' view models in plain Swift, and the iOS-only parts (SwiftUI
//                views, camera, Keychain, connectivity, background refresh) behind
//                `#if canImport(...)`, so Linux compiles and tests everything but those.
//   JobpackFFI   the Rust core's C interface: on Apple platforms the XCFramework that
//                build-xcframework.sh makes; on Linux the host library that
//                scripts/bindings.sh builds, as a system library (Linux/JobpackFFI).
import PackageDescription

#if os(Linux)
// use-bindings.sh copies the header, a module map without Darwin, and the shared library.
let linuxLib = Context.packageDirectory + "/Linux/lib"
let ffi: Target = .systemLibrary(name: "JobpackFFI", path: "Linux/JobpackFFI")
let ffiLinking: [LinkerSetting] = [
    .unsafeFlags(["-L", linuxLib, "-Xlinker", "-rpath", "-Xlinker", linuxLib]),
]
// Debian's Swift 6.0.3 Observation library misses one runtime symbol (see the file).
let linuxFixes: [Target] = [.target(name: "DebianSwiftFix", path: "Linux-shims/DebianSwiftFix")]
let appDependencies: [Target.Dependency] = ["Jobpack", "DebianSwiftFix"]
#else
let ffi: Target = .binaryTarget(name: "JobpackFFI", path: "JobpackFFI.xcframework")
let ffiLinking: [LinkerSetting] = []
let linuxFixes: [Target] = []
let appDependencies: [Target.Dependency] = ["Jobpack"]
#endif

let package = Package(
    name: "Jobpack",
    platforms: [.iOS(.v17), .macOS(.v14)],
    products: [
        .library(name: "Jobpack", targets: ["Jobpack"]),
        .library(name: "JobpackApp", targets: ["JobpackApp"]),
    ],
    targets: [
        ffi,
        .target(
            name: "Jobpack",
            dependencies: ["JobpackFFI"],
            path: "Sources/Jobpack",
            linkerSettings: ffiLinking
        ),
        .target(
            name: "JobpackApp",
            dependencies: appDependencies,
            path: "Sources/JobpackApp"
        ),
        // The simulator process and the label fixture, shared by both test targets.
        .target(
            name: "JobpackTestSupport",
            dependencies: ["Jobpack"],
            path: "Tests/JobpackTestSupport",
            // Read by path (#filePath), not as a bundle resource.
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "JobpackTests",
            dependencies: ["Jobpack", "JobpackTestSupport"],
            path: "Tests/JobpackTests"
        ),
        .testTarget(
            name: "JobpackAppTests",
            dependencies: ["JobpackApp", "Jobpack", "JobpackTestSupport"],
            path: "Tests/JobpackAppTests"
        ),
    ] + linuxFixes
)
