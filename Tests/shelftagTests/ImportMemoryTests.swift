import Foundation
import Testing

/// Runs `shelftag` and returns its exit status, standard error and peak resident memory (wait4's, which
/// `Process` cannot give: it reaps the child itself).
private func runMeasured(_ arguments: [String], directory: URL) throws -> (status: Int32, errors: String, peakMegabytes: Double) {
    let errorsPath = directory.appendingPathComponent("errors-\(UUID().uuidString).txt").path
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, errorsPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    let argv = ([CommandLine.binary.path] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, CommandLine.binary.path, &actions, nil, argv, environ)
    guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EINVAL) }
    var status: Int32 = 0
    var usage = rusage()
    _ = wait4(pid, &status, 0, &usage)
    let errors = try String(contentsOfFile: errorsPath, encoding: .utf8)
    // ru_maxrss is in KiB on Linux.
    return ((status >> 8) & 0xFF, errors, Double(usage.ru_maxrss) / 1024)
}

/// Writes `head`, `count` MiB of `filler`, then `tail`, without holding the file in memory.
private func writeFile(_ path: String, head: String, filler: UInt8, count: Int, tail: String) throws {
    FileManager.default.createFile(atPath: path, contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.write(contentsOf: Data(head.utf8))
    let chunk = Data(repeating: filler, count: 1 << 20)
    for _ in 0..<count { try handle.write(contentsOf: chunk) }
    try handle.write(contentsOf: Data(tail.utf8))
}

@Suite("Import memory stays bounded whatever one input holds")
struct ImportMemoryTests {
    /// The target for any single input.
    static let ceilingMegabytes = 64.0

    @Test("a 100 MB XML text node and a 100 MB TSV line are rejected on their line, in under 64 MB of resident memory")
    func hugeValues() throws {
        let directory = URL(fileURLWithPath: try CommandLine.temporaryDatabase()).deletingLastPathComponent()
        let rest =
            "<g:link>https://shop.example.com/x</g:link><g:availability>in_stock</g:availability><g:price>3.00 EUR</g:price>"
            + "<g:gtin>3760001000634</g:gtin></item>\n</channel></rss>\n"
        let xml = directory.appendingPathComponent("huge.xml").path
        try writeFile(
            xml, head: "<?xml version=\"1.0\"?>\n<rss xmlns:g=\"http://base.google.com/ns/1.0\" version=\"2.0\"><channel>\n<item><g:id>X1</g:id><g:title>",
            filler: UInt8(ascii: "a"), count: 100, tail: "</g:title>" + rest)
        let tsv = directory.appendingPathComponent("huge.tsv").path
        try writeFile(
            tsv, head: "id\ttitle\tlink\tavailability\tprice\tgtin\nX1\t", filler: UInt8(ascii: "a"), count: 100,
            tail: "\thttps://shop.example.com/x\tin_stock\t3.00 EUR\t3760001000634\n")

        for (feed, message) in [
            (xml, "huge.xml:3: title: longer than 150 characters"),
            (tsv, "huge.tsv:2: row: the row is longer than 4194304 bytes"),
        ] {
            let database = directory.appendingPathComponent("\(UUID().uuidString).sqlite").path
            let run = try runMeasured(["import", "--db", database, feed], directory: directory)
            #expect(run.status == 1, "\(feed): \(run.errors)")
            #expect(run.errors.contains(message), "\(run.errors)")
            #expect(run.peakMegabytes < Self.ceilingMegabytes, "\(feed): \(run.peakMegabytes) MB resident at the peak")
            #expect(!FileManager.default.fileExists(atPath: database), "a rejected first import leaves no database")
        }
    }
}
