import ArgumentParser
import Foundation
import ShelfTagDomain

struct StoresCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stores",
        abstract: "Show the stores of the product reference, as the stores file gave them.",
        subcommands: [List.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every store: code, name, locale, time zone, opening hours, label printer, office printer (empty when none).",
            discussion: TextRule.escapingNote)

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            for store in try await database.with({ try await $0.stores() }) {
                print(
                    [
                        store.code, store.name, store.locale, store.timeZone, store.openingHours?.description ?? "", store.labelPrinter ?? "",
                        store.officePrinter ?? "",
                    ].map(TextRule.escaped).joined(separator: "\t"))
            }
        }
    }
}
