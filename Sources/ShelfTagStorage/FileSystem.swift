import Foundation

/// File system steps SQLite does not take for us.
enum FileSystem {
    /// Flushes a file's or a directory's content to disk.
    /// - Throws: `StorageError.fileSystem`.
    static func sync(_ path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw StorageError.fileSystem(path, errno: errno) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw StorageError.fileSystem(path, errno: errno) }
    }
}

/// Carries a value another thread uses while its owner waits for that thread to finish (a callback handed to a
/// database thread for the length of one call), which the compiler cannot see is safe.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
