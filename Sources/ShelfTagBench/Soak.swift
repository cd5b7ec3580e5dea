import Foundation

/// `make soak`: a bounded version of the reliability campaign against the release build. It tries, and prints what
/// it found:
/// 1. imports SIGKILLed at random moments into a new and into an existing database (nothing changed, nothing left);
/// 2. an import of `--rows` products while the resolver serves scans and takes stock updates, with slow clients
///    trickling headers (requests, p99, writes answered 503 and 500, scans lost, peak memory of both processes);
/// 3. hostile feeds (exit status, memory, the database unchanged).
func soak(_ options: BenchOptions) throws {
    guard let wrk = which("wrk") else {
        print("soak: wrk is not installed (make soak installs it)")
        exit(2)
    }
    let directory = "\(options.work)/soak"
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let feed = "\(directory)/products.tsv"
    try writeProductFeed(rows: options.rows, to: feed)
    let base = "\(directory)/base.sqlite"
    let samples = ["Samples/stores.csv", "Samples/products.xml", "Samples/local_inventory.tsv"]
    guard try run(options.shelftag, ["import", "--db", base, "--as-of", "2026-11-20T06:00Z"] + samples).status == 0 else { throw POSIXError(.EIO) }

    print("== Soak: \(options.rows) product rows per import, release build, 2-core machine")

    // 1. Killed imports.
    let fresh = "\(directory)/fresh.sqlite"
    let freshSurvivors = try killImports(of: feed, into: fresh, options: options, within: 300_000...2_500_000) {
        FileManager.default.fileExists(atPath: fresh)
    }
    let leftAfterKills = leftovers(of: fresh)
    // The next import into the same path removes what the killed ones left.
    _ = try run(options.shelftag, ["import", "--db", fresh, "Samples/stores.csv"])
    print(
        "killed    3 first imports at random: \(freshSurvivors) databases appeared; \(leftAfterKills) partial files left, \(leftovers(of: fresh)) after the next import"
    )

    let existing = "\(directory)/existing.sqlite"
    try FileManager.default.copyItem(atPath: base, toPath: existing)
    let before = try fingerprint(existing, in: directory)
    let changed = try killImports(of: feed, into: existing, options: options, within: 300_000...4_000_000) {
        try fingerprint(existing, in: directory) != before
    }
    let stagingLeft = leftovers(of: existing)
    _ = try run(options.shelftag, ["import", "--db", existing, "Samples/stores.csv"])
    print(
        "killed    3 imports into a database in use: \(changed) changed it; \(stagingLeft) staging files left, \(leftovers(of: existing)) after the next import"
    )

    // 2. An import while the resolver works.
    let live = "\(directory)/live.sqlite"
    try FileManager.default.copyItem(atPath: base, toPath: live)
    _ = try run(options.shelftag, ["token", "create", "--db", live, "--store", "PAR01", "--scope", "stock"], stdoutTo: "\(directory)/token.txt")
    let token = try String(contentsOfFile: "\(directory)/token.txt", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    let scansBefore = try scanCount(live, in: directory)
    let port = 18_090
    let server = try spawn(options.shelftag, ["serve", "--db", live, "--port", String(port), "--log-level", "warning"], stderrTo: "\(directory)/serve.log")
    var ready = false
    for _ in 0..<100 where !ready {
        usleep(100_000)
        ready = (try? String(contentsOfFile: "\(directory)/serve.log", encoding: .utf8))?.contains("listening") ?? false
    }
    try writeSoakScripts(in: directory, token: token)
    let seconds = 40
    let url = "http://127.0.0.1:\(port)"
    let reads = try spawnWrk(wrk, ["-t1", "-c32", "-d\(seconds)s", "--latency", "-s", "\(directory)/scan.lua", url], output: "\(directory)/reads.out")
    let writes = try spawnWrk(wrk, ["-t1", "-c4", "-d\(seconds)s", "-s", "\(directory)/stock.lua", url], output: "\(directory)/writes.out")
    let slow = try spawn(
        "/usr/bin/env", ["python3", "-c", slowClients, "127.0.0.1", String(port), String(seconds - 10)], stdoutTo: "\(directory)/slow.out")
    sleep(3)
    let imported = try run(options.shelftag, ["import", "--db", live, feed], stdoutTo: "\(directory)/import.out")
    var status: Int32 = 0
    for pid in [reads, writes, slow] { waitpid(pid, &status, 0) }
    let serverPeak = peakMegabytes(of: server)
    kill(server, SIGTERM)
    waitpid(server, &status, 0)

    let readText = try String(contentsOfFile: "\(directory)/reads.out", encoding: .utf8)
    let writeText = try String(contentsOfFile: "\(directory)/writes.out", encoding: .utf8)
    let scansServed = count(in: readText, label: "served:")
    let scansAdded = try scanCount(live, in: directory) - scansBefore
    print(
        String(
            format: "import    %d rows in %.1f s (%.0f rows/s), peak %.0f MB, exit %d, while the resolver served:", options.rows, imported.seconds,
            Double(options.rows) / imported.seconds, imported.peakMegabytes, imported.status))
    print("reads     \(scansServed) scans answered 200 in \(seconds) s, p99 \(p99(readText)); other answers: \(count(in: readText, label: "other:"))")
    print(
        "writes    stock updates: \(count(in: writeText, label: "200:")) × 200, \(count(in: writeText, label: "503:")) × 503, "
            + "\(count(in: writeText, label: "500:")) × 500, \(count(in: writeText, label: "other:")) other; longest \(longest(writeText))")
    print("scans     \(scansAdded) recorded for \(scansServed) answered: \(max(0, scansServed - scansAdded)) lost")
    let slowReport = (try? String(contentsOfFile: "\(directory)/slow.out", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
    print("slow      \(slowReport)")
    print(String(format: "memory    resolver peak %.0f MB", serverPeak))
    print("partial   \(leftovers(of: live)) staging files left")

    // 3. Hostile feeds, each into a copy of the database in use.
    let hostile = try writeHostileFeeds(in: directory)
    print("hostile   feed                           exit  peak MB  database unchanged")
    for (name, path) in hostile {
        let target = "\(directory)/hostile.sqlite"
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: base, toPath: target)
        let expected = try fingerprint(target, in: directory)
        let errors = "\(directory)/hostile-errors.txt"
        let result = try run(options.shelftag, ["import", "--db", target, path], stderrTo: errors)
        let unchanged = try fingerprint(target, in: directory) == expected
        let padded = name.padding(toLength: 31, withPad: " ", startingAt: 0)
        print("          \(padded)" + String(format: "%4d  %7.0f  ", result.status, result.peakMegabytes) + (unchanged ? "yes" : "NO"))
        let message = (try? String(contentsOfFile: errors, encoding: .utf8))?.split(separator: "\n").first.map(String.init) ?? ""
        print("            \(message.replacingOccurrences(of: "\(directory)/", with: ""))")
    }
    print("target    0 × 500, 0 scans lost, 0 files left after the next import, every import under 64 MB resident")
}

/// Starts three imports of `feed` into `database`, each SIGKILLed after a random delay (microseconds) in `delays`.
/// - Returns: after how many of them `broken` held.
private func killImports(
    of feed: String, into database: String, options: BenchOptions, within delays: ClosedRange<UInt32>, broken: () throws -> Bool
) throws -> Int {
    var count = 0
    for _ in 0..<3 {
        let pid = try spawn(options.shelftag, ["import", "--db", database, feed], stderrTo: "/dev/null")
        usleep(UInt32.random(in: delays))
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        if try broken() { count += 1 }
    }
    return count
}

/// Files beside `path` that imports write while they run.
private func leftovers(of path: String) -> Int {
    let url = URL(fileURLWithPath: path)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)) ?? []
    return names.filter { $0.hasPrefix(url.lastPathComponent + ".partial-") || $0.hasPrefix(url.lastPathComponent + ".import-") }.count
}

