import Foundation
import GRDBSQLite

/// Reads the catalogue version on its own SQLite connection, through the C API: the resolver asks on every request,
/// and a locked C call costs a microsecond where a GRDB queue hop costs tens.
final class VersionProbe: @unchecked Sendable {
    private let lock = NSLock()
    private var connection: OpaquePointer?
    private var dataVersion: OpaquePointer?
    private var catalogVersion: OpaquePointer?
    private var last: (data: Int64, catalog: Int64) = (-1, -1)

    /// - Throws: `StorageError.probe` when the file cannot be opened.
    init(path: String) throws {
        // Read-write so that, if it closes last, it can fold the WAL back into the file.
        guard sqlite3_open_v2(path, &connection, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK,
            sqlite3_busy_timeout(connection, 10_000) == SQLITE_OK,
            sqlite3_prepare_v2(connection, "PRAGMA data_version", -1, &dataVersion, nil) == SQLITE_OK,
            sqlite3_prepare_v2(connection, "SELECT version FROM catalog_version WHERE id = 1", -1, &catalogVersion, nil) == SQLITE_OK
        else {
            let reason = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_finalize(dataVersion)
            sqlite3_finalize(catalogVersion)
            sqlite3_close(connection)
            throw StorageError.probe(reason)
        }
    }

    deinit {
        sqlite3_finalize(dataVersion)
        sqlite3_finalize(catalogVersion)
        sqlite3_close(connection)
    }

    /// PRAGMA data_version moves when another connection commits; only then is catalog_version read again.
    func version() throws -> Int {
        lock.lock()
        defer { lock.unlock() }
        let data = try step(dataVersion)
        if data != last.data { last = (data, try step(catalogVersion)) }
        return Int(last.catalog)
    }

    private func step(_ statement: OpaquePointer?) throws -> Int64 {
        defer { sqlite3_reset(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { throw StorageError.probe(String(cString: sqlite3_errmsg(connection))) }
        return sqlite3_column_int64(statement, 0)
    }
}
