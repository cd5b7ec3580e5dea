import CSQLiteSettings
import Foundation

/// Reads the catalogue version, and its change log when it moves, on its own SQLite connection, through the C API: the
/// resolver asks on every request, and a locked C call costs a microsecond where a GRDB queue hop costs tens.
final class VersionProbe: KnownVersions, @unchecked Sendable {
    private let lock = NSLock()
    private var connection: OpaquePointer?
    private var dataVersion: OpaquePointer?
    private var catalogVersion: OpaquePointer?
    private var changeLog: OpaquePointer?
    private var last: (data: Int64, catalog: Int64) = (-1, -1)
    private var changes = ChangeVersions()
    /// Lets a call skip the probe's read transaction (two file-lock calls under this lock, 8% of the server's CPU)
    /// while no commit happened; nil where the header cannot be mapped.
    private var walIndex: WALIndexHeader?
    private var lastHeader: WALIndexHeader.Value?

    /// - Throws: `StorageError.probe` when the file cannot be opened.
    init(path: String) throws {
        // Read-write so that, if it closes last, it can fold the WAL back into the file.
        guard sqlite3_open_v2(path, &connection, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK,
            sqlite3_busy_timeout(connection, 10_000) == SQLITE_OK,
            sqlite3_prepare_v2(connection, "PRAGMA data_version", -1, &dataVersion, nil) == SQLITE_OK,
            sqlite3_prepare_v2(connection, "SELECT version FROM catalog_version WHERE id = 1", -1, &catalogVersion, nil) == SQLITE_OK,
            sqlite3_prepare_v2(
                connection, "SELECT version, gtin FROM catalog_change WHERE version > ?1 AND version <= ?2 ORDER BY version", -1, &changeLog, nil)
                == SQLITE_OK
        else {
            let reason = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_finalize(dataVersion)
            sqlite3_finalize(catalogVersion)
            sqlite3_finalize(changeLog)
            sqlite3_close(connection)
            throw StorageError.probe(reason)
        }
        // The first probe makes sure the -shm file exists, is initialised and mapped by this connection.
        _ = try version()
        walIndex = WALIndexHeader(connection: connection)
    }

    deinit {
        sqlite3_finalize(dataVersion)
        sqlite3_finalize(catalogVersion)
        sqlite3_finalize(changeLog)
        sqlite3_close(connection)
    }

    /// Whether calls can skip the probe while no commit happened (a test checks the fast path is taken).
    var readsWALIndexHeader: Bool { walIndex != nil }

    func withVersions<T>(_ read: (ChangeVersions) -> T) throws -> T {
        try lock.withLock {
            try refresh()
            return read(changes)
        }
    }

    /// PRAGMA data_version moves when another connection commits; only then is catalog_version read again, and the
    /// change log when it moved.
    private func refresh() throws {
        // Read before the probe: a commit landing in between is seen by the probe, and again by the next call.
        let header = walIndex?.read()
        if let header, header == lastHeader { return }
        lastHeader = header
        let data = try step(dataVersion)
        guard data != last.data else { return }
        let catalog = try step(catalogVersion)
        if catalog != last.catalog { try readChanges(after: last.catalog, through: catalog) }
        last = (data, catalog)
    }

    /// Notes the log's rows in (`after`, `through`]: each committed with its version, so every row of a version seen
    /// is there. A span the log cannot cover is not read: it counts as a change to everything (`ChangeVersions`).
    private func readChanges(after old: Int64, through new: Int64) throws {
        guard ChangeVersions.logCovers(after: old, through: new) else { return changes.apply([], after: old, through: new) }
        defer { sqlite3_reset(changeLog) }
        sqlite3_bind_int64(changeLog, 1, old)
        sqlite3_bind_int64(changeLog, 2, new)
        var rows: [(version: Int64, gtin: String?)] = []
        while true {
            switch sqlite3_step(changeLog) {
            case SQLITE_ROW:
                let gtin = sqlite3_column_text(changeLog, 1).map { String(cString: $0) }
                rows.append((sqlite3_column_int64(changeLog, 0), gtin))
            case SQLITE_DONE:
                changes.apply(rows, after: old, through: new)
                return
            default:
                throw StorageError.probe(String(cString: sqlite3_errmsg(connection)))
            }
        }
    }

    private func step(_ statement: OpaquePointer?) throws -> Int64 {
        defer { sqlite3_reset(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { throw StorageError.probe(String(cString: sqlite3_errmsg(connection))) }
        return sqlite3_column_int64(statement, 0)
    }
}

/// The WAL-index header at the start of the database's `-shm` file (its layout is part of SQLite's documented file
/// format). Every commit rewrites it before returning, so a header equal to one read earlier means no commit completed
/// in between; any difference, a torn read included, only costs a probe.
///
/// The header is read through the probe connection's own mapping, which SQLite keeps, and keeps locked, while the
/// connection is open. Mapping the file through a descriptor of our own would be wrong twice: closing that descriptor
/// drops every POSIX lock this process holds on the file (SQLite's included), so another process opening the database
/// would find it unused and reset the file, and a read of the shortened mapping then stops the process (SIGBUS).
private struct WALIndexHeader {
    /// The header's first copy (48 bytes) and the start of its second: any commit changes both.
    typealias Value = SIMD8<UInt64>

    private let mapping: UnsafeRawPointer

    /// Nil when the connection has no shared-memory region 0 mapped (the database is not in WAL mode).
    init?(connection: OpaquePointer?) {
        var file: UnsafeMutablePointer<sqlite3_file>?
        guard sqlite3_file_control(connection, "main", SQLITE_FCNTL_FILE_POINTER, &file) == SQLITE_OK, let file,
            let methods = file.pointee.pMethods, methods.pointee.iVersion >= 2, let map = methods.pointee.xShmMap
        else { return nil }
        var region: UnsafeMutableRawPointer?
        // Region 0 of SQLite's 32 KiB regions, not extended: it exists once the connection has read in WAL mode.
        guard map(file, 0, 32_768, 0, &region) == SQLITE_OK, let region else { return nil }
        mapping = UnsafeRawPointer(region)
    }

    func read() -> Value {
        mapping.loadUnaligned(as: Value.self)
    }
}
