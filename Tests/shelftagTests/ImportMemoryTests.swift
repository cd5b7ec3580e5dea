import Foundation
import ShelfTagTestSupport
import Testing

/// Runs `shelftag` and returns its exit status, standard error and peak resident memory. A small Python parent
/// forks it and reads its rusage: a child this test process spawned itself would report this process's size too
/// (spawning shares the parent's memory until `exec`, and Linux counts it in the child's peak). Waits on a thread of
/// its own, not one of the cooperative pool's (`offThePool`).
private func runMeasured(_ arguments: [String]) async throws -> (status: Int32, errors: String, peakMegabytes: Double) {
    try await offThePool { try runMeasuredBlocking(arguments) }
}

private func runMeasuredBlocking(_ arguments: [String]) throws -> (status: Int32, errors: String, peakMegabytes: Double) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments =
        [
            "python3", "-c",
            """
            import resource, subprocess, sys
            run = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, close_fds=True)
            sys.stderr.buffer.write(run.stderr)
            print(run.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
            """,
            CommandLine.binary.path,
        ] + arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let figures = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: " ")
    process.waitUntilExit()
    guard figures.count == 2, let status = Int32(figures[0]), let kilobytes = Double(figures[1].trimmingCharacters(in: .whitespacesAndNewlines)) else {
        throw CocoaError(.coderReadCorrupt)
    }
    // ru_maxrss is in KiB on Linux.
    return (status, errorText, kilobytes / 1024)
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
    func hugeValues() async throws {
        let directory = URL(fileURLWithPath: try CommandLine.temporaryDatabase()).deletingLastPathComponent()
        defer { try? FileManager.default.removeItem(at: directory) }
        let rest =
            "<g:link>https://shop.example.com/x</g:link><g:availability>in_stock</g:availability><g:price>3.00 EUR</g:price>"
            + "<g:gtin>3760001000634</g:gtin></item>\n</channel></rss>\n"
        let xml = directory.appendingPathComponent("huge.xml").path
        let tsv = directory.appendingPathComponent("huge.tsv").path
        // 200 MB written on a thread of its own, not one of the cooperative pool's.
        try await offThePool {
            try writeFile(
                xml, head: "<?xml version=\"1.0\"?>\n<rss xmlns:g=\"http://base.google.com/ns/1.0\" version=\"2.0\"><channel>\n<item><g:id>X1</g:id><g:title>",
                filler: UInt8(ascii: "a"), count: 100, tail: "</g:title>" + rest)
            try writeFile(
                tsv, head: "id\ttitle\tlink\tavailability\tprice\tgtin\nX1\t", filler: UInt8(ascii: "a"), count: 100,
                tail: "\thttps://shop.example.com/x\tin_stock\t3.00 EUR\t3760001000634\n")
        }

        for (feed, message) in [
            (xml, "huge.xml:3: title: longer than 150 characters"),
            (tsv, "huge.tsv:2: row: the row is longer than 4194304 bytes"),
        ] {
            let database = directory.appendingPathComponent("\(UUID().uuidString).sqlite").path
            let run = try await runMeasured(["import", "--db", database, feed])
            #expect(run.status == 1, "\(feed): \(run.errors)")
            #expect(run.errors.contains(message), "\(run.errors)")
            #expect(run.peakMegabytes < Self.ceilingMegabytes, "\(feed): \(run.peakMegabytes) MB resident at the peak")
            #expect(!FileManager.default.fileExists(atPath: database), "a rejected first import leaves no database")
        }
    }
}
