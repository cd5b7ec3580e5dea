import ArgumentParser
import Foundation
import ShelfTagDomain

struct ProductsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "products",
        abstract: "Show what every channel sees of the products.",
        subcommands: [List.self, Show.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every product: GTIN, web price, stores, stock, rating.")

        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let now = Date()
            for summary in try database.open().summaries(at: now) {
                let rating = summary.rating.map { String(format: "%.1f★ (%d)", $0.average, $0.count) } ?? "no reviews"
                print(
                    [summary.gtin.digits, summary.webPrice.feedValue, "\(summary.storeCount) stores", "\(summary.unitsOnHand) on hand", rating, summary.title]
                        .joined(separator: "\t"))
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one product: web offer, store prices and stock, prior prices, rating.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: ArgumentHelp("The product's GTIN-8, -12, -13 or -14.", valueName: "gtin"))
        var gtin: String

        func validate() throws {
            do { _ = try GTIN(gtin) } catch { throw ValidationError("gtin: \(error)") }
        }

        func run() throws {
            guard let details = try database.open().details(of: try GTIN(gtin)) else {
                FileStream.standardError.write("\(gtin): no such product\n")
                throw ExitCode.rowsRejected
            }
            print(ProductText(details: details, at: Date()).lines.joined(separator: "\n"))
        }
    }
}
