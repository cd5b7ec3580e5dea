import Foundation
import ShelfTagDomain
import ShelfTagFeeds
import ShelfTagPrinting
import ShelfTagRender
import ShelfTagStorage
import ShelfTagTestSupport
import Testing

/// The instant the tests print at: inside the sample promotions' window.
let printTime = try! time("2026-11-23T10:00Z")

func request(_ store: String, into directory: URL, dpi: Int = 300, configure: (inout PrintRequest) -> Void = { _ in }) -> PrintRequest {
    var request = PrintRequest(
        storeCode: store, baseURL: "https://s.shelftag.example", directory: directory, settings: RenderSettings(dpi: dpi), time: printTime)
    configure(&request)
    return request
}

@Suite("Printing a store's tags")
struct PrintRunTests {
    @Test("every sample tag's QR code decodes to its exact URL and its barcode to its GTIN")
    func everySampleTagScans() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let directory = try newDirectory()
        var files: [String: RenderedTag] = [:]
        for store in try await reference.stores() {
            let report = try await PrintRun.run(request(store.code, into: directory) { $0.preview = true }, reference: reference, library: templates)
            let listed = try #require(try await reference.shelf(of: store.code)).items.count
            #expect(report.rendered.count == listed && listed > 0)
            #expect(report.skipped.isEmpty)
            #expect(report.rendered.contains { $0.template == "promotion" } && report.rendered.contains { $0.template == "standard" })
            for tag in report.rendered { files[directory.appendingPathComponent(tag.file).path] = tag }
        }
        #expect(files.count > 700, "every sample store's tags")
        let symbols = try await zbarSymbols(in: Array(files.keys))
        for (file, tag) in files {
            let found = symbols[file] ?? []
            let gtin = tag.content.label.gtin
            #expect(found.contains("QR-Code:" + tag.content.uri), "\(file): \(found)")
            #expect(tag.content.uri == "https://s.shelftag.example/01/\(gtin.digits)?s=\(tag.content.label.storeCode)&t=\(tag.content.label.tagID)")
            // zbar reports UPC-A in its EAN-13 form (a leading zero).
            let linear = gtin.symbology == .ean8 ? "EAN-8:" + gtin.symbolDigits : "EAN-13:" + gtin.digits.suffix(13)
            #expect(found.contains(linear), "\(file): \(found)")
            #expect(found.count == 2, "\(file): \(found)")
        }
    }

    @Test("PNG size and pHYs match the template at each resolution", arguments: [(203, false), (300, false), (600, false), (300, true)])
    func sizeAndResolution(dpi: Int, bilevel: Bool) async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let directory = try newDirectory()
        let report = try await PrintRun.run(
            request("LYO02", into: directory, dpi: dpi) {
                $0.gtins = [try! GTIN("3760001009491"), try! GTIN("3760001001983")]
                $0.settings.format = bilevel ? .bilevel : .grey
            }, reference: reference, library: templates)
        #expect(report.rendered.count == 2)
        for tag in report.rendered {
            let data = try Data(contentsOf: directory.appendingPathComponent(tag.file))
            let header = try #require(PNGHeader(data))
            let size = tag.template == "promotion" ? (80.0, 50.0) : (60.0, 40.0)
            #expect(header.width == Int((size.0 * Double(dpi) / 25.4).rounded()))
            #expect(header.height == Int((size.1 * Double(dpi) / 25.4).rounded()))
            #expect(header.bitDepth == (bilevel ? 1 : 8) && header.colourType == 0)
            let perMetre = Int((Double(dpi) / 0.0254).rounded())
            #expect(header.pixelsPerMetre?.x == perMetre && header.pixelsPerMetre?.y == perMetre && header.pixelsPerMetre?.unit == 1)
            let qr = try #require(tag.qrCode)
            #expect(Double(qr.modulePixels) * 25.4 / Double(dpi) >= 0.5)
        }
        let symbols = try await zbarSymbols(in: report.rendered.map { directory.appendingPathComponent($0.file).path })
        #expect(symbols.values.allSatisfy { $0.count == 2 })
    }

    @Test("the same inputs give the same bytes")
    func deterministic() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let first = try newDirectory()
        let second = try newDirectory()
        let one = try await PrintRun.run(request("BDX03", into: first) { $0.preview = true }, reference: reference, library: templates)
        _ = try await PrintRun.run(
            request("BDX03", into: second) {
                $0.preview = true
                $0.settings.workers = 1
            }, reference: reference, library: templates)
        for file in one.rendered.map(\.file) + ["BDX03/manifest.csv"] {
            #expect(try Data(contentsOf: first.appendingPathComponent(file)) == Data(contentsOf: second.appendingPathComponent(file)), "\(file)")
        }
    }

    @Test("--stale selects exactly the tags whose price changed and the products never printed")
    func staleSelectsChangedTags() async throws {
        let path = try await sampleDatabase()
        let reference = try SQLiteProductReference(path: path)
        let shelf = try #require(try await reference.shelf(of: "PAR01"))
        let neverPrinted = shelf.items[3].product
        let repriced = shelf.items[10].product
        let directory = try newDirectory()
        let all = shelf.items.map(\.product.gtin).filter { $0 != neverPrinted.gtin }
        let first = try await PrintRun.run(request("PAR01", into: directory) { $0.gtins = all }, reference: reference, library: templates)
        #expect(first.rendered.count == all.count)

        let afterPrint = try await PrintRun.run(
            request("PAR01", into: directory) {
                $0.staleOnly = true
                $0.preview = true
            }, reference: reference, library: templates)
        #expect(afterPrint.rendered.map(\.content.label.gtin) == [neverPrinted.gtin])

        // A new store price for one product, as the morning's local inventory feed brings it.
        let feed = try newDirectory().appendingPathComponent("inventory.tsv")
        try Data("store_code\tid\tquantity\tprice\tavailability\nPAR01\t\(repriced.itemID)\t5\t1234.56 EUR\tin_stock\n".utf8).write(to: feed)
        let (report, rejected) = try await runImport([feed.path], into: reference, asOf: "2026-11-23T06:00Z")
        #expect(rejected.isEmpty && report.committed)

        let stale = try await PrintRun.run(request("PAR01", into: directory) { $0.staleOnly = true }, reference: reference, library: templates)
        #expect(Set(stale.rendered.map(\.content.label.gtin)) == [neverPrinted.gtin, repriced.gtin])
        #expect(stale.rendered.first { $0.content.label.gtin == repriced.gtin }?.content.label.price.feedValue == "1234.56 EUR")
        // The run's list of price changes, for whoever swaps the tags: the repriced one old → new, the new one new.
        #expect(first.changeCount == all.count, "nothing printed before: every tag is new")
        let changes = try String(contentsOf: try #require(stale.changes), encoding: .utf8).split(separator: "\n").map(String.init)
        let oldPrice = try #require(first.rendered.first { $0.content.label.gtin == repriced.gtin }?.content.label.price.feedValue)
        #expect(changes.first == "gtin,name,aisle,position,tags,old_price,new_price")
        #expect(changes.contains { $0.hasPrefix(repriced.gtin.digits + ",") && $0.hasSuffix(",\(oldPrice),1234.56 EUR") }, "\(changes)")
        #expect(changes.contains { $0.hasPrefix(neverPrinted.gtin.digits + ",") && $0.contains(",,") })
        #expect(changes.count == 3 && stale.changeCount == 2)
        let afterReprint = try await PrintRun.run(request("PAR01", into: directory) { $0.staleOnly = true }, reference: reference, library: templates)
        #expect(afterReprint.rendered.isEmpty && afterReprint.changes == nil)
        // The ledger knows what each printed tag shows, for the resolver's stale-tag notice.
        let printed = try await reference.printedTag(
            store: "PAR01", gtin: repriced.gtin, tagID: first.rendered.first { $0.content.label.gtin == repriced.gtin }!.content.label.tagID)
        #expect(printed?.label.price != stale.rendered.first { $0.content.label.gtin == repriced.gtin }?.content.label.price)
    }

    @Test("a product with no price in the store is skipped and listed, not printed blank")
    func missingPriceIsSkipped() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let shelf = try #require(try await reference.shelf(of: "PAR01"))
        let listed = Set(shelf.items.map(\.product.gtin))
        let unlisted = try #require(try await reference.summaries(at: printTime).map(\.gtin).first { !listed.contains($0) })
        let directory = try newDirectory()
        let report = try await PrintRun.run(
            request("PAR01", into: directory) {
                $0.gtins = [unlisted, shelf.items[0].product.gtin]
                $0.manifestFormat = .json
            }, reference: reference,
            library: templates)
        #expect(report.rendered.map(\.content.label.gtin) == [shelf.items[0].product.gtin])
        #expect(report.skipped.map(\.gtin) == [unlisted])
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("PAR01/\(unlisted.digits).png").path))
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: try #require(report.manifest))) as? [String: Any]
        #expect((manifest?["skipped"] as? [[String: String]])?.first?["gtin"] == unlisted.digits)
    }

    @Test("an unknown store, or a selection the store does not list, writes nothing")
    func nothingToPrintWritesNothing() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let directory = try newDirectory().appendingPathComponent("out")
        await #expect(throws: PrintRunError.self) { try await PrintRun.run(request("NOPE", into: directory), reference: reference, library: templates) }
        let listed = Set(try #require(try await reference.shelf(of: "PAR01")).items.map(\.product.gtin))
        let unlisted = try #require(try await reference.summaries(at: printTime).map(\.gtin).first { !listed.contains($0) })
        let report = try await PrintRun.run(request("PAR01", into: directory) { $0.gtins = [unlisted] }, reference: reference, library: templates)
        #expect(report.rendered.isEmpty && report.skipped.map(\.gtin) == [unlisted] && report.manifest == nil)
        #expect(!FileManager.default.fileExists(atPath: directory.path))
        #expect(try await reference.latestPrints(in: "PAR01").isEmpty)
    }

    @Test("the CSV manifest quotes what needs it: every row reads back as its tag's 14 fields")
    func manifestCSVReadsBack() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let report = try await PrintRun.run(request("PAR01", into: try newDirectory()) { $0.preview = true }, reference: reference, library: templates)
        let text = try String(contentsOf: try #require(report.manifest), encoding: .utf8)
        /// RFC 4180 records: fields split at commas outside quotes, a doubled quote inside quotes read as one.
        var records: [[String]] = [[]]
        var field = ""
        var quoted = false
        var characters = text.makeIterator()
        while let character = characters.next() {
            switch (character, quoted) {
            case ("\"", true):
                var lookahead = characters
                if lookahead.next() == "\"" {
                    field.append("\"")
                    characters = lookahead
                } else {
                    quoted = false
                }
            case ("\"", false): quoted = true
            case (",", false):
                records[records.count - 1].append(field)
                field = ""
            case ("\n", false):
                records[records.count - 1].append(field)
                field = ""
                records.append([])
            default: field.append(character)
            }
        }
        #expect(records.removeLast().isEmpty, "the manifest ends with a line break")
        #expect(records.first?.count == 14)
        let rows = records.dropFirst()
        #expect(rows.count == report.rendered.count)
        for (row, tag) in zip(rows, report.rendered) {
            #expect(row.count == 14 && row[0] == tag.content.label.gtin.digits && row[1] == tag.content.fields["name"] && row[10] == tag.content.uri)
        }
        #expect(rows.contains { $0[1].contains(",") }, "the samples have names with commas")
    }

    @Test("an output folder that cannot be made stops the run with the folder named, and the ledger records nothing")
    func unwritableOutputStopsTheRun() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let directory = URL(fileURLWithPath: "/proc/shelftag-cannot-write")
        await #expect {
            try await PrintRun.run(request("PAR01", into: directory), reference: reference, library: templates)
        } throws: { error in
            guard case .render(.cannotWrite(let path, _))? = error as? PrintRunError else { return false }
            return path.hasPrefix(directory.path)
        }
        #expect(try await reference.latestPrints(in: "PAR01").isEmpty)
    }

    @Test("a bad template stops the run before anything is written")
    func badTemplateWritesNothing() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        // A box that starts past the tag's right edge.
        let bad = try templateFile(
            #"{"name": "bad", "size": {"width": 40, "height": 20}, "elements": [{"name": "rule", "type": "box", "frame": {"x": 45, "y": 1, "width": 5, "height": 1}}]}"#
        )
        let directory = try newDirectory().appendingPathComponent("out")
        await #expect(throws: PrintRunError.self) {
            try await PrintRun.run(request("PAR01", into: directory) { $0.template = bad.path }, reference: reference, library: templates)
        }
        #expect(!FileManager.default.fileExists(atPath: directory.path))
        #expect(try await reference.latestPrints(in: "PAR01").isEmpty)
    }

    @Test("with the store's layout, tags come out in walking order (A2 before A10, by position, unplaced last), each with its print day")
    func walkingOrder() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let shelf = try #require(try await reference.shelf(of: "PAR01"))
        let gtins = shelf.items.prefix(6).map(\.product.gtin)
        let layout: [GTIN: [ShelfSpot]] = [
            gtins[5]: [ShelfSpot(aisle: "A2", position: 1)], gtins[0]: [ShelfSpot(aisle: "A10", position: 1)],
            gtins[3]: [ShelfSpot(aisle: "a2", position: 5)], gtins[1]: [ShelfSpot(aisle: "A2", position: nil)],
        ]
        let report = try await PrintRun.run(
            request("PAR01", into: try newDirectory()) {
                $0.gtins = Array(gtins)
                $0.layout = layout
                $0.preview = true
            }, reference: reference, library: templates)
        #expect(report.rendered.map(\.content.label.gtin) == [gtins[5], gtins[3], gtins[1], gtins[0], gtins[2], gtins[4]])
        let today = DayText.format(Date(), locale: "fr-FR", timeZone: "Europe/Paris", style: .short)
        #expect(report.rendered.allSatisfy { $0.content.fields["printedOn"] == today })
        let changes = try String(contentsOf: try #require(report.changes), encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(
            changes.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).dropFirst(2).first.map(String.init) ?? "?" } == [
                "A2", "a2", "A2", "A10", "", "",
            ])
    }

    @Test(
        "a product at two spots, two tags at one of them: a tag each in walking order (its own PNG, page, label or place on a sheet), one row per spot in changes.csv, one ledger record"
    )
    func copiesAtSeveralSpots() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let shelf = try #require(try await reference.shelf(of: "PAR01"))
        let gtins = shelf.items.prefix(3).map(\.product.gtin)
        // The first on its shelf (two tags) and on an end cap; the second in A1; the third unplaced.
        let layout: [GTIN: [ShelfSpot]] = [
            gtins[0]: [ShelfSpot(aisle: "A2", position: 4, copies: 2), ShelfSpot(aisle: "E1", position: nil)], gtins[1]: [ShelfSpot(aisle: "A1", position: 1)],
        ]
        let walk = [gtins[1], gtins[0], gtins[0], gtins[0], gtins[2]]
        for format in [TagFileFormat.pdf, .zpl, .png] {
            let directory = try newDirectory()
            let report = try await PrintRun.run(
                request("PAR01", into: directory) {
                    $0.gtins = Array(gtins)
                    $0.layout = layout
                    $0.preview = format != .png
                    $0.settings.fileFormat = format
                }, reference: reference, library: templates)
            #expect(report.rendered.map(\.content.label.gtin) == walk, "\(format)")
            #expect(report.rendered.map(\.copy) == [1, 1, 2, 3, 1])
            #expect(report.rendered.map { $0.spot?.aisle ?? "" } == ["A1", "A2", "A2", "E1", ""])
            switch format {
            case .png:
                let files = report.rendered.map(\.file)
                #expect(files == walk.enumerated().map { "PAR01/\($0.element.digits)\([2: "-2", 3: "-3"][$0.offset] ?? "").png" })
                for file in files { #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(file).path)) }
                let symbols = try await zbarSymbols(in: files.map { directory.appendingPathComponent($0).path })
                for (file, tag) in zip(files, report.rendered) {
                    #expect(symbols[directory.appendingPathComponent(file).path]?.contains("QR-Code:" + tag.content.uri) == true, "\(file)")
                }
            case .pdf, .zpl:
                #expect(report.rendered.map(\.page) == [1, 2, 3, 4, 5], "a page or label each")
            }
            let manifest = try String(contentsOf: try #require(report.manifest), encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(manifest.count == 6 && manifest[0].hasSuffix(",page,aisle,position"))
            #expect(
                manifest.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).suffix(2).joined(separator: ",") } == [
                    "A1,1", "A2,4", "A2,4", "E1,", ",",
                ])
            let changes = try String(contentsOf: try #require(report.changes), encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(changes.first == "gtin,name,aisle,position,tags,old_price,new_price")
            let places = changes.dropFirst().map { row in
                let fields = row.split(separator: ",", omittingEmptySubsequences: false)
                return "\(fields[0]) \(fields[fields.count - 5]) \(fields[fields.count - 4]) \(fields[fields.count - 3])"
            }
            #expect(
                places == ["\(gtins[1].digits) A1 1 1", "\(gtins[0].digits) A2 4 2", "\(gtins[0].digits) E1  1", "\(gtins[2].digits)   1"], "\(changes)")
            #expect(report.changeCount == 3, "three products")
        }
        // The PNG run was recorded: one ledger entry per product, whatever its copies.
        let printed = try await reference.latestPrints(in: "PAR01")
        #expect(Set(printed.keys) == Set(gtins))

        // On a sheet: a place each.
        let sheet = try await PrintRun.run(
            request("PAR01", into: try newDirectory()) {
                $0.gtins = Array(gtins)
                $0.layout = layout
                $0.sheet = "a4"
                $0.preview = true
            }, reference: reference, library: templates)
        #expect(sheet.rendered.count == 5 && Set(sheet.rendered.map(\.file)).count <= 2)
    }

    @Test("the sample layout of PAR01: every listed product printed in walking order, each promotion also twice on its end cap")
    func sampleLayout() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let shelf = try #require(try await reference.shelf(of: "PAR01"))
        var problems: [String] = []
        let layout = try StoreLayoutFile.read(path: sample("layout-PAR01.csv"), displayName: "layout-PAR01.csv") { problems.append("\($0)") }
        #expect(problems.isEmpty)
        let report = try await PrintRun.run(
            request("PAR01", into: try newDirectory()) {
                $0.layout = layout
                $0.preview = true
                $0.settings.fileFormat = .zpl
            }, reference: reference, library: templates)
        let promotions = Set(shelf.items.filter { $0.label(at: printTime).isPromotion }.map(\.product.gtin))
        #expect(!promotions.isEmpty && report.skipped.isEmpty)
        #expect(report.rendered.count == shelf.items.count + 2 * promotions.count)
        var tags: [GTIN: [String]] = [:]
        for tag in report.rendered { tags[tag.content.label.gtin, default: []].append(tag.spot?.aisle ?? "none") }
        for item in shelf.items {
            let aisles = tags[item.product.gtin] ?? []
            #expect(promotions.contains(item.product.gtin) ? aisles.count == 3 && aisles.filter { $0.hasPrefix("T") }.count == 2 : aisles.count == 1)
        }
        let spots = report.rendered.compactMap(\.spot)
        #expect(spots.count == report.rendered.count, "every listed product is placed")
        #expect(zip(spots, spots.dropFirst()).allSatisfy { !($1 < $0) }, "in walking order")
        #expect(report.rendered.map(\.page) == Array(1...report.rendered.count).map(Optional.some), "a label each")
    }

    @Test("a template that cannot show a promotion's prior price and last day refuses those tags, listed with why, unless allowed")
    func promotionsNeedTheirWords() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let shelf = try #require(try await reference.shelf(of: "PAR01"))
        let promotions = Set(shelf.items.filter { $0.label(at: printTime).priorPrice != nil }.map(\.product.gtin))
        #expect(!promotions.isEmpty)
        let refusing = try await PrintRun.run(
            request("PAR01", into: try newDirectory()) {
                $0.template = "standard"
                $0.preview = true
            }, reference: reference, library: templates)
        #expect(Set(refusing.skipped.map(\.gtin)) == promotions)
        #expect(refusing.rendered.allSatisfy { !promotions.contains($0.content.label.gtin) })
        let reason = try #require(refusing.skipped.first?.reason)
        #expect(reason.hasPrefix("template 'standard' does not show this promotion's prior price"), "\(reason)")
        #expect(reason.contains("--allow-hidden-promotions"))
        // The default choice prints each promotion with the promotion template, which shows them all.
        let chosen = try await PrintRun.run(request("PAR01", into: try newDirectory()) { $0.preview = true }, reference: reference, library: templates)
        #expect(chosen.skipped.isEmpty && chosen.rendered.count == shelf.items.count)
        let allowed = try await PrintRun.run(
            request("PAR01", into: try newDirectory()) {
                $0.template = "standard"
                $0.preview = true
                $0.allowsHiddenPromotions = true
            }, reference: reference, library: templates)
        #expect(allowed.skipped.isEmpty && allowed.rendered.count == shelf.items.count)
    }

    @Test("the shipped promotion template shows what a promotion needs; standard and small do not")
    func templatesShowPromotions() throws {
        #expect(try template("promotion").hides(["priorPrice", "promotionEnd", "discount"]).isEmpty)
        #expect(try template("standard").hides(["priorPrice", "promotionEnd", "price"]) == ["priorPrice", "promotionEnd"])
        #expect(try template("small").hides(["priorPrice", "promotionEnd"]) == ["promotionEnd"])
    }

    @Test("an A4 sheet imposes 21 standard tags with cut marks, every one scannable")
    func sheetImposition() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let directory = try newDirectory()
        let shelf = try #require(try await reference.shelf(of: "LIL04"))
        let plain = shelf.items.filter { !$0.label(at: printTime).isPromotion }
        let report = try await PrintRun.run(
            request("LIL04", into: directory) {
                $0.sheet = "a4"
                $0.template = "standard"
                $0.gtins = Array(plain.prefix(25).map(\.product.gtin))
                $0.preview = true
            }, reference: reference, library: templates)
        let sheets = Set(report.rendered.map(\.file)).sorted()
        #expect(sheets == ["LIL04/sheets/standard-001.png", "LIL04/sheets/standard-002.png"])
        let header = try #require(PNGHeader(try Data(contentsOf: directory.appendingPathComponent(sheets[0]))))
        #expect(header.width == 2480 && header.height == 3508)
        let symbols = try await zbarSymbols(in: sheets.map { directory.appendingPathComponent($0).path })
        let urls = Set(symbols.values.joined().filter { $0.hasPrefix("QR-Code:") }.map { String($0.dropFirst(8)) })
        #expect(urls == Set(report.rendered.map(\.content.uri)))
        #expect(report.rendered.count == 25)
    }
}
