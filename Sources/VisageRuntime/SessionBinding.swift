import CONNXRuntime
import Foundation
import VisageCore

/// The batch size (and, for models that leave them open, the image height and width of the first input)
/// a binding's buffers are made for. Plain integers: finding the binding for a shape allocates nothing.
public struct BindingShape: Hashable, Sendable, CustomStringConvertible {
    public var batch: Int
    /// The first input's height and width when the model declares them dynamic (detectors fed a frame's size).
    public var height: Int?
    public var width: Int?

    public init(batch: Int = 1, height: Int? = nil, width: Int? = nil) {
        self.batch = batch
        self.height = height
        self.width = width
    }

    public static let single = BindingShape()

    public var description: String { "batch \(batch)" + (height.map { h in " \(width ?? 0)x\(h)" } ?? "") }

    /// Every input's dims for this shape on `session`, in its input order (what a binding allocates).
    public func dims(forInputsOf session: InferenceSession) throws -> [[Int]] {
        try dims(for: session.inputs, model: URL(fileURLWithPath: session.modelPath).lastPathComponent)
    }

    /// Every input's dims for this shape: a dynamic leading dim is the batch, the first input's dynamic
    /// dims 2 and 3 are height and width. Throws when a dim stays open or a fixed batch of 1 is asked for more.
    func dims(for inputs: [TensorInfo], model: String) throws -> [[Int]] {
        try inputs.enumerated().map { index, input in
            var dims = input.shape
            for axis in dims.indices where dims[axis] < 0 {
                if axis == 0 { dims[axis] = batch }
                else if index == 0, dims.count == 4, axis == 2, let height { dims[axis] = height }
                else if index == 0, dims.count == 4, axis == 3, let width { dims[axis] = width }
                else {
                    throw VisageError.invalidArgument("\(model): input '\(input.name)' has dynamic dim \(axis) (\(input)); a binding needs its size")
                }
            }
            if !dims.isEmpty, input.shape.first ?? -1 > 0, dims[0] != batch, batch != 1 || dims[0] != 1 {
                throw VisageError.invalidArgument("\(model): input '\(input.name)' fixes its batch at \(dims[0]) (\(input)); it cannot run a batch of \(batch)")
            }
            return dims
        }
    }
}

/// Where a binding's model-side buffers live.
public enum BufferPlacement: Sendable, Equatable, CustomStringConvertible {
    /// CPU memory: the tensors the caller fills are the ones the model reads (no copy at all).
    case host
    /// GPU memory of this CUDA device: the caller fills host tensors, and `run` copies them in and the
    /// outputs back out explicitly (fixed device addresses, which CUDA graphs need).
    case cuda(device: Int)

    public var description: String {
        switch self {
        case .host: return "host"
        case .cuda(let device): return "cuda:\(device)"
        }
    }
}

/// A session's inputs and outputs bound once to buffers that are reused for every run (ONNX Runtime's IO
/// binding): fill `inputs`, call `run()`, read `outputs`. After the first run, a run allocates nothing on
/// our side. Not thread-safe: `InferenceSession.withBinding` hands each binding to one caller at a time.
public final class SessionBinding: @unchecked Sendable {
    public let shape: BindingShape
    /// Host tensors, in the session's input order: write the inputs here before `run()`.
    public let inputs: [Tensor]
    /// Host tensors, in the session's output order: the results of the last `run()` (empty before the
    /// first). Valid until the next run of this binding; copy what must outlive it.
    public private(set) var outputs: [Tensor] = []
    public let placement: BufferPlacement
    /// Runs so far.
    public private(set) var runs = 0

    private unowned let session: InferenceSession
    private let library: ORTLibrary
    private let binding: OpaquePointer
    private let inputNames: [UnsafeMutablePointer<CChar>]
    private let outputNames: [UnsafeMutablePointer<CChar>]
    /// The OrtValues bound as inputs (host: over `inputs`' memory; cuda: device tensors).
    private var boundInputs: [OpaquePointer] = []
    /// Device side of a cuda binding.
    private let device: DeviceSide?

    /// Device memory: the allocator ONNX Runtime hands out for the session's device, the device tensors and
    /// the runtime that copies.
    private final class DeviceSide {
        let cuda: CUDARuntime
        let memoryInfo: OpaquePointer
        let allocator: UnsafeMutablePointer<OrtAllocator>
        var inputPointers: [UnsafeMutableRawPointer] = []
        var outputValues: [OpaquePointer] = []
        var outputPointers: [UnsafeRawPointer] = []
        /// Output values allocated before the first run (static shapes), by output index.
        var preboundOutputs: [Int: OpaquePointer] = [:]
        init(cuda: CUDARuntime, memoryInfo: OpaquePointer, allocator: UnsafeMutablePointer<OrtAllocator>) {
            self.cuda = cuda
            self.memoryInfo = memoryInfo
            self.allocator = allocator
        }
    }

