// `make bench`: generates inputs, runs the release `shelftag` on them and prints figures beside a
// baseline measured in the same run. Figures, not assertions: targets are compared in the output.
import Foundation
import ShelfTagDomain

struct BenchOptions {
    var shelftag = ".build/release/shelftag"
    var work = "bench-out"
    var rows = 1_000_000

    init(arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--shelftag": shelftag = iterator.next() ?? shelftag
            case "--work": work = iterator.next() ?? work
            case "--rows": rows = iterator.next().flatMap(Int.init) ?? rows
            default:
                print("unknown argument \(argument) (accepted: --shelftag PATH --work DIR --rows N)")
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
    // posix_spawn + wait4 rather than Process: Process reaps the child itself, losing its rusage.
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    if let stdin { posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0) }
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let start = DispatchTime.now()
    let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
    guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EINVAL) }
    var status: Int32 = 0
    var usage = rusage()
    _ = wait4(pid, &status, 0, &usage)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    // ru_maxrss is in KiB on Linux.
    return Measurement(seconds: seconds, peakMegabytes: Double(usage.ru_maxrss) / 1024, status: (status >> 8) & 0xFF)
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

let options = BenchOptions(arguments: CommandLine.arguments)
try FileManager.default.createDirectory(atPath: options.work, withIntermediateDirectories: true)
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
