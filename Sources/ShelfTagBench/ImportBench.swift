import Foundation
import ShelfTagDomain
import ShelfTagStorage

/// A Merchant Center TSV feed of `rows` grocery items with valid GTINs, unit pricing and some sales.
/// The GTIN-13 of the bench feed's product `index` (its item id is `BENCH-index`).
func benchGTIN(_ index: Int) -> String {
    let body = ("376" + String(format: "%09d", index)).utf8.map { $0 - UInt8(ascii: "0") }
    return body.map(String.init).joined() + String(GTIN.checkDigit(forBody: body))
}

/// A file written a mebibyte at a time: the bench's own peak memory stays small (a spawned child starts with its
/// parent's peak on Linux, and would report it).
final class ChunkedFile {
    private let handle: FileHandle
    private var chunk = ""

    init(_ path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    }

    func append(_ text: String) {
        chunk += text
        if chunk.utf8.count > 1 << 20 {
            handle.write(Data(chunk.utf8))
            chunk = ""
        }
    }

    func close() throws {
        handle.write(Data(chunk.utf8))
        chunk = ""
        try handle.close()
    }
}

func writeProductFeed(rows: Int, to path: String) throws {
    let file = try ChunkedFile(path)
    file.append(
        "id\ttitle\tdescription\tlink\timage_link\tavailability\tprice\tsale_price\tsale_price_effective_date\tgtin\tbrand\tcondition\tproduct_type\tunit_pricing_measure\tunit_pricing_base_measure\n"
    )
    for index in 0..<rows {
        let gtin = benchGTIN(index)
        let cents = 99 + (index * 37) % 2000
        let price = "\(cents / 100).\(String(format: "%02d", cents % 100)) EUR"
        let onSale = index % 10 == 0
        let sale = onSale ? "\((cents * 8 / 10) / 100).\(String(format: "%02d", (cents * 8 / 10) % 100)) EUR" : ""
        let window = onSale ? "2026-11-16T08:00+0100/2026-12-14T20:00+0100" : ""
        file.append(
            "BENCH-\(index)\tConfiture extra fraises n°\(index) 370 g\tConfiture extra de fraises, 55 g de fruits pour 100 g.\thttps://shop.example.com/p/\(index)\thttps://img.example.com/p/\(index).jpg\tin_stock\t\(price)\t\(sale)\t\(window)\t\(gtin)\tLes Vergers d'Aurore\tnew\tÉpicerie sucrée > Confitures\t370g\t1kg\n"
        )
    }
    try file.close()
}

func benchImport(_ options: BenchOptions) throws {
    let feed = "\(options.work)/products-\(options.rows).tsv"
    if !FileManager.default.fileExists(atPath: feed) {
        print("generating \(options.rows) rows in \(feed)…")
        try writeProductFeed(rows: options.rows, to: feed)
    }
    let megabytes = Double((try FileManager.default.attributesOfItem(atPath: feed)[.size] as? Int) ?? 0) / 1_048_576

    print("\n== Import: \(options.rows) rows of Merchant Center TSV (\(String(format: "%.0f", megabytes)) MB)")
    func rowsPerSecond(_ measurement: Measurement) -> String { String(format: "%9.0f rows/s", Double(options.rows) / measurement.seconds) }
    let database = "\(options.work)/shelftag.sqlite"
    func removeDatabase() {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
    }
    func report(_ label: String, _ measured: Measurement) {
        let figures = String(format: "%6.2f s  %6.1f MB peak", measured.seconds, measured.peakMegabytes)
        print("shelftag  \(label.padding(toLength: 41, withPad: " ", startingAt: 0))\(rowsPerSecond(measured))  \(figures)  exit \(measured.status)")
    }
    // An existing empty database takes the write-ahead log path that every later import takes.
    removeDatabase()
    _ = try run(options.shelftag, ["products", "list", "--db", database])
    report("import into an existing empty database", try run(options.shelftag, ["import", "--db", database, "--as-of", "2026-11-20T06:00Z", feed]))
    // The baseline and a new database in turn, three times: the machine's noise lands on both.
    var comparison = Comparison("import rows/s, new database / sqlite3 .import", higherIsBetter: true)
    if let sqlite = which("sqlite3") {
        let baselineDB = "\(options.work)/baseline.sqlite"
        let script = "\(options.work)/baseline.sql"
        try ".mode tabs\n.import \(feed) raw\n".write(toFile: script, atomically: true, encoding: .utf8)
        for attempt in 1...3 {
            try? FileManager.default.removeItem(atPath: baselineDB)
            let baseline = try run(sqlite, [baselineDB], stdin: script)
            print(
                "baseline  sqlite3 .import (no parsing, no index)  \(rowsPerSecond(baseline))  \(String(format: "%6.2f s  %6.1f MB peak", baseline.seconds, baseline.peakMegabytes))"
            )
            removeDatabase()
            let imported = try run(options.shelftag, ["import", "--db", database, "--as-of", "2026-11-20T06:00Z", feed])
            report("import, new database (run \(attempt))", imported)
            print(String(format: "run %d     ratio %.2f", attempt, comparison.add(ours: 1 / imported.seconds, baseline: 1 / baseline.seconds)))
        }
    }
    report("re-import, nothing changed", try run(options.shelftag, ["import", "--db", database, "--as-of", "2026-11-21T06:00Z", feed]))
    print(comparison.summary(target: 1.5))
    print("target    ≥ 150000 rows/s, < 300 MB peak")
}
