// `make bench`: generates inputs, runs the release `shelftag` on them and prints figures beside a
// baseline measured in the same run. Figures, not assertions: targets are compared in the output.
import Foundation
import ShelfTagDomain
import ShelfTagStorage

struct BenchOptions {
    var shelftag = ".build/release/shelftag"
    var work = "bench-out"
    var rows = 1_000_000
    var tags = 10_000
    /// `import`, `render`, `resolver`, `parity`, `chain`, or all (nil); `soak` runs `make soak`'s campaign instead.
    var only: String?
    /// Internal: fill this database's print ledger and exit (run as a child, so the bench's own memory does not
    /// count in the peak of the processes it measures: Linux carries the parent's peak into a spawned child).
    var recordPrintsDatabase: String?

    init(arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--shelftag": shelftag = iterator.next() ?? shelftag
            case "--work": work = iterator.next() ?? work
            case "--rows": rows = iterator.next().flatMap(Int.init) ?? rows
            case "--tags": tags = iterator.next().flatMap(Int.init) ?? tags
            case "--only": only = iterator.next()
            case "--record-prints": recordPrintsDatabase = iterator.next()
            default:
                print("unknown argument \(argument) (accepted: --shelftag PATH --work DIR --rows N --tags N --only import|render|resolver|parity|chain|soak)")
                exit(2)
            }
        }
    }
}

/// Wall time and peak resident memory of one child process.
struct Measurement {
    let seconds: Double
    let peakMegabytes: Double
    let status: Int32
}

func run(_ executable: String, _ arguments: [String], stdin: String? = nil, stdoutTo: String = "/dev/null", stderrTo: String? = nil) throws -> Measurement {
    let pid = try spawn(executable, arguments, stdin: stdin, stdoutTo: stdoutTo, stderrTo: stderrTo)
    let start = DispatchTime.now()
    var status: Int32 = 0
    var usage = rusage()
    _ = wait4(pid, &status, 0, &usage)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    // ru_maxrss is in KiB on Linux.
    return Measurement(seconds: seconds, peakMegabytes: Double(usage.ru_maxrss) / 1024, status: (status >> 8) & 0xFF)
}

/// Starts a child with standard output to /dev/null (or a file), standard error kept or sent to a file.
func spawn(_ executable: String, _ arguments: [String], stdin: String? = nil, stdoutTo: String = "/dev/null", stderrTo: String? = nil) throws -> pid_t {
    // posix_spawn + wait4 rather than Process: Process reaps the child itself, losing its rusage.
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, stdoutTo, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    if let stderrTo { posix_spawn_file_actions_addopen(&actions, 2, stderrTo, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
    if let stdin { posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0) }
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
    guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EINVAL) }
    return pid
}

