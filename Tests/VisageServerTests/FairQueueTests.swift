import Testing
@testable import VisageServer

@Suite struct FairQueueTests {
    /// Round robin by client: a client with many jobs waits its turn like the others.
    @Test func servesClientsInTurn() {
        var queue = FairQueue()
        for i in 1...4 { queue.push("a\(i)", client: "a") }
        queue.push("b1", client: "b")
        queue.push("b2", client: "b")
        queue.push("c1", client: "c")
        #expect(queue.count == 7)
        #expect(queue.position(of: "c1") == 3 && queue.position(of: "a4") == 7)
        var order: [String] = []
        while let next = queue.pop() { order.append(next.job) }
        #expect(order == ["a1", "b1", "c1", "a2", "b2", "a3", "a4"])
        #expect(queue.count == 0 && queue.pop() == nil)
    }

    /// A client arriving late joins the turn at the back; removing a waiting job keeps the others' order.
    @Test func lateClientsAndRemovals() {
        var queue = FairQueue()
        queue.push("a1", client: "a")
        queue.push("a2", client: "a")
        #expect(queue.pop()?.job == "a1")
        queue.push("b1", client: "b")
        queue.push("a3", client: "a")
        let removed = queue.remove("a2"), again = queue.remove("a2")
        #expect(removed && !again && !queue.contains("a2"))
        #expect(queue.pop()?.job == "a3")
        #expect(queue.pop()?.job == "b1")
        #expect(queue.count == 0)
    }
}
