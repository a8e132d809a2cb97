// swift-tools-version: 6.0
import PackageDescription

// Third-party headers never live in the repository: `scripts/setup.sh` puts
// `onnxruntime_c_api.h` and a link to OpenCV's include folder under `.deps/include`.
let depsInclude = "../../.deps/include"

let openCVLibraries = ["opencv_core", "opencv_imgproc", "opencv_imgcodecs", "opencv_videoio", "opencv_photo", "opencv_calib3d"]

// `make bundle` (docs/BUNDLE.md) names the prefix of a minimal static OpenCV built from source
// (scripts/build-opencv-static.sh); the portable binary then carries OpenCV and its codecs inside
// instead of linking the system's libopencv-dev and its dozens of shared libraries. Unset, as for
// `make run` and `make test`, nothing changes.
let openCVStaticPrefix = Context.environment["VISAGE_OPENCV_STATIC"].flatMap { $0.isEmpty ? nil : $0 }

/// The static archives in link order (users before what they use), inside one linker group so the
/// order cannot break the link: the modules Visage calls, the modules calib3d needs, the codecs.
func staticOpenCVArchives(prefix: String) -> [String] {
    let modules = ["calib3d", "features2d", "flann", "photo", "videoio", "imgcodecs", "imgproc", "core"]
        .map { "\(prefix)/lib/libopencv_\($0).a" }
    let codecs = ["liblibwebp", "liblibtiff", "liblibpng", "liblibjpeg-turbo", "libzlib"]
        .map { "\(prefix)/lib/opencv4/3rdparty/\($0).a" }
    return modules + codecs
}

let openCVHeaderSettings: [CXXSetting] = openCVStaticPrefix.map { prefix in [.unsafeFlags(["-I\(prefix)/include/opencv4"])] }
    ?? [.headerSearchPath(depsInclude + "/opencv4")]

let openCVLinkerSettings: [LinkerSetting] = openCVStaticPrefix.map { prefix in
    [.unsafeFlags((["--start-group"] + staticOpenCVArchives(prefix: prefix) + ["--end-group"]).flatMap { ["-Xlinker", $0] },
                  .when(platforms: [.linux]))]   // GNU ld's group; the bundle is a Linux build
} ?? openCVLibraries.map { .linkedLibrary($0) } + [
    .unsafeFlags(["-L/opt/homebrew/lib", "-L/usr/local/lib"], .when(platforms: [.macOS])),
]

