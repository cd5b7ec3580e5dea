import ArgumentParser
import Foundation
import ShelfTagStorage

/// `--db PATH`, shared by every command that touches data.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The product reference database.", valueName: "path"))
    var db: String = ProcessInfo.processInfo.environment["SHELFTAG_DB"] ?? "shelftag.sqlite"

    /// Opens the product reference, creating and migrating it if needed.
    func open() throws -> any ProductReference {
        do {
            return try SQLiteProductReference(path: db)
        } catch {
            FileStream.standardError.write("\(db): cannot open the database: \(error)\n")
            throw ExitCode.unusableInput
        }
    }

    /// Runs `load` on the product reference. A database that does not exist yet is built aside and appears,
    /// complete, only when `load` returns true.
    func load(_ body: (any ProductReference) throws -> Bool) throws {
        if FileManager.default.fileExists(atPath: db) {
            _ = try body(open())
        } else {
            _ = try SQLiteProductReference.create(at: db, load: body)
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
