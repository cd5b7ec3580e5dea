import ArgumentParser
import Foundation
import ShelfTagDomain

struct ProductsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "products",
        abstract: "Show what every channel sees of the products.",
        subcommands: [List.self, Show.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every product: GTIN, web price, stores, stock, rating, title.", discussion: TextRule.escapingNote)

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let now = Date()
            try await database.with { reference in
                try await reference.summaries(at: now) { summary in
                    let rating = summary.rating.map { String(format: "%.1f★ (%d)", $0.average, $0.count) } ?? "no reviews"
                    print(
                        [
                            summary.gtin.digits, summary.webPrice.feedValue, "\(summary.storeCount) stores", "\(summary.unitsOnHand) on hand", rating,
                            summary.title,
                        ]
                        .map(TextRule.escaped).joined(separator: "\t"))
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one product: web offer, store prices and stock, prior prices, rating.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: ArgumentHelp("The product's GTIN-8, -12, -13 or -14.", valueName: "gtin"))
        var gtin: String

        func validate() throws {
            do { _ = try GTIN(gtin) } catch { throw ValidationError("gtin: \(error)") }
        }

        func run() async throws {
            guard let details = try await database.with({ try await $0.details(of: try GTIN(gtin)) }) else {
                FileStream.standardError.write("\(gtin): no such product\n")
                throw ExitCode.rowsRejected
            }
            print(ProductText(details: details, at: Date()).lines.joined(separator: "\n"))
        }
    }
}
