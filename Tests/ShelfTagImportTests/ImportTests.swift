import Foundation
import GRDB
import ShelfTagTestSupport
import Testing

@testable import ShelfTagDomain
@testable import ShelfTagFeeds
@testable import ShelfTagImport
@testable import ShelfTagStorage

/// Every row of every table, in a stable order: equal dumps mean an unchanged database.
/// Every row of the catalogue's tables. Without `historyIDs`, the price history's entries are listed without their ids
/// (an id only orders the entries of one product and channel, which one write recorded first): two loads that wrote the
/// same entries in another order dump the same.
func dump(_ path: String, historyIDs: Bool = true) throws -> String {
    let queue = try DatabaseQueue(path: path)
    let history =
        historyIDs
        ? "SELECT * FROM price_history ORDER BY 1, 2"
        : """
        SELECT gtin, store_code, currency, price, sale_price, sale_start, sale_end, recorded_at FROM price_history
        ORDER BY gtin, store_code, recorded_at, id
        """
    return try queue.read { db in
        try (["store", "product", "store_offer", "review"].map { "SELECT * FROM \($0) ORDER BY 1, 2" } + [history]).map { sql in
            try Row.fetchAll(db, sql: sql).map(\.description).joined(separator: "\n")
        }.joined(separator: "\n---\n")
    }
}

/// The header and the first row's cells of the oldest sample feed.
func firstHistoryRow() throws -> (header: String, cells: [String]) {
    let lines = try String(contentsOfFile: sample("history/products-2026-10-01.tsv"), encoding: .utf8).split(separator: "\n")
    return (String(lines[0]), lines[1].split(separator: "\t", omittingEmptySubsequences: false).map(String.init))
}

/// Writes `text` to a new file named `name` in a new directory.
func writeTemporary(_ text: String, name: String) throws -> String {
    let file = try newDirectory().appendingPathComponent(name)
    try Data(text.utf8).write(to: file)
    return file.path
}

@Suite("Import into a real SQLite file")
struct ImportTests {
    let path: String
    let reference: SQLiteProductReference

    init() throws {
        path = try newDatabasePath()
        reference = try SQLiteProductReference(path: path)
    }

    @Test func loadsTheSamples() async throws {
        try await loadSamples(into: reference)
        #expect(try await reference.stores().map(\.code) == ["BDX03", "LIL04", "LYO02", "PAR01"])
        let summaries = try await reference.summaries(at: time("2026-11-23T12:00Z"))
        #expect(summaries.count == 212)
        #expect(summaries.filter { $0.rating != nil }.count >= 150)
        #expect(summaries.contains { $0.unitsOnHand == 0 } || summaries.contains { $0.storeCount < 4 })
    }

    @Test("re-importing the same files changes nothing")
    func reimportIsANoOp() async throws {
        try await loadSamples(into: reference)
        let before = try dump(path)
        let (report, _) = try await runImport(
            ["stores.csv", "products.xml", "local_inventory.tsv", "product_reviews.xml"].map(sample), into: reference, asOf: "2026-11-21T06:00Z")
        #expect(report.committed)
        #expect(try dump(path) == before)
    }

    @Test("a feed's last row for a key wins, even one that changes nothing after a row that changed it (unchanged rows are not staged)")
    func lastRowWins() async throws {
        try await loadSamples(into: reference)
        let before = try dump(path)
        var (header, cells) = try firstHistoryRow()
        cells[1] = "Renamed"
        let changedProduct = try writeTemporary(header + "\n" + cells.joined(separator: "\t") + "\n", name: "product.tsv")
        let inventory = try String(contentsOfFile: sample("local_inventory.tsv"), encoding: .utf8).split(separator: "\n")
        var offer = inventory[1].split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        offer[2] = String((Int(offer[2]) ?? 0) + 7)
        let changedOffer = try writeTemporary(inventory[0] + "\n" + offer.joined(separator: "\t") + "\n", name: "inventory.tsv")

        // The changed rows, then the samples, which hold what the reference holds: nothing changes.
        let files = [changedProduct, sample("products.xml"), changedOffer, sample("local_inventory.tsv")]
        let (report, rejected) = try await runImport(files, into: reference, asOf: "2026-11-21T06:00Z")
        #expect(report.committed && rejected.isEmpty, "\(rejected)")
        #expect(try dump(path) == before)
        // The other way round, the changed rows win.
        let (reversed, _) = try await runImport(
            [sample("products.xml"), changedProduct, sample("local_inventory.tsv"), changedOffer], into: reference, asOf: "2026-11-21T06:00Z")
        #expect(reversed.committed)
        let details = try #require(try await reference.details(of: GTIN(cells[9])))
        #expect(details.product.title == "Renamed")
        let store = try #require(details.stores.first { $0.store.code == offer[0] })
        #expect(store.offer.stock.onHand == Int(offer[2]))
    }

