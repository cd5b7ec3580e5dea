import ArgumentParser
import Foundation
import ShelfTagDomain
import ShelfTagStorage

struct ReservationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reservations",
        abstract: "Store staff: list a store's reservations, mark one ready, collect or cancel it.",
        subcommands: [List.self, Ready.self, Collect.self, Cancel.self]
    )

    struct StoreOptions: ParsableArguments {
        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("The store.", valueName: "code"))
        var store: String
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "The store's reservations, newest first: code, state, GTIN, quantity, total, name, contact, hold end, prepared by, shopper told at, told by, closed by.",
            discussion: TextRule.escapingNote)

        @OptionGroup var options: StoreOptions

        @Option(
            help: ArgumentHelp(
                "Only those still open and those closed (collected, cancelled, expired) from this ISO 8601 time or date on; every one by default.",
                valueName: "time"))
        var closedSince: String?

        func validate() throws {
            _ = try timeOption(closedSince, name: "closed-since")
        }

        func run() async throws {
            let now = Date()
            let since = try timeOption(closedSince, name: "closed-since")
            for reservation in try await options.database.with({ try await $0.reservations(store: options.store, closedSince: since) }) {
                print(
                    [
                        reservation.code, reservation.state(at: now), reservation.gtin.digits, String(reservation.quantity), reservation.total.feedValue,
                        reservation.customerName, reservation.contact, Timestamp.format(reservation.expiresAt), reservation.preparedBy ?? "",
                        reservation.toldAt.map(Timestamp.format) ?? "", reservation.toldBy ?? "", reservation.closedBy ?? "",
                    ].map(TextRule.escaped).joined(separator: "\t"))
            }
        }
    }

    struct Ready: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mark a reservation prepared and set aside: the shopper's page says it is ready for pickup.")

        @OptionGroup var options: StoreOptions

        @Argument(help: ArgumentHelp("The pickup code.", valueName: "pickup-code"))
        var code: String

        func run() async throws { try await change(code, .ready, options) }
    }

    struct Collect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Hand a reservation over: its quantity leaves the stock on hand.")

        @OptionGroup var options: StoreOptions

        @Argument(help: ArgumentHelp("The pickup code.", valueName: "pickup-code"))
        var code: String

        func run() async throws { try await change(code, .collect, options) }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a reservation: its stock is available again.")

        @OptionGroup var options: StoreOptions

        @Argument(help: ArgumentHelp("The pickup code.", valueName: "pickup-code"))
        var code: String

        func run() async throws { try await change(code, .cancel, options) }
    }

    /// Does `action` to the reservation `code` in the store, as the command line (no associate), and says what became
    /// of it, or why nothing changed (exit 1).
    static func change(_ code: String, _ action: ReservationAction, _ options: StoreOptions) async throws {
        let change = try await options.database.with {
            try await $0.change(reservation: code.uppercased(), store: options.store, action, by: nil, at: Date())
        }
        guard case .done(let reservation) = change else {
            FileStream.standardError.write("\(change.refusalReason ?? "")\n")
            throw ExitCode.rowsRejected
        }
        print("\(reservation.code): \(reservation.state(at: Date()))")
    }
}

private func change(_ code: String, _ action: ReservationAction, _ options: ReservationsCommand.StoreOptions) async throws {
    try await ReservationsCommand.change(code, action, options)
}
