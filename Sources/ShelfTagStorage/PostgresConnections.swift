import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// Makes single connections (the first one, the version watch's) with libpq's `sslmode` rules.
struct Connector: Sendable {
    let location: PostgresLocation
    let logger: Logger
    let connectionTLS: PostgresConnection.Configuration.TLS
    let clientTLS: PostgresClient.Configuration.TLS

    /// - Throws: `StorageError.unavailable` when the TLS settings cannot be made.
    init(location: PostgresLocation, logger: Logger) throws {
        self.location = location
        self.logger = logger
        var tls = TLSConfiguration.makeClientConfiguration()
        switch location.tls {
        case .disable:
            connectionTLS = .disable
            clientTLS = .disable
            return
        case .allow, .prefer, .require:
            // libpq encrypts without checking the certificate in these modes.
            tls.certificateVerification = .none
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
        case .verifyFull:
            tls.certificateVerification = .fullVerification
        }
        let context: NIOSSLContext
        do { context = try NIOSSLContext(configuration: tls) } catch {
            throw StorageError.unavailable("cannot set up TLS for \(location.host): \(error)")
        }
        if location.tls == .allow || location.tls == .prefer {
            connectionTLS = .prefer(context)
            clientTLS = .prefer(tls)
        } else {
            connectionTLS = .require(context)
            clientTLS = .require(tls)
        }
    }

    /// - Throws: `StorageError.unavailable` naming the host, port, database and the server's reason.
    func connect() async throws -> PostgresConnection {
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password, database: location.database,
            tls: connectionTLS)
        configuration.options.connectTimeout = .seconds(3)
        do {
            return try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        } catch {
            throw StorageError.unavailable(
                "cannot connect to \(location.host):\(location.port) database \(location.database): \(PostgresProductReference.reason(error))")
        }
    }
}

/// Moves of the catalogue version, one at a time: a writer waits for a move that begins after it asked, so the number
/// moves after its commit, and every writer that asked while a move ran shares the next one, which logs all their
/// changes. Under a stream of holds one move answers many, where each hold took a round trip of its own.
final class VersionMoves: @unchecked Sendable {
    private let lock = NSLock()
    private var moving = false
    private var waiting: [CheckedContinuation<Void, Never>] = []
    /// What the waiting writers changed.
    private var changed = CatalogChange.products([])

    /// Returns once a move that began after this call has ended; `move` runs it when no move is running.
    func afterWrite(_ change: CatalogChange, _ move: @escaping @Sendable (CatalogChange) async -> Void) async {
        await withCheckedContinuation { continuation in
            let starts = lock.withLock {
                waiting.append(continuation)
                changed = changed.merged(with: change)
                defer { moving = true }
                return !moving
            }
            if starts { Task { await self.run(move) } }
        }
    }

    /// Moves until no writer waits.
    private func run(_ move: @Sendable (CatalogChange) async -> Void) async {
        while true {
            let (covered, change) = lock.withLock {
                defer { (waiting, changed) = ([], .products([])) }
                return (waiting, changed)
            }
            await move(change)
            for writer in covered { writer.resume() }
            let done = lock.withLock {
                if waiting.isEmpty { moving = false }
                return !moving
            }
            if done { return }
        }
    }
}

/// What this process knows of the shared catalogue version, per product, and of the database's health.
final class Freshness: KnownVersions, @unchecked Sendable {
    private let lock = NSLock()
    private var changes: ChangeVersions
    private var heardAt: ContinuousClock.Instant?
    private var down: String?
    private let bound: Duration

    init(bound: Duration, newest: Int64) {
        self.bound = bound
        changes = ChangeVersions(newest: newest)
        heardAt = ContinuousClock.now
    }

    /// The versions read from the database, or written by this process since.
    /// - Throws: `StorageError.unavailable` when the last news from the database is older than the bound.
    func withVersions<T>(_ read: (ChangeVersions) -> T) throws -> T {
        try lock.withLock {
            guard let heardAt, ContinuousClock.now - heardAt <= bound else {
                throw StorageError.unavailable(down ?? "no news from the database within \(bound)")
            }
            return read(changes)
        }
    }

    /// - Throws: `StorageError.unavailable` while the watch finds the database down: callers fail at once, not after a timeout.
    func checkReachable() throws {
        if let reason = lock.withLock({ down }) { throw StorageError.unavailable(reason) }
    }