    @Test("a changed price is recorded with the import's time")
    func priceChangeIsDated() async throws {
        try await loadSamples(into: reference)
        var (header, cells) = try firstHistoryRow()
        cells[6] = "99.99 EUR"
        let changed = try writeTemporary(header + "\n" + cells.joined(separator: "\t") + "\n", name: "changed.tsv")
        let gtin = try GTIN(cells[9])
        let historyBefore = try #require(try await reference.details(of: gtin)).webHistory.changes.count
        let (report, _) = try await runImport([changed], into: reference, asOf: "2026-11-22T09:30Z")
        #expect(report.committed)
        let details = try #require(try await reference.details(of: gtin))
        #expect(details.webOffer.pricing.price.minorUnits == 9999)
        #expect(details.webHistory.changes.last?.recordedAt == (try time("2026-11-22T09:30Z")))
        #expect(details.webHistory.changes.count == historyBefore + 1)
    }

    @Test("an import as of an earlier time back-fills the history and keeps the newer prices; re-importing it changes nothing")
    func backFillKeepsNewerPrices() async throws {
        try await loadSamples(into: reference)
        var (header, cells) = try firstHistoryRow()
        let gtin = try GTIN(cells[9])
        let storeCode = try #require(try await reference.details(of: gtin)?.stores.first { $0.offer.pricing != nil }?.store.code)
        let itemID = cells[0]
        let before = try #require(try await reference.details(of: gtin))
        cells[6] = "77.77 EUR"
        let products = try writeTemporary(header + "\n" + cells.joined(separator: "\t") + "\n", name: "products.tsv")
        let inventory = try writeTemporary(
            "store_code\tid\tquantity\tprice\tavailability\n\(storeCode)\t\(itemID)\t4\t66.66 EUR\tin_stock\n", name: "inventory.tsv")
        let (report, rejected) = try await runImport([products, inventory], into: reference, asOf: "2026-09-01T06:00Z")
        #expect(report.committed && rejected.isEmpty)
        let after = try #require(try await reference.details(of: gtin))
        let listing = try #require(after.stores.first { $0.store.code == storeCode })
        let listingBefore = try #require(before.stores.first { $0.store.code == storeCode })
        // The current prices stay; the history gains the older ones, at their time.
        #expect(after.webOffer.pricing == before.webOffer.pricing)
        #expect(listing.offer.pricing == listingBefore.offer.pricing)
        let backFilled = try time("2026-09-01T06:00Z")
        #expect(after.webHistory.changes.count == before.webHistory.changes.count + 1)
        #expect(after.webHistory.changes.first?.recordedAt == backFilled && after.webHistory.changes.first?.pricing.price.minorUnits == 7777)
        #expect(listing.history.pricing(at: backFilled)?.price.minorUnits == 6666)
        #expect(listing.history.pricing(at: try time("2026-11-23T12:00Z")) == listingBefore.offer.pricing)
        let dumped = try dump(path)
        _ = try await runImport([products, inventory], into: reference, asOf: "2026-09-01T06:00Z")
        #expect(try dump(path) == dumped)
    }

    @Test("the Omnibus prior price of every sample promotion comes out of the history")
    func samplePromotionsHavePriorPrices() async throws {
        try await loadSamples(into: reference)
        let now = try time("2026-11-23T12:00Z")
        let promotions = try readTSV("promotions.tsv")
        #expect(promotions.count >= 20)
        for promotion in promotions {
            let details = try #require(try await reference.details(of: GTIN(promotion["gtin"]!)))
            #expect(details.webOffer.pricing.effectivePrice(at: now).feedValue == promotion["sale_price"])
            #expect(details.webHistory.omnibusPriorPrice(at: now)?.feedValue == promotion["prior_price"], "\(promotion["id"]!)")
            for listing in details.stores where listing.offer.pricing != nil {
                let (pricing, history) = details.shelfPricing(at: listing)
                #expect(pricing.isOnSale(at: now))
                #expect(history.omnibusPriorPrice(at: now)?.feedValue == promotion["prior_price"], "\(promotion["id"]!) at \(listing.store.code)")
            }
        }
    }

