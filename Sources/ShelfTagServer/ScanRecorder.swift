import Foundation
import Logging
import ServiceLifecycle
import ShelfTagDomain
import ShelfTagStorage

/// Buffers scans in memory so a request never waits on a database write; `ScanFlusher` writes them in batches.
final class ScanBuffer: @unchecked Sendable {
    // A lock, not an actor: appending must not suspend the request.
    private let lock = NSLock()
    private var pending: [Scan] = []
    /// Scans kept while the database refuses them: past this many the oldest go (counted as lost), so memory stays bounded.
    let capacity: Int

    init(capacity: Int = 500_000) {
        self.capacity = capacity
    }

    func append(_ scan: Scan) {
        lock.withLock {
            if pending.count >= capacity { pending.removeFirst(pending.count - capacity + 1) }
            pending.append(scan)
        }
    }

    func drain() -> [Scan] {
        lock.withLock {
            let scans = pending
            pending.removeAll(keepingCapacity: true)
            return scans
        }
    }

    /// Puts scans that could not be written back before the ones that came since.
    /// - Returns: how many of the oldest had to go to stay within `capacity`.
    func restore(_ scans: [Scan]) -> Int {
        lock.withLock {
            pending = scans + pending
            let excess = max(0, pending.count - capacity)
            pending.removeFirst(excess)
            return excess
        }
    }
}

/// Writes buffered scans every `interval`, in one transaction each time, and once more on shutdown. A batch the
/// database refuses (locked by an import, unreachable) is kept and written by a later flush.
struct ScanFlusher: Service {
    let buffer: ScanBuffer
    let reference: any ProductReference
    let interval: Duration
    let metrics: Metrics
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: interval)
            _ = await flush()
        }
        // The last scans: a few more tries if the database is busy right then.
        for _ in 0..<5 {
            if await flush() { return }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Writes what is buffered. The write runs on the storage's threads, off the ones answering requests.
    /// - Returns: whether the buffer was written (or empty).
    func flush() async -> Bool {
        let scans = buffer.drain()
        guard !scans.isEmpty else { return true }
        do {
            try await reference.recordScans(scans)
            metrics.scansWritten(scans.count)
            return true
        } catch {
            let lost = buffer.restore(scans)
            if lost > 0 { metrics.scanWriteFailed(lost) }
            logger.warning("\(scans.count) scans wait for the database (\(error)); \(lost) dropped past the buffer's \(buffer.capacity)")
            return false
        }
    }
}
