import Foundation

/// Answers computed from the data, reused while the data is unchanged (its catalogue version), until the answer
/// changes by itself (a sale window of a price it shows opens or closes), and for at most `lifetime` (half of it to all
/// of it, by key): a reservation hold that lapses shows within that time.
final class AnswerCache: @unchecked Sendable {
    enum Kind: UInt8 { case redirect, json, page, pageJSON }

    struct Key: Hashable {
        let kind: Kind
        let gtin: String
        let store: String?
        let tag: String?
        /// The client's preferred page language (`PageLanguage.preferred`): one of a few values, never the raw header.
        let language: String?
    }

    /// What a resolve needs besides the body: the scan's store and staleness.
    struct Answer: Sendable {
        let body: String
        let storeCode: String?
        let stale: Bool
        /// The page's locale, for the linkset's hreflang.
        let locale: String
        /// When the answer changes with no write to the data.
        let changesAt: Date?

        init(body: String, view: ProductView) {
            self.body = body
            storeCode = view.listing?.store.code
            stale = view.stale
            locale = view.locale
            changesAt = view.changesAt
        }
    }

    private struct Entry {
        let version: Int
        let expires: Date
        let answer: Answer
    }

    private let lock = NSLock()
    private var entries: [Key: Entry] = [:]
    /// Keys hold client-chosen values (tag ids): bound the memory they can take.
    private let capacity: Int
    private let lifetime: TimeInterval

    init(capacity: Int = 20_000, lifetime: TimeInterval = 10) {
        self.capacity = capacity
        self.lifetime = lifetime
    }

    /// The cached answer, or else `make()`'s, stored for next time.
    func answer(_ key: Key, version: Int, now: Date, make: () async throws -> Answer) async rethrows -> Answer {
        if let cached = lookUp(key, version: version, now: now) { return cached }
        let answer = try await make()
        store(answer, for: key, version: version, now: now)
        return answer
    }

    private func lookUp(_ key: Key, version: Int, now: Date) -> Answer? {
        lock.withLock {
            guard let entry = entries[key], entry.version == version, entry.expires > now else { return nil }
            return entry.answer
        }
    }

    private func store(_ answer: Answer, for key: Key, version: Int, now: Date) {
        // Lifetimes spread over half to all of `lifetime`, by key: answers made together (at start, after a write) do
        // not all expire together, so their recomputation does not stall every request at once (a p99 spike).
        let spread = 0.5 + Double(UInt(bitPattern: key.hashValue) % 1024) / 2048
        let expires = min(now.addingTimeInterval(lifetime * spread), answer.changesAt ?? .distantFuture)
        lock.withLock {
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = Entry(version: version, expires: expires, answer: answer)
        }
    }
}
