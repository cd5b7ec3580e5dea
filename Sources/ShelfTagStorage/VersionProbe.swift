import CSQLiteSettings
import Foundation

/// Reads the catalogue version on its own SQLite connection, through the C API: the resolver asks on every request,
/// and a locked C call costs a microsecond where a GRDB queue hop costs tens.
final class VersionProbe: @unchecked Sendable {
    private let lock = NSLock()
    private var connection: OpaquePointer?
    private var dataVersion: OpaquePointer?
    private var catalogVersion: OpaquePointer?
    private var last: (data: Int64, catalog: Int64) = (-1, -1)
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
            sqlite3_prepare_v2(connection, "SELECT version FROM catalog_version WHERE id = 1", -1, &catalogVersion, nil) == SQLITE_OK
        else {
            let reason = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_finalize(dataVersion)
            sqlite3_finalize(catalogVersion)
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
        sqlite3_close(connection)
    }

    /// Whether calls can skip the probe while no commit happened (a test checks the fast path is taken).
    var readsWALIndexHeader: Bool { walIndex != nil }

    /// PRAGMA data_version moves when another connection commits; only then is catalog_version read again.
    func version() throws -> Int {
        lock.lock()
        defer { lock.unlock() }
        // Read before the probe: a commit landing in between is seen by the probe, and again by the next call.
        let header = walIndex?.read()
        if let header, header == lastHeader { return Int(last.catalog) }
        lastHeader = header
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
