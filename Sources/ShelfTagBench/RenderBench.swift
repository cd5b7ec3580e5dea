import Foundation
import ShelfTagDomain
import ShelfTagStorage

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
