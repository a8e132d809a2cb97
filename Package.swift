// swift-tools-version: 6.0
import PackageDescription

// Third-party headers never live in the repository: `scripts/setup.sh` puts
// `onnxruntime_c_api.h` and a link to OpenCV's include folder under `.deps/include`.
let depsInclude = "../../.deps/include"

let openCVLibraries = ["opencv_core", "opencv_imgproc", "opencv_imgcodecs", "opencv_videoio", "opencv_photo", "opencv_calib3d"]

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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        .target(
            name: "CONNXRuntime",
            cSettings: [.headerSearchPath(depsInclude)]
        ),
        .target(
            name: "CVisageOpenCV",
            cxxSettings: [
                .headerSearchPath(depsInclude),
                .headerSearchPath(depsInclude + "/opencv4"),
                // The region warp computes OpenCV's fixed-point maps per pixel in the shim; unoptimised it
                // would dominate paste-back timings in the debug test suite.
                .unsafeFlags(["-O2"], .when(configuration: .debug)),
            ],
            linkerSettings: openCVLibraries.map { .linkedLibrary($0) } + [
                .unsafeFlags(["-L/opt/homebrew/lib", "-L/usr/local/lib"], .when(platforms: [.macOS])),
            ]
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
            dependencies: ["VisageCore", "VisageMedia"],
            // Per-pixel and per-feature loops: unoptimised they are ~30x slower, which would make
            // the debug test suite's real-video checks take minutes.
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        .target(
            name: "VisageCLNF",
            dependencies: ["VisageCore", "VisageMedia", "VisageRuntime", "VisageAU", "CVisageKernels"],
            // Patch responses and CNN layers: unoptimised they would make the debug test suite crawl.
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        .target(
            name: "VisageLive",
            dependencies: ["VisageCore", "VisageMedia", "VisageRuntime", "VisageFace", "VisageSwap", "VisageAU",
                           .product(name: "Hummingbird", package: "hummingbird")]
        ),
        .executableTarget(
            name: "visage",
            dependencies: [
                "VisageCore", "VisageMedia", "VisageRuntime", "VisageFace", "VisageSwap", "VisageAU",
                "VisageCLNF", "VisageLive",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "VisageCoreTests", dependencies: ["VisageCore"]),
        .testTarget(name: "VisageMediaTests", dependencies: ["VisageMedia"]),
        .testTarget(name: "VisageRuntimeTests", dependencies: [
            "VisageRuntime", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
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
        .testTarget(name: "VisageLiveTests", dependencies: ["VisageLive", "VisageMedia"]),
        .testTarget(name: "VisageCLITests", dependencies: ["VisageCore", "VisageMedia", "VisageLive"]),
    ],
    cxxLanguageStandard: .cxx17
)
