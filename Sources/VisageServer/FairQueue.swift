/// Waiting jobs, served round robin by client: each client has its own first-in-first-out line, and the
/// next job comes from the client after the one served last. A client that submits fifty jobs at once
/// delays another client's next job by at most one job per worker.
public struct FairQueue: Sendable {
    private var lines: [String: [String]] = [:]
    /// Clients with waiting jobs, in the order they will be served.
    private var turn: [String] = []
    public private(set) var count = 0

    public init() {}

    public mutating func push(_ job: String, client: String) {
        if lines[client, default: []].isEmpty { turn.append(client) }
        lines[client, default: []].append(job)
        count += 1
    }

    /// The next job, round robin over clients.
    public mutating func pop() -> (job: String, client: String)? {
        guard !turn.isEmpty else { return nil }
        let client = turn.removeFirst()
        let job = lines[client]!.removeFirst()
        if lines[client]!.isEmpty { lines[client] = nil } else { turn.append(client) }
        count -= 1
        return (job, client)
    }

    /// Takes a waiting job out (cancelled); false when it is not waiting.
    public mutating func remove(_ job: String) -> Bool {
        for (client, line) in lines {
            guard let i = line.firstIndex(of: job) else { continue }
            lines[client]!.remove(at: i)
            if lines[client]!.isEmpty {
                lines[client] = nil
                turn.removeAll { $0 == client }
            }
            count -= 1
            return true
        }
        return false
    }

    public func contains(_ job: String) -> Bool { lines.values.contains { $0.contains(job) } }

    /// The 1-based place of a waiting job in the serving order (what a client sees as its position).
    public func position(of job: String) -> Int? {
        var copy = self
        var n = 0
        while let next = copy.pop() {
            n += 1
            if next.job == job { return n }
        }
        return nil
    }
}
