import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import ShelfTagDomain
import ShelfTagPrinting
import ShelfTagRender
import ShelfTagServer
import ShelfTagStorage
import ShelfTagTestSupport
import Testing

@testable import ShelfTagParity

#if canImport(FoundationXML)
    import FoundationXML
#endif

let now = try! time("2026-11-23T10:00Z")
let templates = TemplateLibrary(directory: repository.appendingPathComponent("Templates"))

/// Writes `text` to a new file and imports it as of `asOf`.
func importText(_ text: String, name: String, into reference: any ProductReference, asOf: String = "2026-11-23T06:00Z") async throws {
    let file = try newDirectory().appendingPathComponent(name)
    try Data(text.utf8).write(to: file)
    let (report, rejected) = try await runImport([file.path], into: reference, asOf: asOf)
    guard rejected.isEmpty, report.committed else { throw SampleLoadError(rejected: rejected) }
}

func check(_ reference: any ProductReference, _ options: ParityOptions = ParityOptions(at: now)) async throws -> ParityReport {
    try await ParityChecker(reference: reference).run(options)
}

@Suite("Parity")
struct ParityTests {
    @Test("on Samples/, the report lists exactly the planted mismatches")
    func samplesListPlantedMismatches() async throws {
        let report = try await check(try SQLiteProductReference(path: try await sampleDatabase()))
        let planted = try readTSV("planted.tsv").map { "\($0["store_code"]!) \(try GTIN($0["gtin"]!).digits) \($0["store_price"]!) \($0["web_price"]!)" }
        let found = report.mismatches.map { "\($0.storeCode!) \($0.gtin.digits) \($0.shown.value) \($0.expected.value)" }
        #expect(Set(found) == Set(planted) && found.count == planted.count)
        #expect(report.mismatches.allSatisfy { $0.rule == .storeWebPrice })
        #expect(report.fails(strict: false))
    }