    init(session: InferenceSession, handle: OpaquePointer, library: ORTLibrary, shape: BindingShape, placement: BufferPlacement) throws {
        let api = library.api
        let modelName = URL(fileURLWithPath: session.modelPath).lastPathComponent
        let dims = try shape.dims(for: session.inputs, model: modelName)
        var created: OpaquePointer?
        try library.check(api.CreateIoBinding(handle, &created), "CreateIoBinding")
        self.binding = created!
        self.session = session
        self.library = library
        self.shape = shape
        self.placement = placement
        self.inputNames = session.inputs.map { strdup($0.name)! }
        self.outputNames = session.outputs.map { strdup($0.name)! }
        self.inputs = zip(session.inputs, dims).map { Tensor($0.elementType ?? .float32, shape: $1) }

        if case .cuda(let id) = placement {
            let cuda = try CUDARuntime.shared().get()
            var info: OpaquePointer?
            try library.check(api.CreateMemoryInfo("Cuda", OrtArenaAllocator, Int32(id), OrtMemTypeDefault, &info), "CreateMemoryInfo(Cuda)")
            var allocator: UnsafeMutablePointer<OrtAllocator>?
            if let status = api.CreateAllocator(handle, info, &allocator) {
                api.ReleaseMemoryInfo(info)
                try library.check(status, "CreateAllocator(Cuda)")
            }
            device = DeviceSide(cuda: cuda, memoryInfo: info!, allocator: allocator!)
        } else {
            device = nil
        }

        for (i, tensor) in inputs.enumerated() {
            var value: OpaquePointer?
            let shape64 = tensor.shape.map { Int64($0) }
            let type = ONNXTensorElementDataType(rawValue: UInt32(tensor.elementType.rawValue))
            if let device {
                try library.check(api.CreateTensorAsOrtValue(device.allocator, shape64, shape64.count, type, &value),
                                  "allocating input '\(session.inputs[i].name)' on the GPU")
                var pointer: UnsafeMutableRawPointer?
                try library.check(api.GetTensorMutableData(value, &pointer), "GetTensorMutableData")
                device.inputPointers.append(pointer!)
            } else {
                try library.check(api.CreateTensorWithDataAsOrtValue(library.cpuMemoryInfo, tensor.data, tensor.byteCount, shape64, shape64.count,
                                                                     type, &value), "binding input '\(session.inputs[i].name)'")
            }
            boundInputs.append(value!)
            try library.check(api.BindInput(binding, inputNames[i], value), "BindInput '\(session.inputs[i].name)'")
        }
        // On the device, outputs whose shape is known up front get their buffers now, before any run: a CUDA
        // graph is captured on later runs and must see the addresses it will replay. Other outputs go where
        // ONNX Runtime puts them on the first run; `adoptOutputs` then keeps those buffers.
        // A leading dynamic output dim is the batch only when the inputs vary in nothing else: a detector
        // that takes any image size (SCRFD: [?,3,?,?] → [?,10]) has outputs whose leading dim counts anchors.
        // With every input fully static, nothing batches, and a dynamic output dim is something else.
        let onlyBatchVaries = session.inputs.allSatisfy { $0.shape.dropFirst().allSatisfy { $0 >= 0 } }
            && session.inputs.contains { ($0.shape.first ?? 0) < 0 }
        let outputInfo = device?.memoryInfo ?? library.cpuMemoryInfo
        for (i, name) in outputNames.enumerated() {
            let output = session.outputs[i]
            var dims = output.shape
            if onlyBatchVaries, let first = dims.first, first < 0 { dims[0] = shape.batch }
            if let device, dims.allSatisfy({ $0 >= 0 }), let type = output.elementType {
                var value: OpaquePointer?
                let shape64 = dims.map { Int64($0) }
                try library.check(api.CreateTensorAsOrtValue(device.allocator, shape64, shape64.count,
                                                             ONNXTensorElementDataType(rawValue: UInt32(type.rawValue)), &value),
                                  "allocating output '\(output.name)' on the GPU")
                try library.check(api.BindOutput(binding, name, value), "BindOutput '\(output.name)'")
                device.preboundOutputs[i] = value
            } else {
                try library.check(api.BindOutputToDevice(binding, name, outputInfo), "BindOutputToDevice '\(String(cString: name))'")
            }
        }
    }

