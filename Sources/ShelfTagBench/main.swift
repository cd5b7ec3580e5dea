// `make bench`: generates inputs, runs the release `shelftag` on them and prints figures beside a
// baseline measured in the same run. Figures, not assertions: targets are compared in the output.
import Foundation
import ShelfTagDomain

struct BenchOptions {
    var shelftag = ".build/release/shelftag"
    var work = "bench-out"
    var rows = 1_000_000
    var tags = 10_000
    /// `import`, `render` or both (nil).
    var only: String?

    init(arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--shelftag": shelftag = iterator.next() ?? shelftag
            case "--work": work = iterator.next() ?? work
            case "--rows": rows = iterator.next().flatMap(Int.init) ?? rows
            case "--tags": tags = iterator.next().flatMap(Int.init) ?? tags
            case "--only": only = iterator.next()
            default:
                print("unknown argument \(argument) (accepted: --shelftag PATH --work DIR --rows N --tags N --only import|render)")
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

func run(_ executable: String, _ arguments: [String], stdin: String? = nil) throws -> Measurement {
    let pid = try spawn(executable, arguments, stdin: stdin)
    let start = DispatchTime.now()
    var status: Int32 = 0
    var usage = rusage()
    _ = wait4(pid, &status, 0, &usage)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    // ru_maxrss is in KiB on Linux.
    return Measurement(seconds: seconds, peakMegabytes: Double(usage.ru_maxrss) / 1024, status: (status >> 8) & 0xFF)
}

/// Starts a child with standard output to /dev/null.
func spawn(_ executable: String, _ arguments: [String], stdin: String? = nil) throws -> pid_t {
    // posix_spawn + wait4 rather than Process: Process reaps the child itself, losing its rusage.
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
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

    print("\n== Import: \(options.rows) rows of Merchant Center TSV (\(String(format: "%.0f", megabytes)) MB), fresh database")
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
    for attempt in 1...2 {
        let database = "\(options.work)/shelftag.sqlite"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        let measured = try run(options.shelftag, ["import", "--db", database, "--as-of", "2026-11-20T06:00Z", feed])
        print(
            "shelftag  import (run \(attempt))                        \(rowsPerSecond(measured))  \(String(format: "%6.2f s  %6.1f MB peak", measured.seconds, measured.peakMegabytes))  exit \(measured.status)"
        )
    }
    let database = "\(options.work)/shelftag.sqlite"
    let again = try run(options.shelftag, ["import", "--db", database, "--as-of", "2026-11-21T06:00Z", feed])
    print(
        "shelftag  re-import, nothing changed                 \(rowsPerSecond(again))  \(String(format: "%6.2f s  %6.1f MB peak", again.seconds, again.peakMegabytes))  exit \(again.status)"
    )
    print("target    ≥ 150000 rows/s, < 300 MB peak")
}

/// 10,000 complete tags for one store, against the qrencode CLI writing a QR-only PNG per URL.
func benchRender(_ options: BenchOptions) throws {
    let directory = "\(options.work)/render"
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

    print(
        "\n== Render: \(options.tags) tags, 60×40 mm standard (promotions 80×50), 300 dpi, 8-bit grey PNG, on \(ProcessInfo.processInfo.activeProcessorCount) cores"
    )
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
    guard let qrencode = which("qrencode") else {
        print("baseline  qrencode not installed (make bench installs it)")
        return
    }
    // The same URLs the tags carry, from the manifest's last column.
    let manifest = try String(contentsOfFile: "\(directory)/tags-1/BEN01/manifest.csv", encoding: .utf8)
    let urls = manifest.split(separator: "\n").dropFirst().map { String($0.split(separator: ",").last!) }
    let qrDirectory = "\(directory)/qrencode"
    try FileManager.default.createDirectory(atPath: qrDirectory, withIntermediateDirectories: true)
    // As many at once as there are cores, as the renderer uses.
    let start = DispatchTime.now()
    var running: [pid_t] = []
    for (index, url) in urls.enumerated() {
        if running.count == ProcessInfo.processInfo.activeProcessorCount {
            var status: Int32 = 0
            let finished = wait(&status)
            running.removeAll { $0 == finished }
        }
        running.append(try spawn(qrencode, ["-l", "M", "-s", "6", "-m", "4", "-o", "\(qrDirectory)/\(index).png", url]))
    }
    for pid in running {
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    let baselineRate = Double(urls.count) / seconds
    print("baseline  qrencode CLI, QR-only PNG each  \(String(format: "%8.0f tags/s  %6.2f s", baselineRate, seconds))")
    print(String(format: "ratio     shelftag / baseline: %.1f×", Double(options.tags) / best / baselineRate))
    print("target    ≥ 1000 tags/s and ≥ 5× the baseline")
}

let options = BenchOptions(arguments: CommandLine.arguments)
try FileManager.default.createDirectory(atPath: options.work, withIntermediateDirectories: true)
if options.only == nil || options.only == "import" { try benchImport(options) }
if options.only == nil || options.only == "render" { try benchRender(options) }
