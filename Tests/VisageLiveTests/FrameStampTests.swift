import Foundation
import Testing
import VisageCore
import VisageMedia
@testable import VisageLive

@Suite struct FrameStampTests {
    /// Frame numbers survive JPEG (the stream) and scaling (the controller's processing size).
    @Test func numbersSurviveJPEGAndResizing() throws {
        let source = NumberedFrameSource(width: 640, height: 480, realtime: false)
        for expected in 0..<5 {
            let frame = Image(width: 640, height: 480)
            #expect(try source.read(into: frame))
            let jpeg = try ImageIO.decode(try ImageIO.encode(frame, format: "jpg", quality: 60))
            #expect(FrameStamp.read(from: jpeg) == expected)
            let small = try ImageOps.resize(frame, width: 320, height: 240, interpolation: .area)
            #expect(FrameStamp.read(from: small) == expected)
        }
        let frame = Image(width: 640, height: 480)
        FrameStamp.write(9_876_543, into: frame)
        #expect(FrameStamp.read(from: frame) == 9_876_543)
    }
}
