import Foundation
import ShelfTagTestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Runs the built `shelftag` binary as a user would.
struct CommandLine {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let binary: URL = {
        // The test bundle sits beside the executables it was built with.
        let besideTests = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).deletingLastPathComponent().appendingPathComponent("shelftag")
        if FileManager.default.isExecutableFile(atPath: besideTests.path) { return besideTests }
        return repository.appendingPathComponent(".build/debug/shelftag")
    }()

    struct Result {
        let status: Int32
        let output: String
        let errors: String
    }

    /// Waits on a thread of its own (`offThePool`): a test holding one of the cooperative pool's threads (one per core)
    /// for a whole command starves the servers other tests run meanwhile (a locked-database test saw /healthz take 1 s).
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        try await offThePool { try runBlocking(arguments, environment: environment) }
    }

    private static func runBlocking(_ arguments: [String], environment: [String: String]) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = repository
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self), errors: String(decoding: errorData, as: UTF8.self))
    }

    /// Starts `shelftag serve` with `options` and waits for /healthz; standard error goes to `errors` (default: nowhere).
    static func startServer(db: String, port: Int, options: [String], errors: Any = FileHandle.nullDevice) async throws -> Process {
        let server = Process()
        server.executableURL = binary
        server.arguments = ["serve", "--db", db, "--port", String(port)] + options
        server.currentDirectoryURL = repository
        server.standardError = errors
        try server.run()
        for _ in 0..<100 {
            if let (data, _) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/healthz")!),
                String(decoding: data, as: UTF8.self) == "ok\n"
            {
                return server
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        server.terminate()
        throw URLError(.cannotConnectToHost)
    }

    /// The sample stores, products and inventory as of 2026-11-20, as `import` arguments after the database.
    static let sampleImport = ["--as-of", "2026-11-20T06:00Z", "Samples/stores.csv", "Samples/products.xml", "Samples/local_inventory.tsv"]

    /// Runs `shelftag import` of the samples into `db`.
    static func importSamples(into db: String) async throws -> Result { try await run(["import", "--db", db] + sampleImport) }

    static func temporaryDatabase() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shelftag-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("cli.sqlite").path
    }
}

@Suite("shelftag command line")
struct CommandLineTests {
    @Test func helpNamesEveryCommandAndOption() async throws {
        let root = try await CommandLine.run(["--help"])
        #expect(root.status == 0)
        #expect(root.output.contains("import") && root.output.contains("products"))
        let importHelp = try await CommandLine.run(["import", "--help"])
        for option in ["--db <path|url>", "--kind <kind>", "--as-of <time>", "--skip-invalid", "<file> ..."] {
            #expect(importHelp.output.contains(option), "import --help lacks \(option)")
        }
        #expect(try await CommandLine.run(["products", "show", "--help"]).output.contains("<gtin>"))
    }

    @Test("exit status: 0 loaded, 1 rows rejected, 2 unusable arguments or file")
    func exitStatuses() async throws {
        let db = try CommandLine.temporaryDatabase()
        // A rejected first import does not leave an empty database behind.
        #expect(try await CommandLine.run(["import", "--db", db, "Samples/stores.csv", "Samples/bad/products-negative-price.tsv"]).status == 1)
        #expect(!FileManager.default.fileExists(atPath: db))
        let loaded = try await CommandLine.importSamples(into: db)
        #expect(loaded.status == 0, "\(loaded.errors)")
        #expect(loaded.output.contains("Samples/products.xml: products: 212 loaded, 0 rejected"))

        let rejected = try await CommandLine.run(["import", "--db", db, "Samples/bad/products-negative-price.tsv"])
        #expect(rejected.status == 1)
        #expect(rejected.errors.contains("Samples/bad/products-negative-price.tsv:2: price: '-3.49 EUR' is negative"))
        #expect(rejected.output.contains("nothing was imported"))

        #expect(try await CommandLine.run(["import", "--db", db, "Samples/bad/unknown-kind.txt"]).status == 2)
        #expect(try await CommandLine.run(["import", "--db", db, "no-such-file.tsv"]).status == 2)
        let badTime = try await CommandLine.run(["import", "--db", db, "--as-of", "yesterday", "Samples/stores.csv"])
        #expect(badTime.status == 2)
        #expect(badTime.errors.contains("--as-of"))
        #expect(try await CommandLine.run(["import", "--db", db, "--kind", "prices", "Samples/stores.csv"]).status == 2)
    }