    @Test("a store's shelf, read as a stream, gives each product the prices and histories its details give")
    func shelfMatchesDetails() async throws {
        try await loadSamples(into: reference)
        var storesWithBothHistories = 0
        for store in try await reference.stores() {
            var opened: (code: String, count: Int)?
            var items: [ShelfItem] = []
            let found = try await reference.readShelf(
                of: store.code, opening: { opened = ($0.code, $1) },
                item: { item in
                    #expect(opened != nil, "the store comes before its items")
                    items.append(item)
                })
            #expect(found && opened?.code == store.code && opened?.count == items.count && !items.isEmpty)
            #expect(items.map(\.product.gtin) == items.map(\.product.gtin).sorted())
            for item in items {
                let details = try #require(try await reference.details(of: item.product.gtin))
                let listing = try #require(details.stores.first { $0.store.code == store.code })
                #expect(item.webHistory.changes == details.webHistory.changes, "\(item.product.gtin)")
                #expect(item.listing.history.changes == listing.history.changes, "\(item.product.gtin) at \(store.code)")
                #expect(item.listing.offer.pricing == listing.offer.pricing && item.webOffer.pricing == details.webOffer.pricing)
            }
            if items.contains(where: { !$0.webHistory.changes.isEmpty }) && items.contains(where: { !$0.listing.history.changes.isEmpty }) {
                storesWithBothHistories += 1
            }
        }
        #expect(storesWithBothHistories > 0, "the samples exercise both kinds of history")
        var called = false
        let found = try await reference.readShelf(of: "NOPE", opening: { _, _ in called = true }, item: { _ in called = true })
        #expect(!found)
        #expect(!called)
    }

    @Test("exactly the planted store prices differ from the web price")
    func plantedMismatches() async throws {
        try await loadSamples(into: reference)
        let now = try time("2026-11-23T12:00Z")
        var found: Set<String> = []
        for summary in try await reference.summaries(at: now) {
            let details = try #require(try await reference.details(of: summary.gtin))
            for listing in details.stores
            where details.shelfPricing(at: listing).pricing.effectivePrice(at: now) != details.webOffer.pricing.effectivePrice(at: now) {
                found.insert("\(listing.store.code) \(summary.gtin.digits)")
            }
        }
        let planted = Set(try readTSV("planted.tsv").map { "\($0["store_code"]!) \(try GTIN($0["gtin"]!).digits)" })
        #expect(planted.count == 4)
        #expect(found == planted)
    }

    @Test("files given together are applied stores, products, inventory, reviews")
    func dependencyOrder() async throws {
        let (report, rejected) = try await runImport(
            ["product_reviews.xml", "local_inventory.tsv", "products.xml", "stores.csv"].map(sample), into: reference, asOf: "2026-11-20T06:00Z")
        #expect(rejected.isEmpty)
        #expect(report.files.map(\.kind) == [.stores, .products, .inventory, .reviews])
    }

    /// Each broken sample, with the located message it must get (`nil` line: the whole file is unusable).
    static let badFiles: [(file: String, message: String)] = [
        ("products-bad-check-digit.tsv", ":4: gtin: bad check digit"),
        ("products-unknown-currency.tsv", ":3: price: unknown ISO 4217 currency 'EUX'"),
        ("products-negative-price.tsv", ":2: price: '-3.49 EUR' is negative"),
        ("products-malformed-price.tsv", ":4: price: '3,49 EUR' is not a price"),
        ("products-malformed-date.tsv", ":3: sale_price_effective_date: '2026-13-01T08:00+0100' is not an ISO 8601"),
        ("products-invalid-utf8.tsv", ":3: title: invalid UTF-8"),
        ("products-wrong-column-count.tsv", ":3: row: wrong column count: expected 15, found 13"),
        ("inventory-unknown-store.tsv", ":3: store_code: unknown store 'NTE09'"),
        ("inventory-unknown-product.tsv", ":4: id: no product with id or GTIN 'FR-XXX-9999'"),
        ("inventory-negative-quantity.tsv", ":3: quantity: '-4' must not be negative"),
        ("stores-bad-timezone.csv", ":2: timezone: 'Europe/Lutece' is not an IANA time zone"),
        ("reviews-bad-rating.xml", ":22: ratings/overall: '7' is outside 1...5"),
    ]

