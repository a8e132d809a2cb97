import Foundation
import Testing
import VisageCore
@testable import VisageRuntime

/// The CUDA and TensorRT option strings (the exact key/value lists ONNX Runtime receives; this CPU build
/// cannot create those providers, so the strings are what can be checked here), the fallback chain, and
/// the saved recommendation `auto` follows.
@Suite("Accelerator path")
struct AcceleratorPathTests {
    @Test func cudaOptionsAreExhaustiveWithAGraphByDefault() {
        let pairs = ProviderOptions.cuda(CUDAOptions(), cudaGraph: true)
        #expect(ProviderOptions.describe(pairs) == "device_id=0 cudnn_conv_algo_search=EXHAUSTIVE do_copy_in_default_stream=1 enable_cuda_graph=1")
    }

    @Test func cudaOptionsFollowTheSessionsGraphDecisionAndLimits() {
        let options = CUDAOptions(deviceID: 1, convAlgoSearch: .heuristic, cudaGraph: true, memoryLimitBytes: 2 << 30)
        // The user wants a graph, but the session decided against one (dynamic shapes): the string says 0.
        let pairs = ProviderOptions.cuda(options, cudaGraph: false)
        #expect(ProviderOptions.describe(pairs)
                == "device_id=1 cudnn_conv_algo_search=HEURISTIC do_copy_in_default_stream=1 enable_cuda_graph=0 gpu_mem_limit=2147483648")
    }

    @Test func tensorRTOptionsKeepCachesInTheModelCache() {
        let pairs = ProviderOptions.tensorRT(TensorRTOptions(), deviceID: 0, cudaGraph: false, defaultCacheDirectory: "/models/.derived/tensorrt")
        #expect(ProviderOptions.describe(pairs) == "device_id=0 trt_fp16_enable=1 trt_engine_cache_enable=1 trt_engine_cache_path=/models/.derived/tensorrt "
                + "trt_timing_cache_enable=1 trt_timing_cache_path=/models/.derived/tensorrt trt_max_workspace_size=4294967296 trt_cuda_graph_enable=0")
        let custom = TensorRTOptions(fp16: false, engineCacheDirectory: "/e", timingCacheDirectory: "/t", maxWorkspaceBytes: 1 << 30)
        let values = Dictionary(uniqueKeysWithValues: ProviderOptions.tensorRT(custom, deviceID: 2, cudaGraph: true, defaultCacheDirectory: "/x").map { ($0.key, $0.value) })
        #expect(values["trt_fp16_enable"] == "0")
        #expect(values["trt_engine_cache_path"] == "/e")
        #expect(values["trt_timing_cache_path"] == "/t")
        #expect(values["trt_max_workspace_size"] == "1073741824")
        #expect(values["trt_cuda_graph_enable"] == "1")
        #expect(values["device_id"] == "2")
    }

    @Test func fallbackChainGoesTensorRTThenCUDAThenCPU() {
        let plan = AcceleratorPlan.resolve(requested: .tensorrt, available: ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
                                           gpus: ["NVIDIA H200"], isApple: false, recommendation: nil)
        #expect(plan.chosen.first == .tensorrt)
        let afterTRT = plan.withoutFirst(because: "libnvinfer.so.10: cannot open shared object file")
        #expect(afterTRT.primary != .tensorrt)
        #expect(afterTRT.fallback == "libnvinfer.so.10: cannot open shared object file")
        let afterAll = AcceleratorPlan(requested: .cuda, chosen: [.cuda, .cpu], reason: "cuda requested").withoutFirst(because: "no driver")
        #expect(afterAll.chosen == [.cpu])
    }

    @Test func cudaRequestedOnThisBuildRunsOnTheCPUWithOneLine() throws {
        let library = try ORTLibrary.shared()
        try #require(!library.availableProviders.contains("CUDAExecutionProvider"), "this check is for ONNX Runtime builds without CUDA")
        let plan = AcceleratorPlan.resolve(requested: .cuda, available: library.availableProviders, gpus: [], isApple: false, recommendation: nil)
        #expect(plan.chosen == [.cpu])
        let line = try #require(plan.fallback)
        #expect(line.contains("cuda") && !line.contains("\n"))
        // And a session asked for CUDA loads and runs on the CPU.
        let session = try InferenceSession(modelPath: try TinyModels.add(), config: SessionConfig(accelerator: .cuda))
        #expect(session.plan.primary == .cpu)
        #expect(!session.cudaGraph)
        #expect(session.bufferPlacement == .host)
    }

    @Test func autoFollowsASavedRecommendationAndSaysSo() throws {
        let store = ModelStore(root: try RuntimeFixtures.temporaryDirectory())
        let machine = MachineKey(cpu: "Test CPU", cores: 2, gpus: [], onnxRuntime: "1.31.1", providers: ["CPUExecutionProvider"])
        let saved = AcceleratorRecommendation(accelerator: .cpu, float16: false, batch: 4, reason: "test", machine: machine)
        let url = try saved.save(in: store)
        let loaded = try #require(AcceleratorRecommendation.load(from: store, machine: machine))
        #expect(loaded.batch == 4 && loaded.file == url.path)
        // Another machine's file is not this machine's recommendation.
        #expect(AcceleratorRecommendation.load(from: store, machine: MachineKey(cpu: "Other", cores: 8, gpus: [], onnxRuntime: "1.31.1", providers: [])) == nil)
        let plan = AcceleratorPlan.resolve(requested: .auto, available: ["CPUExecutionProvider"], gpus: [], isApple: false, recommendation: loaded)
        #expect(plan.chosen == [.cpu])
        #expect(plan.reason.contains("visage diagnose") && plan.reason.contains(url.path))
        // A CUDA recommendation on a machine that has no CUDA now: the automatic plan, saying why not.
        let cuda = AcceleratorRecommendation(accelerator: .cuda, float16: true, batch: 8, reason: "test", machine: machine)
        let kept = AcceleratorPlan.resolve(requested: .auto, available: ["CPUExecutionProvider"], gpus: [], isApple: false, recommendation: cuda)
        #expect(kept.chosen == [.cpu])
        #expect(kept.reason.contains("not following the saved recommendation"))
    }
}
