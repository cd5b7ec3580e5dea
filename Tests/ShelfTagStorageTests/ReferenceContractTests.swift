import Foundation
import ShelfTagDomain
import ShelfTagImport
import ShelfTagStorage
import ShelfTagTestSupport
import Testing

let now = try! time("2026-11-23T10:00Z")
let coffee = try! GTIN("03760001001983")

/// Everything a reader of the reference sees, as text: two drivers holding the same data must print the same.
func readings(of reference: any ProductReference) async throws -> [String] {
    var lines: [String] = []
    for store in try await reference.stores() { lines.append("store \(store)") }
    let summaries = try await reference.summaries(at: now)
    for summary in summaries { lines.append("summary \(summary)") }
    for summary in summaries {
        lines.append("details \(String(describing: try await reference.details(of: summary.gtin)))")
        lines.append("reviews \(try await reference.latestReviews(of: summary.gtin, limit: 3))")
        lines.append("holds \(try await holds(in: reference, of: summary.gtin, at: now).sorted { $0.key < $1.key })")
        if let page = try await reference.page(of: summary.gtin, store: "PAR01", tagID: "x", reviewLimit: 3, storesWithin: nil, at: now) {
            lines.append("page \(page.details) \(page.reviews) \(page.holds.sorted { $0.key < $1.key }) \(String(describing: page.printedTag))")
        }
        // Paris's listing and Lille's (1.8° north), not Lyon's or Bordeaux's.
        if let page = try await reference.page(of: summary.gtin, store: "PAR01", tagID: nil, reviewLimit: 0, storesWithin: 250, at: now) {
            lines.append("near \(page.details.stores)")
        }
    }
    for store in try await reference.stores() {
        let shelf = try #require(try await reference.shelf(of: store.code))
        lines += shelf.items.map { "shelf \(store.code) \($0)" }
        lines += try await reference.latestPrints(in: store.code).sorted { $0.key < $1.key }.map { "print \($0.value)" }
    }
    lines += try await reference.inspectOffers(stores: nil, at: now) { "offer \($0)" }.findings
    lines.append("origin \(String(describing: try await reference.webShopOrigin()))")
    return lines
}

/// Units held per store for a product at `time`, as its page reads them.
func holds(in reference: any ProductReference, of gtin: GTIN, at time: Date) async throws -> [String: Int] {
    try await reference.page(of: gtin, store: nil, tagID: nil, reviewLimit: 0, storesWithin: nil, at: time)?.holds ?? [:]
}

/// A held hold request for `quantity` of the coffee in Paris.
func request(quantity: Int = 1, name: String = "Léa M.") throws -> HoldRequest {
    try HoldRequest(storeCode: "PAR01", gtin: coffee, quantity: String(quantity), customerName: name, contact: "lea@example.com")
}

/// Sets the coffee's stock in Paris.
func setStock(_ reference: any ProductReference, _ onHand: Int) async throws {
    try await reference.write { writer in
        let offer = try #require(try writer.offer(store: "PAR01", gtin: coffee))
        try writer.save(
            StoreOffer(
                storeCode: "PAR01", gtin: coffee, pricing: offer.pricing, availability: StoreAvailability(quantity: onHand), pickupMethod: .reserve,
                pickupSLA: offer.pickupSLA, stock: Stock(onHand: onHand)), recordedAt: now)
    }
}

@Suite("The storage interface, the same on SQLite and PostgreSQL")
struct ReferenceContractTests {
    @Test("the samples, imported into each driver, read back identically: stores (with opening hours), listings, details, shelves, offers, reviews")
    func bothDriversReadAlike() async throws {
        let sqlite = try await withSampleReference(.sqlite) { try await readings(of: $0) }
        let postgres = try await withSampleReference(.postgres) { try await readings(of: $0) }
        #expect(sqlite.count > 1000, "the comparison covers the samples")
        #expect(sqlite.count == postgres.count)
        for (index, (left, right)) in zip(sqlite, postgres).enumerated() where left != right {
            Issue.record("line \(index) differs:\nSQLite:     \(left)\nPostgreSQL: \(right)")
            break
        }
    }

    @Test("imports load the samples; a bad row rolls the whole import back; a reused item id is rejected with its line", arguments: Backend.allCases)
    func importRules(_ backend: Backend) async throws {
        try await withNewReference(backend) { reference in
            try await loadSamples(into: reference)
            #expect(try await reference.summaries(at: now).count == 212)
            let before = try await readings(of: reference)
            let (rolledBack, rejected) = try await runImport(
                [sample("stores.csv"), sample("bad/products-negative-price.tsv")], into: reference, asOf: "2026-11-22T06:00Z")
            #expect(!rolledBack.committed && !rejected.isEmpty)
            #expect(try await readings(of: reference) == before, "a rejected import changes nothing")

            let file = try newDirectory().appendingPathComponent("reused.tsv")
            let existing = try #require(try await reference.details(of: coffee))
            try Data(
                """
                id\ttitle\tdescription\tlink\timage_link\tavailability\tprice\tgtin\tbrand
                \(existing.product.itemID)\tAutre\tAutre produit\thttps://shop.example.com/x\thttps://img.example.com/x.jpg\tin_stock\t1.00 EUR\t4006381333931\tX

                """.utf8
            ).write(to: file)
            let (conflict, reasons) = try await runImport([file.path], into: reference, asOf: "2026-11-22T06:00Z")
            #expect(!conflict.committed)
            #expect(reasons.count == 1 && reasons[0].contains("reused.tsv:2") && reasons[0].contains("id") && reasons[0].contains("03760001001983"))
        }
    }