/// What an import would change: row counts, price sum and the catalogue version.
private func fingerprint(_ database: String, in directory: String) throws -> String {
    let output = "\(directory)/fingerprint.txt"
    _ = try run(
        "/usr/bin/sqlite3",
        [
            database,
            "SELECT (SELECT count(*) FROM product), (SELECT total(price) FROM product), (SELECT count(*) FROM price_history), "
                + "(SELECT version FROM catalog_version)",
        ], stdoutTo: output)
    return try String(contentsOfFile: output, encoding: .utf8)
}

private func scanCount(_ database: String, in directory: String) throws -> Int {
    let output = "\(directory)/scans.txt"
    _ = try run("/usr/bin/sqlite3", [database, "SELECT count(*) FROM scan"], stdoutTo: output)
    return Int(try String(contentsOfFile: output, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
}

/// The largest resident size the process has had (Linux's VmHWM), read while it runs.
private func peakMegabytes(of pid: pid_t) -> Double {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
        let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
    else { return -1 }
    return kilobytes / 1024
}

private func spawnWrk(_ wrk: String, _ arguments: [String], output: String) throws -> pid_t {
    try spawn(wrk, arguments, stdoutTo: output)
}

private func count(in text: String, label: String) -> Int {
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(label) }) else { return -1 }
    return Int(line.dropFirst(label.count).trimmingCharacters(in: .whitespaces)) ?? -1
}

