import Foundation
import Testing
import VisageCore
@testable import VisageMedia

/// ffmpeg's stderr, as it really prints it, turned into one line a person can act on.
struct FFmpegMessagesTests {
    @Test func prefixesAndLevelsAreStripped() {
        let parsed = FFmpegMessages.parse("[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55741e6fa940] [error] stream 0, offset 0x35e74: partial file")
        #expect(parsed.source == "mov,mp4,m4a,3gp,3g2,mj2" && parsed.level == "error" && parsed.text == "stream 0, offset 0x35e74: partial file")
        let bare = FFmpegMessages.parse("[error] Error while decoding stream #0:0: Invalid data found when processing input")
        #expect(bare.source == nil && bare.level == "error" && bare.text.hasPrefix("Error while decoding"))
    }

    @Test func encoderThatNeedsAGPUIsExplained() {
        // What h264_nvenc prints on a machine without an NVIDIA driver.
        let lines = ["[h264_nvenc @ 0x5581c4a3e6c0] Cannot load libcuda.so.1",
                     "[vost#0:0/h264_nvenc @ 0x5581c4a3d9c0] Error while opening encoder - maybe incorrect parameters such as bit_rate, rate, width or height",
                     "Conversion failed!"]
        let text = FFmpegMessages.writeFailure(lines, encoder: "h264_nvenc", temporary: "/out/.x.partial-1234.mp4", destination: "/out/x.mp4")
        #expect(text.contains("h264_nvenc") && text.contains("libx264") && text.contains("GPU"))
    }

    @Test func temporaryNamesNeverShow() {
        let lines = ["[out#0/mp4 @ 0x55] [error] /out/.x.partial-1234.mp4: Some unexpected failure"]
        let text = FFmpegMessages.writeFailure(lines, encoder: "libx264", temporary: "/out/.x.partial-1234.mp4", destination: "/out/x.mp4")
        #expect(text == "/out/x.mp4: Some unexpected failure")
        #expect(FFmpegMessages.writeFailure(["av_interleaved_write_frame(): No space left on device"], encoder: "libx264",
                                            temporary: "/t", destination: "/d") == "No space left on device; free some space or write elsewhere")
    }

    @Test func aProgramThatCannotStartSaysSo() {
        #expect {
            _ = try ToolProcess(program: "/nonexistent/ffmpeg", arguments: [], takesInput: false, givesOutput: true)
        } throws: { error in
            "\(error)".contains("cannot start /nonexistent/ffmpeg")
        }
    }

    @Test func encoderListIsParsed() {
        let text = """
        Encoders:
         V..... = Video
         ------
         V....D libx264              libx264 H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 (codec h264)
         V....D mpeg4                MPEG-4 part 2
         A....D aac                  AAC (Advanced Audio Coding)
         V....D h264_nvenc           NVIDIA NVENC H.264 encoder (codec h264)
        """
        #expect(EncoderProbe.parseEncoderList(text) == ["libx264": "h264", "mpeg4": "mpeg4", "h264_nvenc": "h264"])
    }
}
