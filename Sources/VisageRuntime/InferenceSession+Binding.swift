import Foundation
import VisageCore

extension InferenceSession {
    /// Runs `body` with a binding of this session for `shape`: its input tensors to fill, `run()`, its
    /// output tensors to read. The binding is this caller's until `body` returns, then kept for the next
    /// caller of the same shape, so the steady state allocates nothing. Concurrent callers get one each
    /// (a CUDA-graph session: one after the other, through its single binding).
    public func withBinding<R>(_ shape: BindingShape, _ body: (SessionBinding) throws -> R) throws -> R {
        if cudaGraph {
            graphLock.lock()
            defer { graphLock.unlock() }
            let binding = try checkout(shape)
            defer { checkin(binding) }
            return try body(binding)
        }
        let binding = try checkout(shape)
        defer { checkin(binding) }
        return try body(binding)
    }

    /// An idle binding of `shape`, or a new one (the first call of each shape, or all busy).
    private func checkout(_ shape: BindingShape) throws -> SessionBinding {
        let found: SessionBinding? = idleBindings.withLock { idle in
            guard let index = idle.lastIndex(where: { $0.shape == shape }) else { return nil }
            return idle.remove(at: index)
        }
        if let found { return found }
        if cudaGraph, idleBindings.withLock({ !$0.isEmpty }) {
            // The graph captured the first binding's addresses; another shape would replay the wrong memory.
            throw VisageError.invalidArgument("\(URL(fileURLWithPath: modelPath).lastPathComponent) replays a CUDA graph for \(idleBindings.value[0].shape); it cannot run \(shape)")
        }
        return try SessionBinding(session: self, handle: handle, library: library, shape: shape, placement: bufferPlacement)
    }

    private func checkin(_ binding: SessionBinding) {
        idleBindings.withLock { idle in
            if idle.capacity < Self.bindingPoolLimit + 1 { idle.reserveCapacity(Self.bindingPoolLimit + 1) }
            idle.append(binding)
            if idle.count > Self.bindingPoolLimit { idle.removeFirst() }
        }
    }

    /// The binding shape of these feeds: the first input's leading dim as the batch, its height and width
    /// when the model leaves them open.
    func bindingShape(of feeds: [String: Tensor]) -> BindingShape {
        guard let first = inputs.first, let tensor = feeds[first.name] else { return .single }
        var shape = BindingShape(batch: tensor.shape.first ?? 1)
        if first.shape.count == 4, tensor.shape.count == 4 {
            if first.shape[2] < 0 { shape.height = tensor.shape[2] }
            if first.shape[3] < 0 { shape.width = tensor.shape[3] }
        }
        return shape
    }

    /// `run(_:)` for a session that must run bound (a CUDA graph): the feeds are copied into the binding,
    /// the outputs copied out into tensors the caller owns.
    func runThroughBinding(_ feeds: [String: Tensor], outputs requested: [String]?) throws -> [String: Tensor] {
        try withBinding(bindingShape(of: feeds)) { binding in
            for (i, input) in inputs.enumerated() {
                let feed = feeds[input.name]!, target = binding.inputs[i]
                guard feed.byteCount == target.byteCount, feed.elementType == target.elementType else {
                    throw VisageError.invalidArgument("input '\(input.name)' must be \(target.elementType)\(target.shape), got \(feed.elementType)\(feed.shape)")
                }
                target.data.copyMemory(from: feed.data, byteCount: feed.byteCount)
            }
            try binding.run()
            var result: [String: Tensor] = [:]
            for (i, output) in outputs.enumerated() where requested?.contains(output.name) ?? true {
                let source = binding.outputs[i]
                let copy = Tensor(source.elementType, shape: source.shape)
                copy.data.copyMemory(from: source.data, byteCount: source.byteCount)
                result[output.name] = copy
            }
            return result
        }
    }
}