    @Test("a store read by its code is the one the list of stores holds; an unknown code reads nil", arguments: Backend.allCases)
    func storeByCode(_ backend: Backend) async throws {
        try await withSampleReference(backend) { reference in
            let stores = try await reference.stores()
            #expect(stores.count == 4)
            for store in stores { #expect(try await reference.store(code: store.code) == store) }
            #expect(try await reference.store(code: "par01") == nil, "codes are case-sensitive")
            #expect(try await reference.store(code: "NOPE") == nil)
        }
    }

    @Test(
        "a store's printers from the stores file: read by its code, in the list and in a product's listings alike; a stores file without them clears them",
        arguments: Backend.allCases)
    func storePrinters(_ backend: Backend) async throws {
        try await withSampleReference(backend) { reference in
            let file = try newDirectory().appendingPathComponent("stores.csv")
            try Data(
                """
                code,name,address,latitude,longitude,timezone,locale,opening_hours,label_printer,office_printer
                PAR01,Maison Exemple Paris Rivoli,"120 rue de Rivoli, 75001 Paris",48.8606,2.3412,Europe/Paris,fr-FR,Mo-Sa 10:00-20:00; Su 11:00-19:00,tcp://10.1.0.20,ipp://cups.par01.example/printers/office

                """.utf8
            ).write(to: file)
            let (report, rejected) = try await runImport([file.path], into: reference, asOf: "2026-11-22T06:00Z")
            #expect(report.committed && rejected.isEmpty, "\(rejected)")
            let paris = try #require(try await reference.store(code: "PAR01"))
            #expect(paris.labelPrinter == "tcp://10.1.0.20" && paris.officePrinter == "ipp://cups.par01.example/printers/office")
            #expect(try await reference.stores().first { $0.code == "PAR01" } == paris)
            #expect(try await reference.details(of: coffee)?.stores.first { $0.store.code == "PAR01" }?.store == paris)
            #expect(try await reference.store(code: "LYO02")?.labelPrinter == nil)
            let (again, _) = try await runImport([sample("stores.csv")], into: reference, asOf: "2026-11-23T06:00Z")
            #expect(again.committed)
            let cleared = try #require(try await reference.store(code: "PAR01"))
            #expect(cleared.labelPrinter == nil && cleared.officePrinter == nil)
        }
    }

    @Test(
        "a page near a store reads that store's listing and those within the distance, with their histories; every store's without a distance or for an unknown store",
        arguments: Backend.allCases)
    func pageNearAStore(_ backend: Backend) async throws {
        try await withSampleReference(backend) { reference in
            let every = try #require(try await reference.details(of: coffee))
            #expect(every.stores.map(\.store.code) == ["BDX03", "LIL04", "LYO02", "PAR01"])
            // Paris 48.86° N, Lille 50.63° (about 200 km of latitude), Lyon 45.76°, Bordeaux 44.84°.
            for (kilometres, expected) in [(0.0, ["PAR01"]), (150, ["PAR01"]), (250, ["LIL04", "PAR01"]), (400, ["LIL04", "LYO02", "PAR01"])] {
                try await expectNearRead(of: reference, every: every, around: "PAR01", within: kilometres, reads: expected)
            }
            for store in ["NOPE", nil] {
                let page = try await reference.page(of: coffee, store: store, tagID: nil, reviewLimit: 0, storesWithin: 50, at: now)
                #expect(page?.details.stores.map(\.store.code) == every.stores.map(\.store.code), "store \(store ?? "none"): every store's")
            }
            let all = try await reference.page(of: coffee, store: "PAR01", tagID: nil, reviewLimit: 0, storesWithin: nil, at: now)
            #expect(all?.details.stores.count == 4)
        }
    }

    @Test(
        "a page near a store leaves out the stores of its latitude too far east or west, measures longitude the short way across ±180°, and takes every longitude near a pole",
        arguments: Backend.allCases)
    func pageNearAStoreAlongItsLatitude(_ backend: Backend) async throws {
        try await withSampleReference(backend) { reference in
            let extra = [
                // On Paris's parallel, 3° and 4° east: about 220 and 293 km away, 73 km apart.
                ("EST1", 48.8606, 5.3412), ("EST2", 48.8606, 6.3412),
                // Across the antimeridian: about 21 km between the first two, 106 km to the third.
                ("FJI1", -17.0, 179.9), ("FJI2", -17.0, -179.9), ("FJI3", -17.0, -179.0),
                // Around the North Pole: 16 and 22 km apart across it.
                ("NOR1", 89.9, 0.0), ("NOR2", 89.9, 90.0), ("NOR3", 89.9, 180.0),
            ]
            try await reference.write { writer in
                for (code, latitude, longitude) in extra {
                    try writer.save(
                        Store(code: code, name: code, address: "", latitude: latitude, longitude: longitude, timeZone: "UTC", locale: "en-US"))
                    let pricing = try Pricing(price: Money(minorUnits: 389, currency: Currency(code: "EUR")))
                    try writer.save(
                        StoreOffer(
                            storeCode: code, gtin: coffee, pricing: pricing, availability: StoreAvailability(quantity: 3), pickupMethod: nil,
                            pickupSLA: nil, stock: Stock(onHand: 3)), recordedAt: now)
                }
            }
            let every = try #require(try await reference.details(of: coffee))
            #expect(every.stores.count == 12)
            for (origin, kilometres, expected) in [
                ("PAR01", 250.0, ["EST1", "LIL04", "PAR01"]), ("PAR01", 400, ["EST1", "EST2", "LIL04", "LYO02", "PAR01"]),
                ("EST2", 50, ["EST2"]), ("EST2", 80, ["EST1", "EST2"]), ("FJI1", 50, ["FJI1", "FJI2"]), ("FJI2", 50, ["FJI1", "FJI2"]),
                ("FJI1", 150, ["FJI1", "FJI2", "FJI3"]),
                ("NOR1", 50, ["NOR1", "NOR2", "NOR3"]), ("NOR1", 10, ["NOR1"]),
            ] {
                try await expectNearRead(of: reference, every: every, around: origin, within: kilometres, reads: expected)
            }
        }
    }

    /// Reads the coffee's page near `origin` and expects exactly the stores `expected`, each listing and history as the
    /// read of every store gives it, and none of the stores within `kilometres` left out.
    private func expectNearRead(
        of reference: any ProductReference, every: ProductDetails, around origin: String, within kilometres: Double, reads expected: [String]
    ) async throws {
        let page = try await reference.page(of: coffee, store: origin, tagID: nil, reviewLimit: 0, storesWithin: kilometres, at: now)
        let details = try #require(page).details
        #expect(details.stores.map(\.store.code) == expected, "near \(origin) within \(kilometres) km")
        for listing in details.stores {
            let full = try #require(every.stores.first { $0.store.code == listing.store.code })
            #expect("\(listing)" == "\(full)", "\(listing.store.code)'s listing and history as every store's read gives them")
        }
        #expect("\(details.webHistory)" == "\(every.webHistory)")
        let here = try #require(every.stores.first { $0.store.code == origin }).store
        for listing in every.stores where here.distanceKilometres(to: listing.store) <= kilometres {
            #expect(details.stores.contains { $0.store.code == listing.store.code }, "\(listing.store.code) is within \(kilometres) km of \(origin)")
        }
    }

    @Test(
        "staff actions record who and when: prepared by, the shopper told and by whom (again for a reminder, never before it is ready), closed by",
        arguments: Backend.allCases)
    func reservationStaffRecords(_ backend: Backend) async throws {
        try await withSampleReference(backend) { reference in
            try await setStock(reference, 5)
            let until = now.addingTimeInterval(3600)
            guard case .held(let first) = try await reference.hold(try request(), at: now, until: until, key: nil),
                case .held(let second) = try await reference.hold(try request(name: "Noé"), at: now, until: until, key: nil)
            else {
                Issue.record("no holds")
                return
            }
            let change = { (code: String, action: ReservationAction, by: String?, at: Date) in
                try await reference.change(reservation: code, store: "PAR01", action, by: by, at: at)
            }
            #expect(try await change(first.code, .told, "LEA23", now) == .notReady, "not prepared yet")
            guard case .done(let ready) = try await change(first.code, .ready, "LEA23", now) else {
                Issue.record("not marked ready")
                return
            }
            #expect(ready.preparedBy == "LEA23" && ready.toldAt == nil && ready.toldBy == nil && ready.closedBy == nil)
            let (told, reminded) = (now.addingTimeInterval(60), now.addingTimeInterval(600))
            guard case .done(let toldOnce) = try await change(first.code, .told, "LEA23", told) else {
                Issue.record("not told")
                return
            }
            #expect(toldOnce.toldAt == told && toldOnce.toldBy == "LEA23" && toldOnce.state(at: told) == "ready")
            guard case .done(let toldAgain) = try await change(first.code, .told, nil, reminded) else {
                Issue.record("no reminder")
                return
            }
            // A reminder through a store token: no associate to name.
            #expect(toldAgain.toldAt == reminded && toldAgain.toldBy == nil && toldAgain.preparedBy == "LEA23")
            guard case .done(let collected) = try await change(first.code, .collect, "MAX67", reminded) else {
                Issue.record("not collected")
                return
            }
            #expect(collected.status == .collected && collected.closedBy == "MAX67" && collected.preparedBy == "LEA23" && collected.toldAt == reminded)
            #expect(try await change(first.code, .told, "LEA23", reminded) == .notHeld(state: "collected"))
            #expect(try await reference.reservation(code: first.code) == collected, "read back as written")
            guard case .done(let cancelled) = try await change(second.code, .cancel, nil, now) else {
                Issue.record("not cancelled")
                return
            }
            #expect(cancelled.closedBy == nil && cancelled.preparedBy == nil && cancelled.status == .cancelled)
            #expect(try await change(second.code, .told, nil, now) == .notHeld(state: "cancelled"))
        }
    }

    @Test(
        "a first load into an empty reference: a product saved twice in it keeps its last row, one history entry at the import's time, and products saved after it are loaded as usual",
        arguments: Backend.allCases)
    func firstLoadWithARepeat(_ backend: Backend) async throws {
        try await withNewReference(backend) { reference in
            let gtins = try ["04006381333931", "03760001001983", "05901234123457"].map { try GTIN($0) }
            // One time, as an import's rows carry.
            let asOf = try time("2026-11-24T06:00Z")
            try await reference.importing { writer in
                try writer.save(Product(gtin: gtins[0], itemID: "A", title: "Crayons"), webOffer: try euroOffer(of: gtins[0], cents: 450), recordedAt: asOf)
                try writer.save(Product(gtin: gtins[1], itemID: "B", title: "Café"), webOffer: try euroOffer(of: gtins[1], cents: 300), recordedAt: asOf)
                try writer.save(
                    Product(gtin: gtins[0], itemID: "A", title: "Crayons de couleur"), webOffer: try euroOffer(of: gtins[0], cents: 399), recordedAt: asOf)
                try writer.save(Product(gtin: gtins[2], itemID: "C", title: "Gomme"), webOffer: try euroOffer(of: gtins[2], cents: 120), recordedAt: asOf)
                #expect(throws: ItemIDConflict.self) {
                    try writer.save(
                        Product(gtin: try GTIN("00012345600012"), itemID: "B", title: "Autre"), webOffer: try euroOffer(of: gtins[2], cents: 1),
                        recordedAt: asOf)
                }
            }
            let repeated = try #require(try await reference.details(of: gtins[0]))
            #expect(repeated.product.title == "Crayons de couleur" && repeated.webOffer.pricing.price.minorUnits == 399)
            #expect(repeated.webHistory.changes.map(\.pricing.price.minorUnits) == [399])
            for (gtin, cents) in [(gtins[1], Int64(300)), (gtins[2], 120)] {
                let details = try #require(try await reference.details(of: gtin))
                #expect(details.webOffer.pricing.price.minorUnits == cents && details.webHistory.changes.count == 1)
            }
            #expect(try await reference.summaries(at: now).count == 3)
        }
    }

