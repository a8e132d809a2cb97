import Foundation

/// Turns what ffmpeg and ffprobe print on stderr into one line a person can act on: the
/// "[h264 @ 0x55…]" prefixes go, temporary file names become the file the user named, and the
/// messages we know get plain words and a next step.
enum FFmpegMessages {
    /// "[mov,mp4 @ 0x5563] [error] moov atom not found" → ("mov,mp4", "error", "moov atom not found").
    static func parse(_ line: Substring) -> (source: Substring?, level: Substring?, text: Substring) {
        var rest = line[...]
        var source: Substring?
        var level: Substring?
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            let inside = rest[rest.index(after: rest.startIndex)..<close]
            if let at = inside.range(of: " @ ") {
                source = inside[..<at.lowerBound]
                rest = rest[rest.index(after: close)...].drop { $0 == " " }
            }
        }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            let inside = rest[rest.index(after: rest.startIndex)..<close]
            if ["quiet", "panic", "fatal", "error", "warning", "info", "verbose", "debug", "trace"].contains(inside) {
                level = inside
                rest = rest[rest.index(after: close)...].drop { $0 == " " }
            }
        }
        return (source, level, rest)
    }

    /// The plain text of the most telling line among `lines` (errors first, the last one wins),
    /// with `temporary` replaced by `shownAs`.
    static func cleaned(_ lines: [String], temporary: String? = nil, shownAs: String? = nil) -> String {
        let parsed = lines.map { parse(Substring($0)) }
        let noise: [String] = ["Conversion failed!", "Press [q]", "Last message repeated", "Error initializing output stream",
                               "Error while opening encoder", "Error closing", "Error writing trailer"]
        let candidates = parsed.filter { p in !noise.contains { p.text.contains($0) } && !p.text.isEmpty }
        let errors = candidates.filter { $0.level == "error" || $0.level == "fatal" || $0.level == nil }
        guard var text = (errors.last ?? candidates.last).map({ String($0.text) }) else { return "ffmpeg gave no reason" }
        if let temporary, let shownAs { text = text.replacingOccurrences(of: temporary, with: shownAs) }
        return text.trimmingCharacters(in: .whitespaces)
    }

    /// Why a video cannot be opened, in plain words, from ffprobe's or ffmpeg's messages about `path`.
    static func readFailure(_ lines: [String], path: String) -> String {
        let all = lines.joined(separator: "\n")
        if all.contains("moov atom not found") && startsLikeMP4(path) {
            return "the file is incomplete: its index (the MP4 'moov' box) is missing, so it was probably cut off while being recorded or copied; copy or export it again"
        }
        if all.contains("Permission denied") { return "permission denied; check the file's permissions" }
        if all.contains("Invalid data found when processing input") {
            return "ffmpeg does not recognise it as a video (damaged, or not a video file)"
        }
        if all.contains("No such file or directory") { return "the file does not exist" }
        if let decoder = all.range(of: "Decoder \\([^)]*\\) not found|Unsupported codec", options: .regularExpression) {
            return "its video codec cannot be decoded by this ffmpeg (\(all[decoder])); convert it with a full ffmpeg build, e.g. to H.264"
        }
        return cleaned(lines)
    }

    /// Whether the file begins with an MP4/QuickTime box ("ftyp", "mdat", ...), i.e. is an MP4 that
    /// lost its end rather than something else with an .mp4 name.
    static func startsLikeMP4(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 8)) ?? Data()
        guard head.count == 8 else { return false }
        return ["ftyp", "mdat", "moov", "free", "wide", "skip"].contains(String(decoding: head[4..<8], as: UTF8.self))
    }

    /// Why an encode failed, in plain words; `temporary` is the partial output's path, which the
    /// user never sees.
    static func writeFailure(_ lines: [String], encoder: String, temporary: String, destination: String) -> String {
        let all = lines.joined(separator: "\n")
        // The operating system's own words first (what people search for), then what to do.
        if all.contains("No space left on device") { return "No space left on device; free some space or write elsewhere" }
        if all.contains("Permission denied") { return "Permission denied; choose a folder you can write to" }
        if all.contains("Read-only file system") { return "Read-only file system; choose a folder you can write to" }
        if let hint = encoderStartFailure(all, encoder: encoder) { return hint }
        if all.contains("codec not currently supported in container") || all.contains("are supported for WebM") {
            return "the container does not take that codec; use .mkv, or an encoder that fits the extension"
        }
        return cleaned(lines, temporary: temporary, shownAs: destination)
    }

    /// A plain reason when `encoder` could not start (no GPU, no driver, unsupported size).
    static func encoderStartFailure(_ all: String, encoder: String) -> String? {
        let gpuSigns = ["No NVENC capable devices", "Cannot load libcuda", "Cannot load libnvidia-encode", "OpenEncodeSessionEx failed",
                        "Failed to initialise VAAPI", "No VA display", "Error creating a MFX session", "AMF failed to initialise",
                        "Cannot load amfrt", "Error initializing the video encoder", "cannot open display", "Device creation failed"]
        if let sign = gpuSigns.first(where: { all.contains($0) }) {
            return "the encoder '\(encoder)' is built into ffmpeg but cannot start on this machine (\(sign)): it needs its GPU and driver; use --video-encoder libx264"
        }
        if all.contains("Error while opening encoder") || all.contains("Could not open encoder") || all.contains("Unknown encoder") {
            let detail = cleaned(all.split(separator: "\n").map(String.init))
            return "the encoder '\(encoder)' cannot start here (\(detail)); use --video-encoder libx264"
        }
        return nil
    }
}
