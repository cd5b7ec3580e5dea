import CompressNIO
import Foundation
import NIOCore
import ShelfTagSecrets

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
        /// The advisor's code, when the page shows one.
        var advisor: String? = nil
    }

    /// What a resolve needs besides the body: the scan's store and staleness. A class: a cached answer goes out
    /// with one retain, where a struct of these fields took one per field on every look-up.
    final class Answer: @unchecked Sendable {
        /// The body as it is sent: made once, shared by every response that carries it (no copy per request).
        let bytes: ByteBuffer
        /// The body's entity tag (quoted, strong), nil with no body: a client holding this body gets a 304.
        let entityTag: String?
        /// The gzipped body, made by the first request that takes gzip and kept for the others (guarded by
        /// `gzipLock`): a client that asks for no coding (a machine, wrk, a CI job) costs no compression.
        private var gzippedBody: Gzipped = .notYet
        private let gzipLock = NSLock()
        /// The body's fingerprint, which both entity tags carry.
        private let fingerprint: String?
        let storeCode: String?
        let stale: Bool
        /// The page's locale, for the linkset's hreflang.
        let locale: String
        /// When the answer changes with no write to the data.
        let changesAt: Date?
        /// The product's name, the linkset's item description.
        let title: String
        /// The product's page on the web shop, where redirects and linksets lead.
        let webLink: String

        convenience init(body: String, view: ProductView) {
            self.init(
                body: body, storeCode: view.listing?.store.code, stale: view.stale, locale: view.locale, changesAt: view.changesAt,
                title: view.details.product.title, webLink: view.details.webOffer.link)
        }

        init(body: String, storeCode: String?, stale: Bool, locale: String, changesAt: Date?, title: String = "", webLink: String = "") {
            bytes = ByteBuffer(string: body)
            // A redirect's or a linkset's summary has no body: nothing to tag or compress.
            fingerprint = body.isEmpty ? nil : ContentFingerprint.of(body)
            entityTag = fingerprint.map { "\"" + $0 + "\"" }
            if body.utf8.count < AnswerCache.shortestGzipped { gzippedBody = .notWorthIt }
            self.title = title
            self.webLink = webLink
            self.storeCode = storeCode
            self.stale = stale
            self.locale = locale
            self.changesAt = changesAt
        }

        private enum Gzipped {
            case notYet, notWorthIt
            case made(bytes: ByteBuffer, entityTag: String)
        }

        /// The body gzipped, with its own entity tag (another representation); nil for a body too short to gain.
        var gzipped: (bytes: ByteBuffer, entityTag: String)? {
            gzipLock.withLock {
                if case .notYet = gzippedBody {
                    var plain = bytes
                    if let fingerprint, let compressed = try? plain.compress(with: AnswerCache.gzip) {
                        gzippedBody = .made(bytes: compressed, entityTag: "\"" + fingerprint + "-gzip\"")
                    } else {
                        gzippedBody = .notWorthIt
                    }
                }
                guard case .made(let bytes, let entityTag) = gzippedBody else { return nil }
                return (bytes, entityTag)
            }
        }
    }

    /// Below this many bytes gzip's header and the client's work outweigh what it saves (a body fits one packet).
    static let shortestGzipped = 1_024

    /// gzip for bodies of a few kilobytes, made once per computed answer that a client takes gzipped, which most
    /// scans are (each tag is its own answer): zlib's fastest level, an 8 KiB window and a small state. zlib's default
    /// state (256 KiB made and cleared per body) and level cost about twice the CPU for 3 % fewer bytes on the samples'
    /// page.
    static let gzip = CompressionAlgorithm.gzip(configuration: ZlibConfiguration(windowSize: 13, compressionLevel: 1, memoryLevel: 5))

    private struct Entry {
        let version: Int
        let expires: Date
        let answer: Answer
        /// A request is computing its successor: others keep this answer meanwhile.
        var refreshing = false
    }

    /// How long past its expiry an answer may still be served while its successor is computed (milliseconds, as a
    /// rule). Never across a version: a write always shows on the next request.
    static let refreshGrace: TimeInterval = 1

    /// Answers served from the cache (or from another request's computation), and computed (for `/metrics`: a chain's
    /// hit rate, and what its writes cost it).
    struct Counts {
        var cached = 0
        var computed = 0
    }

    private let lock = NSLock()
    private var entries: [Key: Entry] = [:]
    private var tally = Counts()
    /// Keys hold client-chosen values (tag ids): bound the memory they can take.
    private let capacity: Int
    private let lifetime: TimeInterval

    init(capacity: Int = 20_000, lifetime: TimeInterval = 10) {
        self.capacity = capacity
        self.lifetime = lifetime
    }

    /// The answer to serve now without computing anything: a fresh one, or the expiring one while another request
    /// refreshes it. Nil makes the caller the one to `refresh` it.
    func cached(_ key: Key, version: Int, now: Date) -> Answer? {
        lookUp(key, version: version, now: now)
    }

    /// The cached answer, or else `make()`'s, stored for next time. When an answer expires by time, one request
    /// computes the next while the others are served the expiring one: expiries do not send every connection to the
    /// database at once (a p99 spike).
    func answer(_ key: Key, version: Int, now: Date, make: () async throws -> Answer) async rethrows -> Answer {
        if let cached = cached(key, version: version, now: now) { return cached }
        return try await refresh(key, version: version, now: now, make: make)
    }

    /// Computes and stores the answer after `cached` gave none (and so made this request the one that refreshes it).
    /// Requests that miss the same key and version while it is computed wait for that computation rather than start
    /// their own: a cold start does not send every connection to the database for the same page.
    func refresh(_ key: Key, version: Int, now: Date, make: () async throws -> Answer) async rethrows -> Answer {
        let flight = Flight(key: key, version: version)
        if case .joined(let answer?) = await join(flight) {
            lock.withLock { tally.cached += 1 }
            return answer
        }
        do {
            let answer = try await make()
            store(answer, for: key, version: version, now: now)
            land(flight, with: answer)
            return answer
        } catch {
            lock.withLock { entries[key]?.refreshing = false }
            land(flight, with: nil)
            throw error
        }
    }

    private struct Flight: Hashable {
        let key: Key
        let version: Int
    }

    private enum Joined {
        /// No computation was running: this request computes.
        case lead
        /// Another request's answer; nil when it failed (this request then computes itself).
        case joined(Answer?)
    }

    /// Waiting requests per computation in flight.
    private var flights: [Flight: [CheckedContinuation<Joined, Never>]] = [:]

    private func join(_ flight: Flight) async -> Joined {
        await withCheckedContinuation { continuation in
            lock.lock()
            if flights[flight] == nil {
                flights[flight] = []
                lock.unlock()
                continuation.resume(returning: .lead)
            } else {
                flights[flight]?.append(continuation)
                lock.unlock()
            }
        }
    }

    private func land(_ flight: Flight, with answer: Answer?) {
        let waiting = lock.withLock { flights.removeValue(forKey: flight) ?? [] }
        for waiter in waiting { waiter.resume(returning: .joined(answer)) }
    }

    var counts: Counts { lock.withLock { tally } }

    /// A fresh answer; or the expiring one while another request refreshes it; nil when this request must compute.
    private func lookUp(_ key: Key, version: Int, now: Date) -> Answer? {
        lock.withLock {
            let answer = unlockedLookUp(key, version: version, now: now)
            if answer != nil { tally.cached += 1 }
            return answer
        }
    }

    private func unlockedLookUp(_ key: Key, version: Int, now: Date) -> Answer? {
        guard let entry = entries[key], entry.version == version else { return nil }
        if entry.expires > now { return entry.answer }
        if entry.refreshing { return now.timeIntervalSince(entry.expires) < Self.refreshGrace ? entry.answer : nil }
        entries[key]?.refreshing = true
        return nil
    }

    private func store(_ answer: Answer, for key: Key, version: Int, now: Date) {
        // Lifetimes spread over half to all of `lifetime`, by key: answers made together (at start, after a write) do
        // not all expire together, so their recomputation does not stall every request at once (a p99 spike).
        let spread = 0.5 + Double(UInt(bitPattern: key.hashValue) % 1024) / 2048
        let expires = min(now.addingTimeInterval(lifetime * spread), answer.changesAt ?? .distantFuture)
        lock.withLock {
            tally.computed += 1
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = Entry(version: version, expires: expires, answer: answer)
        }
    }
}