private func p99(_ text: String) -> String {
    text.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("99%") }.map {
        String($0.trimmingCharacters(in: .whitespaces).dropFirst(3).trimmingCharacters(in: .whitespaces))
    } ?? "?"
}

private func longest(_ text: String) -> String {
    text.split(separator: "\n").first { $0.hasPrefix("longest:") }.map { String($0.dropFirst(8).trimmingCharacters(in: .whitespaces)) } ?? "?"
}

/// wrk scripts that count answers by status (wrk counts only "non-2xx"), printed in `done`.
private func writeSoakScripts(in directory: String, token: String) throws {
    let counting = """
        local threads = {}
        function setup(thread) table.insert(threads, thread) end
        function init(args) served = 0; c200 = 0; c503 = 0; c500 = 0; other = 0 end
        function response(status, headers, body)
          if status == 200 then served = served + 1; c200 = c200 + 1
          elseif status == 503 then c503 = c503 + 1
          elseif status == 500 then c500 = c500 + 1
          else other = other + 1 end
        end
        function done(summary, latency, requests)
          local totals = {served = 0, c200 = 0, c503 = 0, c500 = 0, other = 0}
          for _, thread in ipairs(threads) do
            for name, _ in pairs(totals) do totals[name] = totals[name] + thread:get(name) end
          end
          io.write(string.format("served: %d\\n200: %d\\n503: %d\\n500: %d\\nother: %d\\nlongest: %.1f ms\\n",
            totals.served, totals.c200, totals.c503, totals.c500, totals.other, latency.max / 1000))
        end
        """
    try """
    \(counting)
    local gtins = {"03760001000634", "03760001001983", "03760001006223"}
    request = function()
      return wrk.format("GET", "/01/" .. gtins[math.random(#gtins)] .. "?s=PAR01", {["Accept"] = "application/json"})
    end
    """.write(toFile: "\(directory)/scan.lua", atomically: true, encoding: .utf8)
    try """
    \(counting)
    request = function()
      return wrk.format("POST", "/api/stores/PAR01/stock",
        {["Content-Type"] = "application/json", ["Authorization"] = "Bearer \(token)"},
        '{"gtin": "3760001001983", "onHand": ' .. math.random(1, 500) .. '}')
    end
    """.write(toFile: "\(directory)/stock.lua", atomically: true, encoding: .utf8)
}

