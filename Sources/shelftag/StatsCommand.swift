import ArgumentParser
import Foundation
import ShelfTagDomain

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "What shoppers did: tag scans per day, per printed tag, or per associate (scans, reservations, click-outs, preparations).",
        discussion: """
            --by day: day (UTC), store, GTIN, scans, stale-tag scans. --by tag: store, GTIN, tag id, scans, stale-tag scans. \
            --by associate: code, store, name, scans of pages that carried them, reservations credited, units, reserved value \
            (per currency), click-outs to the web shop, reservations they prepared and handed over. --by help: store, help requests, taken, average and longest wait \
            (seconds) before an associate took one. No shopper's name or contact is ever shown. The resolver writes scans \
            within a second.

            """ + TextRule.escapingNote
    )

    enum Grouping: String, ExpressibleByArgument, CaseIterable {
        case day, tag, associate, help
    }

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, csv, json
    }

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("Only this store.", valueName: "code"))
    var store: String?

    @Option(help: ArgumentHelp("Only from this ISO 8601 time or date on.", valueName: "time"))
    var since: String?

    @Option(help: ArgumentHelp("day, tag, associate or help.", valueName: "grouping"))
    var by = Grouping.day

    @Option(help: ArgumentHelp("text (tab-separated), csv or json.", valueName: "format"))
    var format = Format.text

    func validate() throws {
        _ = try timeOption(since, name: "since")
    }

    func run() async throws {
        let since = try timeOption(since, name: "since")
        let store = store
        let table = try await database.with { reference -> ReportTable in
            switch by {
            case .day:
                let counts = try await reference.scanCounts(store: store, since: since)
                return ReportTable(
                    columns: ["day", "store", "gtin", "scans", "stale"],
                    rows: counts.map { [.text($0.day), .text($0.storeCode ?? "-"), .text($0.gtin.digits), .number($0.scans), .number($0.staleScans)] },
                    summary: "\(counts.reduce(0) { $0 + $1.scans }) scans, \(counts.reduce(0) { $0 + $1.staleScans }) of stale tags")
            case .tag:
                let counts = try await reference.tagScans(store: store, since: since)
                return ReportTable(
                    columns: ["store", "gtin", "tag", "scans", "stale"],
                    rows: counts.map { [.text($0.storeCode ?? "-"), .text($0.gtin.digits), .text($0.tagID), .number($0.scans), .number($0.staleScans)] },
                    summary: "\(counts.count) tags scanned")
            case .associate:
                let figures = try await reference.associateFigures(store: store, since: since)
                return ReportTable(
                    columns: ["associate", "store", "name", "scans", "reservations", "units", "value", "click_outs", "prepared", "handed_over"],
                    rows: figures.map {
                        [
                            .text($0.code), .text($0.storeCode ?? "-"), .text($0.name ?? "(removed)"), .number($0.scans), .number($0.reservations),
                            .number($0.units), .money($0.value), .number($0.clickOuts), .number($0.prepared), .number($0.handedOver),
                        ]
                    },
                    summary: "\(figures.count) associates")
            case .help:
                let figures = try await reference.helpFigures(store: store, since: since)
                return ReportTable(
                    columns: ["store", "requests", "taken", "average_wait_s", "longest_wait_s"],
                    rows: figures.map {
                        [.text($0.storeCode), .number($0.requests), .number($0.taken), .optionalNumber($0.averageWait), .optionalNumber($0.longestWait)]
                    },
                    summary: "\(figures.reduce(0) { $0 + $1.requests }) help requests")
            }
        }
        print(table.rendered(as: format), terminator: "")
        if format == .text { FileStream.standardError.write(table.summary + "\n") }
    }
}

/// A report: named columns, typed cells, written as tab-separated text, CSV or JSON.
struct ReportTable {
    enum Cell {
        case text(String)
        case number(Int)
        /// A figure that may not exist (no request was taken): empty in text, null in JSON.
        case optionalNumber(Int?)
        case money([Money])

        var plain: String {
            switch self {
            case .text(let text): text
            case .number(let number): String(number)
            case .optionalNumber(let number): number.map(String.init) ?? ""
            case .money(let amounts): amounts.map(\.feedValue).joined(separator: "; ")
            }
        }

        var json: Any {
            switch self {
            case .text(let text): text
            case .number(let number): number
            case .optionalNumber(let number): number.map { $0 as Any } ?? NSNull()
            case .money(let amounts): amounts.map { ["amount": $0.decimalString, "currency": $0.currency.code] }
            }
        }
    }

    let columns: [String]
    let rows: [[Cell]]
    let summary: String

    func rendered(as format: StatsCommand.Format) -> String {
        switch format {
        case .text:
            return ([columns] + rows.map { $0.map(\.plain) }).map { $0.map(TextRule.escaped).joined(separator: "\t") + "\n" }.joined()
        case .csv:
            return ([columns] + rows.map { $0.map(\.plain) }).map { $0.map(Self.csvField).joined(separator: ",") + "\r\n" }.joined()
        case .json:
            let objects = rows.map { row in Dictionary(uniqueKeysWithValues: zip(columns, row.map(\.json))) }
            let data = (try? JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
            return String(decoding: data, as: UTF8.self) + "\n"
        }
    }

    /// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
    static func csvField(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }
}
