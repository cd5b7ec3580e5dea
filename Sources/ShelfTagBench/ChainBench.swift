import Foundation

/// PostgreSQL beside SQLite in the same run: the import against `psql \copy`, the resolver against the same
/// resolver on SQLite, round trips per page, two resolvers at once, reservations over two resolvers.
/// Needs the throwaway cluster `make bench` starts (`$SHELFTAG_TEST_POSTGRES_URL`).
func benchChain(_ options: BenchOptions) throws {
    guard let cluster = ProcessInfo.processInfo.environment["SHELFTAG_TEST_POSTGRES_URL"],
        let bin = ProcessInfo.processInfo.environment["SHELFTAG_TEST_POSTGRES_BIN"]
    else {
        print("\n== Chain: no PostgreSQL cluster (make bench runs the bench under Tests/with-postgres.sh)")
        return
    }
    let psql = bin + "/psql"
    let directory = "\(options.work)/chain"
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    func database(_ name: String) throws -> String {
        _ = try run(psql, [cluster, "-qc", "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"])
        _ = try run(psql, [cluster, "-qc", "CREATE DATABASE \(name)"])
        return cluster.replacingOccurrences(of: "/postgres?", with: "/\(name)?")
    }

    // Import: the same TSV as the SQLite import bench.
    let feed = "\(options.work)/products-\(options.rows).tsv"
    if !FileManager.default.fileExists(atPath: feed) {
        print("generating \(options.rows) rows in \(feed)…")
        try writeProductFeed(rows: options.rows, to: feed)
    }
    print("\n== Chain: PostgreSQL (a throwaway local cluster, fsync off) beside SQLite, same run")
    func rate(_ measured: Measurement) -> Double { Double(options.rows) / measured.seconds }
    // The header line only: reading the whole feed here would make the bench's own peak memory the import's (a
    // spawned child starts with its parent's peak on Linux).
    guard let handle = FileHandle(forReadingAtPath: feed), let start = try handle.read(upToCount: 64 * 1024) else { throw POSIXError(.EIO) }
    try handle.close()
    let header = String(decoding: start, as: UTF8.self).prefix { $0 != "\n" }.split(separator: "\t")
    let raw = try database("bench_copy")
    _ = try run(psql, [raw, "-qc", "CREATE TABLE raw (\(header.map { "\($0) text" }.joined(separator: ", ")))"])
    let body = "\(directory)/body.tsv"
    _ = try run("/usr/bin/tail", ["-n", "+2", feed], stdoutTo: body)
    var copies: [Double] = []
    var imports: [Double] = []
    var loaded = ""
    for attempt in 1...3 {
        _ = try run(psql, [raw, "-qc", "TRUNCATE raw"])
        let copy = try run(psql, [raw, "-qc", "\\copy raw FROM '\(body)'"])
        copies.append(rate(copy))
        let target = try database("bench_import")
        loaded = target
        let imported = try run(options.shelftag, ["import", "--db", target, "--as-of", "2026-11-20T06:00Z", feed])
        imports.append(rate(imported))
        print(
            String(
                format: "import    run %d: shelftag %8.0f rows/s (%5.1f MB peak, exit %d)   psql \\copy, no index %8.0f rows/s   ratio %.2f", attempt,
                rate(imported), imported.peakMegabytes, imported.status, rate(copy), rate(imported) / rate(copy)))
    }
    let ratios = zip(imports, copies).map { $0 / $1 }
    print(String(format: "import    ratio %.2f–%.2f over 3 runs; target ≥ 0.5 × \\copy", ratios.min() ?? 0, ratios.max() ?? 0))
    try benchFeeds(options, postgres: loaded, products: feed, directory: directory)
    // The rounds below measure resolvers, not PostgreSQL's upkeep of the millions of rows loaded above: those
    // references go, and their writes are checkpointed now rather than during a round. (The line printed says whether
    // autovacuum had started on them.)
    let upkeep = "\(directory)/autovacuum.txt"
    _ = try run(psql, [cluster, "-Atc", "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"], stdoutTo: upkeep)
    let workers = (try? String(contentsOfFile: upkeep, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
    for name in ["bench_copy", "bench_import"] { _ = try run(psql, [cluster, "-qc", "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"]) }
    _ = try run(psql, [cluster, "-qc", "CHECKPOINT"])
    print("context   autovacuum workers at work on the loaded references when they were dropped: \(workers)")

    // The resolver on each backend, the samples loaded the same way.
    guard let wrk = which("wrk") else {
        print("resolver  wrk is not installed (make bench installs it)")
        return
    }
    let sqlite = "\(directory)/resolver.sqlite"
    let postgres = try database("bench_resolver")
    let stocks = try writeReservationStocks(in: directory)
    for db in [sqlite, postgres] {
        let loaded = try run(
            options.shelftag,
            [
                "import", "--db", db, "--as-of", "2026-11-20T06:00Z", "Samples/stores.csv", "Samples/products.xml", "Samples/local_inventory.tsv",
                "Samples/product_reviews.xml", stocks,
            ])
        guard loaded.status == 0 else { throw POSIXError(.EIO) }
    }
    try """
    math.randomseed(42)
    local gtins = {"03760001001983", "03760001000634", "03760001018189", "00000091068200", "00070001036094"}
    request = function()
      return wrk.format("GET", "/01/" .. gtins[math.random(#gtins)] .. "?s=PAR01", {["Accept"] = "application/json"})
    end
    """.write(toFile: "\(directory)/json.lua", atomically: true, encoding: .utf8)
    try writeReservationScripts(in: directory)

    func serve(_ db: String, port: Int) throws -> pid_t {
        let log = "\(directory)/serve-\(port).log"
        let pid = try spawn(
            options.shelftag, ["serve", "--db", db, "--port", String(port), "--reservations-per-minute", "0", "--log-level", "warning"], stderrTo: log)
        for _ in 0..<100 {
            usleep(100_000)
            if (try? String(contentsOfFile: log, encoding: .utf8))?.contains("listening") ?? false { return pid }
        }
        throw POSIXError(.ETIMEDOUT)
    }
    func stop(_ pid: pid_t) {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
    func line(_ label: String, _ result: LoadResult) -> String {
        String(format: "%@ %9.0f req/s   p99 %6.2f ms   %d errors", label, result.perSecond, result.p99Milliseconds, result.non2xx)
    }
    let onSQLite = try serve(sqlite, port: 18_090)
    let onPostgres = try serve(postgres, port: 18_091)
    defer {
        stop(onSQLite)
        stop(onPostgres)
    }
    for round in 1...3 {
        let lite = try runWrk(wrk, url: "http://127.0.0.1:18090", script: "\(directory)/json.lua", seconds: 5, work: options.work)
        let pg = try runWrk(wrk, url: "http://127.0.0.1:18091", script: "\(directory)/json.lua", seconds: 5, work: options.work)
        print(line("resolve   run \(round) SQLite    ", lite))
        print(line("resolve   run \(round) PostgreSQL", pg) + String(format: "   ratio %.2f (target ≥ 0.9)", pg.perSecond / lite.perSecond))
    }

    // Round trips per page, read from the PostgreSQL resolver's /metrics.
    func roundTrips() -> Int {
        let file = "\(directory)/metrics.txt"
        guard (try? run("/usr/bin/curl", ["-s", "http://127.0.0.1:18091/metrics"], stdoutTo: file)) != nil,
            let text = try? String(contentsOfFile: file, encoding: .utf8)
        else { return -1 }
        let line = text.split(separator: "\n").first { $0.hasPrefix("shelftag_database_round_trips_total ") }
        return line.flatMap { Int($0.split(separator: " ")[1]) } ?? -1
    }
    func fetch(_ path: String) {
        _ = try? run("/usr/bin/curl", ["-s", "-H", "Accept: application/json", "http://127.0.0.1:18091" + path])
    }
    fetch("/01/03760001001983?s=PAR01&t=CACHED")
    var before = roundTrips()
    for _ in 0..<200 { fetch("/01/03760001001983?s=PAR01&t=CACHED") }
    // Each /metrics read is not a query; the version watch's polls run on a connection of its own and are not counted.
    let cached = Double(roundTrips() - before) / 200
    before = roundTrips()
    for index in 0..<200 { fetch("/01/03760001001983?s=PAR01&t=U\(index)") }
    let uncached = Double(roundTrips() - before) / 200
    print(String(format: "trips     round trips to PostgreSQL per page: cached %.2f, uncached %.2f (target 0 and ≤ 3)", cached, uncached))

    // Every request a page no cache holds (a tag id of its own): what a chain's long tail of scans costs each backend.
    try """
    local threads = 0
    function setup(thread)
      threads = threads + 1
      thread:set("id", threads)
    end
    local n = 0
    request = function()
      n = n + 1
      return wrk.format("GET", "/products/03760001001983?s=PAR01&t=U" .. id .. "x" .. n, {["Accept"] = "text/html"})
    end
    """.write(toFile: "\(directory)/uncached.lua", atomically: true, encoding: .utf8)
    for round in 1...2 {
        let lite = try runWrk(wrk, url: "http://127.0.0.1:18090", script: "\(directory)/uncached.lua", seconds: 4, work: options.work)
        let pg = try runWrk(wrk, url: "http://127.0.0.1:18091", script: "\(directory)/uncached.lua", seconds: 4, work: options.work)
        print(line("uncached  run \(round) SQLite    ", lite))
        print(line("uncached  run \(round) PostgreSQL", pg) + String(format: "   ratio %.2f (reported)", pg.perSecond / lite.perSecond))
    }

    // Two resolvers on one reference, loaded at once (the load generators share the 2 cores with both servers).
    let second = try serve(postgres, port: 18_092)
    defer { stop(second) }
    func both(_ script: String, seconds: Int) throws -> (LoadResult, LoadResult) {
        final class Other: @unchecked Sendable { var result: LoadResult? }
        let other = Other()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            other.result = try? runWrk(wrk, url: "http://127.0.0.1:18092", script: script, seconds: seconds, output: "wrk-2.out", work: options.work)
            done.signal()
        }
        let first = try runWrk(wrk, url: "http://127.0.0.1:18091", script: script, seconds: seconds, work: options.work)
        done.wait()
        guard let second = other.result else { throw POSIXError(.EIO) }
        return (first, second)
    }
    let (a, b) = try both("\(directory)/json.lua", seconds: 5)
    print(
        String(
            format: "two       two PostgreSQL resolvers at once: %.0f + %.0f = %.0f req/s (2 cores for both servers, both wrk and PostgreSQL)", a.perSecond,
            b.perSecond, a.perSecond + b.perSecond))
    // Answers while one client posts holds on one product back to back, on the same resolver and on the other one:
    // a hold retires that product's answers only, at once on its own resolver and through the change log on the other
    // (which, before the log, heard of a move at its next poll and retired every answer then: at most 5 times a second).
    // Each run beside runs alone, against their mean.
    var sameResolver = Comparison("resolve req/s while the same resolver takes holds / alone", higherIsBetter: true)
    var otherResolver = Comparison("resolve req/s while the other resolver takes holds / alone", higherIsBetter: true)
    var holdRates: [Double] = []
    for round in 1...2 {
        for (holdPort, name) in [(18_091, "same"), (18_092, "other")] {
            let alone = try runWrk(wrk, url: "http://127.0.0.1:18091", script: "\(directory)/json.lua", seconds: 4, work: options.work)
            let holding = try startWrk(
                wrk, url: "http://127.0.0.1:\(holdPort)", script: "\(directory)/reserve-plenty.lua", seconds: 4, threads: 1, connections: 1,
                output: "wrk-holds.out", work: options.work)
            let beside = try runWrk(wrk, url: "http://127.0.0.1:18091", script: "\(directory)/json.lua", seconds: 4, work: options.work)
            let holds = try holding.result()
            let aloneAgain = try runWrk(wrk, url: "http://127.0.0.1:18091", script: "\(directory)/json.lua", seconds: 4, work: options.work)
            holdRates.append(holds.perSecond)
            let baseline = (alone.perSecond + aloneAgain.perSecond) / 2
            let ratio =
                name == "same" ? sameResolver.add(ours: beside.perSecond, baseline: baseline) : otherResolver.add(ours: beside.perSecond, baseline: baseline)
            let label = name.padding(toLength: 5, withPad: " ", startingAt: 0)
            print(
                line("holds     run \(round) \(label) alone       ", alone) + "\n" + line("holds     run \(round) \(label) while holds ", beside) + "\n"
                    + line("holds     run \(round) \(label) the holds   ", holds) + "\n" + line("holds     run \(round) \(label) alone again ", aloneAgain)
                    + String(format: "   ratio %.2f", ratio))
        }
    }
    let meanHolds = holdRates.reduce(0, +) / Double(holdRates.count)
    print(sameResolver.summary(target: nil) + String(format: " (%.0f holds/s alongside, over all runs)", meanHolds))
    print(otherResolver.summary(target: nil))
    let (p, q) = try both("\(directory)/reserve-plenty.lua", seconds: 5)
    print(
        String(
            format: "reserve   two resolvers, stock never runs out: %.0f + %.0f = %.0f reservations/s, %d errors (target ≥ 1,000/s)", p.perSecond, q.perSecond,
            p.perSecond + q.perSecond, p.non2xx + q.non2xx))
    let (x, y) = try both("\(directory)/reserve-contended.lua", seconds: 5)
    let attempts = x.requests + y.requests
    _ = try run(
        psql,
        [
            postgres, "-qAt", "-c",
            "SELECT count(*), coalesce(sum(quantity), 0), (SELECT on_hand FROM store_offer WHERE store_code = 'PAR01' AND gtin = '03760001000634') FROM reservation WHERE gtin = '03760001000634' AND status = 'held'",
        ], stdoutTo: "\(directory)/holds.txt")
    let holds = ((try? String(contentsOfFile: "\(directory)/holds.txt", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        .split(separator: "|").compactMap { Int($0) }
    let held = holds.count == 3 ? holds[1] : -1
    let onHand = holds.count == 3 ? holds[2] : -1
    print(
        String(
            format: "reserve   two resolvers, 1,000 in stock: %d held of %d on hand after %d attempts: oversold %d (target 0)", held, onHand, attempts,
            max(0, held - onHand)))

    // Last, as it adds 500 stores: a product a chain's hundreds of stores list, every page read anew. Its page reads
    // every store that lists it (stock nearby).
    var stores = "code,name,address,latitude,longitude,timezone,locale,opening_hours\n"
    var inventory = "store code\tid\tquantity\tprice\tavailability\n"
    for index in 0..<500 {
        let code = String(format: "B%03d", index)
        let latitude = 43 + Double(index % 50) * 0.12
        let longitude = -1 + Double(index / 50) * 0.7
        stores += "\(code),Bench store \(index),\"\(index) rue Exemple\",\(latitude),\(longitude),Europe/Paris,fr-FR,Mo-Sa 10:00-20:00; Su 11:00-19:00\n"
        inventory += "\(code)\tFR-EPI-0003\t\(index % 30)\t\(String(format: "%.2f", 2 + Double(index % 40) / 10)) EUR\tin stock\n"
    }
    try stores.write(toFile: "\(directory)/stores-500.csv", atomically: true, encoding: .utf8)
    try inventory.write(toFile: "\(directory)/inventory-500.tsv", atomically: true, encoding: .utf8)
    for db in [sqlite, postgres] {
        let loaded = try run(options.shelftag, ["import", "--db", db, "\(directory)/stores-500.csv", "\(directory)/inventory-500.tsv"])
        guard loaded.status == 0 else { throw POSIXError(.EIO) }
    }
    try String(contentsOfFile: "\(directory)/uncached.lua", encoding: .utf8).replacingOccurrences(of: "03760001001983", with: "03760001001150")
        .write(toFile: "\(directory)/uncached-500.lua", atomically: true, encoding: .utf8)
    // Both resolvers see the import within their freshness bound.
    sleep(1)
    for round in 1...2 {
        let lite = try runWrk(wrk, url: "http://127.0.0.1:18090", script: "\(directory)/uncached-500.lua", seconds: 4, work: options.work)
        let pg = try runWrk(wrk, url: "http://127.0.0.1:18091", script: "\(directory)/uncached-500.lua", seconds: 4, work: options.work)
        print(line("504 stores run \(round) SQLite ", lite))
        print(line("504 stores run \(round) Postgres", pg) + String(format: "   ratio %.2f (reported)", pg.perSecond / lite.perSecond))
    }
}

/// The other feeds into a reference of the bench's products, PostgreSQL (`postgres`, holding them) beside a SQLite
/// reference loaded with the same feed: a local inventory of one offer per product in each of two stores (first load,
/// then again unchanged), and a reviews feed of one review per ten products. Reported, no target.
func benchFeeds(_ options: BenchOptions, postgres: String, products: String, directory: String) throws {
    let sqlite = "\(directory)/feeds.sqlite"
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: sqlite + suffix) }
    guard try run(options.shelftag, ["import", "--db", sqlite, "--as-of", "2026-11-20T06:00Z", products]).status == 0 else { throw POSIXError(.EIO) }
    let inventory = "\(directory)/inventory.tsv"
    let inventoryFile = try ChunkedFile(inventory)
    inventoryFile.append("store code\tid\tquantity\tprice\tavailability\tpickup method\tpickup sla\n")
    for store in ["PAR01", "LYO02"] {
        for index in 0..<options.rows {
            let quantity = index % 40
            inventoryFile.append(
                "\(store)\tBENCH-\(index)\t\(quantity)\t\(1 + index % 50).99 EUR\t\(quantity > 0 ? "in stock" : "out of stock")\treserve\tsame day\n")
        }
    }
    try inventoryFile.close()
    let reviews = "\(directory)/reviews.xml"
    let reviewCount = options.rows / 10
    let reviewsFile = try ChunkedFile(reviews)
    reviewsFile.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed>\n<version>2.4</version>\n<publisher><name>Bench</name></publisher>\n<reviews>\n")
    for index in 0..<reviewCount {
        reviewsFile.append(
            """
            <review><review_id>B-\(index)</review_id><reviewer><name>Client \(index)</name></reviewer>\
            <review_timestamp>2026-10-02T09:01:00Z</review_timestamp><title>Avis \(index)</title><content>Très bon, numéro \(index).</content>\
            <ratings><overall min="1" max="5">\(index % 5 + 1)</overall></ratings>\
            <products><product><product_ids><gtins><gtin>\(benchGTIN(index * 7 % options.rows))</gtin></gtins></product_ids></product></products></review>

            """)
    }
    reviewsFile.append("</reviews>\n</feed>\n")
    try reviewsFile.close()

    print("feeds     into a reference of \(options.rows) products: PostgreSQL beside SQLite (seconds, peak MB)")
    for db in [postgres, sqlite] {
        guard try run(options.shelftag, ["import", "--db", db, "Samples/stores.csv"]).status == 0 else { throw POSIXError(.EIO) }
    }
    let steps: [(label: String, arguments: [String])] = [
        ("inventory, \(2 * options.rows) offers, first load", ["--as-of", "2026-11-20T06:00Z", inventory]),
        ("inventory again, unchanged", ["--as-of", "2026-11-21T06:00Z", inventory]),
        ("reviews, \(reviewCount)", [reviews]),
    ]
    for step in steps {
        let onPostgres = try run(options.shelftag, ["import", "--db", postgres] + step.arguments)
        let onSQLite = try run(options.shelftag, ["import", "--db", sqlite] + step.arguments)
        print(
            String(
                format: "feeds     %@: PostgreSQL %6.2f s (%5.1f MB, exit %d)   SQLite %6.2f s (%5.1f MB, exit %d)   PostgreSQL at %.2f × SQLite's speed",
                step.label.padding(toLength: 38, withPad: " ", startingAt: 0), onPostgres.seconds, onPostgres.peakMegabytes, onPostgres.status,
                onSQLite.seconds, onSQLite.peakMegabytes, onSQLite.status, onSQLite.seconds / onPostgres.seconds))
    }
}
