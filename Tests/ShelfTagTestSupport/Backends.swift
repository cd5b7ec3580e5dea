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
        public init() {}

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

    /// Every constraint and index of database `name`, as PostgreSQL would re-create it, one per line, sorted.
    public static func schemaDefinitions(database name: String) async throws -> String {
        try await psql(
            """
            SELECT string_agg(definition, E'\\n' ORDER BY definition) FROM (
                SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) AS definition
                FROM pg_constraint WHERE connamespace = 'public'::regnamespace
                UNION ALL
                SELECT pg_get_indexdef(indexrelid) FROM pg_index JOIN pg_class c ON c.oid = indexrelid
                WHERE c.relnamespace = 'public'::regnamespace) d
            """, database: name)
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
            let result = try await openForTests(try TestCluster.url(database: name), body)
            await TestCluster.drop(name)
            return result
        } catch {
            await TestCluster.drop(name)
            throw error
        }
    }
}

/// Opens the reference at `location` (a path or a URL). A PostgreSQL one gets bounds of 30 s instead of a resolver's
/// 2 s without news and 3 s per request: these tests ask what is stored, and on a loaded test run (2 cores, every suite
/// at once) PostgreSQL has stalled past the resolver's bounds. The chain tests hold the resolvers to them.
public func openForTests<Result>(_ location: String, _ body: (any ProductReference) async throws -> Result) async throws -> Result {
    guard case .postgres(let postgres) = try ReferenceLocation(location) else { return try await ReferenceLocation(location).open(body) }
    let settings = PostgresProductReference.Settings(freshnessBound: .seconds(30), answerTimeout: .seconds(30))
    return try await PostgresProductReference.with(postgres, settings: settings) { try await body($0) }
}

/// A product reference of `backend` holding the samples (as `make demo` loads them) for the length of `body`; each
/// call gets its own copy, free to change.
public func withSampleReference<Result>(_ backend: Backend, _ body: (any ProductReference) async throws -> Result) async throws -> Result {
    try await withSampleDatabase(backend) { location in try await openForTests(location, body) }
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
            try await openForTests(try TestCluster.url(database: name)) { reference in try await loadSamples(into: reference) }
            return name
        }
        making = task
        return try await task.value
    }
}

/// A PostgreSQL cluster of a test's own, for tests that stop and start the server (the shared one must stay up).
public final class PrivateCluster: @unchecked Sendable {
    public let port: Int
    private let folder: URL
    private let bin: String

    /// Creates (initdb) and starts a cluster on a free port.
    public init() async throws {
        guard let bin = ProcessInfo.processInfo.environment["SHELFTAG_TEST_POSTGRES_BIN"] else { throw TestCluster.Missing() }
        self.bin = bin
        folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("shelftag-cluster-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        port = try freeLocalPort()
        if getuid() == 0 { try await Self.run(["/bin/chown", "postgres", folder.path]) }
        try await owner([bin + "/initdb", "-D", folder.path + "/data", "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"])
        try await start()
    }

    /// The URL of the cluster's `postgres` database.
    public var url: String { "postgresql://postgres@127.0.0.1:\(port)/postgres?sslmode=disable" }

    public func start() async throws {
        try await owner([
            bin + "/pg_ctl", "-D", folder.path + "/data", "-l", folder.path + "/server.log", "-w", "-t", "30", "start", "-o",
            "-p \(port) -k \(folder.path) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=100",
        ])
    }

    /// Stops the server, disconnecting every client at once.
    public func stop() async throws {
        try await owner([bin + "/pg_ctl", "-D", folder.path + "/data", "-m", "fast", "-w", "stop"])
    }

    /// Stops the server if it runs and removes the cluster.
    public func remove() async {
        try? await owner([bin + "/pg_ctl", "-D", folder.path + "/data", "-m", "immediate", "stop"])
        try? FileManager.default.removeItem(at: folder)
    }

    private func owner(_ arguments: [String]) async throws {
        try await Self.run(getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + arguments : arguments)
    }

    /// Runs a program to its end through posix_spawn and waitpid, on a thread of its own: Foundation's `Process`
    /// would wait for the descriptors a daemon child (the postgres server that pg_ctl leaves running) inherits.
    private static func run(_ arguments: [String]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread.detachNewThread {
                var actions = posix_spawn_file_actions_t()
                posix_spawn_file_actions_init(&actions)
                defer { posix_spawn_file_actions_destroy(&actions) }
                posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
                posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
                var pid = pid_t()
                let argv = arguments.map { strdup($0) } + [nil]
                defer { for pointer in argv { free(pointer) } }
                let spawned = posix_spawn(&pid, arguments[0], &actions, nil, argv, environ)
                guard spawned == 0 else { return continuation.resume(throwing: POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EINVAL)) }
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                if status == 0 {
                    continuation.resume()
                } else {
                    continuation.resume(throwing: TestCluster.PSQLFailure(sql: arguments.joined(separator: " "), message: "exit status \(status)"))
                }
            }
        }
    }
}

/// A free port on 127.0.0.1: the one the kernel gives a socket closed at once. Servers started by tests listen on
/// it; ports drawn at random from a fixed range collided between tests running at once.
public func freeLocalPort() throws -> Int {
    let (socket, port) = try boundLocalSocket()
    close(socket)
    return port
}

/// A TCP socket bound to 127.0.0.1 on a port the kernel chose, and that port; the caller listens on it or closes it.
public func boundLocalSocket() throws -> (socket: Int32, port: Int) {
    let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
    }
    guard bound else {
        close(socket)
        throw POSIXError(.EADDRINUSE)
    }
    return (socket, Int(UInt16(bigEndian: address.sin_port)))
}

extension ProductReference {
    /// Every product's summary, in one array: a test's references are small.
    public func summaries(at time: Date) async throws -> [ProductSummary] {
        let collected = CollectedSummaries()
        try await summaries(at: time) { collected.summaries.append($0) }
        return collected.summaries
    }
}

private final class CollectedSummaries {
    var summaries: [ProductSummary] = []
}
