import CLinuxFiles
import Foundation
import Synchronization

/// The folder a run writes its files into, opened once: each file is made and named relative to it, not through a
/// path looked up again for every file.
///
/// Readers see a whole file or none, and an interrupted run leaves no half-written file. Into an empty folder (a
/// store's first print), a file is written unnamed (O_TMPFILE) and linked under its name once complete: that saves a
/// directory entry made and removed (10,000 new files: 0.34–0.38 s of one core instead of 0.43–0.46), and linking the
/// open file itself (AT_EMPTY_PATH) rather than its /proc name saves 3 µs more per file. Over earlier files, or where
/// the file system cannot make an unnamed file, each is written under a hidden temporary name and renamed over the
/// old one, which readers see until then. No fsync per file (Foundation's `.atomic` does one, a third of the run on a
/// slow disk): `flushToDisk` flushes once at the end of a run.
final class OutputFolder: @unchecked Sendable {
    let path: String
    private let descriptor: Int32
    /// Whether the folder held files when opened: new files then replace them by rename.
    let replacing: Bool
    /// Cleared at the first refusal: the kernel then refuses every file, and /proc names them instead.
    private let linksOpenFiles = Atomic<Bool>(true)

    /// Creates the folder (and those above it) if needed and opens it. `linksOpenFiles` false names unnamed files
    /// through /proc from the start, as where the kernel refuses to link them directly (for the tests).
    /// - Throws: `RenderError.cannotWrite`.
    init(path: String, linksOpenFiles: Bool = true) throws(RenderError) {
        self.path = path
        self.linksOpenFiles.store(linksOpenFiles, ordering: .relaxed)
        replacing = !Self.isEmptyOrMissing(path)
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .cannotWrite(path: path, reason: error.localizedDescription)
        }
        descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .cannotWrite(path: path, reason: String(cString: strerror(errno))) }
    }

    deinit { close(descriptor) }

    /// Writes `data` as the file `name`, whole or not at all.
    /// - Throws: `RenderError.cannotWrite` naming the file.
    func write(_ data: Data, name: String) throws(RenderError) {
        let unnamed = replacing ? -1 : shelftag_open_unnamed_file(descriptor, 0o644)
        guard unnamed >= 0 else { return try writeAndRename(data, name: name) }
        defer { close(unnamed) }
        if let failure = Self.write(data, to: unnamed) { throw failed(name, failure) }
        let failure = link(unnamed, as: name)
        if failure == 0 { return }
        if failure == ENOENT && access("/proc/self/fd/\(unnamed)", F_OK) != 0 {
            // No /proc to name the file through.
            return try writeAndRename(data, name: name)
        }
        try linkFailed(unnamed, name: name, data: data, error: failure)
    }

    /// Names the open unnamed `file` `name` in the folder: directly (AT_EMPTY_PATH) while the kernel allows it, else
    /// through its /proc name. 0, or the errno of the failure.
    private func link(_ file: Int32, as name: String) -> Int32 {
        if linksOpenFiles.load(ordering: .relaxed) {
            if shelftag_link_open_file(file, descriptor, name) == 0 { return 0 }
            guard errno == ENOENT || errno == EPERM else { return errno }
            linksOpenFiles.store(false, ordering: .relaxed)
        }
        return linkat(AT_FDCWD, "/proc/self/fd/\(file)", descriptor, name, AT_SYMLINK_FOLLOW) == 0 ? 0 : errno
    }

    /// A complete unnamed file could not be linked as `name`: over a file that appeared since the run started, it is
    /// linked under the temporary name and renamed over it; any other error is reported.
    private func linkFailed(_ unnamed: Int32, name: String, data: Data, error: Int32) throws(RenderError) {
        guard error == EEXIST else { throw failed(name, error) }
        let temporary = Self.temporaryName(name)
        unlinkat(descriptor, temporary, 0)
        guard link(unnamed, as: temporary) == 0 else {
            // The bytes are written again under the temporary name.
            return try writeAndRename(data, name: name)
        }
        if renameat(descriptor, temporary, descriptor, name) != 0 {
            let failure = errno
            unlinkat(descriptor, temporary, 0)
            throw failed(name, failure)
        }
    }

    /// Writes under a hidden temporary name, then renames it to `name`.
    private func writeAndRename(_ data: Data, name: String) throws(RenderError) {
        let temporary = Self.temporaryName(name)
        let file = openat(descriptor, temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard file >= 0 else { throw failed(name, errno) }
        var failure = Self.write(data, to: file)
        if close(file) != 0 && failure == nil { failure = errno }
        if failure == nil && renameat(descriptor, temporary, descriptor, name) != 0 { failure = errno }
        if let failure {
            unlinkat(descriptor, temporary, 0)
            throw failed(name, failure)
        }
    }

    /// Where a file written bit by bit (a run's PDF or ZPL) goes until `publish` names it.
    func temporaryPath(for name: String) -> String { "\(path)/\(Self.temporaryName(name))" }

    /// Gives the complete file at `temporaryPath(for: name)` its name, over any earlier one.
    /// - Throws: `RenderError.cannotWrite`.
    func publish(_ name: String) throws(RenderError) {
        guard renameat(descriptor, Self.temporaryName(name), descriptor, name) == 0 else {
            let failure = errno
            discard(name)
            throw failed(name, failure)
        }
    }

    /// Removes the file at `temporaryPath(for: name)`.
    func discard(_ name: String) { unlinkat(descriptor, Self.temporaryName(name), 0) }

    /// Flushes the folder's file system to disk (or every one, if that fails): once per run, before the print ledger
    /// records its tags.
    func flushToDisk() {
        if shelftag_sync_file_system(descriptor) != 0 { sync() }
    }

    private func failed(_ name: String, _ error: Int32) -> RenderError {
        .cannotWrite(path: "\(path)/\(name)", reason: String(cString: strerror(error)))
    }

    private static let processIdentifier = getpid()

    private static func temporaryName(_ name: String) -> String { ".\(name).\(processIdentifier).partial" }

    /// Writes all of `data`; the errno of a failure, or nil.
    private static func write(_ data: Data, to descriptor: Int32) -> Int32? {
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += written
            }
            return nil
        }
    }

    /// Whether `folder` has no entries (or does not exist yet): read one entry at most, not the whole listing.
    private static func isEmptyOrMissing(_ folder: String) -> Bool {
        guard let stream = opendir(folder) else { return true }
        defer { closedir(stream) }
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { return false }
        }
        return true
    }
}
