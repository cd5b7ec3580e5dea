import Foundation
import Hummingbird
import NIOCore

/// At most `perMinute` requests per client in any minute (a token bucket refilled continuously); 0 allows all.
final class RateLimiter: @unchecked Sendable {
    private let lock = NSLock()
    private let perMinute: Int
    private let clients: ClientAddresses
    /// The server's clock (`ServerConfiguration.now`): a test that pins it sees no refill while it runs.
    private let clock: @Sendable () -> Date
    private var buckets: [String: (tokens: Double, updated: Double)] = [:]

    init(perMinute: Int, clients: ClientAddresses, clock: @escaping @Sendable () -> Date) {
        self.perMinute = perMinute
        self.clients = clients
        self.clock = clock
    }

    /// Takes a token for the request's client (its IP address, `ClientAddresses`); nil when allowed, else the seconds
    /// to wait.
    func take(for request: Request, context: ShelfTagRequestContext) -> Int? {
        use(client: clients.client(of: request, context: context), taking: true)
    }

    /// The seconds the request's client must wait before its next token, or nil when it has one; takes nothing.
    func waiting(for request: Request, context: ShelfTagRequestContext) -> Int? {
        use(client: clients.client(of: request, context: context), taking: false)
    }

    private func use(client: String, taking: Bool) -> Int? {
        guard perMinute > 0 else { return nil }
        let now = clock().timeIntervalSince1970
        lock.lock()
        defer { lock.unlock() }
        if buckets.count > 100_000 { buckets.removeAll() }
        let capacity = Double(perMinute)
        var bucket = buckets[client] ?? (capacity, now)
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * capacity / 60)
        bucket.updated = now
        guard bucket.tokens >= 1 else {
            buckets[client] = bucket
            return Int(((1 - bucket.tokens) * 60 / capacity).rounded(.up))
        }
        if taking { bucket.tokens -= 1 }
        buckets[client] = bucket
        return nil
    }
}
