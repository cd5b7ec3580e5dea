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
        try writeParityInventory(stores: 1...4, products: products, to: "\(directory)/inventory.tsv")
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
    try benchParityAgainstResolver(options, directory: directory)
}

/// `parity --resolver` over 10,000 offers of one store, beside wrk asking the same resolver for the same answers with
/// as many requests in flight (16), each against a resolver started afresh (no answer cached): what parity's client
/// and checks cost over the resolver's own work.
func benchParityAgainstResolver(_ options: BenchOptions, directory: String) throws {
    guard let wrk = which("wrk") else { return print("\n== Parity against a live resolver: wrk is not installed (make bench installs it)") }
    let offers = 10_000
    let database = "\(directory)/live.sqlite"
    if !FileManager.default.fileExists(atPath: database) {
        // The parity bench's first products, in store S4 alone.
        try writeProductFeed(rows: offers, to: "\(directory)/live-products.tsv")
        try writeParityInventory(stores: 4...4, products: offers, to: "\(directory)/live-inventory.tsv")
        let loaded = try run(
            options.shelftag,
            [
                "import", "--db", database, "--as-of", "2026-11-20T06:00Z", "\(directory)/stores.csv", "\(directory)/live-products.tsv",
                "\(directory)/live-inventory.tsv",
            ])
        guard loaded.status == 0 else { throw POSIXError(.EIO) }
    }
    // The same answers parity asks for, each with a tag id of its own: every one computed, as parity's are from a
    // resolver just started.
    let gtins = (0..<offers).map { "\"0\(benchGTIN($0))\"" }.joined(separator: ",")
    try """
    local gtins = {\(gtins)}
    local n = 0
    request = function()
      n = n + 1
      return wrk.format("GET", "/01/" .. gtins[(n - 1) % #gtins + 1] .. "?s=S4&t=W" .. n, {["Accept"] = "application/json"})
    end
    """.write(toFile: "\(directory)/live.lua", atomically: true, encoding: .utf8)
    let port = 18_085
    let base = "http://127.0.0.1:\(port)"
    func withResolver<T>(_ body: () throws -> T) throws -> T {
        let log = "\(directory)/serve.log"
        let server = try spawn(options.shelftag, ["serve", "--db", database, "--port", String(port), "--log-level", "error"], stderrTo: log)
        defer {
            kill(server, SIGTERM)
            var status: Int32 = 0
            waitpid(server, &status, 0)
        }
        for _ in 0..<100 where (try? String(contentsOfFile: log, encoding: .utf8))?.contains("listening") != true { usleep(100_000) }
        return try body()
    }
    print("\n== Parity against a live resolver: \(offers) offers of store S4, 16 requests in flight, a fresh resolver each time, all on 2 cores")
    var comparison = Comparison("parity --resolver answers/s / wrk on the same URLs", higherIsBetter: true)
    for attempt in 1...3 {
        let measured = try withResolver {
            try run(
                options.shelftag, ["parity", "--db", database, "--resolver", base, "--store", "S4", "--format", "json"],
                stdoutTo: "\(directory)/live-report.json")
        }
        let perSecond = Double(offers) / measured.seconds
        print(
            String(
                format: "shelftag  parity --resolver (run %d)  %6.2f s   %7.0f answers/s   %6.1f MB peak   exit %d", attempt, measured.seconds, perSecond,
                measured.peakMegabytes, measured.status))
        let baseline = try withResolver {
            try runWrk(wrk, url: base, script: "\(directory)/live.lua", seconds: 4, threads: 1, connections: 16, work: directory)
        }
        print(
            String(
                format: "baseline  wrk, the same answers, 4 s           %7.0f req/s   %d requests, %d errors", baseline.perSecond, baseline.requests,
                baseline.non2xx))
        print(String(format: "run %d     ratio %.2f", attempt, comparison.add(ours: perSecond, baseline: baseline.perSecond)))
    }
    print(comparison.summary(target: nil))
    let report = (try? String(contentsOfFile: "\(directory)/live-report.json", encoding: .utf8)) ?? ""
    print(
        "report    \(report.components(separatedBy: "\"rule\" : \"resolver-answer\"").count - 1) resolver-answer mismatches (the resolver serves the same reference: 0)"
    )
}

/// The inventory of `products` bench products in each of `stores` (`S1`…): every 1,000th offer in store 4 has its own
/// price, a mismatch to report.
func writeParityInventory(stores: ClosedRange<Int>, products: Int, to path: String) throws {
    let file = try ChunkedFile(path)
    file.append("store_code\tid\tquantity\tprice\tavailability\n")
    for store in stores {
        for index in 0..<products {
            let price = store == 4 && index % 1000 == 0 ? "0.50 EUR" : ""
            file.append("S\(store)\tBENCH-\(index)\t\(index % 9)\t\(price)\t\(index % 9 == 0 ? "out_of_stock" : "in_stock")\n")
        }
    }
    try file.close()
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