    @Test("products show takes any GTIN form and SHELFTAG_DB names the database")
    func productsShow() async throws {
        let db = try CommandLine.temporaryDatabase()
        let environment = ["SHELFTAG_DB": db]
        #expect(
            try await CommandLine.run(
                ["import"] + CommandLine.sampleImport,
                environment: environment
            ).status == 0)
        let list = try await CommandLine.run(["products", "list"], environment: environment)
        #expect(list.output.split(separator: "\n").count == 212)
        let gtin14 = String(list.output.prefix(14))
        let short = try await CommandLine.run(["products", "show", String(gtin14.drop { $0 == "0" })], environment: environment)
        let long = try await CommandLine.run(["products", "show", gtin14], environment: environment)
        #expect(short.status == 0)
        #expect(short.output == long.output)
        #expect(short.output.contains("PAR01:"))
        #expect(try await CommandLine.run(["products", "show", "3760148290012"], environment: environment).status == 2)  // bad check digit
        #expect(try await CommandLine.run(["products", "show", "96385074"], environment: environment).status == 1)  // valid, unknown
    }

    @Test("stored text that could split a record or reorder what is read comes out escaped, one line per record")
    func escapedOutput() async throws {
        let db = try CommandLine.temporaryDatabase()
        #expect(try await CommandLine.importSamples(into: db).status == 0)
        // Written behind ShelfTag's back, as an older release or other software could have.
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        writer.arguments = [
            "python3", "-c",
            #"""
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.execute("INSERT INTO reservation (code, store_code, gtin, quantity, customer_name, contact, currency, unit_price, status, created_at, expires_at) VALUES ('ABCD2345', 'PAR01', '03760001000634', 1, ?, 'lea@example.com\tx', 'EUR', 100, 'held', 0, 4102444800)",
                       ("L\u00e9a\r\nFAKE\tROW \u202e05,1 \\",))
            db.execute("UPDATE product SET title = 'Caf\u00e9\nnoir' WHERE gtin = '03760001000634'")
            db.commit()
            """#,
            db,
        ]
        try writer.run()
        writer.waitUntilExit()
        #expect(writer.terminationStatus == 0)

        let list = try await CommandLine.run(["reservations", "list", "--db", db, "--store", "PAR01"])
        let lines = list.output.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == 1, "\(list.output)")
        let fields = lines.first?.split(separator: "\t", omittingEmptySubsequences: false) ?? []
        #expect(fields.count == 12 && fields[8...].allSatisfy(\.isEmpty), "prepared by, told at, told by, closed by: none yet")
        #expect(fields.count > 6 && fields[5] == #"Léa\r\nFAKE\tROW \u{202E}05,1 \\"#)
        #expect(fields.count > 6 && fields[6] == #"lea@example.com\tx"#)
        // Held until 2100: open from 2099 on, lapsed by 2101.
        let open = try await CommandLine.run(["reservations", "list", "--db", db, "--store", "PAR01", "--closed-since", "2099-01-01"])
        #expect(open.output == list.output)
        let lapsed = try await CommandLine.run(["reservations", "list", "--db", db, "--store", "PAR01", "--closed-since", "2101-01-01"])
        #expect(lapsed.status == 0 && lapsed.output.isEmpty)
        let wrong = try await CommandLine.run(["reservations", "list", "--db", db, "--store", "PAR01", "--closed-since", "soon"])
        #expect(wrong.status == 2 && wrong.errors.contains("--closed-since: 'soon' is not an ISO 8601 time or date"), "\(wrong.status) \(wrong.errors)")
        // Ready, once; not collected with none on hand; cancelled: the state each time, or why nothing changed (exit 1).
        let ready = try await CommandLine.run(["reservations", "ready", "--db", db, "--store", "PAR01", "abcd2345"])
        #expect(ready.status == 0 && ready.output == "ABCD2345: ready\n", "\(ready.errors)")
        let again = try await CommandLine.run(["reservations", "ready", "--db", db, "--store", "PAR01", "ABCD2345"])
        #expect(again.status == 1 && again.errors == "the reservation is ready; nothing changed\n")
        let elsewhere = try await CommandLine.run(["reservations", "collect", "--db", db, "--store", "LYO02", "ABCD2345"])
        #expect(elsewhere.status == 1 && elsewhere.errors == "no such reservation in this store\n")
        let uncollectable = try await CommandLine.run(["reservations", "collect", "--db", db, "--store", "PAR01", "ABCD2345"])
        #expect(uncollectable.status == 1 && uncollectable.errors == "only 0 on hand: update the stock first; nothing changed\n")
        let cancelled = try await CommandLine.run(["reservations", "cancel", "--db", db, "--store", "PAR01", "ABCD2345"])
        #expect(cancelled.status == 0 && cancelled.output == "ABCD2345: cancelled\n", "\(cancelled.errors)")

        let products = try await CommandLine.run(["products", "list", "--db", db])
        #expect(products.output.contains(#"Café\nnoir"#))
        #expect(products.output.split(separator: "\n").count == 212)
        let shown = try await CommandLine.run(["products", "show", "--db", db, "3760001000634"])
        #expect(shown.output.hasPrefix(#"Café\nnoir"# + "\n"))
    }

    @Test("token create (with an expiry), list and revoke: the token printed once, its id to name it, never the token in a list")
    func tokenLifecycle() async throws {
        let db = try CommandLine.temporaryDatabase()
        #expect(try await CommandLine.importSamples(into: db).status == 0)
        let created = try await CommandLine.run(["token", "create", "--db", db, "--store", "PAR01", "--scope", "stock", "--expires-in", "90d"])
        #expect(created.status == 0, "\(created.errors)")
        let token = created.output.trimmingCharacters(in: .newlines)
        #expect(token.hasPrefix("st_") && token.count == 46)
        let id = try #require(created.errors.split(separator: " ").dropFirst().first.map(String.init))
        #expect(created.errors == "token \(id) for store PAR01\n")

        let listed = try await CommandLine.run(["token", "list", "--db", db, "--format", "json"])
        #expect(listed.status == 0 && !listed.output.contains(token.dropFirst(3)))
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]])
        #expect(rows.count == 1 && rows[0]["id"] as? String == id && rows[0]["store"] as? String == "PAR01" && rows[0]["state"] as? String == "active")
        let expires = try #require((rows[0]["expires"] as? String).flatMap { try? time($0) })
        #expect(abs(expires.timeIntervalSinceNow - 90 * 86400) < 120)

        let revoked = try await CommandLine.run(["token", "revoke", "--db", db, String(id.prefix(8))])
        #expect(revoked.status == 0 && revoked.output == "revoked \(id) (store PAR01)\n", "\(revoked.errors)")
        #expect(try await CommandLine.run(["token", "list", "--db", db, "--store", "PAR01"]).output.contains("\trevoked\n"))
        #expect(try await CommandLine.run(["token", "revoke", "--db", db, id]).output == "\(id) was already revoked\n")
        let unknown = try await CommandLine.run(["token", "revoke", "--db", db, "abcdef"])
        #expect(unknown.status == 2 && unknown.errors.contains("no token with id abcdef"))
        #expect(try await CommandLine.run(["token", "revoke", "--db", db, "xyz"]).status == 2)
        #expect(try await CommandLine.run(["token", "create", "--db", db, "--store", "PAR01", "--scope", "stock", "--expires-in", "3x"]).status == 2)
    }

    @Test("render: progress stays off a pipe, one summary line, exit 1 for skipped products, 2 for unusable arguments")
    func render() async throws {
        let db = try CommandLine.temporaryDatabase()
        #expect(try await CommandLine.importSamples(into: db).status == 0)
        let out = URL(fileURLWithPath: db).deletingLastPathComponent().appendingPathComponent("tags").path
        let help = try await CommandLine.run(["render", "--help"])
        for option in [
            "--store <code>", "--template <name|path>", "--sheet <layout>", "--gtin <gtin>", "--stale", "--preview", "--out <dir>", "--dpi <dpi>",
            "--bilevel", "--ecc <level>", "--base-url <url>", "--manifest <format>", "--format <format>", "--zpl-graphic",
            "--printer <url|store>", "--wait <seconds>",
        ] {
            #expect(help.output.contains(option), "render --help lacks \(option)")
        }
        // No base URL: a print run refuses to start (its tags would point at this computer); a preview needs none.
        let noBase = try await CommandLine.run(["render", "--db", db, "--store", "LYO02", "--out", out, "--gtin", "3760001009491"])
        #expect(noBase.status == 2 && noBase.errors.contains("--base-url: a print run needs the resolver's public address"), "\(noBase.errors)")
        #expect(!FileManager.default.fileExists(atPath: out + "/LYO02/03760001009491.png"))
        // This promotion's shelf price is not the web shop's: printed, with the parity rule it breaks said per tag.
        let parity = "warning: parity: 03760001009491: store price 2.59 EUR differs from the web price 2.69 EUR\n"
        let preview = try await CommandLine.run(["render", "--db", db, "--store", "LYO02", "--out", out + "-preview", "--gtin", "3760001009491", "--preview"])
        #expect(preview.status == 0 && preview.errors == parity, "\(preview.errors)")
        // A local demo's address is allowed, with one line saying phones elsewhere cannot open it.
        let local = try await CommandLine.run([
            "render", "--db", db, "--store", "LYO02", "--out", out + "-local", "--gtin", "3760001009491", "--base-url", "http://192.168.1.20:8080",
        ])
        #expect(
            local.status == 0
                && local.errors
                    == "warning: http://192.168.1.20:8080 is this machine or a private network: phones elsewhere cannot open these tags\n" + parity
        )
        let base = ["--base-url", "https://s.shelftag.example"]
        let rendered = try await CommandLine.run(["render", "--db", db, "--store", "LYO02", "--out", out, "--gtin", "3760001009491"] + base)
        #expect(rendered.status == 0, "\(rendered.errors)")
        #expect(rendered.errors == parity, "no progress on a pipe, the one warning")
        #expect(rendered.output.hasPrefix("LYO02: 1 tag rendered") && rendered.output.split(separator: "\n").count == 1)
        #expect(FileManager.default.fileExists(atPath: out + "/LYO02/03760001009491.png"))

        #expect(local.output.contains(", 1 price change in "), "never printed before: \(local.output)")
        #expect(!rendered.output.contains("price change"), "printed at this price by the run before: \(rendered.output)")
        // A layout file with a bad row: its line, field and why, and nothing rendered.
        let layout = URL(fileURLWithPath: out + "-layout.csv")
        try Data("gtin,aisle,position\n3760001009491,A2,1\n3760001009492,A3,\n3760001001983,,4\n".utf8).write(to: layout)
        let badLayout = try await CommandLine.run(["render", "--db", db, "--store", "LYO02", "--out", out + "-walk", "--layout", layout.path] + base)
        #expect(badLayout.status == 2, "\(badLayout.errors)")
        #expect(
            badLayout.errors.contains("\(layout.path):3: gtin: ") && badLayout.errors.contains("\(layout.path):4: aisle: missing value"), "\(badLayout.errors)")
        #expect(!FileManager.default.fileExists(atPath: out + "-walk/LYO02"))
        // --strict refuses it: listed with the rule, exit 1, no file.
        let strict = try await CommandLine.run(
            ["render", "--db", db, "--store", "LYO02", "--out", out + "-strict", "--gtin", "3760001009491", "--strict"] + base)
        #expect(strict.status == 1 && strict.output.hasPrefix("LYO02: 0 tags rendered"), "\(strict.output)")
        #expect(
            strict.errors == "skipped 03760001009491: parity: store price 2.59 EUR differs from the web price 2.69 EUR (--strict)\n", "\(strict.errors)")
        #expect(!FileManager.default.fileExists(atPath: out + "-strict/LYO02/03760001009491.png"))

        let skipped = try await CommandLine.run(["render", "--db", db, "--store", "LYO02", "--out", out, "--gtin", "96385074"] + base)
        #expect(skipped.status == 1)
        #expect(skipped.errors.contains("skipped 00000096385074: no price in store LYO02"))

        let unknownStore = try await CommandLine.run(["render", "--db", db, "--store", "NOPE", "--out", out] + base)
        #expect(unknownStore.status == 2 && unknownStore.errors.contains("unknown store 'NOPE'"))
        #expect(try await CommandLine.run(["render", "--db", db, "--store", "LYO02", "--dpi", "250"]).status == 2)
        #expect(try await CommandLine.run(["render", "--db", db, "--store", "LYO02", "--base-url", "ftp://x"]).status == 2)
        let badTemplate = try await CommandLine.run(["render", "--db", db, "--store", "LYO02", "--template", "no-such-template"] + base)
        #expect(badTemplate.status == 2 && badTemplate.errors.contains("no-such-template.json: no such file"))

        let pdf = try await CommandLine.run(["render", "--db", db, "--store", "LYO02", "--out", out, "--format", "pdf", "--gtin", "3760001009491"] + base)
        #expect(pdf.status == 0 && FileManager.default.fileExists(atPath: out + "/LYO02/tags.pdf"), "\(pdf.errors)")
        let zpl = try await CommandLine.run(
            ["render", "--db", db, "--store", "LYO02", "--out", out, "--format", "zpl", "--dpi", "203", "--gtin", "3760001009491"] + base)
        #expect(zpl.status == 0 && FileManager.default.fileExists(atPath: out + "/LYO02/tags.zpl"), "\(zpl.errors)")
        for (arguments, message) in [
            (["--zpl-graphic"], "--zpl-graphic needs --format zpl"),
            (["--format", "zpl", "--sheet", "a4"], "--sheet: thermal labels are printed one by one"),
            (["--format", "pdf", "--bilevel"], "--bilevel: a PNG option"),
            (
                ["--format", "zpl", "--printer", "10.0.0.7"],
                "--printer: tcp://HOST[:9100] for ZPL labels, ipp://HOST[:631]/PATH (ipps://…) for the PDF or ZPL, or 'store' for the store's own; not a URL"
            ),
            (["--format", "zpl", "--printer", "tcp://10.0.0.7/queue"], "printer 'tcp://10.0.0.7/queue': not tcp://HOST[:PORT]"),
            (["--format", "pdf", "--printer", "tcp://10.0.0.7"], "--printer tcp://10.0.0.7:9100: a raw-socket printer takes ZPL: add --format zpl"),
            (
                ["--printer", "ipp://10.0.0.7/ipp/print"],
                "--printer ipp://10.0.0.7:631/ipp/print: an IPP printer is sent the run's PDF or ZPL: add --format pdf or zpl"
            ),
            (["--format", "zpl", "--printer", "tcp://10.0.0.7", "--wait", "30"], "--wait: only an IPP printer says when it has printed"),
            (["--format", "pdf", "--printer", "ipp://10.0.0.7/ipp/print", "--wait", "0"], "--wait: must be at least 1 second"),
            (["--format", "pdf", "--printer", "ipp://10.0.0.7/ipp/print?x"], "printer 'ipp://10.0.0.7/ipp/print?x': not ipp://HOST[:PORT]/PATH"),
            (["--format", "tiff"], "--format"),
        ] {
            let refused = try await CommandLine.run(["render", "--db", db, "--store", "LYO02", "--out", out] + arguments)
            #expect(refused.status == 2 && refused.errors.contains(message), "\(arguments): \(refused.errors)")
        }
        // A printer that is not there: one line naming it, nothing recorded, no file.
        let noPrinter = try await CommandLine.run(
            [
                "render", "--db", db, "--store", "LYO02", "--out", out + "-unsent", "--format", "zpl", "--printer", "tcp://no-such-printer.invalid",
            ] + base)
        #expect(noPrinter.status == 2 && noPrinter.errors == "printer no-such-printer.invalid: no such host\n", "\(noPrinter.errors)")
        #expect(!FileManager.default.fileExists(atPath: out + "-unsent/LYO02/tags.zpl"))
        // A password in a printer's address is refused without being repeated.
        let secret = try await CommandLine.run(
            ["render", "--db", db, "--store", "LYO02", "--out", out, "--format", "pdf", "--printer", "ipp://clerk:hunter2@10.0.0.7/ipp/print"])
        #expect(secret.status == 2 && secret.errors.contains("printer 'ipp://…@10.0.0.7/ipp/print': not ipp://"), "\(secret.errors)")
        #expect(!secret.errors.contains("hunter2") && !secret.output.contains("hunter2"))
        // Nor when the format is the wrong one, nor the scheme.
        for arguments in [["--printer", "ipp://clerk:hunter2@10.0.0.7/ipp/print"], ["--printer", "lpd://clerk:hunter2@10.0.0.7/queue"]] {
            let refused = try await CommandLine.run(["render", "--db", db, "--store", "LYO02", "--out", out] + arguments)
            #expect(refused.status == 2 && !refused.errors.contains("hunter2"), "\(refused.errors)")
        }
    }

    @Test("render --printer ipp://: the sheets go to a CUPS queue, one line says which job; the ledger then has nothing stale")
    func renderToPrintServer() async throws {
        let db = try CommandLine.temporaryDatabase()
        #expect(try await CommandLine.importSamples(into: db).status == 0)
        let out = URL(fileURLWithPath: db).deletingLastPathComponent().appendingPathComponent("tags").path
        let base = ["--base-url", "https://s.shelftag.example"]
        try await withPrintServer([.init("office")]) { server in
            let arguments = ["render", "--db", db, "--store", "LYO02", "--out", out, "--format", "pdf", "--sheet", "a4", "--printer", server.uri("office")]
            let printed = try await CommandLine.run(arguments + ["--gtin", "3760001001983"] + base)
            #expect(printed.status == 0, "\(printed.errors)")
            #expect(printed.output.hasPrefix("sent 1 page to \(server.uri("office")) as job 1 ("), "\(printed.output)")
            #expect(try server.documents() == [try Data(contentsOf: URL(fileURLWithPath: out + "/LYO02/sheets.pdf"))])
            let again = try await CommandLine.run(arguments + ["--gtin", "3760001001983", "--stale"] + base)
            #expect(again.status == 0 && again.output.contains("0 tags rendered"), "\(again.output)")
            #expect(try server.documents().count == 1, "a run with nothing to print sends no job")
        }
    }

    @Test(
        "render --printer store: each store's own printers from the stores file, the label printer for ZPL and the office printer for PDF; a store with none, PNG, or --wait to a raw socket refused before anything is drawn"
    )
    func renderToStorePrinters() async throws {
        let db = try CommandLine.temporaryDatabase()
        #expect(try await CommandLine.importSamples(into: db).status == 0)
        let folder = URL(fileURLWithPath: db).deletingLastPathComponent()
        let out = folder.appendingPathComponent("tags").path
        let base = ["--base-url", "https://s.shelftag.example", "--gtin", "3760001001983"]
        try await withPrintServer([.init("office"), .init("labels")]) { server in
            let stores = folder.appendingPathComponent("stores.csv")
            try Data(
                """
                code,name,address,latitude,longitude,timezone,locale,opening_hours,label_printer,office_printer
                LYO02,Maison Exemple Lyon Part-Dieu,"17 rue du Docteur Bouchut, 69003 Lyon",45.7609,4.8566,Europe/Paris,fr-FR,Mo-Sa 10:00-20:00,\(server.uri("labels")),\(server.uri("office"))
                BDX03,Maison Exemple Bordeaux Mériadeck,"57 rue du Château d'Eau, 33000 Bordeaux",44.8378,-0.5845,Europe/Paris,fr-FR,Mo-Sa 10:00-19:30,tcp://127.0.0.1:9,

                """.utf8
            ).write(to: stores)
            #expect(try await CommandLine.run(["import", "--db", db, stores.path]).status == 0)
            let listed = try await CommandLine.run(["stores", "list", "--db", db])
            #expect(
                listed.output.split(separator: "\n").map(String.init) == [
                    "BDX03\tMaison Exemple Bordeaux Mériadeck\tfr-FR\tEurope/Paris\tMo-Sa 10:00-19:30\ttcp://127.0.0.1:9\t",
                    "LIL04\tMaison Exemple Lille Grand Place\tfr-FR\tEurope/Paris\tMo-Fr 10:00-19:00; Sa 09:30-19:30\t\t",
                    "LYO02\tMaison Exemple Lyon Part-Dieu\tfr-FR\tEurope/Paris\tMo-Sa 10:00-20:00\t\(server.uri("labels"))\t\(server.uri("office"))",
                    "PAR01\tMaison Exemple Paris Rivoli\tfr-FR\tEurope/Paris\tMo-Sa 10:00-20:00; Su 11:00-19:00\t\t",
                ], "\(listed.output)")
            let lyon = ["render", "--db", db, "--store", "LYO02", "--out", out, "--printer", "store"] + base

            let pdf = try await CommandLine.run(lyon + ["--format", "pdf"])
            #expect(pdf.status == 0, "\(pdf.errors)")
            #expect(pdf.output.hasPrefix("sent 1 page to \(server.uri("office")) as job 1 ("), "\(pdf.output)")
            let zpl = try await CommandLine.run(lyon + ["--format", "zpl", "--preview"])
            #expect(zpl.status == 0, "\(zpl.errors)")
            #expect(zpl.output.hasPrefix("sent 1 label to \(server.uri("labels")) as job 2 ("), "\(zpl.output)")
            let documents = try server.documents()
            #expect(documents.count == 2)
            #expect(documents.last == (try Data(contentsOf: URL(fileURLWithPath: out + "/LYO02/tags.zpl"))), "the label queue got the ZPL as written")

            // Refused before anything is drawn: no printer of the kind, PNG, --wait on a printer that cannot say.
            let paris = try await CommandLine.run(["render", "--db", db, "--store", "PAR01", "--out", out, "--format", "zpl", "--printer", "store"] + base)
            #expect(paris.status == 2 && paris.errors.contains("--printer store: the stores file names no label_printer for PAR01"), "\(paris.errors)")
            let bordeauxOffice = try await CommandLine.run(
                ["render", "--db", db, "--store", "BDX03", "--out", out, "--format", "pdf", "--printer", "store"] + base)
            #expect(bordeauxOffice.status == 2 && bordeauxOffice.errors.contains("names no office_printer for BDX03"), "\(bordeauxOffice.errors)")
            let wait = try await CommandLine.run(
                ["render", "--db", db, "--store", "BDX03", "--out", out, "--format", "zpl", "--printer", "store", "--wait", "5"] + base)
            #expect(wait.status == 2 && wait.errors.contains("--wait: only an IPP printer says when it has printed"), "\(wait.errors)")
            let png = try await CommandLine.run(lyon)
            #expect(png.status == 2 && png.errors.contains("--printer store: PNG is not sent to printers"), "\(png.errors)")
            for store in ["PAR01", "BDX03"] {
                #expect(!FileManager.default.fileExists(atPath: out + "/" + store), "\(store): nothing drawn")
            }
            #expect(try server.documents().count == 2, "no other job")

            // Every store at once: each to its own printer; those without one, or whose printer is not there, are
            // said and the others go on; the exit status is the worst store's.
            let chain = try await CommandLine.run(
                ["render", "--db", db, "--all-stores", "--out", out, "--format", "zpl", "--printer", "store", "--preview"] + base)
            #expect(chain.status == 2, "\(chain.output)\(chain.errors)")
            #expect(chain.output.contains("sent 1 label to \(server.uri("labels")) as job 3 ("), "\(chain.output)")
            #expect(chain.output.contains("LYO02: 1 tag rendered"), "\(chain.output)")
            for store in ["PAR01", "LIL04"] {
                #expect(chain.errors.contains("\(store): --printer store: the stores file names no label_printer for \(store)"), "\(chain.errors)")
            }
            #expect(chain.errors.contains("BDX03: printer 127.0.0.1:9"), "\(chain.errors)")
            #expect(chain.output.hasSuffix("4 stores: 1 tag rendered, 0 skipped; 3 failed: BDX03, LIL04, PAR01\n"), "\(chain.output)")
            #expect(try server.documents().count == 3)
        }
    }

    @Test("render --all-stores: every store of the reference in turn, each in its own folder; with --store, or --layout, refused")
    func renderAllStores() async throws {
        let db = try CommandLine.temporaryDatabase()
        #expect(try await CommandLine.importSamples(into: db).status == 0)
        let out = URL(fileURLWithPath: db).deletingLastPathComponent().appendingPathComponent("tags").path
        let all = try await CommandLine.run(["render", "--db", db, "--all-stores", "--out", out, "--preview", "--gtin", "3760001001983"])
        #expect(all.status == 0, "\(all.errors)")
        let stores = ["BDX03", "LIL04", "LYO02", "PAR01"]
        let lines = all.output.split(separator: "\n")
        #expect(lines.dropLast().map { String($0.prefix(5)) } == stores, "\(all.output)")
        #expect(lines.last == "4 stores: 4 tags rendered, 0 skipped", "\(all.output)")
        // Among many stores' lines, a warning names its store: Lyon's planted price differs from the web's.
        let planted = try await CommandLine.run(["render", "--db", db, "--all-stores", "--out", out, "--preview", "--gtin", "3760001009491"])
        #expect(planted.errors.contains("LYO02: warning: parity: 03760001009491: store price 2.59 EUR differs"), "\(planted.errors)")
        for store in stores { #expect(FileManager.default.fileExists(atPath: "\(out)/\(store)/03760001001983.png"), "\(store)") }
        for (arguments, message) in [
            (["--all-stores", "--store", "PAR01"], "give --store CODE or --all-stores"), ([], "give --store CODE or --all-stores"),
            (["--all-stores", "--layout", "layout.csv"], "--layout: a layout file is one store's"),
        ] {
            let refused = try await CommandLine.run(["render", "--db", db, "--out", out, "--preview"] + arguments)
            #expect(refused.status == 2 && refused.errors.contains(message), "\(arguments): \(refused.errors)")
        }
    }
}

@Suite("shelftag serve, token, stats")
struct ServeCommandTests {
    @Test("serve answers, stops on SIGTERM with status 0 and writes its scans; token create and stats")
    func serveStopsGracefully() async throws {
        let db = try CommandLine.temporaryDatabase()
        #expect(try await CommandLine.importSamples(into: db).status == 0)
        let token = try await CommandLine.run(["token", "create", "--db", db, "--store", "PAR01", "--scope", "prices", "--scope", "stock"])
        #expect(token.status == 0 && token.output.hasPrefix("st_") && token.output.count > 40)
        #expect(try await CommandLine.run(["token", "create", "--db", db, "--store", "NOPE", "--scope", "stock"]).status == 2)
        #expect(try await CommandLine.run(["token", "create", "--db", db, "--store", "PAR01"]).status == 2)

        let port = try freeLocalPort()
        let errors = Pipe()
        let server = try await CommandLine.startServer(db: db, port: port, options: ["--base-url", "https://s.example"], errors: errors)
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/01/03760001001983?s=PAR01&t=x")!)
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        let (_, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        server.terminate()  // SIGTERM
        server.waitUntilExit()
        #expect(server.terminationStatus == 0)
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("resolver listening on http://127.0.0.1:\(port)"))
        #expect(log.contains("method=GET") && log.contains("status=200"), "one access-log line per request")

        let stats = try await CommandLine.run(["stats", "--db", db, "--store", "PAR01"])
        #expect(stats.status == 0)
        #expect(stats.output.contains("PAR01\t03760001001983\t1\t0"), "\(stats.output)")
        #expect(stats.errors.contains("1 scans, 0 of stale tags"))
        #expect(try await CommandLine.run(["stats", "--db", db, "--since", "last week"]).status == 2)
    }

    @Test("stats --by associate and --by tag, as text, CSV and JSON, from a real resolver's scans, reservations and click-outs")
    func associateStats() async throws {
        let db = try CommandLine.temporaryDatabase()
        #expect(try await CommandLine.importSamples(into: db).status == 0)
        let added = try await CommandLine.run(["associates", "add", "--db", db, "--store", "PAR01", "--name", "Léa, M.", "--languages", "fr"])
        let code = String(added.output.prefix(5))
        let port = try freeLocalPort()
        let server = try await CommandLine.startServer(
            db: db, port: port, options: ["--reservations-per-minute", "0", "--associate-param", "vendeur", "--log-level", "warning"])
        let base = "http://127.0.0.1:\(port)"
        // Redirects are read, not followed: the web shop is not on this machine.
        let session = URLSession(configuration: .ephemeral, delegate: NoRedirects(), delegateQueue: nil)
        func send(_ path: String, method: String = "GET", body: String? = nil) async throws -> HTTPURLResponse {
            var request = URLRequest(url: URL(string: base + path)!)
            request.httpMethod = method
            request.setValue("application/json", forHTTPHeaderField: "Accept")
            if let body {
                request.httpBody = Data(body.utf8)
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            }
            let (_, response) = try await session.data(for: request)
            return response as! HTTPURLResponse
        }
        for _ in 0..<3 { #expect(try await send("/01/03760001001983?s=PAR01&t=T1&a=\(code)").statusCode == 200) }
        #expect(try await send("/01/03760001001983?s=PAR01&t=T1").statusCode == 200)
        let body = #"{"store": "PAR01", "quantity": 2, "name": "Ana", "contact": "ana@example.com"}"#
        #expect(try await send("/products/03760001001983/reserve?a=\(code)", method: "POST", body: body).statusCode == 201)
        var ask = URLRequest(url: URL(string: base + "/help")!)
        ask.httpMethod = "POST"
        ask.httpBody = Data("gtin=03760001001983&s=PAR01&t=T1".utf8)
        ask.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        #expect((try await session.data(for: ask).1 as? HTTPURLResponse)?.statusCode == 303)
        // Sent on to the web shop with the code under the retailer's parameter name.
        let out = try await send("/products/03760001000634/web?type=deliver&s=PAR01&a=\(code)")
        #expect(out.statusCode == 303)
        #expect(out.value(forHTTPHeaderField: "Location")?.contains("vendeur=\(code)") == true)
        server.terminate()
        server.waitUntilExit()

        let text = try await CommandLine.run(["stats", "--db", db, "--by", "associate"])
        #expect(
            text.output.split(separator: "\n").first == "associate\tstore\tname\tscans\treservations\tunits\tvalue\tclick_outs\tprepared\thanded_over")
        #expect(text.output.contains("\(code)\tPAR01\tLéa, M.\t3\t1\t2\t"), "\(text.output)")
        #expect(!text.output.contains("Ana") && !text.output.contains("ana@"), "no shopper's name or contact")
        let csv = try await CommandLine.run(["stats", "--db", db, "--by", "associate", "--format", "csv"])
        #expect(csv.output.contains("\(code),PAR01,\"Léa, M.\",3,1,2,"), "\(csv.output)")
        let json = try await CommandLine.run(["stats", "--db", db, "--by", "associate", "--format", "json"])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]])
        #expect(rows.count == 1)
        #expect(rows.first?["scans"] as? Int == 3 && rows.first?["click_outs"] as? Int == 1 && rows.first?["units"] as? Int == 2)
        let value = try #require((rows.first?["value"] as? [[String: Any]])?.first)
        #expect(value["currency"] as? String == "EUR")
        let tags = try await CommandLine.run(["stats", "--db", db, "--by", "tag", "--format", "csv"])
        #expect(tags.output.contains("PAR01,03760001001983,T1,4,"), "\(tags.output)")
        #expect(try await CommandLine.run(["stats", "--db", db, "--by", "shopper"]).status == 2)
        let help = try await CommandLine.run(["stats", "--db", db, "--by", "help", "--format", "csv"])
        #expect(help.output == "store,requests,taken,average_wait_s,longest_wait_s\r\nPAR01,1,0,,\r\n", "\(help.output)")
    }
}

@Suite("Reservations survive a crash")
struct ReservationCrashTests {
    static let serveOptions = ["--reservations-per-minute", "0", "--log-level", "warning"]

    @Test("SIGKILL during a burst: every confirmed reservation is there after a restart, and holds equal the active reservations")
    func killDuringBurst() async throws {
        let db = try CommandLine.temporaryDatabase()
        #expect(try await CommandLine.importSamples(into: db).status == 0)
        let port = try freeLocalPort()
        let server = try await CommandLine.startServer(db: db, port: port, options: Self.serveOptions)
        let gtin = "03760001001983"  // 32 on hand in PAR01
        let confirmed = ConfirmedCodes()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<120 {
                group.addTask {
                    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/products/\(gtin)/reserve")!)
                    request.httpMethod = "POST"
                    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                    request.httpBody = Data(#"{"store": "PAR01", "quantity": 1, "name": "Client \#(index)", "contact": "c\#(index)@example.com"}"#.utf8)
                    guard let (data, response) = try? await URLSession.shared.data(for: request), (response as? HTTPURLResponse)?.statusCode == 201,
                        let code = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["code"] as? String
                    else { return }
                    if await confirmed.add(code) == 8 { kill(server.processIdentifier, SIGKILL) }
                }
            }
        }
        server.waitUntilExit()
        #expect(server.terminationReason == .uncaughtSignal)
        let codes = await confirmed.codes
        #expect(codes.count >= 8)

        let list = try await CommandLine.run(["reservations", "list", "--db", db, "--store", "PAR01"])
        let rows = list.output.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        let stored = Set(rows.map { $0[0] })
        #expect(codes.isSubset(of: stored), "confirmed but missing: \(codes.subtracting(stored))")
        let held = rows.filter { $0[1] == "held" }.map { Int($0[3])! }.reduce(0, +)
        #expect(held <= 32)

        let restarted = try await CommandLine.startServer(db: db, port: port + 1, options: Self.serveOptions)
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port + 1)/01/\(gtin)?s=PAR01")!)
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        let (data, _) = try await URLSession.shared.data(for: request)
        restarted.terminate()
        restarted.waitUntilExit()
        let store = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["store"] as? [String: Any]
        #expect((store?["stock"] as? [String: Any])?["available"] as? Int == 32 - held)
    }
}

/// Pickup codes the clients saw confirmed.
actor ConfirmedCodes {
    private(set) var codes: Set<String> = []

    func add(_ code: String) -> Int {
        codes.insert(code)
        return codes.count
    }
}

@Suite("shelftag parity")
struct ParityCommandTests {
    @Test("exit 1 with the planted mismatches, reports on stdout only, 2 for an unknown store or an unreachable resolver")
    func exitStatuses() async throws {
        let db = try CommandLine.temporaryDatabase()
        #expect(try await CommandLine.importSamples(into: db).status == 0)
        let text = try await CommandLine.run(["parity", "--db", db, "--at", "2026-11-23T10:00Z"])
        #expect(text.status == 1 && text.errors.isEmpty)
        #expect(text.output.contains("store-web-price (error)") && text.output.contains("parity: 4 errors, 0 warnings"))
        let junit = URL(fileURLWithPath: db).deletingLastPathComponent().appendingPathComponent("parity.xml").path
        let written = try await CommandLine.run(["parity", "--db", db, "--at", "2026-11-23T10:00Z", "--format", "junit", "--output", junit])
        #expect(written.status == 1 && written.output.isEmpty)
        #expect(try String(contentsOfFile: junit, encoding: .utf8).hasPrefix("<?xml"))
        let lyon = try await CommandLine.run(["parity", "--db", db, "--at", "2026-11-23T10:00Z", "--store", "BDX03", "--format", "json"])
        #expect(lyon.status == 1 && lyon.output.contains("\"store\" : \"BDX03\""))
        #expect(try await CommandLine.run(["parity", "--db", db, "--store", "NOPE"]).status == 2)
        let unreachable = try await CommandLine.run(["parity", "--db", db, "--store", "PAR01", "--resolver", "http://127.0.0.1:9"])
        #expect(unreachable.status == 2 && unreachable.errors.contains("unreachable"))
        #expect(try await CommandLine.run(["parity", "--db", db, "--web", "no-such.tsv"]).status == 2)
    }
}

@Suite("shelftag associates")
struct AssociatesCommandTests {
    @Test("add, import (all or none, located errors), list, link as URL and QR code, revoke, remove")
    func lifecycle() async throws {
        let db = try CommandLine.temporaryDatabase()
        #expect(try await CommandLine.importSamples(into: db).status == 0)
        let added = try await CommandLine.run(["associates", "add", "--db", db, "--store", "PAR01", "--name", "Léa", "--languages", "fr,en"])
        #expect(added.status == 0)
        let fields = added.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").map(String.init)
        #expect(fields.count == 4 && fields[1] == "PAR01" && fields[2] == "Léa" && fields[3].hasPrefix("sa_"))
        let code = fields.first ?? ""
        #expect(code.count == 5 && !code.contains(where: { "01OI".contains($0) }), "an unambiguous public code: \(code)")

        let directory = URL(fileURLWithPath: db).deletingLastPathComponent()
        let bad = directory.appendingPathComponent("bad.csv").path
        try "store,name,languages\nPAR01,Marc,fr;de\nNOPE,Tom,en\nLYO02,,en\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let refused = try await CommandLine.run(["associates", "import", "--db", db, bad])
        #expect(refused.status == 1)
        #expect(refused.errors.contains("bad.csv:3: store: unknown store 'NOPE'"))
        #expect(refused.errors.contains("bad.csv:4: name: is missing"))
        let good = directory.appendingPathComponent("good.csv").path
        try "store,name,languages\nPAR01,Marc,fr;de\nLYO02,\"Zoé, jr\",en\n".write(toFile: good, atomically: true, encoding: .utf8)
        let imported = try await CommandLine.run(["associates", "import", "--db", db, good])
        #expect(imported.status == 0)
        #expect(imported.output.split(separator: "\n").count == 2)

        let list = try await CommandLine.run(["associates", "list", "--db", db, "--store", "PAR01"])
        #expect(
            list.output.split(separator: "\n").map { $0.split(separator: "\t")[2] } == ["Léa", "Marc"], "only PAR01's, by name; nobody from the refused file")
        #expect(list.output.contains("\(code)\tPAR01\tLéa\tfr,en\tcan sign in"))

        let png = directory.appendingPathComponent("link.png").path
        let link = try await CommandLine.run(
            ["associates", "link", "--db", db, code.lowercased(), "--gtin", "3760001001983", "--base-url", "https://s.example.com", "--qr", png])
        #expect(link.status == 0)
        let url = "https://s.example.com/01/03760001001983?s=PAR01&a=\(code)"
        #expect(link.output == url + "\n")
        #expect(try await zbarSymbols(in: [png])[png] == ["QR-Code:" + url])
        let own = try await CommandLine.run(["associates", "link", "--db", db, code, "--base-url", "https://s.example.com", "--qr", png])
        #expect(own.output == "https://s.example.com/associates/\(code)\n")

        #expect(try await CommandLine.run(["associates", "revoke", "--db", db, code]).status == 0)
        #expect(try await CommandLine.run(["associates", "list", "--db", db, "--store", "PAR01"]).output.contains("\(code)\tPAR01\tLéa\tfr,en\trevoked"))
        #expect(try await CommandLine.run(["associates", "remove", "--db", db, code]).status == 0)
        #expect(try await CommandLine.run(["associates", "remove", "--db", db, code]).status == 1)
        #expect(try await CommandLine.run(["associates", "link", "--db", db, code]).status == 1)
        #expect(try await CommandLine.run(["associates", "add", "--db", db, "--store", "PAR01", "--name", "X", "--languages", "f1"]).status == 2)
    }
}

/// Hands a redirect back to the caller instead of following it.
private final class NoRedirects: NSObject, URLSessionTaskDelegate {
    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse, newRequest request: URLRequest,
        completionHandler: @escaping (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}
