import Foundation
import Testing
@testable import VisageLive

@Suite struct LatestFrameQueueTests {
    @Test func dropOldestKeepsTheNewestInOrderAndCountsDrops() {
        let q = LatestFrameQueue<Int>(capacity: 3, policy: .dropOldest)
        var dropped: [Int] = []
        for i in 0..<10 { if let d = q.push(i) { dropped.append(d) } }
        #expect(dropped == Array(0..<7), "dropped \(dropped)")
        #expect(q.dropped == 7 && q.pushed == 10)
        q.close()
        var out: [Int] = []
        while let x = q.pop() { out.append(x) }
        #expect(out == [7, 8, 9])
        #expect(q.push(11) == 11, "a closed queue hands the item back")
    }

    @Test func concurrentProducerNeverReordersAndNeverBlocksWhenDropping() {
        let q = LatestFrameQueue<Int>(capacity: 2, policy: .dropOldest)
        let n = 20_000
        let producer = Thread {
            for i in 0..<n { q.push(i) }   // never waits, whatever the consumer does
            q.close()
        }
        producer.start()
        var received: [Int] = []
        while let x = q.pop() {
            received.append(x)
            if x % 97 == 0 { usleep(50) }   // a slow consumer makes the producer drop
        }
        #expect(zip(received, received.dropFirst()).allSatisfy { $0 < $1 }, "strictly increasing")
        #expect(received.last == n - 1, "the newest item always arrives")
        #expect(received.count + q.dropped == n, "\(received.count) received + \(q.dropped) dropped = \(n)")
    }

    @Test func blockPolicyLosesNothing() {
        let q = LatestFrameQueue<Int>(capacity: 1, policy: .block)
        let n = 5000
        let producer = Thread { for i in 0..<n { q.push(i) }; q.close() }
        producer.start()
        var received: [Int] = []
        while let x = q.pop() { received.append(x) }
        #expect(received == Array(0..<n))
        #expect(q.dropped == 0)
    }

    @Test func cancelReturnsWhatWasWaiting() {
        let q = LatestFrameQueue<Int>(capacity: 4, policy: .block)
        for i in 0..<3 { q.push(i) }
        #expect(q.cancel() == [0, 1, 2])
        #expect(q.pop() == nil)
    }
}

@Suite struct FramePoolTests {
    @Test func buffersAreReusedAndTheLimitHolds() throws {
        let pool = FramePool(width: 64, height: 48, capacity: 3)
        let a = try #require(pool.acquire()), b = try #require(pool.acquire()), c = try #require(pool.acquire())
        #expect(pool.acquire() == nil, "all 3 in use")
        #expect(pool.inUse == 3)
        pool.recycle(b)
        let again = try #require(pool.acquire())
        #expect(again.storage === b.storage, "the recycled buffer comes back, nothing new is allocated")
        #expect(pool.created == 3)
        // Foreign images, views and double returns are ignored.
        pool.recycle(VisageCoreImage.make(64, 48))
        pool.recycle(a.region(x: 1, y: 1, width: 10, height: 10)!)
        pool.recycle(c); pool.recycle(c)
        #expect(pool.available == 1, "available \(pool.available)")
    }
}

import VisageCore
enum VisageCoreImage { static func make(_ w: Int, _ h: Int) -> Image { Image(width: w, height: h) } }
