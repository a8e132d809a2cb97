import Foundation

/// The key/value options each execution provider is given, assembled without ONNX Runtime so the exact
/// strings are testable on a machine whose ONNX Runtime cannot create the provider. `ProviderSetup`
/// passes them on unchanged. Keys and values are ONNX Runtime's (CUDA: `OrtCUDAProviderOptionsV2`,
/// TensorRT: `OrtTensorRTProviderOptionsV2`, both through their `Update…ProviderOptions` string API).
public enum ProviderOptions {
    public typealias Pairs = [(key: String, value: String)]

    /// CUDA provider options. `cudaGraph` is the session's decision (static shapes and IO binding), not
    /// only the user's wish in `options.cudaGraph`.
    public static func cuda(_ options: CUDAOptions, cudaGraph: Bool) -> Pairs {
        var pairs: Pairs = [
            ("device_id", String(options.deviceID)),
            ("cudnn_conv_algo_search", options.convAlgoSearch.rawValue),
            ("do_copy_in_default_stream", options.copyInDefaultStream ? "1" : "0"),
            ("enable_cuda_graph", cudaGraph ? "1" : "0"),
        ]
        if let limit = options.memoryLimitBytes { pairs.append(("gpu_mem_limit", String(limit))) }
        return pairs
    }

    /// TensorRT provider options: float16, engine and timing caches (created if missing), workspace, and
    /// TensorRT's own CUDA graph when the session decided for one.
    public static func tensorRT(_ options: TensorRTOptions, deviceID: Int, cudaGraph: Bool, defaultCacheDirectory: String) -> Pairs {
        let engines = options.engineCacheDirectory ?? defaultCacheDirectory
        let timing = options.timingCacheDirectory ?? engines
        return [
            ("device_id", String(deviceID)),
            ("trt_fp16_enable", options.fp16 ? "1" : "0"),
            ("trt_engine_cache_enable", "1"),
            ("trt_engine_cache_path", engines),
            ("trt_timing_cache_enable", "1"),
            ("trt_timing_cache_path", timing),
            ("trt_max_workspace_size", String(options.maxWorkspaceBytes)),
            ("trt_cuda_graph_enable", cudaGraph ? "1" : "0"),
        ]
    }

    /// CoreML: MLProgram handles more operators than NeuralNetwork; ALL lets CoreML use the ANE and GPU.
    public static func coreML() -> Pairs {
        [("ModelFormat", "MLProgram"), ("MLComputeUnits", "ALL")]
    }

    /// One line for logs and `visage diagnose`: "device_id=0 cudnn_conv_algo_search=EXHAUSTIVE …".
    public static func describe(_ pairs: Pairs) -> String {
        pairs.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
}
