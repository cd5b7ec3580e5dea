import ArgumentParser
import Foundation
import ShelfTagStorage

/// `--db PATH|URL`, shared by every command that touches data.
struct DatabaseOptions: ParsableArguments {
    // No default shown in --help: $SHELFTAG_DB may hold a PostgreSQL password.
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The product reference: a SQLite file (default ./shelftag.sqlite, or $SHELFTAG_DB) or postgresql://user@host:port/database?sslmode=… (password from the URL or $PGPASSWORD).",
            valueName: "path|url"))
    var db: String?

    /// `--db`, else `$SHELFTAG_DB`, else `shelftag.sqlite`.
    var location: String { db ?? ProcessInfo.processInfo.environment["SHELFTAG_DB"] ?? "shelftag.sqlite" }

    /// What messages may show of the location: never a password.
    var displayName: String { (try? ReferenceLocation(location))?.description ?? "the database" }

    func validate() throws {
        do { _ = try ReferenceLocation(location) } catch { throw ValidationError("--db: \(error)") }
    }

    /// Opens the product reference (creating and migrating it if needed) for the length of `body`.
    /// - Throws: `ExitCode.unusableInput` when it cannot be opened (said on standard error, without a password), or
    ///   what `body` throws.
    func with<Result>(_ body: (any ProductReference) async throws -> Result) async throws -> Result {
        let opened: ReferenceLocation
        do { opened = try ReferenceLocation(location) } catch {
            FileStream.standardError.write("--db: \(error)\n")
            throw ExitCode.unusableInput
        }
        var reached = false
        do {
            return try await opened.open { reference in
                reached = true
                return try await body(reference)
            }
        } catch  where !reached {
            FileStream.standardError.write("\(opened): cannot open the database: \(error)\n")
            throw ExitCode.unusableInput
        }
    }

    /// Runs `load` on the product reference. A SQLite database that does not exist yet is built aside and appears,
    /// complete, only when `load` returns true.
    func load(_ body: (any ProductReference) async throws -> Bool) async throws {
        if case .sqlite(let path) = try? ReferenceLocation(location), !FileManager.default.fileExists(atPath: path) {
            _ = try await SQLiteProductReference.create(at: path, load: body)
        } else {
            _ = try await with(body)
        }
    }
}

/// Writes to standard output or error without buffering surprises.
enum FileStream {
    case standardOutput, standardError

    func write(_ text: String) {
        let handle = self == .standardOutput ? FileHandle.standardOutput : FileHandle.standardError
        handle.write(Data(text.utf8))
    }
}

/// `--base-url`: the resolver's public address, which QR codes and links carry.
struct BaseURLOption: ParsableArguments {
    @Option(
        name: .customLong("base-url"),
        help: ArgumentHelp(
            "The resolver's public base URL (default $SHELFTAG_BASE_URL, else http://127.0.0.1:8080, which a print run refuses).",
            valueName: "url"))
    var given: String?

    var value: String { given ?? environment ?? "http://127.0.0.1:8080" }

    /// Said by the user (`--base-url` or `$SHELFTAG_BASE_URL`), not the local default.
    var isGiven: Bool { given != nil || environment != nil }

    private var environment: String? { ProcessInfo.processInfo.environment["SHELFTAG_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 } }

    /// The host is this machine or a private network (loopback, RFC 1918, link-local, `.local`): phones elsewhere
    /// cannot open it.
    var isLocal: Bool {
        guard let host = URL(string: value)?.host?.lowercased() else { return false }
        if host == "localhost" || host.hasSuffix(".localhost") || host.hasSuffix(".local") || host == "::1" || host == "[::1]" { return true }
        let octets = host.split(separator: ".").compactMap { UInt8($0) }
        guard octets.count == 4 else { return host.hasPrefix("fe80:") || host.hasPrefix("fc") || host.hasPrefix("fd") }
        switch (octets[0], octets[1]) {
        case (127, _), (10, _), (192, 168), (169, 254): return true
        case (172, 16...31): return true
        default: return false
        }
    }

    func validate() throws {
        guard let url = URL(string: value), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil, url.query == nil else {
            throw ValidationError("--base-url: '\(value)' is not an http(s) URL such as https://s.example.com")
        }
    }
}
