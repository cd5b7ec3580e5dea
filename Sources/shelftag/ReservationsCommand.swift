import ArgumentParser
import Foundation
import ShelfTagDomain
import ShelfTagStorage

struct ReservationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reservations",
        abstract: "Store staff: list, collect or cancel a store's reservations.",
        subcommands: [List.self, Collect.self, Cancel.self]
    )

    struct StoreOptions: ParsableArguments {
        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("The store.", valueName: "code"))
        var store: String
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The store's reservations, newest first: code, state, GTIN, quantity, total, name, contact, hold end.",
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
                        reservation.customerName, reservation.contact, Timestamp.format(reservation.expiresAt),
                    ].map(TextRule.escaped).joined(separator: "\t"))
            }
        }
    }

    struct Collect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Hand a reservation over: its quantity leaves the stock on hand.")

        @OptionGroup var options: StoreOptions

        @Argument(help: ArgumentHelp("The pickup code.", valueName: "pickup-code"))
        var code: String

        func run() async throws {
            try report(try await options.database.with { try await $0.collect(code: code.uppercased(), store: options.store, at: Date()) })
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a reservation: its stock is available again.")

        @OptionGroup var options: StoreOptions

        @Argument(help: ArgumentHelp("The pickup code.", valueName: "pickup-code"))
        var code: String

        func run() async throws {
            try report(try await options.database.with { try await $0.cancel(code: code.uppercased(), store: options.store, at: Date()) })
        }
    }

    static func report(_ change: ReservationChange) throws {
        switch change {
        case .done(let reservation): print("\(reservation.code): \(reservation.status.rawValue)")
        case .notFound:
            FileStream.standardError.write("no such reservation in this store\n")
            throw ExitCode.rowsRejected
        case .notHeld(let state):
            FileStream.standardError.write("the reservation is \(state); nothing changed\n")
            throw ExitCode.rowsRejected
        case .notEnoughOnHand(let onHand):
            FileStream.standardError.write("only \(onHand) on hand: update the stock first; nothing changed\n")
            throw ExitCode.rowsRejected
        }
    }
}

private func report(_ change: ReservationChange) throws { try ReservationsCommand.report(change) }