/// Opens 300 connections that send a header line every second and reports how soon the server closed them.
private let slowClients = """
    import socket, sys, time
    host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    sockets = []
    for i in range(300):
        s = socket.create_connection((host, port)); s.sendall(b"GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n"); s.setblocking(False)
        sockets.append([s, time.time(), None])
    start = time.time()
    while time.time() - start < seconds and any(entry[2] is None for entry in sockets):
        for entry in sockets:
            if entry[2] is not None: continue
            try:
                entry[0].sendall(b"X-Slow: a\\r\\n")
                if entry[0].recv(1) == b"": entry[2] = time.time() - entry[1]
            except BlockingIOError: pass
            except OSError: entry[2] = time.time() - entry[1]
        time.sleep(1)
    closed = [entry[2] for entry in sockets if entry[2] is not None]
    print("%d of %d header-trickling connections closed by the server, after %.1f s at most" % (len(closed), len(sockets), max(closed) if closed else -1))
    """

/// Feeds the campaign found breaking things, written to `directory`.
private func writeHostileFeeds(in directory: String) throws -> [(String, String)] {
    var feeds: [(String, String)] = []
    func write(_ name: String, _ body: (FileHandle) throws -> Void) throws {
        let path = "\(directory)/\(name)"
        guard FileManager.default.createFile(atPath: path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try body(handle)
        feeds.append((name, path))
    }
    let megabyte = Data(repeating: UInt8(ascii: "a"), count: 1 << 20)
    try write("title-200MB.xml") { handle in
        try handle.write(
            contentsOf: Data(
                "<?xml version=\"1.0\"?>\n<rss xmlns:g=\"http://base.google.com/ns/1.0\" version=\"2.0\"><channel>\n<item><g:id>X</g:id><g:title>".utf8))
        for _ in 0..<200 { try handle.write(contentsOf: megabyte) }
        try handle.write(contentsOf: Data("</g:title></item></channel></rss>\n".utf8))
    }
    try write("line-200MB.tsv") { handle in
        try handle.write(contentsOf: Data("id\ttitle\tlink\tavailability\tprice\tgtin\nX\t".utf8))
        for _ in 0..<200 { try handle.write(contentsOf: megabyte) }
        try handle.write(contentsOf: Data("\thttps://shop.example.com/x\tin_stock\t1.00 EUR\t3760001000634\n".utf8))
    }
    try write("reviews-nested-40000.xml") { handle in
        try handle.write(contentsOf: Data("<?xml version=\"1.0\"?><feed><reviews><review>".utf8))
        try handle.write(contentsOf: Data(String(repeating: "<a>", count: 40_000).utf8))
        try handle.write(contentsOf: Data((String(repeating: "</a>", count: 40_000) + "</review></reviews></feed>\n").utf8))
    }
    try write("stores-quote-never-closed.csv") { handle in
        try handle.write(contentsOf: Data("code,name,address,latitude,longitude,timezone\nPAR01,\"open".utf8))
        for _ in 0..<50 { try handle.write(contentsOf: Data(repeating: UInt8(ascii: "\n"), count: 1 << 20)) }
    }
    try write("title-nul-entity.xml") { handle in
        try handle.write(
            contentsOf: Data(
                "<?xml version=\"1.0\"?>\n<rss xmlns:g=\"http://base.google.com/ns/1.0\" version=\"2.0\"><channel>\n<item><g:id>X</g:id><g:title>Caf&eacute;</g:title></item></channel></rss>\n"
                    .utf8))
    }
    try write("inventory-huge-quantity.tsv") { handle in
        try handle.write(contentsOf: Data("store_code\tid\tquantity\nPAR01\tFR-EPI-0001\t9223372036854775807\n".utf8))
    }
    return feeds
}
