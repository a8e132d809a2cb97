import Foundation
import Testing
import VisageCore
import VisageMedia

@Suite struct ImageOpsTests {
    static func gradient(width: Int = 64, height: Int = 48) -> Image {
        let image = Image(width: width, height: height, channels: 3)
        for y in 0..<height {
            for x in 0..<width {
                let p = image.baseAddress.advanced(by: y * image.stride + x * 3).assumingMemoryBound(to: UInt8.self)
                p[0] = UInt8(x * 4 % 256); p[1] = UInt8(y * 5 % 256); p[2] = UInt8((x + y) % 256)
            }
        }
        return image
    }

    @Test func resizeProducesRequestedSize() throws {
        let out = try ImageOps.resize(Self.gradient(), width: 32, height: 24)
        #expect(out.width == 32 && out.height == 24 && out.channels == 3)
        #expect(out.byte(x: 0, y: 0) <= 4)
    }

    @Test func identityWarpKeepsPixels() throws {
        let src = Self.gradient()
        let out = try ImageOps.warpAffine(src, .identity, width: src.width, height: src.height)
        #expect((0..<src.height).allSatisfy { y in (0..<src.width).allSatisfy { x in out.byte(x: x, y: y, channel: 1) == src.byte(x: x, y: y, channel: 1) } })
    }

    @Test func translationWarpWithConstantBorder() throws {
        let src = Self.gradient()
        let shift = Affine2D([1, 0, 5, 0, 1, 3])
        let out = try ImageOps.warpAffine(src, shift, width: src.width, height: src.height, border: .constant, borderValue: [7, 7, 7])
        #expect(out.byte(x: 0, y: 0) == 7)
        #expect(out.byte(x: 10, y: 10, channel: 2) == src.byte(x: 5, y: 7, channel: 2))
    }

    @Test func invertAffineMatchesAnalyticInverse() throws {
        let m = Affine2D([0.8, -0.3, 12, 0.3, 0.8, -4])
        let opencv = try ImageOps.invertAffine(m)
        let ours = try #require(m.inverted)
        for (a, b) in zip(opencv.m, ours.m) { #expect(abs(a - b) < 1e-9) }
        let p = Point(13, 7)
        let back = opencv.apply(m.apply(p))
        #expect(abs(back.x - p.x) < 1e-4 && abs(back.y - p.y) < 1e-4)
        #expect(throws: VisageError.self) { try ImageOps.invertAffine(Affine2D([0, 0, 0, 0, 0, 0])) }
    }

    @Test func estimateAffinePartialRecoversSimilarity() throws {
        let angle = 0.3, scale = 1.7
        let truth = Affine2D([scale * cos(angle), -scale * sin(angle), 20, scale * sin(angle), scale * cos(angle), -5])
        let from = [Point(10, 10), Point(50, 12), Point(30, 40), Point(15, 60), Point(45, 55)]
        let to = from.map(truth.apply)
        let fit = try ImageOps.estimateAffinePartial2D(from: from, to: to, method: .lmeds)
        for (a, b) in zip(fit.m, truth.m) { #expect(abs(a - b) < 1e-3) }
    }

    @Test func gaussianBlurKeepsConstantImageAndRejectsEvenKernel() throws {
        let flat = Image(width: 20, height: 20, channels: 1)
        flat.baseAddress.initializeMemory(as: UInt8.self, repeating: 90, count: 400)
        let blurred = try ImageOps.gaussianBlur(flat, kernelWidth: 5, kernelHeight: 5)
        #expect(blurred.byte(x: 10, y: 10) == 90 && blurred.byte(x: 0, y: 0) == 90)
        // OpenCV asserts on an even kernel: that must come back as a Swift error, not an abort.
        let error = try #require(throws: VisageError.self) { try ImageOps.gaussianBlur(flat, kernelWidth: 4, kernelHeight: 4) }
        #expect("\(error)".contains("GaussianBlur") || "\(error)".contains("ksize"))
    }

    @Test func erodeShrinksMask() throws {
        let mask = Image(width: 20, height: 20, channels: 1)
        for y in 5..<15 { for x in 5..<15 { mask.baseAddress.storeBytes(of: 255, toByteOffset: y * mask.stride + x, as: UInt8.self) } }
        let eroded = try ImageOps.erode(mask, kernelWidth: 3, kernelHeight: 3)
        #expect(eroded.byte(x: 5, y: 5) == 0 && eroded.byte(x: 6, y: 6) == 255 && eroded.byte(x: 10, y: 10) == 255)
    }

    @Test func seamlessCloneBlendsIntoDestination() throws {
        let dst = Image(width: 64, height: 64, channels: 3)
        dst.baseAddress.initializeMemory(as: UInt8.self, repeating: 100, count: dst.stride * 64)
        let src = Self.gradient(width: 64, height: 64)
        let mask = Image(width: 64, height: 64, channels: 1)
        for y in 16..<48 { for x in 16..<48 { mask.baseAddress.storeBytes(of: 255, toByteOffset: y * mask.stride + x, as: UInt8.self) } }
        let out = try ImageOps.seamlessClone(source: src, destination: dst, mask: mask, center: (32, 32))
        #expect(out.width == 64 && out.height == 64)
        #expect(out.byte(x: 2, y: 2) == 100)   // outside the mask the destination is untouched
    }

    @Test func colorConversionsSwapAndReduceChannels() throws {
        let src = Self.gradient()
        let rgb = try ImageOps.convertColor(src, .bgrToRGB)
        #expect(rgb.byte(x: 3, y: 4, channel: 0) == src.byte(x: 3, y: 4, channel: 2))
        #expect(try ImageOps.convertColor(src, .bgrToGray).channels == 1)
    }

    @Test func mismatchedDestinationIsAnErrorNotACrash() throws {
        let src = Self.gradient()
        let wrong = Image(width: 10, height: 10, channels: 1)
        #expect(throws: VisageError.self) { try ImageOps.resize(src, into: wrong) }
    }

    @Test func drawingChangesPixels() throws {
        let image = Image(width: 50, height: 50, channels: 3)
        Drawing.rectangle(image, Box(x: 10, y: 10, width: 20, height: 20), color: .green, thickness: 2)
        Drawing.circle(image, Point(40, 40), radius: 3, color: .red)
        Drawing.text(image, "hi", at: Point(2, 48))
        #expect(image.byte(x: 10, y: 20, channel: 1) > 100)
        #expect(image.byte(x: 40, y: 40, channel: 2) > 100)
    }
}