    @Test(
        "two imports of the same new product at once, through two references (two pools, as two processes hold): both commit, the newer price is current, the history holds both",
        arguments: Backend.allCases)
    func concurrentImportsOfOneNewProduct(_ backend: Backend) async throws {
        try await withSampleDatabase(backend) { location in
            let gtin = try GTIN("04006381333931")
            let product = Product(gtin: gtin, itemID: "NEW-1", title: "Crayons de couleur, boîte de 12")
            let (first, second) = (try euroOffer(of: gtin, cents: 450), try euroOffer(of: gtin, cents: 399))
            let (earlier, later) = (try time("2026-11-24T06:00Z"), try time("2026-11-25T06:00Z"))
            try await openForTests(location) { one in
                try await openForTests(location) { other in
                    // The first import holds the product until after the second has begun: the second either waits for
                    // it (PostgreSQL's product writers' lock) or stages beside it (SQLite), and must not fail on it.
                    async let holding: Void = one.importing { writer in
                        try writer.save(product, webOffer: first, recordedAt: earlier)
                        Thread.sleep(forTimeInterval: 0.6)
                    }
                    try await Task.sleep(for: .milliseconds(200))
                    try await other.importing { writer in try writer.save(product, webOffer: second, recordedAt: later) }
                    try await holding
                }
                let details = try #require(try await one.details(of: gtin))
                #expect(details.webOffer.pricing == second.pricing)
                #expect(details.webHistory.changes.map(\.pricing.price.minorUnits).sorted() == [399, 450])
            }
        }
    }

