import Foundation
import Testing

@testable import ShelfTagServer

@Suite("Answer cache")
struct AnswerCacheTests {
    static func answer(_ body: String, changesAt: Date? = nil) -> AnswerCache.Answer {
        AnswerCache.Answer(body: body, storeCode: nil, stale: false, locale: "fr-FR", changesAt: changesAt)
    }

    @Test("an answer expired by time is served to others while one request computes the next; a new version is never served stale")
    func refreshWhileServing() async throws {
        let cache = AnswerCache(capacity: 10, lifetime: 1)
        let key = AnswerCache.Key(kind: .json, gtin: "03760001001983", store: "PAR01", tag: nil, language: nil)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(await cache.answer(key, version: 1, now: start) { Self.answer("first") }.body == "first")
        // Past the lifetime (half of it to all of it, by key) and within the grace after it, whatever the key.
        let expired = start.addingTimeInterval(1.05)
        let (computing, release) = AsyncStream.makeStream(of: Void.self)
        let (started, began) = AsyncStream.makeStream(of: Void.self)
        let refresher = Task {
            await cache.answer(key, version: 1, now: expired) {
                began.yield()
                for await _ in computing { break }
                return Self.answer("second")
            }.body
        }
        for await _ in started { break }
        // While the refresh runs, the expiring answer is served at once.
        #expect(await cache.answer(key, version: 1, now: expired) { Self.answer("not asked") }.body == "first")
        // Another version is never served from the old one.
        #expect(await cache.answer(key, version: 2, now: expired) { Self.answer("version 2") }.body == "version 2")
        release.yield()
        #expect(await refresher.value == "second")
        #expect(await cache.answer(key, version: 1, now: expired) { Self.answer("not asked") }.body == "second")
    }
}

@Suite("Answer cache: a cold start")
struct AnswerCacheColdStartTests {
    @Test("50 requests missing the same page at once compute it once; the others get that answer")
    func oneComputationPerMiss() async throws {
        let cache = AnswerCache(capacity: 10, lifetime: 10)
        let key = AnswerCache.Key(kind: .page, gtin: "03760001001983", store: "PAR01", tag: nil, language: nil)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        final class Count: @unchecked Sendable {
            let lock = NSLock()
            var value = 0
        }
        let computed = Count()
        let bodies = await withTaskGroup(of: String.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    await cache.answer(key, version: 7, now: now) {
                        computed.lock.withLock { computed.value += 1 }
                        try? await Task.sleep(for: .milliseconds(50))
                        return AnswerCacheTests.answer("page")
                    }.body
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(bodies == Array(repeating: "page", count: 50))
        #expect(computed.value == 1)
    }
}

extension AnswerCache.Answer {
    /// The body as text, to compare.
    fileprivate var body: String { String(decoding: bytes.readableBytesView, as: UTF8.self) }
}