    deinit {
        let api = library.api
        api.ReleaseIoBinding(binding)
        for value in boundInputs { api.ReleaseValue(value) }
        if let device {
            // Ours: the prebound outputs and the adopted ones (a prebound one is in both once adopted).
            var owned = device.outputValues
            for value in device.preboundOutputs.values where !owned.contains(value) { owned.append(value) }
            for value in owned { api.ReleaseValue(value) }
            api.ReleaseAllocator(device.allocator)
            api.ReleaseMemoryInfo(device.memoryInfo)
        }
        for name in inputNames { free(name) }
        for name in outputNames { free(name) }
    }

    /// The host input tensor of the input called `name`.
    public func input(named name: String) -> Tensor? {
        session.inputs.firstIndex { $0.name == name }.map { inputs[$0] }
    }

    /// The host output tensor of the output called `name` (after a run).
    public func output(named name: String) -> Tensor? {
        session.outputs.firstIndex { $0.name == name }.flatMap { $0 < outputs.count ? outputs[$0] : nil }
    }

    /// Runs the model on the current contents of `inputs`; the results are in `outputs`.
    public func run() throws {
        let api = library.api
        if let device {
            for i in 0..<inputs.count {
                try device.cuda.copyToDevice(device.inputPointers[i], from: inputs[i].data, bytes: inputs[i].byteCount)
            }
        }
        try library.check(api.RunWithBinding(session.handle, nil, binding), "running \(URL(fileURLWithPath: session.modelPath).lastPathComponent)")
        if runs == 0 { try adoptOutputs() }
        runs += 1
        if let device {
            try library.check(api.SynchronizeBoundOutputs(binding), "SynchronizeBoundOutputs")
            for i in 0..<outputs.count {
                try device.cuda.copyToHost(outputs[i].data, from: device.outputPointers[i], bytes: outputs[i].byteCount)
            }
        }
    }

    /// After the first run: keeps the output buffers ONNX Runtime made (bound again by name, so every later
    /// run writes into the same memory) and wraps them (host) or host copies of their shape (cuda) as tensors.
    private func adoptOutputs() throws {
        let api = library.api
        var allocator: UnsafeMutablePointer<OrtAllocator>?
        try library.check(api.GetAllocatorWithDefaultOptions(&allocator), "GetAllocatorWithDefaultOptions")
        var array: UnsafeMutablePointer<OpaquePointer?>?
        var count = 0
        try library.check(api.GetBoundOutputValues(binding, allocator, &array, &count), "GetBoundOutputValues")
        defer { if let array { _ = api.AllocatorFree(allocator, array) } }
        guard count == outputNames.count, let array else {
            throw VisageError.runtime("\(session.modelPath): the bound run returned \(count) outputs, expected \(outputNames.count)")
        }
        var tensors: [Tensor] = []
        for i in 0..<count {
            guard let value = array[i] else { throw VisageError.runtime("\(session.modelPath): output \(i) was not produced") }
            if let prebound = device?.preboundOutputs[i] {
                // Ours already (bound before the first run): GetBoundOutputValues handed out another reference.
                api.ReleaseValue(value)
                let (type, dims, data) = try describe(prebound)
                device!.outputValues.append(prebound)
                device!.outputPointers.append(UnsafeRawPointer(data))
                tensors.append(Tensor(type, shape: dims))
                continue
            }
            try library.check(api.BindOutput(binding, outputNames[i], value), "BindOutput '\(String(cString: outputNames[i]))'")
            let (type, dims, data) = try describe(value)
            if let device {
                device.outputValues.append(value)
                device.outputPointers.append(UnsafeRawPointer(data))
                tensors.append(Tensor(type, shape: dims))
            } else {
                let lib = library
                tensors.append(Tensor(type, shape: dims, data: data, byteCount: dims.reduce(1, *) * type.byteSize) { lib.api.ReleaseValue(value) })
            }
        }
        outputs = tensors
    }

    private func describe(_ value: OpaquePointer) throws -> (ElementType, [Int], UnsafeMutableRawPointer) {
        let api = library.api
        var info: OpaquePointer?
        try library.check(api.GetTensorTypeAndShape(value, &info), "GetTensorTypeAndShape")
        defer { api.ReleaseTensorTypeAndShapeInfo(info) }
        let (raw, dims) = typeAndShape(api, info!)
        guard let type = ElementType(rawValue: Int32(raw.rawValue)) else {
            throw VisageError.runtime("\(session.modelPath): output has unsupported element type \(raw.rawValue)")
        }
        var data: UnsafeMutableRawPointer?
        try library.check(api.GetTensorMutableData(value, &data), "GetTensorMutableData")
        return (type, dims, data ?? UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1))
    }
}
