import ArgumentParser
import Foundation
import ShelfTagStorage

/// `--db PATH`, shared by every command that touches data.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The product reference database.", valueName: "path"))
    var db: String = ProcessInfo.processInfo.environment["SHELFTAG_DB"] ?? "shelftag.sqlite"

    /// Opens the product reference (creating and migrating it if needed) for the length of `body`.
    /// - Throws: `ExitCode.unusableInput` when it cannot be opened (said on standard error), or what `body` throws.
    func with<Result>(_ body: (any ProductReference) async throws -> Result) async throws -> Result {
        let reference: any ProductReference
        do {
            reference = try SQLiteProductReference(path: db)
        } catch {
            FileStream.standardError.write("\(db): cannot open the database: \(error)\n")
            throw ExitCode.unusableInput
        }
        return try await body(reference)
    }

    /// Runs `load` on the product reference. A database that does not exist yet is built aside and appears,
    /// complete, only when `load` returns true.
    func load(_ body: (any ProductReference) async throws -> Bool) async throws {
        if FileManager.default.fileExists(atPath: db) {
            _ = try await with(body)
        } else {
            _ = try await SQLiteProductReference.create(at: db, load: body)
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

/// Whether progress can be drawn: standard error is a terminal and not CI.
var showsProgress: Bool {
    isatty(2) != 0 && ProcessInfo.processInfo.environment["CI"] == nil
}