    @Test("every broken sample is rejected with its located message and the database is unchanged", arguments: badFiles)
    func badFileRejected(file: String, message: String) async throws {
        try await loadSamples(into: reference)
        let before = try dump(path)
        let path = sample("bad/" + file)
        let (report, rejected) = try await runImport([path], into: reference, asOf: "2026-11-22T06:00Z")
        #expect(!report.committed)
        #expect(rejected == [path + message] || (rejected.count == 1 && rejected[0].hasPrefix(path + message)), "\(rejected)")
        #expect(try dump(self.path) == before)
    }

    @Test("an unreadable or unknown file stops the import before anything changes", arguments: ["unknown-kind.txt", "reviews-malformed.xml"])
    func unusableFile(file: String) async throws {
        try await loadSamples(into: reference)
        let before = try dump(path)
        await #expect(throws: FeedError.self) {
            try await runImport([sample("stores.csv"), sample("bad/" + file)], into: reference, asOf: "2026-11-22T06:00Z")
        }
        #expect(try dump(path) == before)
    }

    @Test("--skip-invalid loads the good rows and still reports the bad one")
    func skipInvalid() async throws {
        try await loadSamples(into: reference)
        let (report, rejected) = try await runImport(
            [sample("bad/products-bad-check-digit.tsv")], into: reference, asOf: "2026-11-22T06:00Z", skipInvalid: true)
        #expect(report.committed)
        #expect(report.loaded == 2)
        #expect(rejected.count == 1)
    }

    @Test("one feed id cannot move to another GTIN")
    func itemIDConflict() async throws {
        let feed = try String(contentsOfFile: sample("history/products-2026-10-01.tsv"), encoding: .utf8).split(separator: "\n")
        var second = feed[2].split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        second[0] = String(feed[1].split(separator: "\t")[0])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("conflict-\(UUID().uuidString).tsv").path
        try ([String(feed[0]), String(feed[1]), second.joined(separator: "\t")].joined(separator: "\n") + "\n").write(
            toFile: path, atomically: true, encoding: .utf8)
        let (report, rejected) = try await runImport([path], into: reference, asOf: "2026-11-22T06:00Z")
        #expect(!report.committed)
        #expect(rejected.count == 1 && rejected[0].contains(":3: id: id '") && rejected[0].contains("already belongs to GTIN"))
    }

    @Test("a reviews feed is a full feed: reviews it no longer lists are deleted")
    func reviewsAreAFullFeed() async throws {
        try await loadSamples(into: reference)
        let (report, _) = try await runImport(
            [sample("bad/reviews-bad-rating.xml").replacingOccurrences(of: "bad/reviews-bad-rating.xml", with: "product_reviews.xml")], into: reference,
            asOf: "2026-11-22T06:00Z")
        #expect(report.reviewsDeleted == 0)
        let subset = try String(contentsOfFile: sample("bad/reviews-malformed.xml"), encoding: .utf8).replacingOccurrences(of: "</titel>", with: "</title>")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("reviews-\(UUID().uuidString).xml").path
        try subset.write(toFile: path, atomically: true, encoding: .utf8)
        let (second, rejected) = try await runImport([path], into: reference, asOf: "2026-11-22T06:00Z")
        #expect(rejected.isEmpty)
        let sampleReviews = try String(contentsOfFile: sample("product_reviews.xml"), encoding: .utf8).components(separatedBy: "<review>").count - 1
        #expect(second.reviewsDeleted == sampleReviews - 2)
    }
}

@Suite("A new database is built aside and appears complete or not at all")
struct NewDatabaseTests {
    let directory: URL
    let path: String

    init() throws {
        directory = try newDirectory()
        path = directory.appendingPathComponent("new.sqlite").path
    }