func which(_ tool: String) -> String? {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
        let path = "\(directory)/\(tool)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}

/// A Merchant Center TSV feed of `rows` grocery items with valid GTINs, unit pricing and some sales.
func writeProductFeed(rows: Int, to path: String) throws {
    guard FileManager.default.createFile(atPath: path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    var chunk =
        "id\ttitle\tdescription\tlink\timage_link\tavailability\tprice\tsale_price\tsale_price_effective_date\tgtin\tbrand\tcondition\tproduct_type\tunit_pricing_measure\tunit_pricing_base_measure\n"
    for index in 0..<rows {
        let body = (0..<12).map { position in UInt8(("376" + String(format: "%09d", index)).utf8.map { $0 - 48 }[position]) }
        let check = GTIN.checkDigit(forBody: body)
        let gtin = body.map(String.init).joined() + String(check)
        let cents = 99 + (index * 37) % 2000
        let price = "\(cents / 100).\(String(format: "%02d", cents % 100)) EUR"
        let onSale = index % 10 == 0
        let sale = onSale ? "\((cents * 8 / 10) / 100).\(String(format: "%02d", (cents * 8 / 10) % 100)) EUR" : ""
        let window = onSale ? "2026-11-16T08:00+0100/2026-12-14T20:00+0100" : ""
        chunk +=
            "BENCH-\(index)\tConfiture extra fraises n°\(index) 370 g\tConfiture extra de fraises, 55 g de fruits pour 100 g.\thttps://shop.example.com/p/\(index)\thttps://img.example.com/p/\(index).jpg\tin_stock\t\(price)\t\(sale)\t\(window)\t\(gtin)\tLes Vergers d'Aurore\tnew\tÉpicerie sucrée > Confitures\t370g\t1kg\n"
        if chunk.utf8.count > 1 << 20 {
            handle.write(Data(chunk.utf8))
            chunk = ""
        }
    }
    handle.write(Data(chunk.utf8))
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
    if let sqlite = which("sqlite3") {
        let baselineDB = "\(options.work)/baseline.sqlite"
        try? FileManager.default.removeItem(atPath: baselineDB)
        let script = "\(options.work)/baseline.sql"
        try ".mode tabs\n.import \(feed) raw\n".write(toFile: script, atomically: true, encoding: .utf8)
        let baseline = try run(sqlite, [baselineDB], stdin: script)
        print(
            "baseline  sqlite3 .import (no parsing, no index)  \(rowsPerSecond(baseline))  \(String(format: "%6.2f s  %6.1f MB peak", baseline.seconds, baseline.peakMegabytes))"
        )
    }
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
    for attempt in 1...2 {
        removeDatabase()
        report("import, new database (run \(attempt))", try run(options.shelftag, ["import", "--db", database, "--as-of", "2026-11-20T06:00Z", feed]))
    }
    report("re-import, nothing changed", try run(options.shelftag, ["import", "--db", database, "--as-of", "2026-11-21T06:00Z", feed]))
    print("target    ≥ 150000 rows/s, < 300 MB peak")
}

/// 10,000 complete tags for one store, against the qrencode CLI writing a QR-only PNG per URL.
func benchRender(_ options: BenchOptions) throws {
    let directory = "\(options.work)/render"
    // When the last render bench removed its 40,000 files (see `waitForFastFileCreation`): a probe finds the file
    // system fast while the renders can still meet those inodes, so a bench that follows within 8 minutes waits.
    let removedAt = "\(options.work)/render-files-removed-at"
    if let text = try? String(contentsOfFile: removedAt, encoding: .utf8), let time = Double(text) {
        let wait = time + 480 - Date().timeIntervalSince1970
        if wait > 0 {
            print(String(format: "note      the last render bench removed its files %.0f s ago: waiting %.0f s more", 480 - wait, wait))
            Thread.sleep(forTimeInterval: wait)
        }
    }
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let feed = "\(directory)/products.tsv"
    try writeProductFeed(rows: options.tags, to: feed)
    try "code,name,address,latitude,longitude,timezone,locale\nBEN01,Banc d'essai,1 rue du Banc,48.85,2.35,Europe/Paris,fr-FR\n".write(
        toFile: "\(directory)/stores.csv", atomically: true, encoding: .utf8)
    var inventory = "store_code\tid\tquantity\tavailability\n"
    for index in 0..<options.tags { inventory += "BEN01\tBENCH-\(index)\t\(index % 7)\t\(index % 7 == 0 ? "out_of_stock" : "in_stock")\n" }
    try inventory.write(toFile: "\(directory)/inventory.tsv", atomically: true, encoding: .utf8)
    let database = "\(directory)/render.sqlite"
    let loaded = try run(
        options.shelftag, ["import", "--db", database, "--as-of", "2026-11-20T06:00Z", "\(directory)/stores.csv", feed, "\(directory)/inventory.tsv"])
    guard loaded.status == 0 else { throw POSIXError(.EIO) }
    // The catalogue's writes go to disk now, not inside the first run's sync().
    sync()

    print(
        "\n== Render: \(options.tags) tags, 60×40 mm standard (promotions 80×50), 300 dpi, 8-bit grey PNG, on \(ProcessInfo.processInfo.activeProcessorCount) cores"
    )
    try waitForFastFileCreation(in: directory)
    let base = "https://s.shelftag.example"
    var best = Double.infinity
    for attempt in 1...2 {
        let out = "\(directory)/tags-\(attempt)"
        let measured = try run(
            options.shelftag,
            ["render", "--db", database, "--store", "BEN01", "--out", out, "--preview", "--base-url", base, "--at", "2026-11-23T10:00Z"])
        best = min(best, measured.seconds)
        print(
            "shelftag  render (run \(attempt))          \(String(format: "%8.0f tags/s  %6.2f s  %6.1f MB peak", Double(options.tags) / measured.seconds, measured.seconds, measured.peakMegabytes))  exit \(measured.status)"
        )
    }
    // The same tags in one PDF and one ZPL file: what a run for an office or a thermal printer costs.
    for format in ["pdf", "zpl"] {
        let measured = try run(
            options.shelftag,
            [
                "render", "--db", database, "--store", "BEN01", "--out", "\(directory)/tags-\(format)", "--preview", "--base-url", base, "--at",
                "2026-11-23T10:00Z", "--format", format,
            ])
        print(
            "shelftag  render --format \(format)          \(String(format: "%8.0f tags/s  %6.2f s  %6.1f MB peak", Double(options.tags) / measured.seconds, measured.seconds, measured.peakMegabytes))  exit \(measured.status)"
        )
    }
    guard let qrencode = which("qrencode") else {
        print("baseline  qrencode not installed (make bench installs it)")
        return
    }
    // The same URLs the tags carry, from the manifest's url column (names hold no comma in the bench's feed).
    let manifest = try String(contentsOfFile: "\(directory)/tags-1/BEN01/manifest.csv", encoding: .utf8).split(separator: "\n")
    let urlColumn = manifest[0].split(separator: ",").firstIndex(of: "url")!
    let urls = manifest.dropFirst().map { String($0.split(separator: ",", omittingEmptySubsequences: false)[urlColumn]) }
    /// Seconds for the qrencode CLI to write one QR-only PNG per URL, `concurrency` processes at a time.
    func qrencodeRun(_ output: String, concurrency: Int) throws -> Double {
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let start = DispatchTime.now()
        var running: [pid_t] = []
        for (index, url) in urls.enumerated() {
            if running.count == concurrency {
                var status: Int32 = 0
                let finished = wait(&status)
                running.removeAll { $0 == finished }
            }
            running.append(try spawn(qrencode, ["-l", "M", "-s", "6", "-m", "4", "-o", "\(output)/\(index).png", url]))
        }
        for pid in running {
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        return Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
    // The baseline the target is judged against: as many at once as there are cores, as the renderer uses.
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let seconds = try qrencodeRun("\(directory)/qrencode", concurrency: cores)
    let baselineRate = Double(urls.count) / seconds
    print("baseline  qrencode CLI, QR-only PNG each, \(cores) at once  \(String(format: "%8.0f tags/s  %6.2f s", baselineRate, seconds))")
    // For context only: one after another, as a shell loop over the URLs would run it.
    let serialSeconds = try qrencodeRun("\(directory)/qrencode-serial", concurrency: 1)
    print("context   qrencode CLI, one at a time    \(String(format: "%8.0f tags/s  %6.2f s", Double(urls.count) / serialSeconds, serialSeconds))")
    print(
        String(
            format: "ratio     shelftag / baseline: %.1f× (one at a time: %.1f×)", Double(options.tags) / best / baselineRate,
            Double(options.tags) / best / (Double(urls.count) / serialSeconds)))
    print("target    ≥ 1000 tags/s and ≥ 5× the baseline (\(cores) at once)")
    // 40,000 files removed now, rather than at the next bench's start, where their deletion would slow its render.
    let outputs = try FileManager.default.contentsOfDirectory(atPath: directory).filter { name in
        ["tags-", "qrencode", "probe-"].contains { name.hasPrefix($0) }
    }
    for output in outputs { try? FileManager.default.removeItem(atPath: "\(directory)/\(output)") }
    // Clean inode tables shorten the kernel's "recently deleted" window (60 s clean, 360 s dirty).
    sync()
    try String(Date().timeIntervalSince1970).write(toFile: removedAt, atomically: true, encoding: .utf8)
}

/// Waits (up to 10 minutes) until writing a tag-sized file takes about its usual time. On ext4 without a journal, the
/// kernel skips inodes deleted in the last minutes when it creates files, and after a mass deletion (an earlier bench's
/// 40,000 files) creating one took 80–970 µs for about 8 minutes, instead of 13–20: the render figures would measure
/// that. The probe writes as the render does, 1,000 files of 20 kB in a new folder beside the tags' (1,000 empty files
/// elsewhere once read 18 µs while the render beside it ran at half speed), then flushes them: their writeback would
/// otherwise run during the render. It can still pass too early: it takes free inodes that were not deleted, and a
/// render after it may then reach those that were (a second run at 2.8 s after a first at 1.1 s, twice).
func waitForFastFileCreation(in directory: String) throws {
    var probe = 0
    let size = 20_000
    let bytes = [UInt8](repeating: 0x55, count: size)
    /// Microseconds per new file.
    func microsecondsPerFile() -> Double {
        let folder = "\(directory)/probe-\(probe)/BEN01"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let start = DispatchTime.now()
        for index in 0..<1000 {
            let descriptor = open("\(folder)/\(index).png", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, size) }
            close(descriptor)
        }
        probe += 1
        return Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e3 / 1000
    }
    let slow = 150.0
    var cost = microsecondsPerFile()
    let deadline = Date().addingTimeInterval(600)
    if cost > slow { print(String(format: "note      writing a file takes %.0f µs (recent mass deletions): waiting until it is fast again", cost)) }
    while cost > slow && Date() < deadline {
        Thread.sleep(forTimeInterval: 15)
        cost = microsecondsPerFile()
    }
    sync()
    print(String(format: "files     a new 20 kB file takes %.0f µs%@", cost, cost > slow ? " (still slow: the figures below measure it too)" : ""))
}

/// Two stocks for the reservation runs, as an inventory feed: one too large to run out (the coffee), one of 1,000
/// to fight over.
/// - Returns: the feed's path.
func writeReservationStocks(in directory: String) throws -> String {
    let stocks = "\(directory)/reservation-stock.tsv"
    try "store_code\tid\tquantity\tavailability\nPAR01\tFR-EPI-0004\t100000000\tin_stock\nPAR01\tFR-EPI-0001\t1000\tin_stock\n".write(
        toFile: stocks, atomically: true, encoding: .utf8)
    return stocks
}

/// wrk scripts posting reservations on those two stocks: `reserve-plenty.lua` and `reserve-contended.lua`.
func writeReservationScripts(in directory: String) throws {
    for (name, gtin) in [("reserve-plenty", "03760001001983"), ("reserve-contended", "03760001000634")] {
        try """
        wrk.method = "POST"
        wrk.path = "/products/\(gtin)/reserve"
        wrk.headers["Content-Type"] = "application/json"
        wrk.body = '{"store": "PAR01", "quantity": 1, "name": "Bench", "contact": "bench@example.com"}'
        """.write(toFile: "\(directory)/\(name).lua", atomically: true, encoding: .utf8)
    }
}

/// What wrk measured.
struct LoadResult {
    let requests: Int
    let perSecond: Double
    let p99Milliseconds: Double
    let non2xx: Int
}

func runWrk(_ wrk: String, url: String, script: String?, seconds: Int = 10, output name: String = "wrk.out") throws -> LoadResult {
    let output = "\(options.work)/\(name)"
    var arguments = ["-t2", "-c64", "-d\(seconds)s", "--latency"]
    if let script { arguments += ["-s", script] }
    arguments.append(url)
    // wrk prints to standard output: send it to a file to read back.
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    let argv = ([wrk] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, wrk, &actions, nil, argv, environ) == 0 else { throw POSIXError(.ENOENT) }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    let text = try String(contentsOfFile: output, encoding: .utf8)
    func number(after label: String) -> Double? {
        guard let line = text.split(separator: "\n").first(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix(label) }) else { return nil }
        let value = line.trimmingCharacters(in: .whitespaces).dropFirst(label.count).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? ""
        if value.hasSuffix("ms") { return Double(value.dropLast(2)) }
        if value.hasSuffix("us") { return Double(value.dropLast(2)).map { $0 / 1000 } }
        if value.hasSuffix("s") { return Double(value.dropLast(1)).map { $0 * 1000 } }
        return Double(value)
    }
    let requests =
        text.split(separator: "\n").first { $0.contains("requests in") }.flatMap { Int($0.trimmingCharacters(in: .whitespaces).split(separator: " ")[0]) } ?? 0
    return LoadResult(
        requests: requests, perSecond: number(after: "Requests/sec:") ?? 0, p99Milliseconds: number(after: "99%") ?? 0,
        non2xx: Int(number(after: "Non-2xx or 3xx responses:") ?? 0))
}

/// The resolver under wrk: /healthz as the ceiling, then JSON resolves and store pages for random GTINs of one store.
func benchResolver(_ options: BenchOptions) throws {
    guard let wrk = which("wrk") else {
        print("\n== Resolver: wrk is not installed (make bench installs it)")
        return
    }
    let directory = "\(options.work)/resolver"
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let database = "\(directory)/resolver.sqlite"
    let stocks = try writeReservationStocks(in: directory)
    let loaded = try run(
        options.shelftag,
        [
            "import", "--db", database, "--as-of", "2026-11-20T06:00Z", "Samples/stores.csv", "Samples/products.xml", "Samples/local_inventory.tsv",
            "Samples/product_reviews.xml", stocks,
        ])
    guard loaded.status == 0 else { throw POSIXError(.EIO) }
    let inventory = try String(contentsOfFile: "Samples/local_inventory.tsv", encoding: .utf8)
    let products = try String(contentsOfFile: "Samples/products.xml", encoding: .utf8)
    // GTINs listed in PAR01: the inventory gives ids, the feed maps ids to GTINs.
    var gtinByID: [String: String] = [:]
    var currentID = ""
    for line in products.split(separator: "\n") {
        if let id = line.firstRange(of: "<g:id>").map({ line[$0.upperBound...].prefix { $0 != "<" } }) { currentID = String(id) }
        if let gtin = line.firstRange(of: "<g:gtin>").map({ line[$0.upperBound...].prefix { $0 != "<" } }) { gtinByID[currentID] = String(gtin) }
    }
    var gtins: [String] = []
    for line in inventory.split(separator: "\n").dropFirst() {
        let columns = line.split(separator: "\t", omittingEmptySubsequences: false)
        // Digital Link URIs carry the 14-digit form.
        if columns[0] == "PAR01", let gtin = gtinByID[String(columns[1])] { gtins.append(String(repeating: "0", count: 14 - gtin.count) + gtin) }
    }
    let list = gtins.map { "\"\($0)\"" }.joined(separator: ",")
    for (name, path, accept) in [("json", "/01/\" .. g .. \"?s=PAR01", "application/json"), ("html", "/products/\" .. g .. \"?s=PAR01", "text/html")] {
        try """
        local gtins = {\(list)}
        math.randomseed(42)
        request = function()
          local g = gtins[math.random(#gtins)]
          return wrk.format("GET", "\(path)", {["Accept"] = "\(accept)"})
        end
        """.write(toFile: "\(directory)/\(name).lua", atomically: true, encoding: .utf8)
    }
    try writeReservationScripts(in: directory)
    let port = 18_080
    let server = try spawn(
        options.shelftag, ["serve", "--db", database, "--port", String(port), "--reservations-per-minute", "0"], stderrTo: "\(directory)/serve.log")
    defer {
        kill(server, SIGTERM)
        var status: Int32 = 0
        waitpid(server, &status, 0)
    }
    var ready = false
    for _ in 0..<100 where !ready {
        usleep(100_000)
        ready = (try? String(contentsOfFile: "\(directory)/serve.log", encoding: .utf8))?.contains("listening") ?? false
    }
    print("\n== Resolver: wrk, 2 threads, 64 connections, 10 s each, loopback; \(gtins.count) GTINs of store PAR01 at random")
    let base = "http://127.0.0.1:\(port)"
    let ceiling = try runWrk(wrk, url: base + "/healthz", script: nil)
    func line(_ label: String, _ result: LoadResult) -> String {
        String(
            format: "%@ %9.0f req/s   p99 %6.2f ms   %d requests, %d errors", label, result.perSecond, result.p99Milliseconds, result.requests, result.non2xx)
    }
    print(line("ceiling   /healthz                     ", ceiling))
    let json = try runWrk(wrk, url: base, script: "\(directory)/json.lua")
    print(line("resolve   /01/{gtin}?s=PAR01, JSON     ", json))
    let html = try runWrk(wrk, url: base, script: "\(directory)/html.lua")
    print(line("page      /products/{gtin}?s=PAR01 HTML", html))
    let plenty = try runWrk(wrk, url: base, script: "\(directory)/reserve-plenty.lua")
    print(line("reserve   POST, stock never runs out  ", plenty))
    let contended = try runWrk(wrk, url: base, script: "\(directory)/reserve-contended.lua", seconds: 5)
    print(line("reserve   POST, 1,000 in stock       ", contended))
    kill(server, SIGTERM)
    var status: Int32 = 0
    waitpid(server, &status, 0)
    let scans = try run("/usr/bin/sqlite3", [database, "SELECT count(*) FROM scan"], stdoutTo: "\(directory)/scans.txt")
    let recorded = (try? String(contentsOfFile: "\(directory)/scans.txt", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
    _ = scans
    print("scans     \(recorded) recorded for \(json.requests) JSON resolves (the store pages are not scans)")
    print(
        String(
            format: "ratio     JSON resolve / ceiling: %.2f; HTML page / ceiling: %.2f", json.perSecond / ceiling.perSecond, html.perSecond / ceiling.perSecond)
    )
    print("target    resolve ≥ 0.5 × ceiling, p99 < 10 ms, every request's scan recorded")
    _ = try run(
        "/usr/bin/sqlite3",
        [
            database,
            "SELECT count(*), sum(quantity), (SELECT on_hand FROM store_offer WHERE store_code = 'PAR01' AND gtin = '03760001000634') "
                + "FROM reservation WHERE gtin = '03760001000634' AND status = 'held'",
        ], stdoutTo: "\(directory)/holds.txt")
    let holds = ((try? String(contentsOfFile: "\(directory)/holds.txt", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        .split(separator: "|").compactMap { Int($0) }
    if holds.count == 3 {
        print(
            "holds     \(holds[0]) reservations hold \(holds[1]) of \(holds[2]) on hand after \(contended.requests) attempts: oversold \(max(0, holds[1] - holds[2]))"
        )
    }
    print("target    ≥ 1000 reservations/s, oversold 0")
}

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
    for attempt in 1...2 {
        let measured = try run(
            options.shelftag, ["parity", "--db", database, "--at", "2026-11-23T10:00Z", "--format", "json"], stdoutTo: "\(directory)/report.json")
        print(
            String(format: "shelftag  parity (run %d)   %6.2f s   %6.1f MB peak   exit %d", attempt, measured.seconds, measured.peakMegabytes, measured.status))
    }
    if let sqlite = which("sqlite3") {
        // A floor: the same walk as one SQL statement (offers joined to products, the newest ledger row per tag) that
        // only counts differing prices, with no pricing rules, sale windows, prior prices or tag ids.
        let baseline = try run(
            sqlite,
            [
                database,
                """
                SELECT count(*) FROM store_offer o JOIN product p ON p.gtin = o.gtin
                LEFT JOIN (SELECT gtin, store_code, price, max(printed_at * 1000000000 + id) FROM print_ledger GROUP BY gtin, store_code) l
                    ON l.gtin = o.gtin AND l.store_code = o.store_code
                WHERE coalesce(o.price, p.price) != p.price OR l.price IS NOT coalesce(o.price, p.price)
                """,
            ], stdoutTo: "\(directory)/baseline.txt")
        print(String(format: "baseline  sqlite3 one SQL join  %6.2f s   %6.1f MB peak", baseline.seconds, baseline.peakMegabytes))
    }
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

let options = BenchOptions(arguments: CommandLine.arguments)
if let database = options.recordPrintsDatabase {
    try await recordBenchPrints(database: database)
    exit(0)
}
try FileManager.default.createDirectory(atPath: options.work, withIntermediateDirectories: true)
if options.only == "soak" {
    try soak(options)
    exit(0)
}
// Each bench starts with the previous one's writes on disk: render's own sync() would otherwise flush the import's
// 300 MB database and count it as rendering time.
for (name, bench) in [("import", benchImport), ("render", benchRender), ("resolver", benchResolver), ("parity", benchParity), ("chain", benchChain)]
where options.only == nil || options.only == name {
    sync()
    try bench(options)
}
