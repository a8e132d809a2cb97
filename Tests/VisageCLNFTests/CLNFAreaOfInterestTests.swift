import Foundation
import Testing
import VisageCore
import VisageMedia
@testable import VisageCLNF

@Suite struct CLNFAreaOfInterestTests {
    /// Our fixed-point warp against OpenCV's warpAffine on a real frame, for rotated/scaled maps that reach
    /// past the image border. OpenCV is given the forward matrix (the wrapper has no WARP_INVERSE_MAP), so it
    /// re-inverts ours in double; values must agree to float rounding, nearly all bit for bit.
    @Test func matchesOpenCVWarpAffine() throws {
        let frame = try #require(try CLNFTestSupport.frames("default.wmv", count: 1).first)
        let gray = frame.1
        let floatGray = Image(width: gray.width, height: gray.height, channels: 1, depth: .float32)
        for y in 0..<gray.height {
            let row = floatGray.baseAddress.advanced(by: y * floatGray.stride).assumingMemoryBound(to: Float.self)
            let src = gray.baseAddress.advanced(by: y * gray.stride).assumingMemoryBound(to: UInt8.self)
            for x in 0..<gray.width { row[x] = Float(src[x]) }
        }
        var exact = 0, total = 0
        var maxDifference: Float = 0
        let side = 21
        for (angle, scale, cx, cy) in [(0.0, 1.0, 300.5, 250.25), (0.3, 1.37, 120.3, 200.7), (-0.7, 0.81, 5.2, 3.9),
                                       (2.1, 1.9, 630.0, 470.0), (0.05, 2.5, 320.0, 240.0)] {
            let a = scale * cos(angle), b = scale * sin(angle)
            let inverseMap = (a, -b, cx - a * 10 + b * 10, b, a, cy - a * 10 - b * 10)
            var ours = [Float](repeating: 0, count: side * side)
            ours.withUnsafeMutableBufferPointer { CLNFAreaOfInterest.extract(gray: gray, m: inverseMap, side: side, into: $0.baseAddress!) }
            let forward = try ImageOps.invertAffine(Affine2D([inverseMap.0, inverseMap.1, inverseMap.2, inverseMap.3, inverseMap.4, inverseMap.5]))
            let theirs = try ImageOps.warpAffine(floatGray, forward, width: side, height: side)
            for y in 0..<side {
                let row = theirs.baseAddress.advanced(by: y * theirs.stride).assumingMemoryBound(to: Float.self)
                for x in 0..<side {
                    let d = abs(row[x] - ours[y * side + x])
                    maxDifference = max(maxDifference, d)
                    if d == 0 { exact += 1 }
                    total += 1
                }
            }
        }
        print("area of interest vs OpenCV: \(exact)/\(total) bit-identical, max difference \(maxDifference)")
        #expect(Double(exact) / Double(total) > 0.99, "\(exact) of \(total) samples bit-identical")
        #expect(maxDifference < 2, "largest difference \(maxDifference) grey levels")
    }
}
