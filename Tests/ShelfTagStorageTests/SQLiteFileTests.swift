import Foundation
import ShelfTagTestSupport
import Testing

@testable import ShelfTagStorage

@Suite("A SQLite reference shares its files safely with other processes")
struct SQLiteFileTests {
    /// Whether another process can take SQLite's "dead man switch" lock on the -shm file exclusively: it can only
    /// when no process has the database open, and the process that gets it resets the file.
    private func sharedMemoryIsUnclaimed(_ path: String) throws -> Bool {
        let checker = Process()
        checker.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        checker.arguments = [
            "python3", "-c",
            """
            import fcntl, os, sys
            fd = os.open(sys.argv[1] + "-shm", os.O_RDWR)
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 128)  # SQLite's unix VFS: byte 128 of the -shm file
                print("unclaimed")
            except OSError:
                print("claimed")
            """,
            path,
        ]
        let output = Pipe()
        checker.standardOutput = output
        try checker.run()
        let answer = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        checker.waitUntilExit()
        guard answer.hasPrefix("claimed") || answer.hasPrefix("unclaimed") else { throw CocoaError(.coderReadCorrupt) }
        return answer.hasPrefix("unclaimed")
    }

    @Test("the catalogue-version probe reads the WAL index through SQLite's own mapping and keeps SQLite's locks")
    func probeKeepsLocks() async throws {
        let path = try await sampleDatabase()
        let reference = try SQLiteProductReference(path: path)
        #expect(reference.readsWALIndexHeader, "the probe's fast path is in use")
        _ = try reference.catalogVersion()
        _ = try await reference.stores()
        // Were the locks dropped, the next process to open the database would reset the -shm file under the
        // resolver's mapping: a SIGBUS on its next request.
        #expect(try !sharedMemoryIsUnclaimed(path))
        withExtendedLifetime(reference) {}
    }
}

@Suite("A staged import looks for unchanged rows while they are common")
struct UnchangedRowsTests {
    @Test("a window with fewer than half unchanged pauses the checks for 16 windows; then it checks again, and keeps checking while they are common")
    func pausesAndResumes() {
        let policy = UnchangedRows()
        func run(_ rows: Int, unchanged: Bool) -> Int {
            var checked = 0
            for _ in 0..<rows where policy.checksNext() {
                checked += 1
                policy.count(unchanged: unchanged)
            }
            return checked
        }
        #expect(run(1024, unchanged: false) == 1024)
        #expect(run(16 * 1024, unchanged: false) == 0)
        #expect(run(1024, unchanged: true) == 1024)
        #expect(run(10 * 1024, unchanged: true) == 10 * 1024)
        // Half unchanged is enough to keep checking.
        for index in 0..<1024 where policy.checksNext() { policy.count(unchanged: index % 2 == 0) }
        #expect(run(1024, unchanged: true) == 1024)
    }
}
