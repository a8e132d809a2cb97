import CONNXRuntime
import Foundation
import VisageCore

/// Appends one execution provider, with the options `ProviderOptions` assembles, to session options.
enum ProviderSetup {
    /// Returns the options given (nil for CPU, which takes none).
    static func append(_ accelerator: Accelerator, to options: OpaquePointer, library: ORTLibrary, config: SessionConfig,
                       cudaGraph: Bool) throws -> ProviderOptions.Pairs? {
        let api = library.api
        switch accelerator {
        case .cpu, .auto:
            return nil   // CPU is always there, last
        case .coreml:
            let pairs = ProviderOptions.coreML()
            try keyValues(pairs) { keys, values, n in
                try library.check(api.SessionOptionsAppendExecutionProvider(options, "CoreML", keys, values, n), "CoreML provider")
            }
            return pairs
        case .cuda:
            let pairs = ProviderOptions.cuda(config.cuda, cudaGraph: cudaGraph)
            var cuda: OpaquePointer?
            try library.check(api.CreateCUDAProviderOptions(&cuda), "CUDA provider options")
            defer { api.ReleaseCUDAProviderOptions(cuda) }
            try keyValues(pairs) { keys, values, n in
                try library.check(api.UpdateCUDAProviderOptions(cuda, keys, values, n), "CUDA provider options")
            }
            try library.check(api.SessionOptionsAppendExecutionProvider_CUDA_V2(options, cuda), "CUDA provider")
            return pairs
        case .tensorrt:
            let cacheRoot = config.modelOptimization.cacheDirectory ?? ModelStore().derivedDirectory
            let defaultCache = cacheRoot.appendingPathComponent("tensorrt", isDirectory: true).path
            let pairs = ProviderOptions.tensorRT(config.tensorRT, deviceID: config.cuda.deviceID, cudaGraph: cudaGraph,
                                                 defaultCacheDirectory: defaultCache)
            for (key, value) in pairs where key.hasSuffix("_cache_path") {
                try? FileManager.default.createDirectory(atPath: value, withIntermediateDirectories: true)
            }
            var trt: OpaquePointer?
            try library.check(api.CreateTensorRTProviderOptions(&trt), "TensorRT provider options")
            defer { api.ReleaseTensorRTProviderOptions(trt) }
            try keyValues(pairs) { keys, values, n in
                try library.check(api.UpdateTensorRTProviderOptions(trt, keys, values, n), "TensorRT provider options")
            }
            try library.check(api.SessionOptionsAppendExecutionProvider_TensorRT_V2(options, trt), "TensorRT provider")
            return pairs
        }
    }

    private static func keyValues(_ pairs: ProviderOptions.Pairs,
                                  _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<UnsafePointer<CChar>?>, Int) throws -> Void) throws {
        try withCStrings(pairs.map(\.key)) { k in
            try withCStrings(pairs.map(\.value)) { v in try body(k, v, pairs.count) }
        }
    }
}
