import Foundation
import Testing
import VisageCore

@Suite struct ImageTests {
    @Test func regionSharesPixelsAndCopyDoesNot() {
        let image = Image(width: 8, height: 6, channels: 3)
        let region = try! #require(image.region(x: 2, y: 1, width: 4, height: 3))
        region.baseAddress.storeBytes(of: 77, as: UInt8.self)
        #expect(image.byte(x: 2, y: 1) == 77)
        let copy = image.copy()
        copy.baseAddress.storeBytes(of: 1, as: UInt8.self)
        #expect(image.byte(x: 0, y: 0) == 0)
        #expect(image.region(x: 6, y: 0, width: 4, height: 1) == nil)
    }

    @Test func foreignStorageIsReleasedExactlyOnce() {
        final class Counter: @unchecked Sendable { var n = 0 }
        let counter = Counter()
        do {
            let bytes = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)
            let storage = ImageStorage(bytes: bytes, byteCount: 16) { p in counter.n += 1; p.deallocate() }
            let a = Image(width: 4, height: 4, channels: 1, depth: .uint8, stride: 4, storage: storage)
            let b = a
            _ = b.region(x: 0, y: 0, width: 2, height: 2)
        }
        #expect(counter.n == 1)
    }
}
