import Foundation
import Testing
import VisageCore
@testable import VisageMedia

@Suite struct SyntheticMediaLabelTests {
    @Test func pngAndJPEGStayDecodableAndCarryTheLabel() throws {
        let image = Image(width: 16, height: 8, channels: 3)
        for format in ["png", "jpg"] {
            let labelled = SyntheticMediaLabel.embed(SyntheticMediaLabel.text(operation: "test"), in: try ImageIO.encode(image, format: format))
            #expect(SyntheticMediaLabel.isLabelled(labelled))
            let back = try ImageIO.decode(labelled)
            #expect(back.width == 16 && back.height == 8)
        }
        #expect(!SyntheticMediaLabel.isLabelled(try ImageIO.encode(image, format: "png")))
    }

    @Test func crcMatchesTheStandardCheckValue() {
        #expect(SyntheticMediaLabel.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
    }
}
