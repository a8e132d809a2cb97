import Foundation
import Testing
import VisageCore
import VisageMedia
@testable import VisageRuntime

/// Every rewrite on every ONNX model we ship or twin, on real photos preprocessed as each model
/// expects: exact rewrites within 1e-5 (max abs) of the original, float16 within a tolerance measured
/// per model on this CPU. With VISAGE_REWRITE_TABLE=1 each case also times the CPU runs and prints
/// its row of the table in docs/ACCELERATORS.md.
@Suite(.serialized) struct ModelRewriteEquivalenceTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        /// Model id in the catalog, or a twin file under .deps/twins.
        var model: String
        var isTwin = false
        var shape: [Int]
        var image: String
        var rgb: Bool
        var mean: Float
        var std: Float
        var embedding = false
        /// Twins that take about a second per run: one combined rewrite and one fp16 run, no per-rewrite runs.
        var slow = false
        /// Largest fp16 error allowed, relative to the largest output magnitude (measured, with margin).
        var fp16Tolerance: Float
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "scrfd-500m", model: "scrfd-500m", shape: [1, 3, 640, 640], image: "deepface/couple.jpg", rgb: true, mean: 127.5, std: 128, fp16Tolerance: 2.5e-2),
        Case(name: "scrfd-2.5g", model: "scrfd-2.5g", shape: [1, 3, 640, 640], image: "deepface/couple.jpg", rgb: true, mean: 127.5, std: 128, fp16Tolerance: 1e-2),
        Case(name: "yunet-2023mar", model: "yunet-2023mar", shape: [1, 3, 640, 640], image: "deepface/couple.jpg", rgb: false, mean: 0, std: 1, fp16Tolerance: 1.5e-2),
        Case(name: "sface-2021dec-int8bq", model: "sface-2021dec-int8bq", shape: [1, 3, 112, 112], image: "gfpgan/cropped_faces__Adele_crop.png",
             rgb: false, mean: 0, std: 1, embedding: true, fp16Tolerance: 2e-2),
        Case(name: "pfld-68", model: "pfld-68", shape: [1, 3, 112, 112], image: "gfpgan/cropped_faces__Adele_crop.png", rgb: true, mean: 0, std: 255, fp16Tolerance: 3e-3),
        Case(name: "ultraface-rfb-320", model: "ultraface-rfb-320", shape: [1, 3, 240, 320], image: "deepface/couple.jpg", rgb: true, mean: 127, std: 128, fp16Tolerance: 6e-3),
        Case(name: "retinaface-mnet025-1mb", model: "retinaface-mnet025-1mb", shape: [1, 3, 640, 640], image: "deepface/couple.jpg", rgb: false, mean: 117, std: 1, fp16Tolerance: 2.5e-2),
        Case(name: "det_10g twin", model: "det_10g_twin.onnx", isTwin: true, shape: [1, 3, 640, 640], image: "deepface/couple.jpg", rgb: true, mean: 127.5, std: 128, fp16Tolerance: 1e-2),
        Case(name: "w600k_r50 twin", model: "w600k_r50_twin.onnx", isTwin: true, shape: [1, 3, 112, 112], image: "gfpgan/cropped_faces__Adele_crop.png",
             rgb: true, mean: 127.5, std: 127.5, embedding: true, fp16Tolerance: 5e-3),
        Case(name: "inswapper_128 twin", model: "inswapper_128_twin.onnx", isTwin: true, shape: [1, 3, 128, 128], image: "gfpgan/cropped_faces__Adele_crop.png",
             rgb: true, mean: 0, std: 255, slow: true, fp16Tolerance: 1e-3),
        Case(name: "GFPGANv1.4 twin", model: "GFPGANv1.4_twin.onnx", isTwin: true, shape: [1, 3, 512, 512], image: "gfpgan/cropped_faces__Adele_crop.png",
             rgb: true, mean: 127.5, std: 127.5, slow: true, fp16Tolerance: 5e-3),
    ]

    static let media: URL = RuntimeFixtures.sharedModels.deletingLastPathComponent().appendingPathComponent("media/images")
    static let twins: URL = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent(".deps/twins")
    }()
    static let printTable = ProcessInfo.processInfo.environment["VISAGE_REWRITE_TABLE"] == "1"

    /// The photo resized to the input's size, as NCHW float: (pixel − mean) / std, RGB or BGR.
    static func imageTensor(_ c: Case, image: String) throws -> Tensor {
        let (h, w) = (c.shape[2], c.shape[3])
        let picture = try ImageOps.resize(try ImageIO.read(media.appendingPathComponent(image).path), width: w, height: h)
        let t = Tensor(.float32, shape: c.shape)
        t.withUnsafeMutableBuffer(of: Float.self) { b in
            for ch in 0..<3 {
                let source = c.rgb ? 2 - ch : ch
                for y in 0..<h {
                    for x in 0..<w { b[(ch * h + y) * w + x] = (Float(picture.byte(x: x, y: y, channel: source)) - c.mean) / c.std }
                }
            }
        }
        return t
    }

    static func feeds(_ c: Case, session: InferenceSession, image: String) throws -> [String: Tensor] {
        var feeds: [String: Tensor] = [:]
        for (i, input) in session.inputs.enumerated() {
            if i == 0 {
                feeds[input.name] = try imageTensor(c, image: image)
            } else if input.name == "source" {
                // inswapper's latent: a unit vector, as normalize(embedding · emap) is.
                let v = (0..<512).map { sin(Float($0) * 0.61 + 0.3) }
                let norm = sqrt(v.reduce(0) { $0 + $1 * $1 })
                feeds[input.name] = Tensor(floats: v.map { $0 / norm }, shape: [1, 512])
            } else {
                feeds[input.name] = Tensor(input.elementType ?? .float32, shape: input.shape.map { max($0, 1) })
            }
        }
        return feeds
    }

    static func modelPath(_ c: Case) throws -> String {
        guard c.isTwin else { return try RuntimeFixtures.store().path(for: c.model) }
        let path = twins.appendingPathComponent(c.model).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw VisageError.modelNotInstalled(id: c.model, hint: "run scripts/setup-twins.sh (make test does) to fill the twins")
        }
        return path
    }

    /// Median CPU time (all threads of this process) and wall time of one run per session, the sessions
    /// taking turns round after round. CPU time is the number compared: this 2-core machine is shared,
    /// and waiting for a core inflates wall time but not the work a run does.
    static func interleavedMedians(_ sessions: [(String, InferenceSession)], _ feeds: [String: Tensor],
                                   rounds: Int) throws -> (cpu: [String: Double], wall: [String: Double]) {
        func cpuNow() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
            return Double(t.tv_sec) * 1e3 + Double(t.tv_nsec) / 1e6
        }
        var cpu: [String: [Double]] = [:], wall: [String: [Double]] = [:]
        for (_, session) in sessions { _ = try session.run(feeds) }   // warm-up
        for _ in 0..<rounds {
            for (label, session) in sessions {
                let start = DispatchTime.now().uptimeNanoseconds, startCPU = cpuNow()
                _ = try session.run(feeds)
                cpu[label, default: []].append(cpuNow() - startCPU)
                wall[label, default: []].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
        }
        let median = { (v: [Double]) in v.sorted()[v.count / 2] }
        return (cpu.mapValues(median), wall.mapValues(median))
    }

    static func maxDiff(_ a: [String: Tensor], _ b: [String: Tensor]) -> Float {
        a.keys.map { RewriteGraphs.maxAbsDiff(a[$0], b[$0]) }.max() ?? .infinity
    }

    @Test(arguments: cases) func rewritesKeepTheOutputs(_ c: Case) throws {
        let path = try Self.modelPath(c)
        // VISAGE_REWRITE_KEEP=<dir> keeps the rewritten models (scripts/reference/fp16_reference.py compares them).
        let keep = ProcessInfo.processInfo.environment["VISAGE_REWRITE_KEEP"].map { URL(fileURLWithPath: $0, isDirectory: true) }
        let cache = try keep ?? RuntimeFixtures.temporaryDirectory()
        defer { if keep == nil { try? FileManager.default.removeItem(at: cache) } }
        let original = try RewriteGraphs.session(path)
        let feeds = try Self.feeds(c, session: original, image: c.image)
        let reference = try original.run(feeds)
        #expect(!reference.isEmpty)
        var sessions: [(String, InferenceSession)] = [("original", original)]

        // Exact rewrites, one at a time (fast models) and all together.
        let exact: [GraphRewriteKind] = [.shapeFolding, .padToSlices, .splitToSlices]
        var variants: [(String, Set<GraphRewriteKind>)] = []
        if !c.slow { variants += [("static-shape", [.staticShape])] + exact.map { ($0.rawValue, [.staticShape, $0]) } }
        variants.append(("all", Set(exact + [.staticShape])))
        var replaced: [GraphRewriteKind: Int] = [:]
        var row: [String: String] = [:]
        var nodesAfter = 0, nodesBefore = 0
        for (label, rewrites) in variants {
            let optimized = try ModelOptimizer.optimize(modelPath: path, options: OptimizationOptions(rewrites: rewrites, inputShape: c.shape),
                                                        cacheDirectory: cache)
            let session = try RewriteGraphs.session(optimized.path)
            let outputs = try session.run(feeds)
            sessions.append((label, session))
            let diff = Self.maxDiff(reference, outputs)
            #expect(diff <= 1e-5, "\(c.name) \(label): max abs diff \(diff) (\(optimized.summary))")
            for outcome in optimized.outcomes where rewrites.count == 2 || c.slow { replaced[outcome.rewrite] = outcome.replacedNodes }
            if label == "all" {
                nodesBefore = optimized.nodesBefore
                nodesAfter = optimized.nodesAfter
                row["diff"] = String(format: "%.1e", diff)
                print("[rewrite] \(c.name) all: \(optimized.summary)")
            }
        }

        // float16 on the file as it is (dynamic shapes allowed): measured error, kept within the stated tolerance.
        let half = try ModelOptimizer.optimize(modelPath: path, options: OptimizationOptions(rewrites: [.float16]), cacheDirectory: cache)
        let halfOutcome = try #require(half.outcomes.first)
        #expect(halfOutcome.replacedNodes > 0, "\(halfOutcome)")
        let halfSession = try RewriteGraphs.session(half.path)
        let halfOutputs = try halfSession.run(feeds)
        sessions.append(("fp16", halfSession))
        var worstRelative: Float = 0, worstAbsolute: Float = 0, worstCosine: Float = 1
        for (name, ref) in reference {
            let a = ref.floats(), b = try #require(halfOutputs[name]).floats()
            #expect(halfOutputs[name]?.elementType == ref.elementType)
            let scale = max(a.map(abs).max() ?? 0, 1e-6)
            let absolute = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            worstAbsolute = max(worstAbsolute, absolute)
            worstRelative = max(worstRelative, absolute / scale)
            if c.embedding {
                let dot = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
                let cosine = dot / (sqrt(a.reduce(0) { $0 + $1 * $1 }) * sqrt(b.reduce(0) { $0 + $1 * $1 }))
                worstCosine = min(worstCosine, cosine)
            }
        }
        #expect(worstRelative <= c.fp16Tolerance, "\(c.name) fp16: max abs \(worstAbsolute), relative \(worstRelative)")
        if c.embedding { #expect(worstCosine >= 0.999, "\(c.name) fp16 cosine \(worstCosine)") }
        print("[rewrite] \(c.name) fp16: \(half.summary)")

        // Dynamic batch: kept only where a batch of two equals two single runs (checked again here on two real photos).
        var batch = "—"
        if !c.slow {
            // Pinned to the fed shape first (detectors declare dynamic height/width), then the batch freed again.
            let dynamic = try ModelOptimizer.optimize(modelPath: path, options: OptimizationOptions(rewrites: [.staticShape, .dynamicBatch], inputShape: c.shape),
                                                      cacheDirectory: cache)
            let outcome = try #require(dynamic.outcomes.first { $0.rewrite == .dynamicBatch })
            if outcome.skipped.isEmpty {
                let session = try RewriteGraphs.session(dynamic.path)
                let second = c.image.hasPrefix("gfpgan") ? "gfpgan/cropped_faces__Julia_Roberts_crop.png" : "deepface/img1.jpg"
                let one = try Self.feeds(c, session: original, image: c.image), two = try Self.feeds(c, session: original, image: second)
                var pair: [String: Tensor] = [:]
                let batched = Set(session.inputs.filter { $0.shape.first == -1 }.map(\.name))
                for (name, t) in one {
                    guard batched.contains(name) else { pair[name] = t; continue }   // quantiser leftovers keep their shape
                    let u = try #require(two[name])
                    let both = Tensor(t.elementType, shape: [2] + t.shape.dropFirst())
                    both.data.copyMemory(from: t.data, byteCount: t.byteCount)
                    both.data.advanced(by: t.byteCount).copyMemory(from: u.data, byteCount: u.byteCount)
                    pair[name] = both
                }
                let a = try session.run(one), b = try session.run(two), ab = try session.run(pair)
                var worst: Float = 0
                for (name, x) in a {
                    let expected = x.floats() + (b[name]?.floats() ?? []), got = ab[name]?.floats() ?? []
                    #expect(got.count == expected.count, "\(c.name) \(name)")
                    let scale = max(1, expected.map(abs).max() ?? 0)
                    worst = max(worst, (zip(expected, got).map { abs($0 - $1) }.max() ?? 0) / scale)
                }
                #expect(worst <= 1e-4, "\(c.name) batch 2 vs two single runs: \(worst)")
                batch = String(format: "yes (%.0e)", worst)
            } else {
                batch = "no: " + outcome.skipped.joined(separator: "; ")
            }
        }

        if Self.printTable {
            let (ms, wall) = try Self.interleavedMedians(sessions, feeds, rounds: c.slow ? 2 : 9)
            let baseMs = ms["original"] ?? 0
            func cell(_ label: String) -> String {
                guard let t = ms[label] else { return "—" }
                return String(format: "%.1f (%+.0f%%)", t, (t / baseMs - 1) * 100)
            }
            let counts = exact.map { "\(replaced[$0] ?? 0)" }.joined(separator: " / ")
            let fp16 = String(format: "%.1e rel (%.1e abs)", worstRelative, worstAbsolute) + (c.embedding ? String(format: ", cos %.6f", worstCosine) : "")
            let times = (["static-shape"] + (c.slow ? [] : exact.map(\.rawValue)) + ["all"]).map(cell).joined(separator: " / ")
            print("| \(c.name) | \(nodesBefore) → \(nodesAfter) | \(counts) | \(row["diff"] ?? "—") | \(fp16) | \(String(format: "%.1f", baseMs)) (wall \(String(format: "%.1f", wall["original"] ?? 0))) | \(times) | \(cell("fp16")) | \(batch) |")
        }
    }
}
