import Foundation
import Testing
import VisageCore
import VisageMedia
@testable import VisageLive
import VisageServer

@Suite struct PipelineTests {
    /// A camera unplugged mid-run: the run ends cleanly, frames in flight are drained, the
    /// recording is finalised with every frame that was output.
    @Test func aSourceThatStopsEndsTheRunAndFinalisesTheRecording() throws {
        let dir = try LiveTestFiles.temporaryDirectory()
        let path = dir.appendingPathComponent("rec.mp4").path
        let recording = try RecordingOutput(path: path, width: 320, height: 240, fps: 60, label: nil)
        let collector = CollectingOutput()
        let report = try LivePipeline(source: UnpluggedCamera(frames: 40), work: SimulatedWork(detectMs: 1, processFixedMs: 2, processAreaMs: 0),
                                      outputs: [collector, recording],
                                      configuration: LiveConfiguration(mode: .balanced, adaptive: false, thermal: FixedThermalMonitor()),
                                      shouldStop: { false }).run()
        #expect(report.ending == "source stopped")
        #expect(report.captured == 40)
        #expect(report.output == recording.frames && report.output + report.dropped == 40, "out \(report.output), dropped \(report.dropped)")
        #expect(try LiveTestFiles.countFrames(path) == report.output, "the file holds every output frame")
    }

    /// A file processed as fast as possible loses nothing; the sequential mode gives the same frames.
    @Test func filesLoseNothingInBothModes() throws {
        for pipelined in [true, false] {
            let collector = CollectingOutput()
            let report = try LivePipeline(source: NumberedFrameSource(width: 320, height: 240, count: 60, realtime: false), work: SimulatedWork(detectMs: 1, processFixedMs: 1, processAreaMs: 0),
                                          outputs: [collector], configuration: LiveConfiguration(mode: .balanced, pipelined: pipelined, adaptive: false, thermal: FixedThermalMonitor()),
                                          shouldStop: { false }).run()
            #expect(collector.numbers == Array(0..<60) && collector.stamps == Array(0..<60), "pipelined \(pipelined)")
            #expect(report.dropped == 0 && report.poolBuffers <= 24, "pool buffers \(report.poolBuffers)")
        }
    }

    @Test func streamServesFramesAndRefusesABusyPort() throws {
        let frames = LiveFramePublisher()
        let server = try MJPEGServer(publisher: frames, host: "127.0.0.1", port: 0)
        defer { server.stop() }
        #expect(server.port > 0)
        #expect(throws: LiveError.self) { _ = try MJPEGServer(publisher: frames, host: "127.0.0.1", port: server.port) }
        do { _ = try MJPEGServer(publisher: frames, host: "127.0.0.1", port: server.port) } catch {
            #expect("\(error)".contains("in use") && "\(error)".contains("\(server.port)"), "\(error)")
        }
        let frame = Image(width: 160, height: 120)
        let publisher = Thread {
            for k in 0..<200 {
                FrameStamp.write(k, into: frame)
                frames.publish((try? ImageIO.encode(frame, format: "jpg", quality: 80)) ?? Data())
                usleep(10_000)
            }
        }
        publisher.start()
        let response = try MJPEGClient.fetch(port: server.port, path: "/stream.mjpg", count: 3, timeout: 10)
        #expect(response.status == 200 && response.headers.contains("multipart/x-mixed-replace"), "\(response.headers)")
        #expect(response.jpegs.count == 3)
        let numbers = try response.jpegs.map { try FrameStamp.read(from: ImageIO.decode($0)) }
        #expect(zip(numbers, numbers.dropFirst()).allSatisfy { $0 < $1 }, "\(numbers)")
        let single = try MJPEGClient.fetch(port: server.port, path: "/frame.jpg")
        let decoded = try ImageIO.decode(single.jpegs[0])
        #expect(single.status == 200 && decoded.width == 160)
    }
}
