import ArgumentParser
import Foundation
import ShelfTagDomain
import ShelfTagFeeds
import ShelfTagImport

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Load stores, product, local inventory and review feeds into the product reference.",
        discussion: """
            Kinds are detected from the header or root element: stores CSV, Merchant Center product feed \
            (TSV or RSS XML), local inventory TSV, product reviews XML. Files given together are applied \
            in that order, as one transaction. Rejected rows are reported as FILE:LINE: FIELD: reason.
            Exit status: 0 all loaded, 1 rows rejected, 2 unusable arguments or file.
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("Treat every file as this kind: stores, products, inventory or reviews.", valueName: "kind"))
    var kind: FeedKind?

    @Option(
        name: .customLong("as-of"), help: ArgumentHelp("Record price changes at this ISO 8601 time instead of now (to back-fill a history).", valueName: "time")
    )
    var asOf: String?

    @Flag(name: .customLong("skip-invalid"), help: "Load the valid rows even if some are rejected (they are still reported).")
    var skipInvalid = false

    @Argument(help: ArgumentHelp("Feed files to import.", valueName: "file"))
    var files: [String]

    func validate() throws {
        _ = try timeOption(asOf, name: "as-of")
        for file in files where !FileManager.default.isReadableFile(atPath: file) {
            throw ValidationError("\(file): no such readable file")
        }
    }

    func run() async throws {
        let asOfDate = try timeOption(asOf, name: "as-of") ?? Date()
        let progress = showsProgress
        var outcome: ImportReport?
        do {
            try await database.load { reference in
                let report = try await Importer(reference: reference).run(
                    paths: files, options: ImportOptions(kind: kind, asOf: asOfDate, skipInvalid: skipInvalid),
                    rejected: { FileStream.standardError.write("\($0)\n") },
                    progress: { rows in if progress { FileStream.standardError.write("\r\(rows) rows…") } })
                outcome = report
                return report.committed
            }
        } catch let exit as ExitCode {
            throw exit
        } catch let error as FeedError {
            FileStream.standardError.write("\(error)\n")
            throw ExitCode.unusableInput
        } catch {
            // A storage failure (disk full, database locked…): the transaction was rolled back.
            FileStream.standardError.write("\(database.displayName): import failed, nothing was imported: \(error)\n")
            throw ExitCode.unusableInput
        }
        guard let report = outcome else { throw ExitCode.unusableInput }
        if progress { FileStream.standardError.write("\r") }
        for file in report.files {
            print("\(file.path): \(file.kind.rawValue): \(file.loaded) loaded, \(file.rejected) rejected")
        }
        if report.reviewsDeleted > 0 { print("\(report.reviewsDeleted) reviews no longer in the feed were deleted") }
        if !report.committed {
            print("\(report.rejected) rows rejected: nothing was imported (use --skip-invalid to load the valid rows)")
        }
        if report.rejected > 0 { throw ExitCode.rowsRejected }
    }
}

extension FeedKind: ExpressibleByArgument {}
