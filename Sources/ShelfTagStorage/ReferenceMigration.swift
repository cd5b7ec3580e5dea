import Foundation
import GRDB
import Logging
import NIOCore
import PostgresNIO

/// What a migration from SQLite to PostgreSQL copied.
public struct MigrationReport: Sendable {
    /// Rows per table, in the order they were copied.
    public let rows: [(table: String, count: Int)]
}

/// Why a migration did not start: nothing was copied.
public enum MigrationError: Error, CustomStringConvertible {
    /// The target already holds a product reference.
    case targetNotEmpty(String)

    public var description: String {
        switch self {
        case .targetNotEmpty(let location): "\(location) already holds stores or products: migrate into an empty database"
        }
    }
}

/// Moves a SQLite reference into an empty PostgreSQL one, every table as it is (price history, print ledger, scans,
/// tokens, reservations and their idempotency keys included), in one PostgreSQL transaction: all of it or none.
public enum ReferenceMigration {
    /// Tables in an order that satisfies their foreign keys.
    static let tables = [
        "store", "product", "store_offer", "review", "price_history", "print_ledger", "scan", "api_token", "reservation", "idempotency_key",
        "associate", "clickout", "associate_session", "help_request",
    ]
    /// Tables whose ids PostgreSQL draws from a sequence: moved past the copied ids.
    static let serialTables = ["price_history", "print_ledger", "scan"]

    /// - Parameter progress: called after each table with its name and row count.
    /// - Throws: `MigrationError.targetNotEmpty`, a storage error (nothing is copied then).
    public static func copy(
        from source: SQLiteProductReference, to target: PostgresProductReference, progress: @escaping @Sendable (String, Int) -> Void = { _, _ in }
    ) async throws -> MigrationReport {
        let logger = target.logger
        let counts = try await target.transaction(bounded: false) { connection -> [(String, Int)] in
            // A second migration, or resolvers already writing, would mix two references.
            try await connection.query("LOCK TABLE store, product IN EXCLUSIVE MODE", logger: logger)
            for try await present in try await connection.query(
                "SELECT (SELECT count(*) FROM store) + (SELECT count(*) FROM product)", logger: logger
            ).decode(Int64.self) where present > 0 {
                throw MigrationError.targetNotEmpty("the PostgreSQL reference")
            }
            // Into empty tables: their checks and indexes are rebuilt once the rows are in (a million products with
            // two million offers and three million history entries: 22 s instead of 79).
            let tableList = "ARRAY[\(tables.map { "'\($0)'" }.joined(separator: ", "))]::regclass[]"
            let restore = try await PostgresSchema.dropForBulkLoad(
                constraints: "c.contype IN ('f', 'u') AND c.conrelid = ANY(\(tableList))", indexes: "i.indrelid = ANY(\(tableList))", on: connection,
                logger: logger)
            var counts: [(String, Int)] = []
            for table in tables {
                let count = try await copyTable(table, from: source, into: connection, logger: logger)
                progress(table, count)
                counts.append((table, count))
            }
            for statement in restore { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
            for table in serialTables {
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "SELECT setval(pg_get_serial_sequence('\(table)', 'id'), coalesce((SELECT max(id) FROM \(table)), 0) + 1, false)"),
                    logger: logger)
            }
            return counts
        }
        await target.moveCatalogVersion(.everything)
        return MigrationReport(rows: counts)
    }

    /// Streams one table out of SQLite and into PostgreSQL through COPY, in batches, columns by name.
    private static func copyTable(_ table: String, from source: SQLiteProductReference, into connection: Session, logger: Logger) async throws -> Int {
        let columns = try await source.reading { db in try db.columns(in: table).map(\.name) }
        let batches = BatchQueue()
        let reader = Task {
            try await source.reading { db in
                // However the read ends, the writer stops waiting.
                defer { batches.finish() }
                var staged = StagedRows(table: table, columns: columns)
                let cursor = try Row.fetchCursor(db, sql: "SELECT \(columns.joined(separator: ", ")) FROM \(table)")
                while let row = try cursor.next() {
                    staged.append((0..<columns.count).map { index in Self.text(row[index] as DatabaseValue) })
                    if staged.count >= 20_000 { batches.push(staged.count, staged.take()) }
                }
                if staged.count > 0 { batches.push(staged.count, staged.take()) }
            }
        }
        var total = 0
        while let (count, data) = await batches.pop() {
            connection.queries.add()
            try await connection.connection.copyFrom(table: table, columns: columns, logger: logger) { writer in try await writer.write(data) }
            total += count
        }
        try await reader.value
        return total
    }

    /// A SQLite value as COPY's text: NULL as nil, numbers and text as they print.
    private static func text(_ value: DatabaseValue) -> String? {
        switch value.storage {
        case .null: nil
        case .int64(let number): String(number)
        case .double(let number): String(number)
        case .string(let text): text
        case .blob(let data): String(decoding: data, as: UTF8.self)
        }
    }
}

/// Batches handed from the SQLite reader's thread to the task writing them to PostgreSQL; at most a few wait.
private final class BatchQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var batches: [(Int, ByteBuffer)] = []
    private var finished = false
    private var waiter: CheckedContinuation<(Int, ByteBuffer)?, Never>?

    /// Called on the reader's (blocking) thread: waits while four batches are queued.
    func push(_ count: Int, _ data: ByteBuffer) {
        condition.lock()
        while batches.count >= 4 { condition.wait() }
        if let waiter {
            self.waiter = nil
            condition.unlock()
            waiter.resume(returning: (count, data))
            return
        }
        batches.append((count, data))
        condition.unlock()
    }

    func finish() {
        condition.lock()
        finished = true
        let waiter = self.waiter
        self.waiter = nil
        condition.unlock()
        waiter?.resume(returning: nil)
    }

    /// The next batch, or nil once the reader is done.
    func pop() async -> (Int, ByteBuffer)? {
        await withCheckedContinuation { continuation in
            condition.lock()
            if !batches.isEmpty {
                let batch = batches.removeFirst()
                condition.broadcast()
                condition.unlock()
                continuation.resume(returning: batch)
            } else if finished {
                condition.unlock()
                continuation.resume(returning: nil)
            } else {
                waiter = continuation
                condition.unlock()
            }
        }
    }
}