    @Test("clean data passes every rule")
    func cleanDataPasses() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        // Align the four planted store prices with the web.
        try await importText(
            "store_code\tid\tquantity\tprice\tavailability\tpickup_method\tpickup_sla\n"
                + "PAR01\tFR-EPI-0042\t5\t5.39 EUR\tin_stock\treserve\tsame day\nLYO02\tFR-EPI-0022\t5\t2.69 EUR\tin_stock\treserve\tsame day\n"
                + "BDX03\tFR-EPI-0003\t5\t25.99 EUR\tin_stock\treserve\tsame day\nLIL04\tFR-ELE-0078\t5\t283.99 EUR\tin_stock\treserve\tsame day\n",
            name: "fix.tsv", into: reference)
        _ = try await PrintRun.run(
            PrintRequest(storeCode: "PAR01", baseURL: "https://s.example", directory: try newDirectory(), time: now), reference: reference, library: templates)
        let report = try await check(reference)
        #expect(report.mismatches.isEmpty, "\(report.mismatches)")
        #expect(!report.fails(strict: true))
    }

    @Test("each kind of mismatch is reported once, under its rule")
    func eachKindIsReported() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let shelf = try #require(try await reference.shelf(of: "LYO02"))
        let items = shelf.items.filter { $0.listing.offer.pricing != nil && $0.product.unitPricing != nil && !$0.label(at: now).isPromotion }
        let repriced = items[0].product
        let remeasured = items[1].product
        _ = try await PrintRun.run(
            PrintRequest(storeCode: "LYO02", baseURL: "https://s.example", directory: try newDirectory(), time: now), reference: reference, library: templates)
        // A new store price (stale tag), a new pack size (wrong unit price on the printed tag), stock that contradicts
        // the availability, a 1 % sale.
        let feedRow = try readTSV("history/products-2026-10-25.tsv").first { $0["id"] == remeasured.itemID }!
        let header = "id\ttitle\tdescription\tlink\timage_link\tavailability\tprice\tgtin\tbrand\tunit_pricing_measure\tunit_pricing_base_measure\n"
        try await importText(
            header
                + [
                    remeasured.itemID, remeasured.title, remeasured.description, feedRow["link"]!, remeasured.imageLink, "in_stock", feedRow["price"]!,
                    remeasured.gtin.digits, remeasured.brand, "2kg", "1kg",
                ].joined(separator: "\t") + "\n", name: "products.tsv", into: reference)
        try await importText(
            "store_code\tid\tquantity\tprice\tsale_price\tavailability\n" + "LYO02\t\(repriced.itemID)\t0\t99.99 EUR\t99.50 EUR\tin_stock\n",
            name: "inventory.tsv", into: reference)
        let report = try await check(reference, ParityOptions(stores: ["LYO02"], at: now))
        func found(_ rule: ParityRule) -> [String] { report.mismatches.filter { $0.rule == rule }.map(\.gtin.digits) }
        #expect(found(.storeWebPrice).contains(repriced.gtin.digits))
        #expect(found(.staleTag).sorted() == [repriced.gtin.digits, remeasured.gtin.digits].sorted())
        #expect(found(.tagUnitPrice) == [remeasured.gtin.digits])
        #expect(found(.storeAvailability) == [repriced.gtin.digits])
        #expect(found(.smallDiscount) == [repriced.gtin.digits])
        let stale = try #require(report.mismatches.first { $0.rule == .staleTag && $0.gtin == repriced.gtin })
        #expect(stale.expected.value.hasPrefix("99.50 EUR") && stale.shown.value == items[0].label(at: now).price.feedValue)
        #expect(Set(report.mismatches.map { "\($0.rule)\($0.gtin)" }).count == report.mismatches.count, "each reported once")
    }

    @Test("stale tags across stores: the walk over every store finds what render --stale reprints, store by store")
    func staleTagsAcrossStores() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        for store in ["PAR01", "LYO02"] {
            _ = try await PrintRun.run(
                PrintRequest(storeCode: store, baseURL: "https://s.example", directory: try newDirectory(), time: now), reference: reference, library: templates
            )
        }
        // One product repriced in both printing stores, another in one of them only.
        let paris = try #require(try await reference.shelf(of: "PAR01"))
        let lyon = try #require(try await reference.shelf(of: "LYO02"))
        let lyonGTINs = Set(lyon.items.map(\.product.gtin))
        let both = try #require(paris.items.first { lyonGTINs.contains($0.product.gtin) && !$0.label(at: now).isPromotion }).product
        let lyonOnly = try #require(lyon.items.first { $0.product.gtin != both.gtin && !$0.label(at: now).isPromotion }).product
        try await importText(
            "store_code\tid\tquantity\tprice\tavailability\n" + "PAR01\t\(both.itemID)\t3\t77.77 EUR\tin_stock\n"
                + "LYO02\t\(both.itemID)\t3\t77.77 EUR\tin_stock\n"
                + "LYO02\t\(lyonOnly.itemID)\t3\t88.88 EUR\tin_stock\n", name: "inventory.tsv", into: reference)
        let stale = try await check(reference).mismatches.filter { $0.rule == .staleTag }
        var expected: Set<String> = []
        for store in try await reference.stores().map(\.code) {
            let latest = try await reference.latestPrints(in: store)
            guard !latest.isEmpty, let shelf = try await reference.shelf(of: store) else { continue }
            for item in shelf.itemsNeedingTags(shelf.items, latest: latest, at: now) { expected.insert("\(store) \(item.product.gtin.digits)") }
        }
        #expect(!expected.isEmpty, "the ledger holds stale tags to find")
        #expect(Set(stale.map { "\($0.storeCode!) \($0.gtin.digits)" }) == expected && stale.count == expected.count)
        #expect(expected.contains("PAR01 \(both.gtin.digits)") && expected.contains("LYO02 \(both.gtin.digits)"))
        #expect(expected.contains("LYO02 \(lyonOnly.gtin.digits)") && !expected.contains("PAR01 \(lyonOnly.gtin.digits)"))
        #expect(!stale.contains { $0.storeCode == "BDX03" }, "a store that prints no tags has no stale tags")
    }

    @Test("a promotion tag whose prior price is no longer the 30-day low")
    func priorPrice() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let promotion = try readTSV("promotions.tsv")[0]
        let gtin = try GTIN(promotion["gtin"]!)
        let store = try #require(try await reference.details(of: gtin)?.stores.first).store.code
        _ = try await PrintRun.run(
            PrintRequest(storeCode: store, gtins: [gtin], baseURL: "https://s.example", directory: try newDirectory(), time: now), reference: reference,
            library: templates)
        #expect(try await check(reference, ParityOptions(stores: [store], at: now)).mismatches.filter { $0.rule == .tagPriorPrice }.isEmpty)
        // A correction back-filled into the history: a lower price ten days before the promotion began.
        let item = try #require(try await reference.details(of: gtin))
        let listing = item.stores.first { $0.store.code == store }!
        let row = "store_code\tid\tquantity\tprice\tavailability\n\(store)\t\(item.product.itemID)\t\(listing.offer.stock.onHand)\t0.10 EUR\tin_stock\n"
        try await importText(row, name: "backfill.tsv", into: reference, asOf: "2026-11-06T06:00Z")
        let pricing = listing.offer.pricing!
        try await importText(
            "store_code\tid\tquantity\tprice\tsale_price\tsale_price_effective_date\tavailability\n"
                + "\(store)\t\(item.product.itemID)\t\(listing.offer.stock.onHand)\t\(pricing.price.feedValue)\t\(pricing.salePrice!.feedValue)\t\(pricing.saleWindow!.feedValue)\tin_stock\n",
            name: "restore.tsv", into: reference, asOf: "2026-11-07T06:00Z")
        let found = try await check(reference, ParityOptions(stores: [store], at: now)).mismatches.filter { $0.rule == .tagPriorPrice }
        #expect(found.count == 1 && found.first?.expected.value == "0.10 EUR")
    }

    @Test("a limit lists each rule's first mismatches in the report's order and counts them all, in every format")
    func listLimit() async throws {
        let path = try await sampleDatabase()
        let all = try await check(try SQLiteProductReference(path: path))
        let limited = try await check(try SQLiteProductReference(path: path), ParityOptions(at: now, listLimit: 2))
        #expect(all.mismatches.count == 4 && limited.mismatches == Array(all.mismatches.prefix(2)))
        #expect(limited.counts == all.counts && limited.counts[.storeWebPrice] == 4 && limited.unlisted(.storeWebPrice) == 2)
        #expect(limited.errors == 4 && limited.fails(strict: false))
        #expect(ReportFormat.text.render(limited).contains("store-web-price (error): store price differs from the web price (P5): 4\n"))
        #expect(ReportFormat.text.render(limited).contains("  … and 2 more, not listed (--max-listed)\n"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(ReportFormat.json.render(limited).utf8)) as? [String: Any])
        let rule = try #require((json["rules"] as? [[String: Any]])?.first { $0["id"] as? String == "store-web-price" })
        #expect(rule["count"] as? Int == 4 && rule["unlisted"] as? Int == 2 && (rule["mismatches"] as? [Any])?.count == 2)
        #expect((json["summary"] as? [String: Int])?["errors"] == 4)
        let document = try XMLDocument(data: Data(ReportFormat.junit.render(limited).utf8))
        #expect(try document.nodes(forXPath: "//testsuite[@name='store-web-price']/testcase/failure").count == 3, "two listed, one for the rest")
        #expect(try document.nodes(forXPath: "//testsuite[@name='store-web-price']/testcase[@name='2 more']/failure").count == 1)
    }

    @Test("the tally keeps, of many mismatches added at once from several tasks, the first of each rule in the report's order")
    func tallyKeepsTheFirst() async throws {
        let gtins = try (0..<5_000).map { index in
            let body = Array(String(format: "376%09d", index).utf8.map { $0 - 48 })
            return try GTIN(body.map(String.init).joined() + String(GTIN.checkDigit(forBody: body)))
        }
        func mismatch(_ gtin: GTIN, _ rule: ParityRule) -> Mismatch {
            Mismatch(rule: rule, storeCode: "PAR01", gtin: gtin, name: "P", shown: ("store", "1.00 EUR"), expected: ("web", "2.00 EUR"))
        }
        let tally = MismatchTally(limit: 10)
        await withTaskGroup(of: Void.self) { group in
            for chunk in stride(from: 0, to: gtins.count, by: 250) {
                let slice = Array(gtins[chunk..<min(chunk + 250, gtins.count)].shuffled())
                group.addTask { for gtin in slice { tally.add([mismatch(gtin, .storeWebPrice), mismatch(gtin, .staleTag)]) } }
            }
        }
        let report = tally.report(at: now, rules: [.storeWebPrice, .staleTag], offersChecked: gtins.count)
        #expect(report.counts == [.storeWebPrice: 5_000, .staleTag: 5_000])
        #expect(report.mismatches == gtins.prefix(10).map { mismatch($0, .storeWebPrice) } + gtins.prefix(10).map { mismatch($0, .staleTag) })
        let counting = MismatchTally(limit: 0)
        counting.add(gtins.map { mismatch($0, .storeWebPrice) })
        let counted = counting.report(at: now, rules: [.storeWebPrice], offersChecked: gtins.count)
        #expect(counted.mismatches.isEmpty && counted.counts == [.storeWebPrice: 5_000] && counted.unlisted(.storeWebPrice) == 5_000)
    }

    @Test("report formats: JSON parses, JUnit parses as XML with a suite per rule, output is deterministic")
    func formats() async throws {
        let report = try await check(try SQLiteProductReference(path: try await sampleDatabase()))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(ReportFormat.json.render(report).utf8)) as? [String: Any])
        #expect((json["summary"] as? [String: Int])?["errors"] == 4)
        let junit = ReportFormat.junit.render(report)
        let document = try XMLDocument(data: Data(junit.utf8))
        let suites = try document.nodes(forXPath: "//testsuite")
        #expect(suites.count == report.rules.count)
        #expect(try document.nodes(forXPath: "//testsuite[@name='store-web-price']/testcase/failure").count == 4)
        #expect(try document.nodes(forXPath: "//testsuite[@name='stale-tag']/testcase").count == 1, "a passing case for a rule with none")
        let again = try await check(try SQLiteProductReference(path: try await sampleDatabase()))
        for format in ReportFormat.allCases { #expect(format.render(report) == format.render(again)) }
        #expect(ReportFormat.text.render(report).hasSuffix("parity: 4 errors, 0 warnings; 6 rules over 772 store offers at 2026-11-23T10:00:00Z\n"))
    }
}
