import ArgumentParser
import Foundation
import ShelfTagDomain
import ShelfTagParity

struct ParityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parity",
        abstract: "Check that shelf, printed tags, resolver and web shop show one price; for CI.",
        discussion: """
            Rules (stable ids): store-web-price, stale-tag, tag-prior-price, tag-unit-price, store-availability, \
            small-discount (warning), resolver-answer (with --resolver), web-page-price (with --crawl). \
            Exit status: 0 no mismatch, 1 mismatches (warnings only with --strict), 2 bad input or an unreachable source. \
            Standard output carries the report only.
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(
        name: .customLong("web"),
        help: ArgumentHelp("A Merchant Center product feed (TSV or XML) for the web side (repeatable; default: the imported web offers).", valueName: "feed"))
    var webFeeds: [String] = []

    @Option(help: ArgumentHelp("Compare the JSON this resolver answers for every product and store.", valueName: "url"))
    var resolver: String?

    @Flag(help: "Fetch each web product page and compare the JSON-LD offer price with the web feed.")
    var crawl = false

    @Option(help: ArgumentHelp("Requests in flight at once to the resolver and to web pages.", valueName: "requests"))
    var concurrency = 16

    @Option(name: .customLong("store"), help: ArgumentHelp("Only this store (repeatable).", valueName: "code"))
    var stores: [String] = []

    @Option(help: ArgumentHelp("Check the prices in force at this ISO 8601 time (default now).", valueName: "time"))
    var at: String?

    @Option(help: ArgumentHelp("text, json or junit.", valueName: "format"))
    var format: ReportFormat = .text

    @Option(help: ArgumentHelp("Write the report here instead of standard output.", valueName: "file"))
    var output: String?

    @Flag(help: "Fail on warnings too.")
    var strict = false

    @Option(help: ArgumentHelp("List at most this many mismatches per rule; every one is counted. 0 lists every one.", valueName: "count"))
    var maxListed = 1_000

    func validate() throws {
        _ = try timeOption(at, name: "at")
        if let resolver, URL(string: resolver)?.host == nil { throw ValidationError("--resolver: '\(resolver)' is not an http(s) URL") }
        for feed in webFeeds where !FileManager.default.isReadableFile(atPath: feed) { throw ValidationError("--web: \(feed): no such readable file") }
        if concurrency < 1 { throw ValidationError("--concurrency: \(concurrency) is less than 1") }
        if maxListed < 0 { throw ValidationError("--max-listed: \(maxListed) is negative (0 lists every mismatch)") }
    }

    func run() async throws {
        var options = ParityOptions(
            stores: stores.isEmpty ? nil : stores, at: try timeOption(at, name: "at") ?? Date(), webFeeds: webFeeds,
            resolver: resolver.flatMap(URL.init(string:)), crawl: crawl, concurrency: concurrency,
            listLimit: maxListed == 0 ? nil : maxListed)
        let bar = ProgressBar(enabled: showsProgress)
        options.progress = { bar.update(done: $1, total: $2, label: $0) }
        let report: ParityReport
        do {
            report = try await database.with { [options] in try await ParityChecker(reference: $0).run(options) }
            bar.finish()
        } catch {
            bar.finish()
            FileStream.standardError.write("parity: \(error)\n")
            throw ExitCode.unusableInput
        }
        let text = format.render(report)
        if let output {
            do { try Data(text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic) } catch {
                FileStream.standardError.write("parity: cannot write \(output): \(error.localizedDescription)\n")
                throw ExitCode.unusableInput
            }
        } else {
            FileStream.standardOutput.write(text)
        }
        if report.fails(strict: strict) { throw ExitCode.rowsRejected }
    }
}

extension ReportFormat: ExpressibleByArgument {}