    /// A write of this process, moved to `version`.
    func noteWrite(_ change: CatalogChange, at version: Int64) {
        lock.withLock { changes.apply(change, at: version) }
    }

    /// The database answered the watch with these rows of the change log (oldest first), read after `readThrough`.
    func heard(_ rows: [(version: Int64, gtin: String?)], after readThrough: Int64) {
        lock.withLock {
            if let newest = rows.last?.version { changes.apply(rows, after: readThrough, through: newest) }
            heardAt = ContinuousClock.now
            down = nil
        }
    }

    func lost(_ reason: String) {
        lock.withLock { down = reason }
    }
}

/// Reads the catalogue's change log every `interval` on a connection of its own (not the pool's, so a full pool cannot
/// starve it), and reconnects by itself when the database comes back. A log polled rather than LISTEN/NOTIFY: the poll
/// also proves the database answers, which is what the freshness bound needs, and a lost notification or a reconnect
/// cannot leave a resolver serving old answers.
struct VersionWatch: Sendable {
    let connector: Connector
    let connection: PostgresConnection
    let freshness: Freshness
    /// The newest version of the log read so far.
    let readThrough: Int64
    let interval: Duration
    let logger: Logger

    func run() async {
        var current: PostgresConnection? = connection
        var readThrough = readThrough
        while !Task.isCancelled {
            do {
                let connection: PostgresConnection
                if let current { connection = current } else { connection = try await connector.connect() }
                current = connection
                // Bounded: a server that stops answering (a partition, a stopped host) must count as lost.
                let logger = logger
                let after = readThrough
                let rows = try await Deadline.run(within: interval * 5 + .seconds(1)) {
                    var rows: [(version: Int64, gtin: String?)] = []
                    for try await row in try await connection.query(PostgresSchema.changesQuery(after: after), logger: logger).decode((Int64, String?).self) {
                        rows.append(row)
                    }
                    return rows
                }
                freshness.heard(rows, after: readThrough)
                readThrough = rows.last?.version ?? readThrough
            } catch {
                if !Task.isCancelled {
                    freshness.lost(PostgresProductReference.reason(error))
                    logger.warning("database unavailable: \(PostgresProductReference.reason(error))")
                }
                try? await current?.close()
                current = nil
            }
            try? await Task.sleep(for: interval)
        }
        try? await current?.close()
    }
}

/// Gives up waiting on work that does not finish in time (a database that stopped answering), without waiting for
/// the work itself to notice.
enum Deadline {
    /// - Throws: `StorageError.unavailable` past `limit`, or what `work` throws.
    static func run<T: Sendable>(within limit: Duration, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let outcome = Once<T>()
        return try await withCheckedThrowingContinuation { continuation in
            outcome.continuation = continuation
            let task = Task {
                do { outcome.resume(.success(try await work())) } catch { outcome.resume(.failure(error)) }
            }
            Task {
                try? await Task.sleep(for: limit)
                if outcome.resume(.failure(StorageError.unavailable("no answer from the database within \(limit)"))) { task.cancel() }
            }
        }
    }

    /// Resumes a continuation once, whichever comes first.
    private final class Once<T: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        var continuation: CheckedContinuation<T, any Error>?

        @discardableResult
        func resume(_ result: Result<T, any Error>) -> Bool {
            let taken: CheckedContinuation<T, any Error>? = lock.withLock {
                defer { continuation = nil }
                return continuation
            }
            taken?.resume(with: result)
            return taken != nil
        }
    }
}

/// Runs synchronous code that waits on the database (a `CatalogWriter` body) on threads of its own, never on Swift's
/// cooperative ones, which the database's answers need to be delivered.
enum Blocking {
    private static let queue = DispatchQueue(label: "shelftag.storage.blocking", attributes: .concurrent)

    static func run<T: Sendable>(_ work: @escaping () throws -> T) async throws -> T {
        let work = UncheckedSendable(work)
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work.value() }) }
        }
    }

    /// Waits on this (non-cooperative) thread for async work.
    static func wait<T: Sendable>(_ work: @escaping () async throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox<T>()
        let work = UncheckedSendable(work)
        Task {
            do { box.result = .success(try await work.value()) } catch { box.result = .failure(error) }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    /// Written by one task before it signals, read by the waiter after.
    private final class ResultBox<T>: @unchecked Sendable {
        var result: Result<T, any Error>?
    }
}
