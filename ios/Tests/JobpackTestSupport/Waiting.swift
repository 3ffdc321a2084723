import Foundation

public struct TimedOut: Error, CustomStringConvertible {
    public let seconds: Double
    public var description: String { "did not finish within \(seconds) s" }
}

/// Runs `body`, failing with `TimedOut` if it has not finished after `seconds`: a hung
/// subscription must fail the test, not the whole run.
public func withTimeout<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
            throw TimedOut(seconds: seconds)
        }
        guard let first = try await group.next() else { throw TimedOut(seconds: seconds) }
        group.cancelAll()
        return first
    }
}