    /// The folder's file names: the database alone, or nothing.
    func folder() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() }

    @Test("a first load appears at the path in WAL mode, and reads like one loaded into an open database")
    func appearsComplete() async throws {
        // What a crashed build by a process with our pid would have left.
        try Data("not a database".utf8).write(to: URL(fileURLWithPath: "\(path).partial-\(getpid())"))
        let created = try await SQLiteProductReference.create(at: path) { reference in
            try await loadSamples(into: reference)
            #expect(!FileManager.default.fileExists(atPath: path))
            return true
        }
        #expect(created)
        #expect(try folder() == ["new.sqlite"])
        let journalMode = try await DatabaseQueue(path: path).read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        #expect(journalMode == "wal")
        let loadedInPlace = try newDatabasePath()
        try await loadSamples(into: try SQLiteProductReference(path: loadedInPlace))
        #expect(try dump(path, historyIDs: false) == dump(loadedInPlace, historyIDs: false))
        // The new file is a normal product reference: it opens and takes further imports.
        let reopened = try SQLiteProductReference(path: path)
        let (report, _) = try await runImport([sample("products.xml")], into: reopened, asOf: "2026-11-21T06:00Z")
        #expect(report.committed && report.loaded == 212)
    }

    @Test("a first load's history, written by chunks, is an open database's: a repeated product or offer keeps one entry with its last price")
    func firstLoadHistory() async throws {
        // More products than one chunk holds, then repeats: of a product whose chunk has its history already, of one
        // still pending, and one with its price unchanged.
        let count = 16_400
        @Sendable func gtin(_ index: Int) -> String {
            let body = Array(String(format: "376%09d", index).utf8.map { $0 - 48 })
            return body.map(String.init).joined() + String(GTIN.checkDigit(forBody: body))
        }
        func row(_ index: Int, cents: Int) -> String {
            "P\(index)\tProduct \(index)\thttps://shop.example.com/p/\(index)\tin_stock\t\(cents / 100).\(String(format: "%02d", cents % 100)) EUR\t\(gtin(index))\n"
        }
        var feed = "id\ttitle\tlink\tavailability\tprice\tgtin\n"
        for index in 0..<count { feed += row(index, cents: 100 + index % 900) }
        feed += row(0, cents: 4321) + row(count - 5, cents: 1234) + row(7, cents: 107)
        let products = directory.appendingPathComponent("products.tsv").path
        try feed.write(toFile: products, atomically: true, encoding: .utf8)
        let inventory = directory.appendingPathComponent("inventory.tsv").path
        try """
        store code\tid\tquantity\tprice
        PAR01\tP1\t3\t2.00 EUR
        PAR01\tP2\t4\t3.00 EUR
        PAR01\tP1\t5\t2.50 EUR
        LYO02\tP1\t6\t
        """.write(toFile: inventory, atomically: true, encoding: .utf8)
        let files = [sample("stores.csv"), products, inventory]

        let created = try await SQLiteProductReference.create(at: path) { reference in
            try await runImport(files, into: reference, asOf: "2026-11-20T06:00Z").0.committed
        }
        #expect(created)
        let loadedInPlace = try newDatabasePath()
        let (report, rejected) = try await runImport(files, into: try SQLiteProductReference(path: loadedInPlace), asOf: "2026-11-20T06:00Z")
        #expect(report.committed && rejected.isEmpty, "\(rejected)")
        #expect(try dump(path, historyIDs: false) == dump(loadedInPlace, historyIDs: false))

        // Stored as GTIN-14.
        let keys = [0, 1, 7, count - 5].map { "0" + gtin($0) }
        let history = try await DatabaseQueue(path: path).read { db in
            try Row.fetchAll(
                db, sql: "SELECT gtin, store_code, price FROM price_history WHERE gtin IN (?, ?, ?, ?) ORDER BY gtin, store_code",
                arguments: StatementArguments(keys)
            ).map { "\($0["gtin"] as String) \(($0["store_code"] as String?) ?? "web") \($0["price"] as Int64)" }
        }
        #expect(history == ["\(keys[0]) web 4321", "\(keys[1]) web 101", "\(keys[1]) PAR01 250", "\(keys[2]) web 107", "\(keys[3]) web 1234"])
        let entries = try await DatabaseQueue(path: path).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM price_history") }
        #expect(entries == count + 2)
    }

    @Test("a first load whose rows come with another time records what it deferred, then each change row by row")
    func firstLoadOfTwoTimes() async throws {
        let first = try time("2026-11-20T06:00Z")
        let second = try time("2026-11-21T06:00Z")
        let created = try await SQLiteProductReference.create(at: path) { reference in
            try await reference.importing { writer in
                let gtin = try GTIN("3760000000017")
                let product = Product(gtin: gtin, itemID: "P1", title: "Product")
                try writer.save(product, webOffer: try euroOffer(of: gtin, cents: 100), recordedAt: first)
                try writer.save(product, webOffer: try euroOffer(of: gtin, cents: 200), recordedAt: second)
                try writer.save(product, webOffer: try euroOffer(of: gtin, cents: 300), recordedAt: second)
            }
            return true
        }
        #expect(created)
        let history = try await DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT price, recorded_at FROM price_history ORDER BY recorded_at, id").map { "\($0[0] as Int64)@\($0[1] as Int64)" }
        }
        let (one, two) = (Int64(first.timeIntervalSince1970), Int64(second.timeIntervalSince1970))
        // Row by row after the switch: 300 replaced 200 within its second, so 200 was never in force.
        #expect(history == ["100@\(one)", "300@\(two)"])
    }

    @Test("the partial files of a first load whose process is gone are removed by the next one; a live process's are kept")
    func abandonedPartials() async throws {
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let dead = finished.processIdentifier
        // What a SIGKILLed first load by that process left, and one by a live process (pid 1).
        for suffix in ["", "-journal"] { try Data("left".utf8).write(to: URL(fileURLWithPath: "\(path).partial-\(dead)\(suffix)")) }
        try Data("running".utf8).write(to: URL(fileURLWithPath: "\(path).partial-1"))
        let created = try await SQLiteProductReference.create(at: path) { reference in
            try await runImport([sample("stores.csv")], into: reference, asOf: "2026-11-20T06:00Z").0.committed
        }
        #expect(created)
        #expect(try folder() == ["new.sqlite", "new.sqlite.partial-1"])
    }

    @Test("the staging file of an import into a database in use whose process is gone is removed by the next import")
    func abandonedStaging() async throws {
        let created = try await SQLiteProductReference.create(at: path) { reference in
            try await runImport([sample("stores.csv")], into: reference, asOf: "2026-11-20T06:00Z").0.committed
        }
        #expect(created)
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        // What an import SIGKILLed while staging left, and the staging file of a live process (pid 1).
        try Data("left".utf8).write(to: URL(fileURLWithPath: "\(path).import-\(finished.processIdentifier)"))
        try Data("running".utf8).write(to: URL(fileURLWithPath: "\(path).import-1"))
        let reference = try SQLiteProductReference(path: path)
        let (report, _) = try await runImport([sample("products.xml")], into: reference, asOf: "2026-11-20T06:00Z")
        #expect(report.committed && report.loaded == 212)
        #expect(try folder().filter { $0.contains(".import-") } == ["new.sqlite.import-1"])
    }

    @Test("a load that declines or throws leaves nothing behind")
    func declinedOrFailed() async throws {
        let declined = try await SQLiteProductReference.create(at: path) { reference in
            let (report, _) = try await runImport(
                [sample("stores.csv"), sample("bad/products-negative-price.tsv")], into: reference, asOf: "2026-11-20T06:00Z")
            return report.committed
        }
        #expect(!declined)
        #expect(try folder().isEmpty)

        struct Interrupted: Error {}
        await #expect(throws: Interrupted.self) {
            try await SQLiteProductReference.create(at: path) { reference in
                try await loadSamples(into: reference)
                throw Interrupted()
            }
        }
        #expect(try folder().isEmpty)
    }

    @Test("an existing database is never replaced, nor a new one put beside the log of a deleted one")
    func existingDatabase() async throws {
        _ = try SQLiteProductReference(path: path)
        await #expect {
            try await SQLiteProductReference.create(at: path) { _ in true }
        } throws: { error in
            if case .databaseExists(path) = error as? StorageError { return true }
            return false
        }
        try FileManager.default.removeItem(atPath: path)
        try Data("frames".utf8).write(to: URL(fileURLWithPath: path + "-wal"))
        await #expect {
            try await SQLiteProductReference.create(at: path) { _ in true }
        } throws: { error in
            if case .orphanedLog(let log) = error as? StorageError { return log == path + "-wal" }
            return false
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}

@Suite("The catalogue version answers caches: it must move on the next read after any commit")
struct CatalogVersionTests {
    @Test("every commit through another connection shows on the very next read; no commit, no move")
    func movesWithEveryCommit() async throws {
        let path = try newDatabasePath()
        let reference = try SQLiteProductReference(path: path)
        let writer = try SQLiteProductReference(path: path)
        var expected = try reference.catalogVersion()
        let store = Store(code: "PAR01", name: "Paris", address: "1 rue", latitude: 48.8, longitude: 2.3, timeZone: "Europe/Paris", locale: "fr-FR")
        for round in 0..<200 {
            try await writer.write { try $0.save(store) }
            expected += 1
            #expect(try reference.catalogVersion() == expected, "round \(round)")
            #expect(try reference.catalogVersion() == expected, "round \(round), read again")
        }
        // A write that changed nothing moves nothing.
        try await writer.write { _ in }
        #expect(try reference.catalogVersion() == expected)
        // A write that does not touch what channels show (scans) moves the file, not the version.
        try await writer.recordScans([Scan(time: Date(), storeCode: nil, gtin: try GTIN("03760001018189"), tagID: nil, stale: false, format: .json)])
        #expect(try reference.catalogVersion() == expected)
    }
}
