import Foundation
import VisageCore

/// A time base: seconds per tick as a fraction (1/11988 for a 29.97 fps MP4, 1/1000 for WMV).
public struct VideoTimeBase: Sendable, Equatable, Codable, CustomStringConvertible {
    public var numerator: Int64
    public var denominator: Int64

    public init(_ numerator: Int64, _ denominator: Int64) {
        self.numerator = numerator
        self.denominator = denominator
    }

    /// "1/11988" as ffmpeg prints it; nil for anything else or a zero part.
    public init?(_ text: Substring) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let n = Int64(parts[0]), let d = Int64(parts[1]), n > 0, d > 0 else { return nil }
        self.init(n, d)
    }

    /// One frame's duration at `fps`, with the rate read as ffmpeg reads "-r 29.97": the nearest
    /// fraction with terms up to 1001000 (29.97 → 2997/100, 23.976… → 24000/1001), so frames written
    /// at the nominal rate land on whole ticks.
    public init(framesPerSecond fps: Double) {
        let rate = Self.nearestFraction(fps, limit: 1_001_000)
        self.init(rate.denominator, rate.numerator)
    }

    /// The best rational approximation of `value` whose numerator and denominator stay within
    /// `limit` (continued fractions, with the last term cut down to fit when that is closer).
    static func nearestFraction(_ value: Double, limit: Int64) -> (numerator: Int64, denominator: Int64) {
        guard value.isFinite, value > 0 else { return (0, 1) }
        var (h0, k0, h1, k1): (Int64, Int64, Int64, Int64) = (0, 1, 1, 0)
        var x = value
        for _ in 0..<64 {
            let a = Int64(x.rounded(.down))
            let (h2, k2) = (a &* h1 &+ h0, a &* k1 &+ k0)
            if h2 > limit || k2 > limit || h2 < 0 || k2 < 0 {
                // The largest partial term that still fits, if it beats the last convergent.
                var t = k1 > 0 ? (limit - k0) / k1 : a
                if h1 > 0 { t = min(t, (limit - h0) / h1) }
                let candidate = (t * h1 + h0, t * k1 + k0)
                if candidate.1 > 0, abs(Double(candidate.0) / Double(candidate.1) - value) < abs(Double(h1) / Double(k1) - value) {
                    return candidate
                }
                break
            }
            (h0, k0, h1, k1) = (h1, k1, h2, k2)
            let fraction = x - Double(a)
            if fraction < 1e-12 || abs(Double(h1) / Double(k1) - value) < 1e-15 * value { break }
            x = 1 / fraction
        }
        return k1 > 0 ? (h1, k1) : (Int64(value.rounded()), 1)
    }

    public var seconds: Double { Double(numerator) / Double(denominator) }
    public func seconds(_ ticks: Int64) -> Double { Double(ticks) * Double(numerator) / Double(denominator) }
    public var description: String { "\(numerator)/\(denominator)" }
    /// ffmpeg's option syntax ("1:11988").
    var ffmpegArgument: String { "\(numerator):\(denominator)" }
}

/// What ffprobe says about a video file, before any frame is decoded.
public struct VideoFacts: Sendable, Equatable {
    /// Container ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi", "asf").
    public var format: String
    /// The video stream decoded (the first that is not cover art), its index among all streams.
    public var streamIndex: Int
    public var codec: String
    public var pixelFormat: String
    /// Stored size, before rotation.
    public var codedWidth: Int
    public var codedHeight: Int
    /// Clockwise degrees (0, 90, 180, 270) players turn the picture by (display matrix).
    public var rotation: Int
    public var timeBase: VideoTimeBase
    /// First presentation time of the video stream in seconds (0 when the file does not say).
    public var startTime: Double
    /// First presentation time of the first audio stream; nil without audio.
    public var audioStartTime: Double?
    public var audioCodec: String?
    /// r_frame_rate and avg_frame_rate as fractions in frames per second (0 when unknown).
    public var baseFrameRate: Double
    public var averageFrameRate: Double
    /// Frames the container's index lists (0 when it does not say).
    public var declaredFrames: Int
    /// Container duration in seconds (0 when unknown).
    public var duration: Double

    /// Size of the frames as shown, after rotation.
    public var width: Int { rotation % 180 == 0 ? codedWidth : codedHeight }
    public var height: Int { rotation % 180 == 0 ? codedHeight : codedWidth }

    /// Frames per second exactly as OpenCV's capture reports it (avg_frame_rate, else r_frame_rate),
    /// so that timestamps computed as frame / fps stay what OpenFace computes.
    public var fps: Double {
        let eps = 0.000025
        if averageFrameRate > eps { return averageFrameRate }
        return baseFrameRate > eps ? baseFrameRate : 0
    }

