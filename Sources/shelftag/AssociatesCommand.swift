import ArgumentParser
import Foundation
import ShelfTagDomain
import ShelfTagFeeds
import ShelfTagRender
import ShelfTagSecrets
import ShelfTagStorage

struct AssociatesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "associates",
        abstract: "Manage store associates: their public codes (in links) and sign-in secrets (shown once).",
        subcommands: [Add.self, Import.self, List.self, Link.self, Revoke.self, Remove.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an associate to a store; prints their public code and sign-in secret (the secret is shown only now).")

        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("The store they work in.", valueName: "code"))
        var store: String

        @Option(help: ArgumentHelp("Their name as shoppers will see it.", valueName: "name"))
        var name: String

        @Option(help: ArgumentHelp("Languages they speak, as ISO 639 codes.", valueName: "fr,en"))
        var languages = ""

        func validate() throws {
            do { _ = try Associate.checked(storeCode: store, name: name, languages: languages) } catch { throw ValidationError("--\(error)") }
        }

        func run() async throws {
            let checked = try Associate.checked(storeCode: store, name: name, languages: languages)
            let added = try await database.with { reference in
                try await AssociatesCommand.add([AssociateRow(storeCode: store, name: checked.name, languages: checked.languages)], to: reference)
            }
            AssociatesCommand.print(added)
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a chain's associates from a CSV file (store,name[,languages]): all of them, or none.",
            discussion: """
                Languages are separated by ';' or quoted ("fr,en"). Prints one CSV line per associate: code, store, name, secret \
                (the secrets are shown only now). Exit status: 0 all added, 1 rows rejected (nothing added), 2 unusable arguments or file.
                """)

        @OptionGroup var database: DatabaseOptions

        @Argument(help: ArgumentHelp("The associates CSV.", valueName: "file.csv"))
        var file: String

        func run() async throws {
            let file = file
            let added = try await database.with { reference in
                let stores = Set(try await reference.stores().map(\.code))
                var rows: [AssociateRow] = []
                var rejected = 0
                let reject = { (error: RowError) in
                    rejected += 1
                    FileStream.standardError.write("\(error)\n")
                }
                do {
                    try AssociatesFile.read(
                        path: file, displayName: file,
                        row: { row, line in
                            guard stores.contains(row.storeCode) else {
                                return reject(
                                    RowError(location: SourceLocation(file: file, line: line), field: "store", problem: .unknownStore(row.storeCode)))
                            }
                            rows.append(row)
                        }, rejected: reject)
                } catch let error as FeedError {
                    FileStream.standardError.write("\(error)\n")
                    throw ExitCode.unusableInput
                }
                guard rejected == 0 else {
                    FileStream.standardError.write("\(rejected) rows rejected: nobody was added\n")
                    throw ExitCode.rowsRejected
                }
                return try await AssociatesCommand.add(rows, to: reference)
            }
            AssociatesCommand.print(added)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List associates: code, store, name, languages, whether they can sign in.", discussion: TextRule.escapingNote)

        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("Only this store's.", valueName: "code"))
        var store: String?

        func run() async throws {
            for associate in try await database.with({ try await $0.associates(store: store) }) {
                Swift.print(
                    [
                        associate.code, associate.storeCode, associate.name, associate.languages.joined(separator: ","),
                        associate.canSignIn ? "can sign in" : "revoked",
                    ].map(TextRule.escaped).joined(separator: "\t"))
            }
        }
    }

    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the link an associate shares (a product's, or their own page) and write it as a QR code PNG.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: ArgumentHelp("The associate's public code.", valueName: "code"))
        var code: String

        @Option(help: ArgumentHelp("A product to link to (any GTIN length); without it, the associate's own page.", valueName: "gtin"))
        var gtin: String?

        @OptionGroup var baseURL: BaseURLOption

        @Option(help: ArgumentHelp("Where to write the QR code.", valueName: "file.png"))
        var qr = "associate-link.png"

        func validate() throws {
            if let gtin { do { _ = try GTIN(gtin) } catch { throw ValidationError("--gtin: \(error)") } }
        }

        func run() async throws {
            guard let normalized = Associate.normalizedCode(code), let associate = try await database.with({ try await $0.associate(code: normalized) })
            else {
                FileStream.standardError.write("no associate with code '\(TextRule.escaped(code))'\n")
                throw ExitCode.rowsRejected
            }
            let link = associate.link(base: baseURL.value, gtin: try gtin.map { try GTIN($0) })
            // Eight pixels a module: readable from a tablet's screen or a print.
            try QRImage.png(link, modulePixels: 8).data.write(to: URL(fileURLWithPath: qr))
            Swift.print(link)
            FileStream.standardError.write("QR code written to \(qr)\n")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an associate's sign-in secret at once (on every resolver); their links still credit them.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: ArgumentHelp("The associate's public code.", valueName: "code"))
        var code: String

        func run() async throws {
            try await AssociatesCommand.change(code, database: database) { try await $0.revokeAssociate(code: $1) }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove an associate: their links are ignored from now on; reservations keep the credit.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: ArgumentHelp("The associate's public code.", valueName: "code"))
        var code: String

        func run() async throws {
            try await AssociatesCommand.change(code, database: database) { try await $0.removeAssociate(code: $1) }
        }
    }

    /// Adds `rows` with fresh codes and secrets, drawing again for a code already taken.
    /// - Returns: each associate with their secret.
    static func add(_ rows: [AssociateRow], to reference: any ProductReference) async throws -> [(Associate, String)] {
        var codes = rows.map { _ in Associate.newCode() }
        let secrets = rows.map { _ in Associate.newSecret() }
        for _ in 0..<8 {
            let associates = zip(rows, codes).map { row, code in
                Associate(code: code, storeCode: row.storeCode, name: row.name, languages: row.languages)
            }
            switch try await reference.addAssociates(
                zip(associates, secrets).map { NewAssociate($0, secretHash: SecretHash.of($1)) }, at: Date())
            {
            case .added:
                return Array(zip(associates, secrets))
            case .codeTaken(let taken):
                codes = codes.map { $0 == taken ? Associate.newCode() : $0 }
            case .unknownStore(let store):
                FileStream.standardError.write("unknown store '\(TextRule.escaped(store))': nobody was added\n")
                throw ExitCode.rowsRejected
            }
        }
        FileStream.standardError.write("no free public code after 8 draws\n")
        throw ExitCode.failure
    }

    static func print(_ added: [(Associate, String)]) {
        for (associate, secret) in added {
            Swift.print([associate.code, associate.storeCode, associate.name, secret].map(ReportTable.csvField).joined(separator: ","))
        }
    }

    static func change(_ code: String, database: DatabaseOptions, _ body: @escaping (any ProductReference, String) async throws -> Bool) async throws {
        guard let normalized = Associate.normalizedCode(code), try await database.with({ try await body($0, normalized) }) else {
            FileStream.standardError.write("no associate with code '\(TextRule.escaped(code))'\n")
            throw ExitCode.rowsRejected
        }
    }
}
