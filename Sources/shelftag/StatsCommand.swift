import ArgumentParser
import Foundation
import ShelfTagDomain

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Tag scans per day, store and product, with the scans of stale tags.",
        discussion: "Columns: day (UTC), store, GTIN, scans, stale-tag scans. The resolver writes scans within a second.\n\n" + TextRule.escapingNote
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("Only this store.", valueName: "code"))
    var store: String?

    @Option(help: ArgumentHelp("Only scans from this ISO 8601 time or date on.", valueName: "time"))
    var since: String?

    func validate() throws {
        if let since, (try? Timestamp.parse(since)) == nil { throw ValidationError("--since: '\(since)' is not an ISO 8601 time or date") }
    }

    func run() async throws {
        let since = try since.map { try Timestamp.parse($0).date }
        let counts = try await database.with { try await $0.scanCounts(store: store, since: since) }
        print(["day", "store", "gtin", "scans", "stale"].joined(separator: "\t"))
        for count in counts {
            print(
                [count.day, count.storeCode ?? "-", count.gtin.digits, String(count.scans), String(count.staleScans)].map(TextRule.escaped).joined(
                    separator: "\t"))
        }
        let total = counts.reduce(0) { $0 + $1.scans }
        let stale = counts.reduce(0) { $0 + $1.staleScans }
        FileStream.standardError.write("\(total) scans, \(stale) of stale tags\n")
    }
}
