import Foundation
import Testing
import VisageCore
@testable import VisageJobs

/// A task stopped by a signal (Ctrl-C, scancel, a pod's SIGTERM) loses its helper processes to the same
/// signal, so its item in flight may end with "not a readable video" just before the token is cancelled:
/// such an item must stay pending, not be recorded as failed (a resubmission would skip it as failed earlier).
@Suite struct BatchStopTests {
    @Test func anItemErrorIsAStopWhenTheTaskIsCancelledEvenAMomentAfterTheError() {
        let error = VisageError.invalidVideo(path: "clip.avi", reason: "ffmpeg gave no reason")
        let quiet = CancellationToken()
        #expect(!BatchRunner.isStop(error, task: quiet, grace: 0.05), "an error of a running task is the item's failure")

        let stopping = CancellationToken()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { stopping.cancel(.interrupted) }
        #expect(BatchRunner.isStop(error, task: stopping, grace: 2), "the signal handler cancels the token a moment later")

        let child = CancellationToken(parent: stopping)
        #expect(BatchRunner.isStop(VisageError.interrupted, task: child, grace: 0))
    }
}
