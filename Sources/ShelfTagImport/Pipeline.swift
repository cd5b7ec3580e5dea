import Foundation
import ShelfTagFeeds

/// One thing a reader found: a row with its line, or a rejected row.
enum ReadEvent<Row: Sendable>: Sendable {
    case row(Row, line: Int)
    case rejected(RowError)
}

/// Runs a feed reader on its own thread and hands its events, in order and in batches, to the caller's
/// thread: parsing then uses the second core while the caller writes to the database.
final class ReadAhead<Row: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var batches: [[ReadEvent<Row>]] = []
    /// Batches the caller is done with, for the reader to free: their rows were allocated on its thread.
    private var spent: [[ReadEvent<Row>]] = []
    private var finished = false
    private var failure: Error?
    private var cancelled = false

    private static var batchSize: Int { 1024 }
    private static var maxQueuedBatches: Int { 8 }

    /// Reads with `read` on a new thread and calls `consume` with every event on this one.
    /// - Throws: what `read` or `consume` throws; a failing `consume` stops the reader.
    static func run(
        read: @escaping @Sendable (_ row: @escaping (Row, Int) throws -> Void, _ rejected: @escaping (RowError) throws -> Void) throws -> Void,
        consume: (ReadEvent<Row>) throws -> Void
    ) throws {
        let pipe = ReadAhead<Row>()
        let thread = Thread {
            var batch: [ReadEvent<Row>] = []
            batch.reserveCapacity(batchSize)
            let push = { (event: ReadEvent<Row>) throws in
                batch.append(event)
                if batch.count == batchSize {
                    try pipe.enqueue(batch)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            do {
                try read({ row, line in try push(.row(row, line: line)) }, { try push(.rejected($0)) })
                try pipe.enqueue(batch)
                pipe.finish(with: nil)
            } catch {
                pipe.finish(with: error)
            }
        }
        thread.stackSize = 4 << 20
        thread.start()
        do {
            while let batch = try pipe.dequeue() {
                // Lent through the buffer, not copied out of the array: a copy retains and releases every field of
                // a row that the reader's thread allocated.
                try batch.withUnsafeBufferPointer { events in
                    for index in events.indices { try consume(events[index]) }
                }
                pipe.giveBack(batch)
            }
        } catch {
            pipe.cancel()
            throw error
        }
    }

    private struct Cancelled: Error {}

    private func enqueue(_ batch: [ReadEvent<Row>]) throws {
        condition.lock()
        while batches.count >= Self.maxQueuedBatches && !cancelled { condition.wait() }
        if cancelled {
            condition.unlock()
            throw Cancelled()
        }
        batches.append(batch)
        var freed: [[ReadEvent<Row>]] = []
        swap(&freed, &spent)
        condition.broadcast()
        condition.unlock()
        // `freed` goes here, outside the lock.
        _ = consume freed
    }

    private func giveBack(_ batch: consuming [ReadEvent<Row>]) {
        condition.lock()
        spent.append(batch)
        condition.unlock()
    }

    private func finish(with error: Error?) {
        condition.lock()
        finished = true
        failure = error is Cancelled ? nil : error
        condition.broadcast()
        condition.unlock()
    }

    /// The next batch, nil when the reader is done. Rethrows the reader's error.
    private func dequeue() throws -> [ReadEvent<Row>]? {
        condition.lock()
        defer { condition.unlock() }
        while batches.isEmpty && !finished { condition.wait() }
        if !batches.isEmpty {
            let batch = batches.removeFirst()
            condition.broadcast()
            return batch
        }
        if let failure { throw failure }
        return nil
    }

    /// Stops the reader and waits until it has let go.
    private func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }
}
