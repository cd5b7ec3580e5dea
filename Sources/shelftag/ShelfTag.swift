import ArgumentParser

/// `shelftag`: shelf tags, resolver and price parity from one product reference.
@main
struct ShelfTag: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shelftag",
        abstract: "Shelf tags that open the web channel, from one product reference.",
        discussion: "Data commands read and write --db (default ./shelftag.sqlite, or $SHELFTAG_DB).",
        version: "0.1.0",
        subcommands: [
            ImportCommand.self, ProductsCommand.self, RenderCommand.self, ServeCommand.self, ReservationsCommand.self, ParityCommand.self,
            StatsCommand.self, TokenCommand.self, AssociatesCommand.self, StoresCommand.self, MigrateCommand.self,
        ]
    )

    /// Exit status 2 for unusable arguments (ArgumentParser's own default is 64).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileStream.standardError.write(fullMessage(for: error) + "\n")
                exit(withError: ExitCode.unusableInput)
            }
            exit(withError: error)
        }
    }
}

extension ExitCode {
    /// Rows were rejected, or a check found mismatches.
    static let rowsRejected = ExitCode(1)
    /// Arguments or an input file could not be used.
    static let unusableInput = ExitCode(2)
}
