import Foundation
import VisageCore

/// Decode speed of the ffmpeg reader against OpenCV's capture on the same files: every frame read
/// to the end, the two decoders alternated round by round (the machine is noisy), the best round
/// of each kept. Open time (ffprobe + starting ffmpeg, or OpenCV's open) is counted.
public enum VideoDecodeBenchmark {
    public struct Result: Codable, Sendable {
        public var video: String
        public var decoder: String
        public var width: Int
        public var height: Int
        public var frames: Int
        /// Best round: from opening the file to the last frame.
        public var seconds: Double
        public var fps: Double
        /// Opening alone (probe and process start for ffmpeg) in the best round.
        public var openSeconds: Double
        /// CPU time of that round, this process and the ffmpeg/ffprobe it ran together (user +
        /// system): what decoding costs on a busy machine, where wall time mostly measures the others.
        public var cpuSeconds: Double
        public var cpuMillisecondsPerFrame: Double
        /// The part of `cpuSeconds` spent in the ffprobe and ffmpeg processes.
        public var helperCPUSeconds: Double
    }

    /// Measures `paths` with both decoders, `rounds` alternating rounds each.
    public static func run(paths: [String], rounds: Int = 3) throws -> [Result] {
        var results: [Result] = []
        for path in paths {
            var best: [VideoReader.Decoder: Result] = [:]
            for _ in 0..<max(1, rounds) {
                for decoder in [VideoReader.Decoder.ffmpeg, .openCV] {
                    let result = try measure(path, decoder: decoder)
                    if best[decoder].map({ result.seconds < $0.seconds }) ?? true { best[decoder] = result }
                }
            }
            results += [best[.ffmpeg]!, best[.openCV]!]
        }
        return results
    }

    /// One pass over `path` with `decoder`.
    public static func measure(_ path: String, decoder: VideoReader.Decoder) throws -> Result {
        let cpuStart = cpuTime(), helperStart = cpuTime(children: true)
        let start = DispatchTime.now().uptimeNanoseconds
        let reader = try VideoReader(path: path, decoder: decoder)
        let opened = DispatchTime.now().uptimeNanoseconds
        var frames = 0
        while try reader.read() != nil { frames += 1 }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        reader.close()   // ffmpeg has exited and been waited for: its CPU time is counted
        let cpu = cpuTime() - cpuStart, helper = cpuTime(children: true) - helperStart
        return Result(video: URL(fileURLWithPath: path).lastPathComponent, decoder: reader.decoder.rawValue,
                      width: reader.width, height: reader.height, frames: frames, seconds: seconds,
                      fps: Double(frames) / max(seconds, 1e-9), openSeconds: Double(opened - start) / 1e9,
                      cpuSeconds: cpu, cpuMillisecondsPerFrame: 1000 * cpu / Double(max(frames, 1)), helperCPUSeconds: helper)
    }

    /// User + system seconds of this process and of its children that have been waited for
    /// (`children`: of the children alone).
    private static func cpuTime(children: Bool = false) -> Double {
        func seconds(_ who: Int32) -> Double {
            var usage = rusage()
            getrusage(who, &usage)
            return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
                + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        }
        // RUSAGE_SELF and RUSAGE_CHILDREN are 0 and -1 on Linux and macOS alike (Glibc imports
        // them as an enum, Darwin as Int32, so the numbers avoid a platform switch).
        return children ? seconds(-1) : seconds(0) + seconds(-1)
    }
}