    /// OpenCV's frame count: the index's count, else duration × fps rounded.
    public var estimatedFrames: Int {
        declaredFrames > 0 ? declaredFrames : Int((duration * fps + 0.5).rounded(.down))
    }

    /// The container declares a variable frame rate (average rate differs from the base rate).
    public var isVariableFrameRate: Bool {
        baseFrameRate > 0 && averageFrameRate > 0 && abs(baseFrameRate - averageFrameRate) > 0.002 * baseFrameRate
    }
}

/// Runs ffprobe on a file and reads its JSON answer.
public enum VideoProbe {
    /// Stream facts of `path`. Throws `invalidVideo` with ffprobe's reason in plain words.
    public static func facts(of path: String, ffprobe: String) throws -> VideoFacts {
        let entries = "format=format_name,duration:stream=index,codec_type,codec_name,width,height,pix_fmt,r_frame_rate,"
            + "avg_frame_rate,time_base,start_pts,nb_frames:stream_disposition=attached_pic:stream_side_data=rotation"
        let run: ToolRun.Result
        do {
            run = try ToolRun.run(ffprobe, ["-v", "error", "-print_format", "json", "-show_entries", entries, path], timeout: 120)
        } catch {
            throw VisageError.invalidVideo(path: path, reason: "cannot run ffprobe (\(error))")
        }
        guard run.status == 0 else {
            throw VisageError.invalidVideo(path: path, reason: run.status == 124 ? "ffprobe took over two minutes to read it" : FFmpegMessages.readFailure(run.errors, path: path))
        }
        guard let json = try? JSONSerialization.jsonObject(with: run.output) as? [String: Any] else {
            throw VisageError.invalidVideo(path: path, reason: "ffprobe gave no description of it")
        }
        return try facts(fromJSON: json, path: path)
    }

    static func facts(fromJSON json: [String: Any], path: String) throws -> VideoFacts {
        let streams = json["streams"] as? [[String: Any]] ?? []
        let format = json["format"] as? [String: Any] ?? [:]
        func isCover(_ s: [String: Any]) -> Bool { ((s["disposition"] as? [String: Any])?["attached_pic"] as? Int) == 1 }
        guard let video = streams.first(where: { $0["codec_type"] as? String == "video" && !isCover($0) }) else {
            let kinds = Set(streams.compactMap { $0["codec_type"] as? String })
            throw VisageError.invalidVideo(path: path, reason: kinds.contains("audio") ? "it has sound but no video stream" : "it has no video stream")
        }
        func rate(_ key: String, _ s: [String: Any]) -> Double {
            guard let text = s[key] as? String, let r = VideoTimeBase(Substring(text)) else { return 0 }
            return Double(r.numerator) / Double(r.denominator)
        }
        func start(_ s: [String: Any]) -> Double? {
            guard let tb = (s["time_base"] as? String).flatMap({ VideoTimeBase(Substring($0)) }) else { return nil }
            let pts = (s["start_pts"] as? Int).map(Int64.init) ?? (s["start_pts"] as? String).flatMap { Int64($0) }
            return pts.map { tb.seconds($0) }
        }
        let width = video["width"] as? Int ?? 0, height = video["height"] as? Int ?? 0
        guard width > 0, height > 0 else { throw VisageError.invalidVideo(path: path, reason: "its video stream has no frame size") }
        // ffprobe's rotation is counter-clockwise (av_display_rotation_get); ffmpeg turns frames by its negation.
        let sideData = video["side_data_list"] as? [[String: Any]] ?? []
        let counterClockwise = sideData.compactMap { ($0["rotation"] as? Int) ?? ($0["rotation"] as? Double).map { Int($0.rounded()) } }.first ?? 0
        var clockwise = (-counterClockwise) % 360
        if clockwise < 0 { clockwise += 360 }
        if clockwise % 90 != 0 { clockwise = 0 }   // ffmpeg only turns by quarter turns
        let audio = streams.first { $0["codec_type"] as? String == "audio" }
        return VideoFacts(
            format: format["format_name"] as? String ?? "",
            streamIndex: video["index"] as? Int ?? 0,
            codec: video["codec_name"] as? String ?? "unknown",
            pixelFormat: video["pix_fmt"] as? String ?? "",
            codedWidth: width, codedHeight: height,
            rotation: clockwise,
            timeBase: (video["time_base"] as? String).flatMap { VideoTimeBase(Substring($0)) } ?? VideoTimeBase(1, 90000),
            startTime: start(video) ?? 0,
            audioStartTime: audio.map { start($0) ?? 0 },
            audioCodec: audio?["codec_name"] as? String,
            baseFrameRate: rate("r_frame_rate", video),
            averageFrameRate: rate("avg_frame_rate", video),
            declaredFrames: (video["nb_frames"] as? String).flatMap { Int($0) } ?? 0,
            duration: (format["duration"] as? String).flatMap { Double($0) } ?? 0)
    }
}
