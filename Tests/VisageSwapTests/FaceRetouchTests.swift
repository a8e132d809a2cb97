import Foundation
import Testing
import VisageCore
import VisageMedia
@testable import VisageSwap

@Suite struct FaceRetouchTests {
    static func filled(_ b: UInt8, _ g: UInt8, _ r: UInt8, size: Int = 64) -> Image {
        let image = Image(width: size, height: size, channels: 3)
        for y in 0..<size { for x in 0..<size {
            let p = image.baseAddress.advanced(by: y * image.stride + x * 3).assumingMemoryBound(to: UInt8.self)
            p[0] = b &+ UInt8(x % 16); p[1] = g &+ UInt8(y % 16); p[2] = r
        } }
        return image
    }

    static func mean(_ image: Image, channel c: Int) -> Double {
        var s = 0.0
        for y in 0..<image.height { for x in 0..<image.width { s += Double(image.byte(x: x, y: y, channel: c)) } }
        return s / Double(image.pixelCount)
    }

    @Test func colourMatchingMovesTheMeansToTheReference() throws {
        let image = Self.filled(40, 60, 200), reference = Self.filled(150, 120, 90)
        try FaceRetouch.matchColour(of: image, to: reference)
        for c in 0..<3 { #expect(abs(Self.mean(image, channel: c) - Self.mean(reference, channel: c)) < 6, "channel \(c)") }
    }

    @Test func mouthRestorationBringsBackTheOriginalInsideTheLips() throws {
        // 68 landmarks with the inner lips (60–67) around (32, 40).
        var landmarks = [Point](repeating: Point(32, 20), count: 68)
        for k in 0..<8 {
            let angle = Float(k) / 8 * 2 * .pi
            landmarks[60 + k] = Point(32 + 8 * cos(angle), 40 + 4 * sin(angle))
        }
        let original = Self.filled(10, 10, 10), swapped = Self.filled(200, 200, 200)
        try FaceRetouch.restoreMouth(from: original, into: swapped, landmarks: landmarks, scale: 0.5)
        #expect(swapped.byte(x: 32, y: 40, channel: 2) < 60, "centre of the mouth is the original's")
        #expect(swapped.byte(x: 5, y: 5, channel: 2) == 200, "far from the mouth nothing changes")
    }

    @Test func sharpeningRaisesLocalContrast() throws {
        let image = Image(width: 32, height: 32, channels: 3)
        for y in 0..<32 { for x in 16..<32 { for c in 0..<3 { image.baseAddress.storeBytes(of: 200, toByteOffset: y * image.stride + x * 3 + c, as: UInt8.self) } } }
        for y in 0..<32 { for x in 0..<16 { for c in 0..<3 { image.baseAddress.storeBytes(of: 50, toByteOffset: y * image.stride + x * 3 + c, as: UInt8.self) } } }
        try FaceRetouch.sharpen(image, amount: 1)
        #expect(image.byte(x: 16, y: 10) > 200 && image.byte(x: 15, y: 10) < 50)
        #expect(image.byte(x: 2, y: 10) == 50)
    }
}
