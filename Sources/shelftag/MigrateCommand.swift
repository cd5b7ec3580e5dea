import ArgumentParser
import Foundation
import ShelfTagStorage

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Move a SQLite product reference into an empty PostgreSQL one, with its history, print ledger and reservations.",
        discussion: """
            Every table is copied as it is, in one PostgreSQL transaction: all of it or nothing. The SQLite file is only read. \
            Stop the resolvers that write to the SQLite file first; start the chain's resolvers on the URL after.
            """
    )

    @Option(help: ArgumentHelp("The SQLite reference to copy.", valueName: "path"))
    var from: String

    @Option(help: ArgumentHelp("The empty PostgreSQL reference: postgresql://user@host:port/database?sslmode=… (password from $PGPASSWORD).", valueName: "url"))
    var to: String

    func validate() throws {
        guard FileManager.default.isReadableFile(atPath: from) else { throw ValidationError("--from: \(from): no such readable file") }
        guard case .postgres = try? ReferenceLocation(to) else {
            throw ValidationError("--to: give a postgresql:// URL (\((try? ReferenceLocation(to))?.description ?? "not one")")
        }
    }

    func run() async throws {
        guard case .postgres(let target) = try ReferenceLocation(to) else { throw ExitCode.unusableInput }
        let source: SQLiteProductReference
        do { source = try SQLiteProductReference(path: from) } catch {
            FileStream.standardError.write("\(from): cannot open the database: \(error)\n")
            throw ExitCode.unusableInput
        }
        let progress = showsProgress
        do {
            let report = try await PostgresProductReference.with(target) { reference in
                try await ReferenceMigration.copy(from: source, to: reference) { table, count in
                    if progress { FileStream.standardError.write("\(table): \(count) rows\n") }
                }
            }
            for (table, count) in report.rows { print("\(table)\t\(count)") }
            FileStream.standardError.write("\(from) copied into \(target)\n")
        } catch {
            FileStream.standardError.write("migrate: nothing was copied: \(error)\n")
            throw ExitCode.unusableInput
        }
    }
}