    @Test(
        "a product given a new item id frees its old one: in the same import another product may take it, and each id finds its product",
        arguments: Backend.allCases)
    func itemIDsMove(_ backend: Backend) async throws {
        try await withSampleReference(backend) { reference in
            let summaries = try await reference.summaries(at: now)
            let coffeeDetails = try #require(try await reference.details(of: coffee))
            let otherGTIN = try #require(summaries.first { $0.gtin != coffee }?.gtin)
            let other = try #require(try await reference.details(of: otherGTIN))
            let third = try #require(summaries.first { $0.gtin != coffee && $0.gtin != other.product.gtin }).gtin
            let (coffeeID, otherID) = (coffeeDetails.product.itemID, other.product.itemID)
            func renamed(_ details: ProductDetails, to itemID: String) -> Product {
                let product = details.product
                return Product(
                    gtin: product.gtin, itemID: itemID, title: product.title, description: product.description, brand: product.brand,
                    imageLink: product.imageLink, productType: product.productType, unitPricing: product.unitPricing,
                    ecoParticipation: product.ecoParticipation)
            }
            try await reference.importing { writer in
                try writer.save(renamed(coffeeDetails, to: "RENAMED-1"), webOffer: coffeeDetails.webOffer, recordedAt: now)
                try writer.save(renamed(other, to: coffeeID), webOffer: other.webOffer, recordedAt: now)
                #expect(try writer.gtin(forItemID: "RENAMED-1") == coffee)
                #expect(try writer.gtin(forItemID: coffeeID) == other.product.gtin)
                #expect(try writer.gtin(forItemID: otherID) == nil)
                #expect(throws: ItemIDConflict.self) {
                    try writer.save(Product(gtin: third, itemID: "RENAMED-1", title: "Autre"), webOffer: coffeeDetails.webOffer, recordedAt: now)
                }
            }
            #expect(try await reference.details(of: coffee)?.product.itemID == "RENAMED-1")
            #expect(try await reference.details(of: other.product.gtin)?.product.itemID == coffeeID)
        }
    }

    @Test(
        "reviews: a changed one is updated in place, an id given twice in one write keeps its last, and a full feed deletes those it no longer lists",
        arguments: Backend.allCases)
    func reviewUpdates(_ backend: Backend) async throws {
        try await withSampleReference(backend) { reference in
            let reviewed = try #require(try await reference.summaries(at: now).first { $0.rating != nil }?.gtin)
            let kept = try #require(try await reference.latestReviews(of: reviewed, limit: 100).first)
            func review(_ id: String, rating: Double, content: String) -> Review {
                Review(
                    id: id, gtin: reviewed, rating: rating, author: kept.author, isAnonymous: true, publishedAt: kept.publishedAt, title: kept.title,
                    content: content)
            }
            let changed = review(kept.id, rating: 4.5, content: "Relu : très bon « café », \\ et\ttab.")
            let added = review("NEW-REVIEW", rating: 1, content: "Une ligne\npuis une autre")
            let deleted = try await reference.importing { writer in
                try writer.save(review("NEW-REVIEW", rating: 2, content: "remplacé dans la même écriture"))
                try writer.save(changed)
                try writer.save(added)
                return try writer.deleteReviews(notIn: [kept.id, added.id])
            }
            let total = try await reference.summaries(at: now).compactMap(\.rating).reduce(0) { $0 + $1.count }
            #expect(deleted > 0 && total == 2, "the full feed kept its two reviews only")
            #expect(Set(try await reference.latestReviews(of: reviewed, limit: 100)) == [changed, added])
        }
    }

    @Test(
        "price history: a change is recorded once, a repeat not at all, a back-fill adds to the history without replacing the price",
        arguments: Backend.allCases)
    func priceHistory(_ backend: Backend) async throws {
        try await withSampleReference(backend) { reference in
            let before = try #require(try await reference.details(of: coffee))
            let changes = before.webHistory.changes.count
            let pricing = before.webOffer.pricing
            let raised = try Pricing(
                price: Money(minorUnits: pricing.price.minorUnits + 100, currency: pricing.price.currency), salePrice: nil, saleWindow: nil)
            func save(_ pricing: Pricing, at text: String) async throws {
                let at = try time(text)
                try await reference.write { writer in
                    try writer.save(
                        before.product,
                        webOffer: WebOffer(gtin: coffee, pricing: pricing, availability: before.webOffer.availability, link: before.webOffer.link),
                        recordedAt: at)
                }
            }
            try await save(raised, at: "2026-11-24T06:00Z")
            try await save(raised, at: "2026-11-25T06:00Z")
            var after = try #require(try await reference.details(of: coffee))
            #expect(after.webHistory.changes.count == changes + 1)
            #expect(after.webOffer.pricing == raised)
            let old = try Pricing(price: Money(minorUnits: 1, currency: pricing.price.currency), salePrice: nil, saleWindow: nil)
            try await save(old, at: "2025-01-01T06:00Z")
            try await save(old, at: "2025-01-01T06:00Z")
            after = try #require(try await reference.details(of: coffee))
            #expect(after.webHistory.changes.count == changes + 2, "a back-fill is recorded once")
            #expect(after.webOffer.pricing == raised, "a back-fill does not replace a newer price")
        }
    }

    @Test(
        "price history: one entry per product, channel and second; a pricing replaced within its second was never in force, on the web or in a store",
        arguments: Backend.allCases)
    func oneEntryPerSecond(_ backend: Backend) async throws {
        try await withSampleReference(backend) { reference in
            let before = try #require(try await reference.details(of: coffee))
            let store = try #require(before.stores.first { $0.offer.pricing != nil })
            let currency = before.webOffer.pricing.price.currency
            func pricing(_ cents: Int64) throws -> Pricing { try Pricing(price: Money(minorUnits: cents, currency: currency)) }
            /// Saves each price in turn at `text`: the web's and the store's, each write in a transaction of its own
            /// (`together` false) or all in one (`together` true).
            func save(_ prices: [Int64], at text: String, together: Bool) async throws {
                let at = try time(text)
                let web = before.webOffer
                let offer = store.offer
                let writes = try prices.map { try pricing($0) }
                func write(_ writer: any CatalogWriter, _ pricing: Pricing) throws {
                    try writer.save(
                        before.product, webOffer: WebOffer(gtin: coffee, pricing: pricing, availability: web.availability, link: web.link), recordedAt: at)
                    try writer.save(
                        StoreOffer(
                            storeCode: offer.storeCode, gtin: coffee, pricing: pricing, availability: offer.availability, pickupMethod: offer.pickupMethod,
                            pickupSLA: offer.pickupSLA, stock: offer.stock),
                        recordedAt: at)
                }
                if together {
                    try await reference.write { writer in for pricing in writes { try write(writer, pricing) } }
                } else {
                    for pricing in writes { try await reference.write { writer in try write(writer, pricing) } }
                }
            }
            func entries(at text: String) async throws -> (web: [Int64], store: [Int64]) {
                let at = try time(text)
                let details = try #require(try await reference.details(of: coffee))
                let listing = try #require(details.stores.first { $0.store.code == store.store.code })
                return (
                    details.webHistory.changes.filter { $0.recordedAt == at }.map(\.pricing.price.minorUnits),
                    listing.history.changes.filter { $0.recordedAt == at }.map(\.pricing.price.minorUnits)
                )
            }
            try await save([1_001, 1_002], at: "2026-11-24T06:00:00Z", together: false)
            try await save([1_003, 1_004], at: "2026-11-24T06:00:00Z", together: true)
            #expect(try await entries(at: "2026-11-24T06:00:00Z") == ([1_004], [1_004]))
            try await save([1_005], at: "2026-11-24T06:00:01Z", together: false)
            #expect(try await entries(at: "2026-11-24T06:00:00Z") == ([1_004], [1_004]))
            #expect(try await entries(at: "2026-11-24T06:00:01Z") == ([1_005], [1_005]))
            // A back-fill at a second that has an entry takes it; the current price stays the newer one.
            try await save([999], at: "2026-11-24T06:00:00Z", together: false)
            #expect(try await entries(at: "2026-11-24T06:00:00Z") == ([999], [999]))
            let after = try #require(try await reference.details(of: coffee))
            #expect(after.webOffer.pricing == (try pricing(1_005)))

            // The same through imports (a SQLite reference in use stages them): two of one time, then a back-fill.
            let folder = try newDirectory()
            func importPrice(_ text: String, asOf: String) async throws {
                let file = folder.appendingPathComponent("\(UUID().uuidString).tsv")
                try Data(
                    """
                    id\ttitle\tlink\tavailability\tprice\tgtin
                    \(before.product.itemID)\t\(before.product.title)\t\(before.webOffer.link)\tin_stock\t\(text) EUR\t\(coffee.digits)

                    """.utf8
                ).write(to: file)
                let (report, rejected) = try await runImport([file.path], into: reference, asOf: asOf)
                #expect(report.committed && rejected.isEmpty, "\(rejected)")
            }
            try await importPrice("20.01", asOf: "2026-11-25T06:00:00Z")
            try await importPrice("20.02", asOf: "2026-11-25T06:00:00Z")
            #expect(try await entries(at: "2026-11-25T06:00:00Z").web == [2_002])
            try await importPrice("20.03", asOf: "2026-11-25T06:00:01Z")
            try await importPrice("19.99", asOf: "2026-11-25T06:00:00Z")
            #expect(try await entries(at: "2026-11-25T06:00:00Z").web == [1_999])
            #expect(try await entries(at: "2026-11-25T06:00:01Z").web == [2_003])
            #expect(try #require(try await reference.details(of: coffee)).webOffer.pricing == (try pricing(2_003)))
        }
    }

    @Test(
        "store offers in batches larger than a store update's: a repeat changes nothing, a new price or stock is saved, a back-fill only adds to the history, a price at a second already recorded takes its entry, batch after batch in one write",
        arguments: Backend.allCases)
    func largeOfferBatches(_ backend: Backend) async throws {
        try await withSampleReference(backend) { reference in
            // More offers than PostgreSQL's writer merges without asking which form a batch needs.
            let count = 1_500
            let gtins = try (0..<count).map { index in
                let body = ("299" + String(format: "%09d", index)).utf8.map { $0 - UInt8(ascii: "0") }
                return try GTIN(body.map(String.init).joined() + String(GTIN.checkDigit(forBody: body)))
            }
            let first = try time("2026-11-20T06:00:00Z")
            let products = gtins.enumerated().map { Product(gtin: $1, itemID: "MANY-\($0)", title: "Article \($0)") }
            let webOffers = try gtins.map { try euroOffer(of: $0, cents: 500) }
            try await reference.write { writer in
                for (product, web) in zip(products, webOffers) { try writer.save(product, webOffer: web, recordedAt: first) }
            }
            /// Every offer at `text`'s time, saved by one write per pass; passes in one write each make a batch of their own
            /// (a key staged again sends the batch before).
            func save(passes: [(at: String, cents: (Int) -> Int64)], onHand: (Int) -> Int) async throws {
                let batches = try passes.map { pass in
                    let at = try time(pass.at)
                    return try (0..<count).map { index in
                        let pricing = try Pricing(price: Money(minorUnits: pass.cents(index), currency: Currency(code: "EUR")))
                        let offer = StoreOffer(
                            storeCode: "PAR01", gtin: gtins[index], pricing: pricing, availability: StoreAvailability(quantity: onHand(index)),
                            pickupMethod: nil, pickupSLA: nil, stock: Stock(onHand: onHand(index)))
                        return (offer, at)
                    }
                }
                try await reference.write { writer in
                    for batch in batches { for (offer, at) in batch { try writer.save(offer, recordedAt: at) } }
                }
            }
            func save(at text: String, cents: @escaping (Int) -> Int64, onHand: (Int) -> Int) async throws {
                try await save(passes: [(text, cents)], onHand: onHand)
            }
            /// An offer's price, stock and history (time and price of each entry).
            func offer(_ index: Int) async throws -> (cents: Int64?, onHand: Int, history: [String]) {
                let details = try #require(try await reference.details(of: gtins[index]))
                let listing = try #require(details.stores.first { $0.store.code == "PAR01" })
                return (
                    listing.offer.pricing?.price.minorUnits, listing.offer.stock.onHand,
                    listing.history.changes.map { "\(Timestamp.format($0.recordedAt)) \($0.pricing.price.minorUnits)" }
                )
            }
            // Stock moves from 5 to 7 for some: the same availability, so only the count differs.
            try await save(at: "2026-11-20T06:00:00Z", cents: { 1_000 + Int64($0) }, onHand: { _ in 5 })
            try await save(at: "2026-11-21T06:00:00Z", cents: { 1_000 + Int64($0) }, onHand: { _ in 5 })
            try await save(at: "2026-11-22T06:00:00Z", cents: { $0 % 3 == 0 ? 2_000 + Int64($0) : 1_000 + Int64($0) }, onHand: { $0 % 5 == 1 ? 7 : 5 })
            try await save(at: "2026-11-01T06:00:00Z", cents: { 900 + Int64($0) }, onHand: { $0 % 5 == 1 ? 7 : 5 })
            let backFilled = "2026-11-01T06:00:00Z"
            let loaded = "2026-11-20T06:00:00Z"
            let changed = "2026-11-22T06:00:00Z"
            for index in [0, 1, 2, 3, 6, 11, 749, 1_499] {
                let (cents, onHand, history) = try await offer(index)
                let original = 1_000 + index
                let repriced = index % 3 == 0
                #expect(cents == Int64(repriced ? 2_000 + index : original), "offer \(index)")
                #expect(onHand == (index % 5 == 1 ? 7 : 5), "offer \(index)")
                let expected =
                    ["\(backFilled) \(900 + index)", "\(loaded) \(original)"] + (repriced ? ["\(changed) \(2_000 + index)"] : [])
                #expect(history == expected, "offer \(index)")
            }
            // One write, three batches: an older back-fill, a new price for some (after a batch that needed PostgreSQL's
            // replacing form), then another price for some at the second of the first load (after one that did not): it
            // takes that second's entry, and is the price of those offers still priced from that second.
            let current: (Int) -> Int64 = { Int64($0 % 3 == 0 ? 2_000 + $0 : 1_000 + $0) }
            let (older, newer) = ("2026-10-15T06:00:00Z", "2026-11-25T06:00:00Z")
            try await save(
                passes: [
                    (older, { 800 + Int64($0) }), (newer, { $0 % 4 == 0 ? 3_000 + Int64($0) : current($0) }),
                    (loaded, { $0 % 2 == 0 ? 1_100 + Int64($0) : 1_000 + Int64($0) }),
                ], onHand: { $0 % 5 == 1 ? 7 : 5 })
            for index in [0, 1, 2, 3, 4, 6, 10, 11, 12, 746, 749, 1_499] {
                let (cents, _, history) = try await offer(index)
                let atLoad = index % 2 == 0 ? 1_100 + index : 1_000 + index
                #expect(cents == (index % 4 == 0 ? 3_000 + Int64(index) : index % 3 == 0 ? 2_000 + Int64(index) : Int64(atLoad)), "offer \(index)")
                let expected =
                    ["\(older) \(800 + index)", "\(backFilled) \(900 + index)", "\(loaded) \(atLoad)"]
                    + (index % 3 == 0 ? ["\(changed) \(2_000 + index)"] : []) + (index % 4 == 0 ? ["\(newer) \(3_000 + index)"] : [])
                #expect(history == expected, "offer \(index)")
            }
        }
    }

    @Test("a write that throws leaves nothing behind, and the catalogue version moves with every committed write", arguments: Backend.allCases)
    func writesAndVersion(_ backend: Backend) async throws {
        try await withSampleReference(backend) { reference in
            struct Refused: Error {}
            let version = try reference.catalogVersion()
            await #expect(throws: Refused.self) {
                try await reference.write { writer in
                    try writer.save(
                        Store(code: "NEW01", name: "New", address: "1 rue", latitude: 1, longitude: 1, timeZone: "UTC", locale: "fr-FR", maxReservation: 5))
                    throw Refused()
                }
            }
            let stores = try await reference.stores()
            #expect(stores.count == 4)
            // The stores file's opening hours, as written, on either backend.
            #expect(stores.first { $0.code == "PAR01" }?.openingHours?.description == "Mo-Sa 10:00-20:00; Su 11:00-19:00")
            // And the feed's eco-participation of an electrical product.
            #expect(try await reference.details(of: try GTIN("3760001039092"))?.product.ecoParticipation?.feedValue == "0.50 EUR")
            #expect(try reference.catalogVersion() == version)

            // A review given twice sends the staged product and the first review before the write throws: a batch is
            // on its way to PostgreSQL then.
            let before = try await reference.summaries(at: now).count
            let gtin = try GTIN("04006381333931")
            let review = Review(
                id: "THROWN", gtin: gtin, rating: 5, author: "Léa", isAnonymous: false, publishedAt: now, title: "Bien", content: "Très bien")
            await #expect(throws: Refused.self) {
                try await reference.write { writer in
                    try writer.save(Product(gtin: gtin, itemID: "THROWN-1", title: "Article"), webOffer: try euroOffer(of: gtin, cents: 100), recordedAt: now)
                    try writer.save(review)
                    try writer.save(review)
                    throw Refused()
                }
            }
            #expect(try await reference.summaries(at: now).count == before)
            #expect(try reference.catalogVersion() == version)
            try await setStock(reference, 9)
            #expect(try reference.catalogVersion() > version)
            #expect(try await reference.details(of: coffee)?.stores.first { $0.store.code == "PAR01" }?.offer.stock.onHand == 9)
        }
    }

    @Test(
        "a write moves the version of the products it changed, seen by another process's reference, and no other product's",
        arguments: Backend.allCases)
    func versionsPerProduct(_ backend: Backend) async throws {
        let jam = try GTIN("3760001001150")
        try await withSampleDatabase(backend) { location in
            try await openForTests(location) { writer in
                try await openForTests(location) { reader in
                    /// The reader's versions of the coffee, of the jam, of the catalogue and of what every product shares,
                    /// once they differ from `old` (PostgreSQL's reader hears of a write at its next poll).
                    func versions(after old: (Int, Int, Int, Int)?) async throws -> (coffee: Int, jam: Int, all: Int, common: Int) {
                        for _ in 0..<100 {
                            let now = (
                                try reader.catalogVersion(of: coffee), try reader.catalogVersion(of: jam), try reader.catalogVersion(),
                                try reader.commonVersion()
                            )
                            if let old, now == old {
                                try await Task.sleep(for: .milliseconds(50))
                                continue
                            }
                            return now
                        }
                        throw StorageError.unavailable("the reader heard of no write within 5 s")
                    }
                    let start = try await versions(after: nil)

                    try await setStock(writer, 7)
                    let afterStock = try await versions(after: start)
                    #expect(afterStock.coffee > start.coffee, "a stock update moves its product's version")
                    #expect(afterStock.jam == start.jam, "and not another product's")
                    #expect(afterStock.all > start.all)
                    #expect(afterStock.common == start.common, "nor what every product shares")
                    #expect(try writer.catalogVersion(of: coffee) == afterStock.coffee, "the writer has noted its own write")

                    let hold = try HoldRequest(storeCode: "PAR01", gtin: jam, quantity: "1", customerName: "Léa", contact: "lea@example.com")
                    guard case .held(let reservation) = try await writer.hold(hold, at: now, until: now.addingTimeInterval(3600), key: nil) else {
                        Issue.record("no hold")
                        return
                    }
                    let afterHold = try await versions(after: afterStock)
                    #expect(afterHold.jam > afterStock.jam, "a hold moves its product's version")
                    #expect(afterHold.coffee == afterStock.coffee)

                    #expect(try await writer.change(reservation: reservation.code, store: "PAR01", .cancel, by: nil, at: now) != .notFound)
                    let afterCancel = try await versions(after: afterHold)
                    #expect(afterCancel.jam > afterHold.jam, "so does its cancellation")
                    #expect(afterCancel.coffee == afterStock.coffee)

                    try await writer.write { catalog in
                        try catalog.save(
                            Store(code: "NEW01", name: "New", address: "1 rue", latitude: 1, longitude: 1, timeZone: "UTC", locale: "fr-FR", maxReservation: 5))
                    }
                    let afterStore = try await versions(after: afterCancel)
                    #expect(afterStore.coffee > afterCancel.coffee && afterStore.jam > afterCancel.jam, "a store changes every page")
                    #expect(afterStore.coffee == afterStore.all && afterStore.jam == afterStore.all && afterStore.common == afterStore.all)

                    // An import (SQLite stages it aside) of one changed offer: that product only.
                    try await writer.importing { catalog in
                        let offer = try #require(try catalog.offer(store: "PAR01", gtin: jam))
                        try catalog.save(
                            StoreOffer(
                                storeCode: "PAR01", gtin: jam, pricing: offer.pricing, availability: StoreAvailability(quantity: 3), pickupMethod: .reserve,
                                pickupSLA: offer.pickupSLA, stock: Stock(onHand: 3)), recordedAt: now)
                    }
                    let afterImport = try await versions(after: afterStore)
                    #expect(afterImport.jam > afterStore.jam, "an import moves the version of the products it changed")
                    #expect(afterImport.coffee == afterStore.coffee && afterImport.common == afterStore.common, "and no other")
                }
            }
        }
    }

    @Test("holds: 60 at once on a stock of 10 give exactly 10; collect and cancel; idempotency keys replay the first answer", arguments: Backend.allCases)
    func reservations(_ backend: Backend) async throws {
        try await withSampleReference(backend) { reference in
            try await setStock(reference, 10)
            let outcomes = try await withThrowingTaskGroup(of: HoldOutcome.self) { group in
                for index in 0..<60 {
                    group.addTask { try await reference.hold(try request(name: "Client \(index)"), at: now, until: now.addingTimeInterval(3600), key: nil) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let held = outcomes.compactMap { outcome -> Reservation? in if case .held(let reservation) = outcome { reservation } else { nil } }
            #expect(held.count == 10)
            #expect(outcomes.allSatisfy { if case .insufficient(0) = $0 { true } else if case .held = $0 { true } else { false } })
            #expect(try await holds(in: reference, of: coffee, at: now)["PAR01"] == 10)

            #expect(
                try await reference.change(reservation: held[0].code, store: "PAR01", .collect, by: nil, at: now)
                    == .done(try #require(try await reference.reservation(code: held[0].code))))
            #expect(try await reference.details(of: coffee)?.stores.first { $0.store.code == "PAR01" }?.offer.stock.onHand == 9)
            guard case .done(let cancelled) = try await reference.change(reservation: held[1].code, store: "PAR01", .cancel, by: nil, at: now) else {
                Issue.record("cancel did not go through")
                return
            }
            #expect(cancelled.status == .cancelled)
            #expect(try await reference.change(reservation: held[1].code, store: "PAR01", .cancel, by: nil, at: now) == .notHeld(state: "cancelled"))
            #expect(try await reference.change(reservation: held[2].code, store: "LYO02", .cancel, by: nil, at: now) == .notFound)
            #expect(try await holds(in: reference, of: coffee, at: now)["PAR01"] == 8)
            // Lapsed holds stop counting at once, and the next hold sweeps them.
            let later = now.addingTimeInterval(7200)
            #expect(try await holds(in: reference, of: coffee, at: later)["PAR01"] ?? 0 == 0)
            guard case .held = try await reference.hold(try request(quantity: 2), at: later, until: later.addingTimeInterval(3600), key: nil) else {
                Issue.record("a hold after the others lapsed was refused")
                return
            }
            #expect(try await reference.reservation(code: held[3].code)?.status == .expired)

            let first = try await reference.claim(key: "key-1", fingerprint: "f", at: later, abandonedAfter: 60)
            #expect(first == .started)
            #expect(try await reference.claim(key: "key-1", fingerprint: "f", at: later, abandonedAfter: 60) == .inProgress)
            #expect(try await reference.claim(key: "key-1", fingerprint: "other", at: later, abandonedAfter: 60) == .mismatch)
            let outcome = try await reference.hold(try request(), at: later, until: later.addingTimeInterval(3600), key: "key-1")
            #expect(try await reference.claim(key: "key-1", fingerprint: "f", at: later, abandonedAfter: 60) == .completed(outcome))
            #expect(try await reference.claim(key: "key-2", fingerprint: "f", at: later, abandonedAfter: 60) == .started)
            try await reference.release(key: "key-2")
            #expect(try await reference.claim(key: "key-2", fingerprint: "f", at: later, abandonedAfter: 60) == .started)
            #expect(try await reference.reservations(store: "PAR01", closedSince: nil).count == 12)
            #expect(try await reference.reservations(store: "LYO02", closedSince: nil).isEmpty)
            // Since a time: the open ones and those closed from then on; a lapsed hold closed when it expired.
            #expect(try await reference.reservations(store: "PAR01", closedSince: now).count == 12)
            let afterFirstClosings = try await reference.reservations(store: "PAR01", closedSince: now.addingTimeInterval(1))
            #expect(
                Set(afterFirstClosings.map(\.code))
                    == Set(try await reference.reservations(store: "PAR01", closedSince: nil).map(\.code)).subtracting([held[0].code, held[1].code]))
            let open = try await reference.reservations(store: "PAR01", closedSince: later)
            #expect(open.count == 2 && open.allSatisfy { $0.isActive(at: later) })
        }
    }

    @Test("print ledger, scans and tokens", arguments: Backend.allCases)
    func ledgerScansTokens(_ backend: Backend) async throws {
        try await withSampleReference(backend) { reference in
            let shelf = try #require(try await reference.shelf(of: "PAR01"))
            let printedAt = try time("2026-11-21T06:00Z")
            try await reference.recordPrints(shelf.items.map { PrintedTag(label: $0.label(at: printedAt), template: "standard", printedAt: printedAt) })
            let latest = try await reference.latestPrints(in: "PAR01")
            #expect(latest.count == shelf.items.count)
            let tag = try #require(latest[coffee])
            #expect(try await reference.printedTag(store: "PAR01", gtin: coffee, tagID: tag.label.tagID) == tag)
            #expect(try await reference.printedTag(store: "PAR01", gtin: coffee, tagID: "nope") == nil)
            let reviewed = try #require(try await reference.summaries(at: now).first { $0.rating != nil && latest[$0.gtin] != nil }?.gtin)
            let reviewedTag = try #require(latest[reviewed])
            let roundTrips = reference.serverRoundTrips
            let page = try #require(
                try await reference.page(of: reviewed, store: "PAR01", tagID: reviewedTag.label.tagID, reviewLimit: 2, storesWithin: 50, at: now))
            #expect(reference.serverRoundTrips - roundTrips == (backend == .postgres ? 1 : 0), "a page is one query on a database server")
            let reviews = try await reference.latestReviews(of: reviewed, limit: 2)
            #expect(page.printedTag == reviewedTag && page.reviews == reviews && !reviews.isEmpty)

            let scans = [
                Scan(time: now, storeCode: "PAR01", gtin: coffee, tagID: tag.label.tagID, stale: false, format: .html),
                Scan(time: now, storeCode: "PAR01", gtin: coffee, tagID: nil, stale: true, format: .json),
                Scan(time: now, storeCode: nil, gtin: coffee, tagID: nil, stale: false, format: .html),
            ]
            try await reference.recordScans(scans)
            let counts = try await reference.scanCounts(store: nil, since: nil)
            #expect(
                counts.map { "\($0.day) \($0.storeCode ?? "-") \($0.gtin.digits) \($0.scans) \($0.staleScans)" } == [
                    "2026-11-23 PAR01 03760001001983 2 1", "2026-11-23 - 03760001001983 1 0",
                ])
            #expect(try await reference.scanCounts(store: "PAR01", since: now.addingTimeInterval(1)).isEmpty)

            try await reference.saveToken(hash: "hash-1", grant: TokenGrant(storeCode: "PAR01", scopes: [.stock, .prices]), createdAt: now, expiresAt: nil)
            #expect(try await reference.grant(forTokenHash: "hash-1", at: Date()) == TokenGrant(storeCode: "PAR01", scopes: [.stock, .prices]))
            #expect(try await reference.grant(forTokenHash: "hash-2", at: Date()) == nil)
            await #expect(throws: (any Error).self, "a token of an unknown store breaks a foreign key") {
                try await reference.saveToken(hash: "hash-3", grant: TokenGrant(storeCode: "NOPE", scopes: [.stock]), createdAt: now, expiresAt: nil)
            }
        }
    }

    @Test("tokens: expire, are revoked by id, list without their hash, and stamp their last use once a minute", arguments: Backend.allCases)
    func tokenLifecycle(_ backend: Backend) async throws {
        try await withSampleReference(backend) { reference in
            let now = try time("2026-11-23T10:00Z")
            let stock = TokenGrant(storeCode: "PAR01", scopes: [.stock])
            try await reference.saveToken(hash: "aaaa11112222ffff", grant: stock, createdAt: now, expiresAt: now.addingTimeInterval(3600))
            try await reference.saveToken(hash: "aaaa11113333ffff", grant: stock, createdAt: now.addingTimeInterval(1), expiresAt: nil)
            try await reference.saveToken(hash: "bbbb00000000ffff", grant: TokenGrant(storeCode: "LYO02", scopes: [.prices]), createdAt: now, expiresAt: nil)

            // Expiry: good until the hour is up, refused from then on.
            #expect(try await reference.grant(forTokenHash: "aaaa11112222ffff", at: now.addingTimeInterval(3599)) == stock)
            #expect(try await reference.grant(forTokenHash: "aaaa11112222ffff", at: now.addingTimeInterval(3600)) == nil)

            // The last use is stamped, then left alone for a minute.
            let listed = try await reference.tokens(store: "PAR01")
            #expect(listed.map(\.id) == ["aaaa11113333", "aaaa11112222"])
            #expect(listed.last?.lastUsedAt == now.addingTimeInterval(3599) && listed.first?.lastUsedAt == nil)
            #expect(try await reference.grant(forTokenHash: "aaaa11113333ffff", at: now.addingTimeInterval(100)) == stock)
            #expect(try await reference.grant(forTokenHash: "aaaa11113333ffff", at: now.addingTimeInterval(130)) == stock)
            #expect(try await reference.tokens(store: "PAR01").first?.lastUsedAt == now.addingTimeInterval(100))
            #expect(try await reference.grant(forTokenHash: "aaaa11113333ffff", at: now.addingTimeInterval(161)) == stock)
            #expect(try await reference.tokens(store: "PAR01").first?.lastUsedAt == now.addingTimeInterval(161))
            #expect(try await reference.tokens(store: nil).count == 3)

            // Revocation by id: a prefix two tokens share is ambiguous; the token is refused at once.
            #expect(try await reference.revokeToken(id: "aaaa1111", at: now) == .ambiguous(2))
            #expect(try await reference.revokeToken(id: "cccccc", at: now) == .unknown)
            guard case .revoked(let revoked) = try await reference.revokeToken(id: "AAAA11113333", at: now.addingTimeInterval(200)) else {
                Issue.record("the token was not revoked")
                return
            }
            #expect(revoked.id == "aaaa11113333" && revoked.revokedAt == now.addingTimeInterval(200))
            #expect(try await reference.grant(forTokenHash: "aaaa11113333ffff", at: now.addingTimeInterval(201)) == nil)
            guard case .alreadyRevoked = try await reference.revokeToken(id: "aaaa11113333", at: now.addingTimeInterval(300)) else {
                Issue.record("a second revocation is not reported as such")
                return
            }
            #expect(try await reference.grant(forTokenHash: "bbbb00000000ffff", at: now) == TokenGrant(storeCode: "LYO02", scopes: [.prices]))
        }
    }

    @Test(
        "associates: added once per code, listed by store, found by code, revoked and removed; a hold credits one; changes move the version",
        arguments: Backend.allCases)
    func associates(_ backend: Backend) async throws {
        try await withSampleReference(backend) { reference in
            let lea = Associate(code: "LEA23", storeCode: "PAR01", name: "Léa", languages: ["fr", "en"])
            let version = try reference.catalogVersion()
            let common = try reference.commonVersion()
            #expect(try await reference.addAssociates([NewAssociate(lea, secretHash: "secret-1")], at: now) == .added)
            #expect(try reference.catalogVersion() > version, "a new associate moves the catalogue version")
            #expect(try reference.commonVersion() > common, "and what every page shares")
            let max = Associate(code: "MAX67", storeCode: "LYO02", name: "Max", languages: [])
            #expect(
                try await reference.addAssociates([NewAssociate(max, secretHash: "secret-4"), NewAssociate(lea, secretHash: "secret-2")], at: now)
                    == .codeTaken("LEA23"))
            #expect(try await reference.associate(code: "MAX67") == nil, "a batch with a taken code adds nobody")
            let elsewhere = Associate(code: "TOM45", storeCode: "NOPE", name: "Tom", languages: [])
            #expect(try await reference.addAssociates([NewAssociate(elsewhere, secretHash: "secret-3")], at: now) == .unknownStore("NOPE"))
            let lyon = max
            #expect(try await reference.addAssociates([NewAssociate(lyon, secretHash: "secret-4")], at: now) == .added)

            #expect(try await reference.associate(code: "LEA23") == lea)
            #expect(try await reference.associates(store: "PAR01") == [lea])
            #expect(try await reference.associates(store: nil).map(\.code) == ["MAX67", "LEA23"], "ordered by store")

            var held = try request()
            held.associateCode = "LEA23"
            guard case .held(let reservation) = try await reference.hold(held, at: now, until: now.addingTimeInterval(3600), key: nil) else {
                Issue.record("no hold")
                return
            }
            #expect(reservation.associateCode == "LEA23")
            #expect(try await reference.reservation(code: reservation.code)?.associateCode == "LEA23")
            guard case .done(let ready) = try await reference.change(reservation: reservation.code, store: "PAR01", .ready, by: "MAX67", at: now) else {
                Issue.record("not marked ready")
                return
            }
            #expect(ready.state(at: now) == "ready" && ready.readyAt == now)
            #expect(try await reference.change(reservation: reservation.code, store: "PAR01", .ready, by: nil, at: now) == .notHeld(state: "ready"))
            #expect(try await reference.change(reservation: reservation.code, store: "LYO02", .ready, by: nil, at: now) == .notFound)
            #expect(try await reference.reservation(code: reservation.code)?.state(at: now) == "ready")

            try await reference.recordScans([
                Scan(time: now, storeCode: "PAR01", gtin: coffee, tagID: "T1", stale: false, format: .html, associateCode: "LEA23"),
                Scan(time: now, storeCode: "PAR01", gtin: coffee, tagID: "T1", stale: true, format: .json, associateCode: "LEA23"),
                Scan(time: now, storeCode: "PAR01", gtin: coffee, tagID: nil, stale: false, format: .html),
            ])
            try await reference.recordClickOut(store: "PAR01", gtin: coffee, associateCode: "LEA23", at: now)
            let figures = try await reference.associateFigures(store: nil, since: nil)
            #expect(figures.count == 2, "Léa credited, Max who prepared it")
            let preparer = try #require(figures.first { $0.code == "MAX67" })
            #expect(preparer.prepared == 1 && preparer.handedOver == 0 && preparer.reservations == 0 && preparer.scans == 0)
            let credited = try #require(figures.first { $0.code == "LEA23" })
            #expect(credited.prepared == 0)
            #expect(
                credited.code == "LEA23" && credited.name == "Léa" && credited.scans == 2 && credited.reservations == 1 && credited.units == 1
                    && credited.clickOuts == 1)
            #expect(credited.value == [reservation.total])
            #expect(try await reference.associateFigures(store: "LYO02", since: nil).isEmpty, "Max prepared a Paris reservation")
            #expect(try await reference.associateFigures(store: nil, since: now.addingTimeInterval(1)).isEmpty)
            let tags = try await reference.tagScans(store: "PAR01", since: nil)
            #expect(tags == [TagScanCount(storeCode: "PAR01", gtin: coffee, tagID: "T1", scans: 2, staleScans: 1)])

            let unknown = try GTIN("04006381333931")
            #expect(try await reference.titles(of: [coffee, unknown]) == [coffee: "Café moulu pur arabica Brésil 1 kg"], "known products only")
            #expect(try await reference.titles(of: []).isEmpty)
            let found = try await reference.searchProducts(words: ["CAFÉ", "moulu"], limit: 5)
            #expect(found.isEmpty, "accents as typed: É is not é")
            let coffees = try await reference.searchProducts(words: ["café", "MOULU"], limit: 50)
            #expect(!coffees.isEmpty && coffees.allSatisfy { $0.title.contains("Café") && $0.title.lowercased().contains("moulu") })
            #expect(coffees.contains { $0.gtin == coffee })
            let titles = coffees.map { Array($0.title.utf8) }
            #expect(zip(titles, titles.dropFirst()).allSatisfy { !$1.lexicographicallyPrecedes($0) }, "titles in byte order, as SQLite sorts")
            let percent = try await reference.searchProducts(words: ["%"], limit: 50)
            #expect(!percent.isEmpty && percent.allSatisfy { $0.title.contains("%") }, "a wildcard typed is a character")
            #expect(try await reference.searchProducts(words: ["_"], limit: 5).isEmpty)
            #expect(try await reference.searchProducts(words: ["café"], limit: 2).count == 2)
            let help = HelpRequest(id: "help-1", storeCode: "PAR01", gtin: coffee, tagID: "T1", createdAt: now)
            try await reference.openHelpRequest(help)
            #expect(try await reference.openHelpRequests(store: "PAR01", at: now) == [help])
            #expect(try await reference.changeHelpRequest(id: "help-1", store: "LYO02", taking: "MAX67", at: now) == nil, "not another store's")
            let taken = try await reference.changeHelpRequest(id: "help-1", store: "PAR01", taking: "LEA23", at: now)
            #expect(taken?.state(at: now) == "taken" && taken?.takenBy == "LEA23")
            #expect(try await reference.changeHelpRequest(id: "help-1", store: "PAR01", taking: "LEA23", at: now) == nil, "taken once")
            #expect(try await reference.changeHelpRequest(id: "help-1", store: "PAR01", taking: nil, at: now)?.state(at: now) == "closed")
            #expect(try await reference.openHelpRequests(store: "PAR01", at: now).isEmpty)
            #expect(try await reference.helpRequest(id: "help-1")?.closedAt == now)
            try await reference.openHelpRequest(HelpRequest(id: "help-2", storeCode: "PAR01", gtin: coffee, tagID: nil, createdAt: now))
            _ = try await reference.changeHelpRequest(id: "help-2", store: "PAR01", taking: "LEA23", at: now.addingTimeInterval(120))
            try await reference.openHelpRequest(HelpRequest(id: "help-3", storeCode: "PAR01", gtin: coffee, tagID: nil, createdAt: now))
            #expect(
                try await reference.helpFigures(store: nil, since: nil) == [
                    HelpFigures(storeCode: "PAR01", requests: 3, taken: 2, averageWait: 60, longestWait: 120)
                ])
            // An hour on, a request nobody closed has lapsed: no longer open, not to be taken or closed.
            let lapse = now.addingTimeInterval(HelpRequest.lapsesAfter)
            #expect(try await reference.openHelpRequests(store: "PAR01", at: lapse.addingTimeInterval(-1)).map(\.id) == ["help-2", "help-3"])
            #expect(try await reference.openHelpRequests(store: "PAR01", at: lapse).isEmpty)
            #expect(try await reference.changeHelpRequest(id: "help-3", store: "PAR01", taking: "LEA23", at: lapse) == nil)
            #expect(try await reference.changeHelpRequest(id: "help-2", store: "PAR01", taking: nil, at: lapse) == nil)
            #expect(try await reference.helpRequest(id: "help-3")?.state(at: lapse) == "lapsed")

            let session = NewSession(tokenHash: "session-1", csrf: "csrf-1", createdAt: now, expiresAt: now.addingTimeInterval(3600))
            #expect(try await reference.openSession(session, code: "LEA23", secretHash: "wrong") == nil)
            #expect(try await reference.openSession(session, code: "LEA23", secretHash: "secret-1") == lea)
            #expect(try await reference.session(tokenHash: "session-1", at: now)?.csrf == "csrf-1")
            #expect(try await reference.session(tokenHash: "session-1", at: now.addingTimeInterval(3600)) == nil, "expired")
            let second = NewSession(tokenHash: "session-2", csrf: "csrf-2", createdAt: now, expiresAt: now.addingTimeInterval(3600))
            #expect(try await reference.openSession(second, code: "LEA23", secretHash: "secret-1") == lea)
            try await reference.closeSession(tokenHash: "session-2")
            #expect(try await reference.session(tokenHash: "session-2", at: now) == nil, "signed out")

            #expect(try await reference.revokeAssociate(code: "LEA23"))
            #expect(try await reference.session(tokenHash: "session-1", at: now) == nil, "a revoked secret ends its sessions at once")
            #expect(try await reference.openSession(session, code: "LEA23", secretHash: "secret-1") == nil)
            #expect(try await reference.associate(code: "LEA23")?.canSignIn == false)
            #expect(try await reference.removeAssociate(code: "LEA23"))
            #expect(try await reference.associate(code: "LEA23") == nil)
            #expect(try await !reference.removeAssociate(code: "LEA23"))
            #expect(try await !reference.revokeAssociate(code: "LEA23"))
            #expect(try await reference.reservation(code: reservation.code)?.associateCode == "LEA23", "the credit outlives the associate")
            let remaining = try await reference.associateFigures(store: nil, since: nil)
            #expect(remaining.map(\.code) == ["MAX67", "LEA23"], "a removed associate last, on both backends")
            #expect(remaining.last?.name == nil && remaining.last?.reservations == 1, "a removed associate's figures stay, nameless")
        }
    }
}
