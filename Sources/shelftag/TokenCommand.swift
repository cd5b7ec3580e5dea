import ArgumentParser
import Foundation
import ShelfTagDomain

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage bearer tokens for the store-update API.",
        subcommands: [Create.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token for one store; it is printed once and only its SHA-256 is stored.")

        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("The store the token may update.", valueName: "code"))
        var store: String

        @Option(help: ArgumentHelp("What it may do: prices, stock or reservations (repeatable).", valueName: "scope"))
        var scope: [TokenScope] = []

        func validate() throws {
            guard !scope.isEmpty else { throw ValidationError("--scope: give at least one of prices, stock, reservations") }
        }

        func run() async throws {
            try await database.with { reference in
                guard try await reference.stores().contains(where: { $0.code == store }) else {
                    FileStream.standardError.write("unknown store '\(store)'\n")
                    throw ExitCode.unusableInput
                }
                let token = AccessToken.generate()
                try await reference.saveToken(hash: AccessToken.hash(token), grant: TokenGrant(storeCode: store, scopes: Set(scope)), createdAt: Date())
                print(token)
            }
        }
    }
}

extension TokenScope: ExpressibleByArgument {}
