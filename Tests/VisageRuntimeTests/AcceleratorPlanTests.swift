import Testing
@testable import VisageRuntime

@Suite struct AcceleratorPlanTests {
    let cpuOnly = ["AzureExecutionProvider", "CPUExecutionProvider"]
    let cudaBuild = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]

    @Test func autoOnCPUOnlyBuildChoosesCPUAndSaysWhy() {
        let plan = AcceleratorPlan.resolve(requested: .auto, available: cpuOnly, gpus: [], isApple: false)
        #expect(plan.chosen == [.cpu])
        #expect(plan.reason.contains("no GPU provider"))
        #expect(plan.fallback == nil)
    }

    @Test func autoPrefersCUDAWhenAnNVIDIAGPUIsThere() {
        let plan = AcceleratorPlan.resolve(requested: .auto, available: cudaBuild, gpus: ["NVIDIA H100"], isApple: false)
        #expect(plan.chosen == [.cuda, .cpu])
        #expect(plan.summary == "cuda+cpu")
    }

    @Test func autoOnAppleSiliconChoosesCoreML() {
        let plan = AcceleratorPlan.resolve(requested: .auto, available: ["CoreMLExecutionProvider", "CPUExecutionProvider"], gpus: [], isApple: true)
        #expect(plan.chosen == [.coreml, .cpu])
        #expect(plan.reason.contains("MLProgram"))
    }

    @Test func missingProviderFallsBackToCPUWithOneClearLine() {
        let plan = AcceleratorPlan.resolve(requested: .cuda, available: cpuOnly, gpus: [], isApple: false)
        #expect(plan.chosen == [.cpu])
        let line = try? #require(plan.fallback)
        #expect(line?.contains("falling back to CPU") == true)
        #expect(line?.contains("CUDAExecutionProvider") == true)
        #expect(line?.contains("\n") == false)
        #expect(AcceleratorPlan.resolve(requested: .coreml, available: cpuOnly, gpus: [], isApple: false).fallback?.contains("Apple") == true)
    }

    @Test func tensorRTChainsCUDAThenCPU() {
        let plan = AcceleratorPlan.resolve(requested: .tensorrt, available: cudaBuild, gpus: ["NVIDIA H200"], isApple: false)
        #expect(plan.chosen == [.tensorrt, .cuda, .cpu])
    }
}
