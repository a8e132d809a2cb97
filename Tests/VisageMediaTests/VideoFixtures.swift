import Foundation
import Testing
import VisageCore
@testable import VisageMedia

/// Makes test videos with the ffmpeg CLI in a temporary folder and asks ffmpeg/ffprobe what a
/// file holds, so the tests compare our reader and writer with the tools themselves.
enum VideoFixtures {
    struct ToolFailure: Error, CustomStringConvertible {
        let description: String
    }

    static var ffmpeg: String { MediaTools.ffmpeg ?? "/usr/bin/ffmpeg" }
    static var ffprobe: String { MediaTools.ffprobe ?? "/usr/bin/ffprobe" }
    static var available: Bool { MediaTools.ffmpeg != nil && MediaTools.ffprobe != nil }

    /// Runs a tool and returns its stdout; throws with its stderr when it fails.
    @discardableResult
    static func run(_ program: String, _ arguments: [String]) throws -> Data {
        let result = try ToolRun.run(program, arguments, timeout: 300)
        guard result.status == 0 else {
            throw ToolFailure(description: "\(program) \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.errors.suffix(5).joined(separator: " / "))")
        }
        return result.output
    }

    /// `ffmpeg -y -v error` + arguments, writing `output` in `dir`; returns its path.
    @discardableResult
    static func make(_ output: String, in dir: URL, _ arguments: [String]) throws -> String {
        let path = dir.appendingPathComponent(output).path
        try run(ffmpeg, ["-hide_banner", "-nostdin", "-y", "-v", "error"] + arguments + [path])
        return path
    }

    /// A small H.264 clip with a moving test pattern and a tone: `seconds` long at `rate` fps.
    static func clip(_ name: String, in dir: URL, seconds: Double = 2, rate: Int = 25, size: String = "160x120",
                     audio: Bool = true, extra: [String] = []) throws -> String {
        var args = ["-f", "lavfi", "-i", "testsrc2=s=\(size):r=\(rate):d=\(seconds)"]
        if audio { args += ["-f", "lavfi", "-i", "sine=frequency=440:d=\(seconds)"] }
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-g", "\(rate)", "-pix_fmt", "yuv420p"]
        if audio { args += ["-c:a", "aac", "-b:a", "64k"] }
        return try make(name, in: dir, args + extra)
    }

    /// Presentation times of the first video stream's frames as ffprobe decodes them, exact
    /// (integer pts × time base).
    static func probeFrameTimes(_ path: String) throws -> [Double] {
        let out = try run(ffprobe, ["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts:stream=time_base",
                                    "-print_format", "json", path])
        let json = try #require(try JSONSerialization.jsonObject(with: out) as? [String: Any])
        let streams = json["streams"] as? [[String: Any]] ?? []
        let tb = try #require((streams.first?["time_base"] as? String).flatMap { VideoTimeBase(Substring($0)) })
        let frames = json["frames"] as? [[String: Any]] ?? []
        return frames.compactMap { ($0["pts"] as? Int).map { tb.seconds(Int64($0)) } }
    }

    /// Frame pts (integers, in the stream's time base) of the video stream, and that time base.
    static func probePTS(_ path: String) throws -> (pts: [Int64], timeBase: VideoTimeBase) {
        let out = try run(ffprobe, ["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts:stream=time_base",
                                    "-print_format", "json", path])
        let json = try #require(try JSONSerialization.jsonObject(with: out) as? [String: Any])
        let streams = json["streams"] as? [[String: Any]] ?? []
        let tb = try #require((streams.first?["time_base"] as? String).flatMap { VideoTimeBase(Substring($0)) })
        let frames = json["frames"] as? [[String: Any]] ?? []
        return (frames.compactMap { ($0["pts"] as? Int).map(Int64.init) }, tb)
    }

    /// start_time (seconds, exact) of the first stream of `type` ("video" / "audio").
    static func startTime(_ path: String, _ type: String) throws -> Double? {
        let out = try run(ffprobe, ["-v", "error", "-show_entries", "stream=codec_type,time_base,start_pts", "-print_format", "json", path])
        let json = try #require(try JSONSerialization.jsonObject(with: out) as? [String: Any])
        guard let stream = (json["streams"] as? [[String: Any]] ?? []).first(where: { $0["codec_type"] as? String == type }),
              let tb = (stream["time_base"] as? String).flatMap({ VideoTimeBase(Substring($0)) }),
              let pts = stream["start_pts"] as? Int else { return nil }
        return tb.seconds(Int64(pts))
    }

    /// Presentation time of the first packet of `stream` ("a:0"), priming samples included.
    static func firstPacketTime(_ path: String, _ stream: String) throws -> Double? {
        let out = try run(ffprobe, ["-v", "error", "-select_streams", stream, "-read_intervals", "%+#1",
                                    "-show_entries", "packet=pts:stream=time_base", "-print_format", "json", path])
        let json = try #require(try JSONSerialization.jsonObject(with: out) as? [String: Any])
        guard let tb = ((json["streams"] as? [[String: Any]])?.first?["time_base"] as? String).flatMap({ VideoTimeBase(Substring($0)) }),
              let pts = (json["packets"] as? [[String: Any]])?.first?["pts"] as? Int else { return nil }
        return tb.seconds(Int64(pts))
    }

    /// How many frames the ffmpeg CLI decodes from the first video stream (every frame once).
    static func cliFrameCount(_ path: String) throws -> Int {
        let out = try run(ffmpeg, ["-hide_banner", "-nostdin", "-v", "quiet", "-i", path, "-map", "0:v:0",
                                   "-fps_mode", "passthrough", "-f", "framecrc", "-"])
        return String(decoding: out, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("#") }.count
    }

    /// The ffmpeg CLI's own decode of the first video stream as BGR frames (display matrix applied
    /// by its autorotate; the same libswscale conversion OpenCV uses).
    static func cliFrames(_ path: String, width: Int, height: Int) throws -> [Data] {
        let out = try run(ffmpeg, ["-hide_banner", "-nostdin", "-v", "error", "-i", path, "-map", "0:v:0",
                                   "-fps_mode", "passthrough", "-vf", "scale=flags=bicubic:in_color_matrix=bt601",
                                   "-f", "rawvideo", "-pix_fmt", "bgr24", "-"])
        let size = width * height * 3
        return stride(from: 0, to: out.count, by: size).map { out.subdata(in: $0..<min($0 + size, out.count)) }
    }
}

extension Image {
    /// The pixels as tightly packed bytes.
    var packedBytes: Data {
        var data = Data(capacity: rowBytes * height)
        for y in 0..<height { data.append(baseAddress.advanced(by: y * stride).assumingMemoryBound(to: UInt8.self), count: rowBytes) }
        return data
    }
}
