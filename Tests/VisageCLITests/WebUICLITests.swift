import Foundation
import Testing
import VisageCore

/// The web UI in a real browser: `visage serve` with a token, driven by headless Chromium through
/// scripts/ui-browser-test.py (python3-selenium + chromium-driver from Debian, installed by
/// `scripts/setup.sh --test`, which `make test` runs). The script checks the token prompt, the system
/// page against `visage doctor --json`, the upload error, an image swap (preview and run), a video
/// swap with many faces (progress, playback), the AU page (17 series, CSV equal to `visage au`), a live
/// session from Chromium's fake camera (frames changed in the face region, fps), the jobs page and the
/// console; it writes screenshots of every page at 1280x720 and 390x844 to .build/ui-screenshots/.
@Suite(.serialized) struct WebUICLITests {
    static let python = "/usr/bin/python3"
    static let chromium = "/usr/bin/chromium"
    static let driver = "/usr/bin/chromedriver"

    @Test(.timeLimit(.minutes(10))) func everyPageWorksInHeadlessChromium() throws {
        for tool in [Self.python, Self.chromium, Self.driver] {
            try #require(FileManager.default.isExecutableFile(atPath: tool),
                         "\(tool) is missing: the browser tests need chromium, chromium-driver and python3-selenium (run scripts/setup.sh --test)")
        }
        try ServeCLITests.installModels()
        let openface = try CLI.run(["models", "install", "openface-2.2.0"], environment: LiveCLITests.mirror.merging(["VISAGE_ACCEPT_LICENSES": "1"]) { $1 })
        #expect(openface.status == 0, "\(openface.stderr)")
        let work = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let token = "ui-\(UUID().uuidString)"
        let server = try ServeProcess(dataDirectory: work.appendingPathComponent("data"), arguments: ["--token", token])
        defer { server.stop() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = [CLI.repository.appendingPathComponent("scripts/ui-browser-test.py").path, "--base", server.base, "--token", token,
                             "--visage", CLI.binary.path, "--media", CLI.repository.deletingLastPathComponent().appendingPathComponent("shared/media").path,
                             "--work", work.appendingPathComponent("browser").path,
                             "--screenshots", CLI.repository.appendingPathComponent(".build/ui-screenshots").path]
        var env = ProcessInfo.processInfo.environment
        env["VISAGE_MODEL_DIR"] = CLI.modelDirectory
        env.removeValue(forKey: "VISAGE_ACCELERATOR")
        env.merge(LiveCLITests.mirror) { $1 }
        process.environment = env
        process.currentDirectoryURL = CLI.repository
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let text = Locked("")
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { text.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        }
        try process.run()
        // Bounded: the script's own waits end well before this; past it the browser run is stopped.
        let deadline = Date().addingTimeInterval(540)
        while process.isRunning && Date() < deadline { usleep(200_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        output.fileHandleForReading.readabilityHandler = nil
        let log = text.value + String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        print(log.split(separator: "\n").filter { $0.contains("ok:") || $0.contains("measure:") || $0.contains("screenshots:") }.joined(separator: "\n"))
        #expect(process.terminationStatus == 0, "the browser checks failed:\n\(log.suffix(6000))\nserver log:\n\(server.stderr.suffix(3000))")
        #expect(log.contains("all browser checks passed"))
        let shots = (try? FileManager.default.contentsOfDirectory(atPath: CLI.repository.appendingPathComponent(".build/ui-screenshots").path)) ?? []
        for page in ["swap-image", "swap-map", "swap-video", "swap-error", "live", "au", "jobs", "system"] {
            for size in ["1280x720", "390x844"] {
                #expect(shots.contains("\(page)-\(size).png"), "screenshot \(page)-\(size).png")
            }
        }
    }
}
