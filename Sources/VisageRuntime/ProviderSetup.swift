import CONNXRuntime
import VisageCore

/// Appends one execution provider, with our options, to session options.
enum ProviderSetup {
    static func append(_ accelerator: Accelerator, to options: OpaquePointer, library: ORTLibrary, config: SessionConfig) throws {
        let api = library.api
        switch accelerator {
        case .cpu, .auto:
            return   // CPU is always there, last
        case .coreml:
            // MLProgram handles more operators than NeuralNetwork; ALL lets CoreML use the ANE and GPU.
            try keyValues(["ModelFormat": "MLProgram", "MLComputeUnits": "ALL"]) { keys, values, n in
                try library.check(api.SessionOptionsAppendExecutionProvider(options, "CoreML", keys, values, n), "CoreML provider")
            }
        case .cuda:
            var cuda: OpaquePointer?
            try library.check(api.CreateCUDAProviderOptions(&cuda), "CUDA provider options")
            defer { api.ReleaseCUDAProviderOptions(cuda) }
            try keyValues(["device_id": String(config.cuda.deviceID),
                           "cudnn_conv_algo_search": config.cuda.convAlgoSearch.rawValue,
                           "do_copy_in_default_stream": "1"]) { keys, values, n in
                try library.check(api.UpdateCUDAProviderOptions(cuda, keys, values, n), "CUDA provider options")
            }
            try library.check(api.SessionOptionsAppendExecutionProvider_CUDA_V2(options, cuda), "CUDA provider")
        case .tensorrt:
            var trt: OpaquePointer?
            try library.check(api.CreateTensorRTProviderOptions(&trt), "TensorRT provider options")
            defer { api.ReleaseTensorRTProviderOptions(trt) }
            var settings = ["device_id": String(config.cuda.deviceID), "trt_fp16_enable": "1"]
            if let cache = config.tensorRTCacheDirectory {
                settings["trt_engine_cache_enable"] = "1"
                settings["trt_engine_cache_path"] = cache
            }
            try keyValues(settings) { keys, values, n in
                try library.check(api.UpdateTensorRTProviderOptions(trt, keys, values, n), "TensorRT provider options")
            }
            try library.check(api.SessionOptionsAppendExecutionProvider_TensorRT_V2(options, trt), "TensorRT provider")
        }
    }

    private static func keyValues(_ pairs: [String: String],
                                  _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<UnsafePointer<CChar>?>, Int) throws -> Void) throws {
        let keys = Array(pairs.keys).sorted()
        try withCStrings(keys) { k in
            try withCStrings(keys.map { pairs[$0]! }) { v in try body(k, v, keys.count) }
        }
    }
}
