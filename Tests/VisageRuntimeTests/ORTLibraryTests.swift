import Foundation
import Testing
import VisageCore
@testable import VisageRuntime

@Suite struct ORTLibraryTests {
    @Test func loadsTheLibraryAndReportsVersionAndProviders() throws {
        let library = try ORTLibrary.shared()
        #expect(library.version.split(separator: ".").count == 3)
        #expect(library.availableProviders.contains("CPUExecutionProvider"))
        #expect(library.path.contains("onnxruntime"))
    }

    @Test func missingLibrarySaysHowToInstallIt() {
        let error = #expect(throws: VisageError.self) { try ORTLibrary(path: "/nonexistent/libonnxruntime.so") }
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains("make setup"))
        #expect(text.contains("VISAGE_ORT_LIBRARY"))
    }

    @Test func aLibraryThatIsNotONNXRuntimeIsRejected() {
        #expect(throws: VisageError.self) { try ORTLibrary(path: "libm.so.6") }
    }

    @Test func float16ConversionRoundTrips() {
        for value: Float in [0, 1, -2.5, 0.333251953125, 65504, 6.1035156e-05, 5.9604645e-08] {
            #expect(Float16Bits.toFloat(Float16Bits.fromFloat(value)) == value)
        }
        #expect(Float16Bits.fromFloat(1) == 0x3C00)
        #expect(Float16Bits.toFloat(0x7C00) == .infinity)
        #expect(Float16Bits.fromFloat(1e6) == 0x7C00)
    }
}

@Suite struct ORTLibrarySearchOrderTests {
    private let bundleBin = URL(fileURLWithPath: "/opt/visage-linux-x86_64/bin", isDirectory: true)
    private let elsewhere = URL(fileURLWithPath: "/nonexistent-visage-cwd", isDirectory: true)

    @Test func theBundlesLibFolderComesRightAfterTheExecutablesOwn() {
        let candidates = ORTLibrary.candidatePaths(environment: [:], executableDirectory: bundleBin, workingDirectory: elsewhere)
        #expect(candidates.count >= 3)
        #expect(candidates[0].path == "/opt/visage-linux-x86_64/bin/\(ORTLibrary.fileName)")
        #expect(candidates[1].path == "/opt/visage-linux-x86_64/lib/\(ORTLibrary.fileName)")
        #expect(candidates[1].origin == "bundle lib/")
        #expect(candidates.last?.origin == "system")
    }

    @Test func anExplicitLibraryIsTheOnlyCandidate() {
        // The GPU box: the CUDA build beside the bundle wins over the bundle's CPU library.
        let candidates = ORTLibrary.candidatePaths(environment: ["VISAGE_ORT_LIBRARY": "/gpu/onnxruntime/libonnxruntime.so"],
                                                   executableDirectory: bundleBin, workingDirectory: elsewhere)
        #expect(candidates.map(\.path) == ["/gpu/onnxruntime/libonnxruntime.so"])
        #expect(candidates.map(\.origin) == ["VISAGE_ORT_LIBRARY"])
    }
}
