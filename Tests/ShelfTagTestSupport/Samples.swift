import Foundation
import ShelfTagDomain
import ShelfTagImport
import ShelfTagStorage

/// The repository's `Samples/` folder.
public let samples = repository.appendingPathComponent("Samples")
public let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

public func sample(_ name: String) -> String { samples.appendingPathComponent(name).path }
public func time(_ text: String) throws -> Date { try Timestamp.parse(text).date }

/// A new empty folder under the temporary directory.
public func newDirectory() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shelftag-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

/// A new database file in its own temporary folder.
public func newDatabasePath() throws -> String {
    try newDirectory().appendingPathComponent("shelftag.sqlite").path
}

/// A web offer of `gtin`, in stock, at `cents` euro cents.
public func euroOffer(of gtin: GTIN, cents: Int64) throws -> WebOffer {
    WebOffer(
        gtin: gtin, pricing: try Pricing(price: Money(minorUnits: cents, currency: Currency(code: "EUR"))), availability: .inStock,
        link: "https://shop.example.com/p/\(gtin.digits)")
}

/// Runs an import and collects what it rejects.
public func runImport(
    _ paths: [String], into reference: any ProductReference, asOf: String, skipInvalid: Bool = false
) async throws -> (ImportReport, [String]) {
    var rejected: [String] = []
    let report = try await Importer(reference: reference).run(
        paths: paths, options: ImportOptions(asOf: try time(asOf), skipInvalid: skipInvalid), rejected: { rejected.append($0.description) })
    return (report, rejected)
}

/// A sample import that did not load cleanly.
public struct SampleLoadError: Error, CustomStringConvertible {
    public let rejected: [String]
    public init(rejected: [String]) { self.rejected = rejected }
    public var description: String { "the samples did not load: \(rejected)" }
}

/// The sample history, then the current feeds as of 2026-11-20, as `make demo` loads them.
public func loadSamples(into reference: any ProductReference) async throws {
    let steps: [([String], String)] = [
        (["stores.csv", "history/products-2026-10-01.tsv", "history/local_inventory-2026-10-01.tsv"], "2026-10-01T06:00Z"),
        (["history/products-2026-10-25.tsv", "history/local_inventory-2026-10-25.tsv"], "2026-10-25T06:00Z"),
        (["stores.csv", "products.xml", "local_inventory.tsv", "product_reviews.xml"], "2026-11-20T06:00Z"),
    ]
    for (files, asOf) in steps {
        let (report, rejected) = try await runImport(files.map(sample), into: reference, asOf: asOf)
        guard rejected.isEmpty, report.committed else { throw SampleLoadError(rejected: rejected) }
    }
}

/// A database holding the samples, made once per test process and copied for each test that changes it.
public func sampleDatabase() async throws -> String {
    let path = try newDatabasePath()
    try FileManager.default.copyItem(atPath: try await SampleDatabase.shared.path(), toPath: path)
    return path
}

private actor SampleDatabase {
    static let shared = SampleDatabase()
    /// One load for every caller, the first one's.
    private var making: Task<String, any Error>?

    func path() async throws -> String {
        if let making { return try await making.value }
        let task = Task {
            let path = try newDatabasePath()
            // Closing the last connection folds the WAL into the file, so one file is all there is to copy.
            do { try await loadSamples(into: try SQLiteProductReference(path: path)) }
            return path
        }
        making = task
        return try await task.value
    }
}

/// A sample TSV file as rows of column → value.
public func readTSV(_ name: String) throws -> [[String: String]] {
    let lines = try String(contentsOfFile: sample(name), encoding: .utf8).split(separator: "\n").map {
        $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
    }
    return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(lines[0], $0)) }
}
