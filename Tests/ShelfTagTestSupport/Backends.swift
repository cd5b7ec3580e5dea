import Foundation
import ShelfTagStorage

/// The two drivers of the storage interface: suites that take a `Backend` argument run every case against both.
public enum Backend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres

    public var description: String { rawValue }
}

/// The throwaway PostgreSQL cluster `Tests/with-postgres.sh` starts for `make test`.
public enum TestCluster {
    /// Why PostgreSQL tests cannot run: they fail with this rather than pass without running.
    public struct Missing: Error, CustomStringConvertible {
        public var description: String {
            "no PostgreSQL test cluster: run `make test`, or `Tests/with-postgres.sh swift test` ($SHELFTAG_TEST_POSTGRES_URL is not set)"
        }
    }

    /// The cluster's administrator URL (database `postgres`).
    public static func adminURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["SHELFTAG_TEST_POSTGRES_URL"] else { throw Missing() }
        return url
    }

    /// The URL of database `name` on the cluster.
    public static func url(database name: String) throws -> String {
        try adminURL().replacingOccurrences(of: "/postgres?", with: "/\(name)?")
    }

    /// Runs SQL as the administrator, through `psql`, on a thread of its own (never one of Swift's cooperative threads,
    /// which the drivers under test need).
    /// - Returns: what it printed (unaligned, tuples only).
    @discardableResult
    public static func psql(_ sql: String, database: String = "postgres") async throws -> String {
        let url = try url(database: database)
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try runPSQL(sql, url: url) }) }
        }
    }

    private static func runPSQL(_ sql: String, url: String) throws -> String {
        let process = Process()
        let bin = ProcessInfo.processInfo.environment["SHELFTAG_TEST_POSTGRES_BIN"] ?? "/usr/bin"
        process.executableURL = URL(fileURLWithPath: bin + "/psql")
        process.arguments = [url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        let complaint = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw PSQLFailure(sql: sql, message: String(decoding: complaint, as: UTF8.self)) }
        return String(decoding: printed, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public struct PSQLFailure: Error, CustomStringConvertible {
        public let sql: String
        public let message: String
        public var description: String { "psql: \(message) (running \(sql))" }
    }

    /// A new database's name, unique across test processes.
    public static func newDatabaseName() -> String {
        "shelftag_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
    }

    /// A new database copied from `template` (empty when nil); dropped by `drop`.
    public static func createDatabase(from template: String? = nil) async throws -> String {
        let name = newDatabaseName()
        // A template's last connections may take a moment to close after the reference that loaded it is gone.
        for attempt in 0..<50 {
            do {
                try await psql("CREATE DATABASE \(name)" + (template.map { " TEMPLATE \($0)" } ?? ""))
                return name
            } catch let failure as PSQLFailure where failure.message.contains("is being accessed by other users") && attempt < 49 {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        return name
    }

    public static func drop(_ name: String) async {
        _ = try? await psql("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }
}

/// A new, empty product reference of `backend` for the length of `body`.
public func withNewReference<Result>(_ backend: Backend, _ body: (any ProductReference) async throws -> Result) async throws -> Result {
    switch backend {
    case .sqlite:
        return try await body(SQLiteProductReference(path: try newDatabasePath()))
    case .postgres:
        let name = try await TestCluster.createDatabase()
        do {
            let result = try await ReferenceLocation(try TestCluster.url(database: name)).open(body)
            await TestCluster.drop(name)
            return result
        } catch {
            await TestCluster.drop(name)
            throw error
        }
    }
}

/// A product reference of `backend` holding the samples (as `make demo` loads them) for the length of `body`; each
/// call gets its own copy, free to change.
public func withSampleReference<Result>(_ backend: Backend, _ body: (any ProductReference) async throws -> Result) async throws -> Result {
    try await withSampleDatabase(backend) { location in try await ReferenceLocation(location).open(body) }
}

/// Like `withSampleReference`, giving the copy's location (a path or a URL) for tests that open it more than once.
public func withSampleDatabase<Result>(_ backend: Backend, _ body: (String) async throws -> Result) async throws -> Result {
    switch backend {
    case .sqlite:
        return try await body(try await sampleDatabase())
    case .postgres:
        let name = try await TestCluster.createDatabase(from: try await PostgresSamples.shared.template())
        do {
            let result = try await body(try TestCluster.url(database: name))
            await TestCluster.drop(name)
            return result
        } catch {
            await TestCluster.drop(name)
            throw error
        }
    }
}

/// The samples loaded once per test process into a database that new ones are copied from.
private actor PostgresSamples {
    static let shared = PostgresSamples()
    private var making: Task<String, any Error>?

    func template() async throws -> String {
        if let making { return try await making.value }
        let task = Task {
            let name = try await TestCluster.createDatabase()
            try await ReferenceLocation(try TestCluster.url(database: name)).open { reference in try await loadSamples(into: reference) }
            return name
        }
        making = task
        return try await task.value
    }
}
