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

    func append(_ scan: Scan) {
        lock.lock()
        pending.append(scan)
        lock.unlock()
    }

    func drain() -> [Scan] {
        lock.lock()
        defer { lock.unlock() }
        let scans = pending
        pending.removeAll(keepingCapacity: true)
        return scans
    }
}

/// Writes buffered scans every `interval`, in one transaction each time, and once more on shutdown.
struct ScanFlusher: Service {
    let buffer: ScanBuffer
    let reference: any ProductReference
    let interval: Duration
    let metrics: Metrics
    let logger: Logger

    /// Writes happen on their own queue, off the threads that answer requests: a batch must not delay them.
    private static let writer = DispatchQueue(label: "shelftag.scan-writer")

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: interval)
            await flushOffThread()
        }
        await flushOffThread()
    }

    private func flushOffThread() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Self.writer.async {
                flush()
                done.resume()
            }
        }
    }

    func flush() {
        let scans = buffer.drain()
        guard !scans.isEmpty else { return }
        do {
            try reference.recordScans(scans)
            metrics.scansWritten(scans.count)
        } catch {
            // The scans are lost, the requests were answered: count it where operators look.
            metrics.scanWriteFailed(scans.count)
            logger.error("could not record \(scans.count) scans: \(error)")
        }
    }
}
