import Foundation

/// Where the product reference lives: `--db` and `$SHELFTAG_DB` take a SQLite file path or a PostgreSQL URL.
public enum ReferenceLocation: Sendable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresLocation)

    /// A `postgresql://` or `postgres://` URL is PostgreSQL; anything else is a SQLite file path.
    /// - Parameter environment: where `PGPASSWORD` and `PGSSLMODE` are read when the URL leaves them out.
    /// - Throws: `ReferenceLocationError` for a PostgreSQL URL that cannot be used.
    public init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ReferenceLocationError) {
        if text.hasPrefix("postgresql://") || text.hasPrefix("postgres://") {
            self = .postgres(try PostgresLocation(url: text, environment: environment))
        } else {
            self = .sqlite(path: text)
        }
    }

    /// What logs and errors may show: the path, or the URL without its password.
    public var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let location): location.description
        }
    }
}

/// How to connect to PostgreSQL, from a libpq-style URL: `postgresql://user[:password]@host[:port]/database?sslmode=…`.
public struct PostgresLocation: Sendable, CustomStringConvertible {
    /// libpq's `sslmode` values.
    public enum TLSMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    /// Never shown: not in `description`, logs or errors.
    public var password: String?
    public var database: String
    public var tls: TLSMode

    /// - Throws: `ReferenceLocationError` naming what is wrong (never the password).
    public init(url text: String, environment: [String: String] = [:]) throws(ReferenceLocationError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme, ["postgresql", "postgres"].contains(scheme) else {
            throw .malformed("not a URL like postgresql://user@host:5432/database")
        }
        guard let host = components.host, !host.isEmpty else { throw .malformed("the URL names no host") }
        self.host = host
        port = components.port ?? 5432
        guard let user = components.user, !user.isEmpty else { throw .malformed("the URL names no user (postgresql://USER@\(host)/…)") }
        self.user = user.removingPercentEncoding ?? user
        password = components.password.map { $0.removingPercentEncoding ?? $0 } ?? environment["PGPASSWORD"]
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !database.isEmpty else { throw .malformed("the URL names no database (postgresql://\(user)@\(host)/DATABASE)") }
        self.database = database.removingPercentEncoding ?? database
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? environment["PGSSLMODE"] ?? TLSMode.prefer.rawValue
        guard let tls = TLSMode(rawValue: mode) else {
            throw .malformed("sslmode '\(mode)' is not one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.tls = tls
        if let other = components.queryItems?.first(where: { $0.name != "sslmode" }) {
            throw .malformed("the URL parameter '\(other.name)' is not supported (only sslmode is)")
        }
    }

    /// The URL without its password.
    public var description: String { "postgresql://\(user)@\(host):\(port)/\(database)?sslmode=\(tls.rawValue)" }
}

/// Why a `--db` value cannot be used.
public enum ReferenceLocationError: Error, CustomStringConvertible {
    case malformed(String)

    public var description: String {
        switch self {
        case .malformed(let reason): "the PostgreSQL URL cannot be used: \(reason)"
        }
    }
}

extension ReferenceLocation {
    /// Opens the product reference here (creating and migrating it if needed) for the length of `body`.
    /// - Throws: what opening throws (`StorageError.unavailable` for a PostgreSQL server that cannot be reached or
    ///   used, a `DatabaseError` for a SQLite file), or what `body` throws.
    public func open<Result>(_ body: (any ProductReference) async throws -> Result) async throws -> Result {
        switch self {
        case .sqlite(let path): return try await body(SQLiteProductReference(path: path))
        case .postgres(let location): return try await PostgresProductReference.with(location) { try await body($0) }
        }
    }
}
