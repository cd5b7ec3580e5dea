import ArgumentParser
import Foundation

/// `make bench`: generates inputs, runs the release `shelftag` on them and prints figures beside a baseline measured
/// in the same run. Figures, not assertions: targets are compared in the output.
@main
struct ShelfTagBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ShelfTagBench",
        abstract: "Time shelftag against the simplest tool a retailer could use instead, in the same run.",
        discussion: "Each benchmark prints its figures, its baseline and the target. `make bench` runs them all; `make soak` runs --only soak.")

    /// The benchmarks, in the order they run.
    enum Benchmark: String, ExpressibleByArgument, CaseIterable {
        case `import`, render, resolver, parity, chain, soak
    }

    @Option(help: ArgumentHelp("The shelftag binary to time.", valueName: "path"))
    var shelftag = ".build/release/shelftag"

    @Option(help: ArgumentHelp("Where inputs and outputs go.", valueName: "dir"))
    var work = "bench-out"

    @Option(help: ArgumentHelp("Product rows for the import, parity and chain benchmarks.", valueName: "n"))
    var rows = 1_000_000

    @Option(help: ArgumentHelp("Tags for the render benchmark.", valueName: "n"))
    var tags = 10_000

    @Option(help: ArgumentHelp("Run only this benchmark (soak: make soak's campaign, not part of the others).", valueName: "name"))
    var only: Benchmark?

    /// Run as a child: fill this database's print ledger and exit, so the bench's own memory does not count in the
    /// peak of the processes it measures (Linux carries the parent's peak into a spawned child).
    @Option(name: .customLong("record-prints"), help: .hidden)
    var recordPrintsDatabase: String?

    func validate() throws {
        guard rows > 0, tags > 0 else { throw ValidationError("--rows and --tags must be positive") }
    }

    func run() async throws {
        let options = BenchOptions(shelftag: shelftag, work: work, rows: rows, tags: tags)
        if let recordPrintsDatabase {
            try await recordBenchPrints(database: recordPrintsDatabase)
            return
        }
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        if only == .soak {
            try soak(options)
            return
        }
        let benchmarks: [(Benchmark, (BenchOptions) throws -> Void)] = [
            (.import, benchImport), (.render, benchRender), (.resolver, benchResolver), (.parity, benchParity), (.chain, benchChain),
        ]
        // Each bench starts with the previous one's writes on disk: render's own sync() would otherwise flush the
        // import's 300 MB database and count it as rendering time.
        for (benchmark, bench) in benchmarks where only == nil || only == benchmark {
            sync()
            try bench(options)
        }
    }
}

/// What every benchmark is given.
struct BenchOptions {
    let shelftag: String
    let work: String
    let rows: Int
    let tags: Int
}
