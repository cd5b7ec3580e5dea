import ArgumentParser
import Foundation
import ShelfTagDomain
import ShelfTagSecrets
import ShelfTagStorage

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage bearer tokens for the store-update and staff APIs.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token for one store; it is printed once and only its SHA-256 is stored.",
            discussion: "Standard error names the token's id, which `token list` shows and `token revoke` takes.")

        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("The store the token may update.", valueName: "code"))
        var store: String

        @Option(help: ArgumentHelp("What it may do: prices, stock or reservations (repeatable).", valueName: "scope"))
        var scope: [TokenScope] = []

        @Option(
            name: .customLong("expires-in"),
            help: ArgumentHelp("Refuse it after this long: a number and m, h, d or w (90d, 12h); default never.", valueName: "duration"))
        var expiresIn: TokenLifetime?

        func validate() throws {
            guard !scope.isEmpty else { throw ValidationError("--scope: give at least one of prices, stock, reservations") }
        }

        func run() async throws {
            try await database.with { reference in
                guard try await reference.store(code: store) != nil else {
                    FileStream.standardError.write("unknown store '\(store)'\n")
                    throw ExitCode.unusableInput
                }
                let token = AccessToken.generate()
                let now = Date()
                let hash = SecretHash.of(token)
                try await reference.saveToken(
                    hash: hash, grant: TokenGrant(storeCode: store, scopes: Set(scope)), createdAt: now,
                    expiresAt: expiresIn.map { now.addingTimeInterval($0.seconds) })
                print(token)
                FileStream.standardError.write("token \(hash.prefix(TokenRecord.idLength)) for store \(store)\n")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List tokens: id, store, scopes, created, expires, last used and state; never the token.")

        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("Only this store's tokens.", valueName: "code"))
        var store: String?

        @Option(help: ArgumentHelp("text (tab-separated), csv or json.", valueName: "format"))
        var format: StatsCommand.Format = .text

        func run() async throws {
            let now = Date()
            let tokens = try await database.with { reference in try await reference.tokens(store: store) }
            func time(_ date: Date?) -> ReportTable.Cell { .text(date.map(Timestamp.format) ?? "") }
            let rows: [[ReportTable.Cell]] = tokens.map { token in
                let state = token.revokedAt != nil ? "revoked" : token.isActive(at: now) ? "active" : "expired"
                return [
                    .text(token.id), .text(token.grant.storeCode), .text(token.grant.scopes.map(\.rawValue).sorted().joined(separator: " ")),
                    time(token.createdAt), time(token.expiresAt), time(token.lastUsedAt), .text(state),
                ]
            }
            let table = ReportTable(
                columns: ["id", "store", "scopes", "created", "expires", "last_used", "state"], rows: rows, summary: "\(tokens.count) tokens")
            print(table.rendered(as: format), terminator: "")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token by its id (from token list): refused from the next request on, on every resolver.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: ArgumentHelp("The token's id, or its first 6 hex digits or more.", valueName: "id"))
        var id: String

        func validate() throws {
            guard id.count >= 6, id.count <= 64, id.allSatisfy(\.isHexDigit) else {
                throw ValidationError("id: '\(id)' is not a token id (6 to 64 hex digits, as token list shows them)")
            }
        }

        func run() async throws {
            let outcome = try await database.with { reference in try await reference.revokeToken(id: id, at: Date()) }
            switch outcome {
            case .revoked(let token): print("revoked \(token.id) (store \(token.grant.storeCode))")
            case .alreadyRevoked(let token): print("\(token.id) was already revoked")
            case .unknown:
                FileStream.standardError.write("no token with id \(id) (see shelftag token list)\n")
                throw ExitCode.unusableInput
            case .ambiguous(let count):
                FileStream.standardError.write("\(count) tokens have ids starting with \(id): give more of it\n")
                throw ExitCode.unusableInput
            }
        }
    }
}

/// `--expires-in`: a whole number of minutes, hours, days or weeks.
struct TokenLifetime: ExpressibleByArgument {
    let seconds: TimeInterval

    init?(argument: String) {
        guard let unit = argument.last, let count = Int(argument.dropLast()), count > 0 else { return nil }
        let unitSeconds: TimeInterval
        switch unit {
        case "m": unitSeconds = 60
        case "h": unitSeconds = 3600
        case "d": unitSeconds = 86400
        case "w": unitSeconds = 7 * 86400
        default: return nil
        }
        seconds = TimeInterval(count) * unitSeconds
    }
}

extension TokenScope: ExpressibleByArgument {}
