import Foundation
import ShelfTagDomain
import ShelfTagStorage

/// The store-against-web and tag rules over 1,000,000 store offers: 250,000 products in 4 stores.
func benchParity(_ options: BenchOptions) throws {
    let directory = "\(options.work)/parity"
    let database = "\(directory)/parity.sqlite"
    let products = 250_000
    if !FileManager.default.fileExists(atPath: database) {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        print("\ngenerating and importing \(products) products in 4 stores (once; kept in \(directory))…")
        try writeProductFeed(rows: products, to: "\(directory)/products.tsv")
        var stores = "code,name,address,latitude,longitude,timezone,locale\n"
        for store in 1...4 { stores += "S\(store),Store \(store),\(store) rue,48.\(store),2.3,Europe/Paris,fr-FR\n" }
        try stores.write(toFile: "\(directory)/stores.csv", atomically: true, encoding: .utf8)
        guard FileManager.default.createFile(atPath: "\(directory)/inventory.tsv", contents: nil) else { throw CocoaError(.fileWriteUnknown) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(directory)/inventory.tsv"))
        var chunk = "store_code\tid\tquantity\tprice\tavailability\n"
        for store in 1...4 {
            for index in 0..<products {
                // Every 1,000th offer in store 4 has its own price: mismatches to report.
                let price = store == 4 && index % 1000 == 0 ? "0.50 EUR" : ""
                chunk += "S\(store)\tBENCH-\(index)\t\(index % 9)\t\(price)\t\(index % 9 == 0 ? "out_of_stock" : "in_stock")\n"
                if chunk.utf8.count > 1 << 20 {
                    handle.write(Data(chunk.utf8))
                    chunk = ""
                }
            }
        }
        handle.write(Data(chunk.utf8))
        try handle.close()
        let loaded = try run(
            options.shelftag,
            ["import", "--db", database, "--as-of", "2026-11-20T06:00Z", "\(directory)/stores.csv", "\(directory)/products.tsv", "\(directory)/inventory.tsv"])
        guard loaded.status == 0 else { throw POSIXError(.EIO) }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        guard try run(executable, ["--record-prints", database]).status == 0 else { throw POSIXError(.EIO) }
    }
    print("\n== Parity: store-against-web, tag, availability and discount rules over \(products * 4) store offers and printed tags")
    // A floor: the same walk as one SQL statement (offers joined to products, the newest ledger row per tag) that only
    // counts differing prices, with no pricing rules, sale windows, prior prices or tag ids. The two in turn, three times.
    let floor = """
        SELECT count(*) FROM store_offer o JOIN product p ON p.gtin = o.gtin
        LEFT JOIN (SELECT gtin, store_code, price, max(printed_at * 1000000000 + id) FROM print_ledger GROUP BY gtin, store_code) l
            ON l.gtin = o.gtin AND l.store_code = o.store_code
        WHERE coalesce(o.price, p.price) != p.price OR l.price IS NOT coalesce(o.price, p.price)
        """
    var comparison = Comparison("parity seconds / the one SQL join", higherIsBetter: false)
    for attempt in 1...3 {
        let measured = try run(
            options.shelftag, ["parity", "--db", database, "--at", "2026-11-23T10:00Z", "--format", "json"], stdoutTo: "\(directory)/report.json")
        print(
            String(format: "shelftag  parity (run %d)   %6.2f s   %6.1f MB peak   exit %d", attempt, measured.seconds, measured.peakMegabytes, measured.status))
        guard let sqlite = which("sqlite3") else { continue }
        let baseline = try run(sqlite, [database, floor], stdoutTo: "\(directory)/baseline.txt")
        print(String(format: "baseline  sqlite3 one SQL join  %6.2f s   %6.1f MB peak", baseline.seconds, baseline.peakMegabytes))
        print(String(format: "run %d     ratio %.2f", attempt, comparison.add(ours: measured.seconds, baseline: baseline.seconds)))
    }
    print(comparison.summary(target: 1.5))
    let report = (try? String(contentsOfFile: "\(directory)/report.json", encoding: .utf8)) ?? ""
    print(
        "report    \(report.components(separatedBy: "\"rule\" : \"store-web-price\"").count - 1) store-web-price mismatches (planted: every 1,000th offer of store S4, 250)"
    )
    print(
        "report    \(report.components(separatedBy: "\"rule\" : \"stale-tag\"").count - 1) stale-tag mismatches (planted: every 1,000th tag of store S1, 250)")
    print("target    < 10 s and < 500 MB")
}

/// Fills the print ledger as if every store had printed every tag through the storage interface that
/// `shelftag render` uses, every 1,000th tag of S1 showing a cent more than the shelf: stale tags to report.
func recordBenchPrints(database: String) async throws {
    let reference = try SQLiteProductReference(path: database)
    let printedAt = try Timestamp.parse("2026-11-21T06:00Z").date
    for code in try await reference.stores().map(\.code) {
        guard let shelf = try await reference.shelf(of: code) else { throw POSIXError(.ENOENT) }
        let tags = shelf.items.enumerated().map { index, item in
            var label = item.label(at: printedAt)
            if code == "S1" && index % 1000 == 0 {
                let shown = Money(minorUnits: label.price.minorUnits + 1, currency: label.price.currency)
                label = ShelfLabel(
                    storeCode: code, gtin: label.gtin, price: shown, regularPrice: nil, priorPrice: nil,
                    unitPrice: item.product.unitPricing?.unitPrice(of: shown), promotionEnd: nil)
            }
            return PrintedTag(label: label, template: "standard", printedAt: printedAt)
        }
        try await reference.recordPrints(tags)
    }
}