let package = Package(
    name: "Visage",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "visage", targets: ["visage"]),
        .library(name: "VisageCore", targets: ["VisageCore"]),
        .library(name: "VisageMedia", targets: ["VisageMedia"]),
        .library(name: "VisageRuntime", targets: ["VisageRuntime"]),
        .library(name: "VisageFace", targets: ["VisageFace"]),
        .library(name: "VisageSwap", targets: ["VisageSwap"]),
        .library(name: "VisageAU", targets: ["VisageAU"]),
        .library(name: "VisageCLNF", targets: ["VisageCLNF"]),
        .library(name: "VisageLive", targets: ["VisageLive"]),
        .library(name: "VisageEnhance", targets: ["VisageEnhance"]),
        .library(name: "VisageJobs", targets: ["VisageJobs"]),
        .library(name: "VisageServer", targets: ["VisageServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        .target(
            name: "CONNXRuntime",
            cSettings: [.headerSearchPath(depsInclude)]
        ),
        .target(
            name: "CVisageOpenCV",
            // The region warp computes OpenCV's fixed-point maps per pixel in the shim; unoptimised it
            // would dominate paste-back timings in the debug test suite.
            cxxSettings: [.headerSearchPath(depsInclude), .unsafeFlags(["-O2"], .when(configuration: .debug))] + openCVHeaderSettings,
            linkerSettings: openCVLinkerSettings
        ),
        .target(
            name: "CVisageKernels",
            // The CLNF patch-response loops; unoptimised they would make the debug test suite crawl.
            cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))]
        ),
        .target(
            name: "VisageCore",
            dependencies: [.product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "VisageMedia",
            dependencies: ["VisageCore", "CVisageOpenCV"]
        ),
        .target(
            name: "VisageRuntime",
            dependencies: [
                "VisageCore", "CONNXRuntime",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .target(
            name: "VisageFace",
            dependencies: ["VisageCore", "VisageMedia", "VisageRuntime",
                           .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .target(
            name: "VisageSwap",
            dependencies: ["VisageCore", "VisageMedia", "VisageRuntime", "VisageFace",
                           .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .target(
            name: "VisageEnhance",
            dependencies: ["VisageCore", "VisageMedia", "VisageRuntime", "VisageFace"],
            // Per-pixel tensor packing and paste-back blending: unoptimised they would dominate the
            // debug test suite and make its timing prints meaningless.
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        .target(
            name: "VisageAU",
            dependencies: ["VisageCore", "VisageMedia", "VisageFace"],
            // Per-pixel and per-feature loops: unoptimised they are ~30x slower, which would make
            // the debug test suite's real-video checks take minutes.
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        .target(
            name: "VisageCLNF",
            dependencies: ["VisageCore", "VisageMedia", "VisageRuntime", "VisageFace", "VisageAU", "CVisageKernels"],
            // Patch responses and CNN layers: unoptimised they would make the debug test suite crawl.
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        .target(
            name: "VisageLive",
            dependencies: ["VisageCore", "VisageMedia", "VisageRuntime", "VisageFace", "VisageSwap", "VisageAU", "VisageEnhance"]
        ),
        // Everything between a front end's options and its output: typed Codable jobs and results, run with a
        // JobContext (models, cancellation, progress). The CLI and the server are thin layers over it.
        .target(
            name: "VisageJobs",
            dependencies: ["VisageCore", "VisageMedia", "VisageRuntime", "VisageFace", "VisageSwap", "VisageAU",
                           "VisageCLNF", "VisageLive", "VisageEnhance", .product(name: "Logging", package: "swift-log")]
        ),
        // HTTP (Hummingbird): routing, storage, scheduling and security; no face processing.
        .target(
            name: "VisageServer",
            dependencies: ["VisageCore", "VisageMedia", "VisageRuntime", "VisageLive", "VisageJobs",
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                           .product(name: "Metrics", package: "swift-metrics"),
                           .product(name: "Prometheus", package: "swift-prometheus"),
                           .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "Crypto", package: "swift-crypto")],
            // The web UI, compiled into the binary (WebUI.swift).
            resources: ["index.html", "app.css", "app.js", "api.js", "swap.js", "au.js", "live.js", "jobs.js", "system.js"]
                .map { .embedInCode("Web/\($0)") }
        ),
        .executableTarget(
            name: "visage",
            dependencies: [
                "VisageCore", "VisageMedia", "VisageRuntime", "VisageFace", "VisageSwap", "VisageAU",
                "VisageCLNF", "VisageLive", "VisageEnhance", "VisageJobs", "VisageServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "VisageCoreTests", dependencies: ["VisageCore"]),
        .testTarget(name: "VisageMediaTests", dependencies: ["VisageMedia"]),
        .testTarget(name: "VisageRuntimeTests", dependencies: [
            "VisageRuntime", "VisageMedia", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        .testTarget(name: "VisageFaceTests", dependencies: [
            "VisageFace", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ], resources: [.copy("Fixtures")]),
        .testTarget(name: "VisageSwapTests", dependencies: ["VisageSwap"], resources: [.copy("Fixtures")]),
        .testTarget(name: "VisageAUTests", dependencies: ["VisageAU", "VisageMedia"]),
        .testTarget(name: "VisageCLNFTests", dependencies: ["VisageCLNF", "VisageAU", "VisageMedia"]),
        .testTarget(name: "VisageEnhanceTests", dependencies: [
            "VisageEnhance", "VisageFace", "VisageMedia", "VisageRuntime", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ], resources: [.copy("Fixtures")]),
        .testTarget(name: "VisageLiveTests", dependencies: ["VisageLive", "VisageMedia", "VisageServer"]),
        .testTarget(name: "VisageJobsTests", dependencies: ["VisageJobs", "VisageCore", "VisageMedia", "VisageFace", "VisageSwap", "VisageAU", "VisageEnhance", "VisageLive"]),
        .testTarget(name: "VisageCLITests", dependencies: [
            "VisageCore", "VisageMedia", "VisageLive", "VisageServer",
            .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
        ]),
        .testTarget(name: "VisageServerTests", dependencies: [
            "VisageServer", "VisageJobs", "VisageCore", "VisageMedia", "VisageRuntime", "VisageLive",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            .product(name: "HummingbirdWSTesting", package: "hummingbird-websocket"),
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
    ],
    cxxLanguageStandard: .cxx17
)
