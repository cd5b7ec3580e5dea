import Foundation
import Testing

@testable import ShelfTagDomain
@testable import ShelfTagFeeds

/// The repository's Samples/ folder.
let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
    "Samples")

/// Writes `text` to a new temporary file and returns its path.
func temporaryFile(_ text: String, name: String = "feed.tsv") throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let path = directory.appendingPathComponent(name).path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Suite("Feed readers")
struct FeedReaderTests {
    @Test(
        "kinds are told from the header or the root element",
        arguments: [
            ("stores.csv", FeedKind.stores), ("products.xml", .products), ("history/products-2026-10-01.tsv", .products),
            ("local_inventory.tsv", .inventory), ("product_reviews.xml", .reviews),
        ])
    func detectsKinds(file: String, kind: FeedKind) throws {
        let path = samples.appendingPathComponent(file).path
        #expect(try FeedKind.detect(path: path, displayName: file) == kind)
    }

    @Test func unknownKindIsAFileError() {
        #expect(throws: FeedError.self) { try FeedKind.detect(path: samples.appendingPathComponent("bad/unknown-kind.txt").path, displayName: "x") }
    }

    @Test("the XML and TSV forms of one item read the same")
    func productFeedFormsAgree() async throws {
        let tsv = try temporaryFile(
            """
            id\ttitle\tdescription\tlink\timage_link\tavailability\tprice\tsale_price\tsale_price_effective_date\tgtin\tbrand\tunit_pricing_measure\tunit_pricing_base_measure
            FR-EPI-0005\tConfiture extra fraises 370 g\tConfiture.\thttps://shop.example.com/p/5\thttps://img.example.com/5.jpg\tin_stock\t3.20 EUR\t2.56 EUR\t2026-11-20T08:00+0100/2026-11-30T20:00+0100\t3760552126371\tLes Vergers d'Aurore\t370g\t1kg

            """)
        let xml = try temporaryFile(
            """
            <?xml version="1.0" encoding="UTF-8"?>
            <rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel><title>Catalogue</title><link>https://shop.example.com</link>
            <item><g:id>FR-EPI-0005</g:id><g:title>Confiture extra fraises 370 g</g:title><link>https://shop.example.com/p/5</link>
            <description><![CDATA[Confiture.]]></description><g:image_link>https://img.example.com/5.jpg</g:image_link>
            <g:availability>in stock</g:availability><g:price>3.20 EUR</g:price><g:sale_price>2.56 EUR</g:sale_price>
            <g:sale_price_effective_date>2026-11-20T08:00+0100/2026-11-30T20:00+0100</g:sale_price_effective_date>
            <g:gtin>3760552126371</g:gtin><g:brand>Les Vergers d&apos;Aurore</g:brand>
            <g:unit_pricing_measure>370g</g:unit_pricing_measure><g:unit_pricing_base_measure>1kg</g:unit_pricing_base_measure></item>
            </channel></rss>
            """, name: "feed.xml")
        func readAll(_ path: String) throws -> [ProductFeedRow] {
            var rows: [ProductFeedRow] = []
            try ProductFeed.read(path: path, displayName: path, row: { row, _ in rows.append(row) }, rejected: { Issue.record("rejected: \($0)") })
            return rows
        }
        let fromTSV = try readAll(tsv)
        let fromXML = try readAll(xml)
        #expect(fromTSV.count == 1)
        #expect(fromTSV.first?.product == fromXML.first?.product)
        #expect(fromTSV.first?.webOffer == fromXML.first?.webOffer)
        #expect(fromXML.first?.product.title == "Confiture extra fraises 370 g")
        #expect(fromXML.first?.product.brand == "Les Vergers d'Aurore")
        #expect(fromXML.first?.webOffer.pricing.salePrice?.minorUnits == 256)
    }

    @Test("inventory headers may use spaces or underscores, in any case")
    func inventoryHeadersFold() async throws {
        for header in ["store code\tid\tquantity\tprice\tpickup method\tpickup sla", "store_code\tID\tQuantity\tprice\tpickup_method\tpickup_SLA"] {
            let path = try temporaryFile(header + "\nPAR01\tFR-EPI-0001\t2\t3.49 EUR\treserve\tsame day\n")
            var rows: [InventoryFeedRow] = []
            try InventoryFeed.read(path: path, displayName: "inv", row: { row, _ in rows.append(row) }, rejected: { Issue.record("rejected: \($0)") })
            #expect(rows.count == 1)
            #expect(rows.first?.availability == .limitedAvailability)  // derived from a quantity of 2
            #expect(rows.first?.pickupMethod == .reserve)
            #expect(rows.first?.pickupSLA == .sameDay)
        }
    }

    @Test("a missing required column is a located file error")
    func missingColumn() async throws {
        let path = try temporaryFile("id\ttitle\tlink\tavailability\tgtin\nA\tB\tC\tin_stock\t3760552126371\n")
        #expect(throws: FeedError.self) {
            try ProductFeed.read(path: path, displayName: "feed.tsv", row: { _, _ in }, rejected: { _ in })
        }
    }

    @Test("every rejected row names its file, line and field")
    func rejectedRowsAreLocated() async throws {
        var errors: [String] = []
        try ProductFeed.read(
            path: samples.appendingPathComponent("bad/products-bad-check-digit.tsv").path, displayName: "f.tsv", row: { _, _ in },
            rejected: { errors.append($0.description) })
        #expect(errors.count == 1)
        #expect(errors.first?.hasPrefix("f.tsv:4: gtin: bad check digit") == true)
    }

    @Test("reviews are normalised to 1 to 5 and keyed by GTIN and SKU")
    func reviews() async throws {
        let path = try temporaryFile(
            """
            <feed><version>2.4</version><reviews><review><review_id>R1</review_id><reviewer><name is_anonymous="true">Anonyme</name></reviewer>
            <review_timestamp>2026-11-03T12:47:19Z</review_timestamp><content>Bien.</content>
            <ratings><overall min="0" max="10">7.5</overall></ratings>
            <products><product><product_ids><gtins><gtin>3760906177455</gtin></gtins><skus><sku>FR-ELE-0008</sku></skus></product_ids></product></products>
            </review></reviews></feed>
            """, name: "reviews.xml")
        var rows: [ReviewFeedRow] = []
        try ReviewFeed.read(path: path, displayName: "r", row: { row, _ in rows.append(row) }, rejected: { Issue.record("rejected: \($0)") })
        #expect(rows.count == 1)
        #expect(rows.first?.rating == 4.0)
        #expect(rows.first?.isAnonymous == true)
        #expect(rows.first?.skus == ["FR-ELE-0008"])
        #expect(rows.first?.gtins.first?.digits == "03760906177455")
    }

    @Test("stores CSV: quoted addresses, default locale, bad coordinates")
    func stores() async throws {
        let path = try temporaryFile(
            "code,name,address,latitude,longitude,timezone\nPAR01,Paris,\"1 rue de Rivoli, 75001 Paris\",48.86,2.34,Europe/Paris\nXX,Nowhere,\"a\",91,0,Europe/Paris\n",
            name: "stores.csv")
        var stores: [Store] = []
        var errors: [String] = []
        try StoresFile.read(path: path, displayName: "stores.csv", row: { store, _ in stores.append(store) }, rejected: { errors.append($0.description) })
        #expect(stores.map(\.address) == ["1 rue de Rivoli, 75001 Paris"])
        #expect(stores.first?.locale == StoresFile.defaultLocale)
        #expect(errors == ["stores.csv:3: latitude: '91' is outside -90...90"])
    }

    @Test("store layout CSV: a row per spot, copies per spot; the same spot twice, a bad position or copies rejected on their line")
    func storeLayout() throws {
        let path = try temporaryFile(
            """
            gtin,aisle,position,copies
            3760001009491,A2,4,2
            3760001009491,E1,,
            3760001009484,A3,,
            3760001009491,a2,4,
            3760001009477,A4,-1,
            3760001009477,A4,1,0
            3760001009477,A4,1,100
            3760001009477,A4,1,two
            3760001009460,B1,2,99

            """, name: "layout.csv")
        var errors: [String] = []
        let spots = try StoreLayoutFile.read(path: path, displayName: "layout.csv") { errors.append($0.description) }
        #expect(spots[try GTIN("3760001009491")] == [ShelfSpot(aisle: "A2", position: 4, copies: 2), ShelfSpot(aisle: "E1", position: nil)])
        #expect(spots[try GTIN("3760001009484")] == [ShelfSpot(aisle: "A3", position: nil)])
        #expect(spots[try GTIN("3760001009460")] == [ShelfSpot(aisle: "B1", position: 2, copies: 99)])
        #expect(spots[try GTIN("3760001009477")] == nil)
        #expect(
            errors == [
                "layout.csv:5: gtin: 03760001009491 is placed twice at aisle a2, position 4",
                "layout.csv:6: position: '-1' must not be negative",
                "layout.csv:7: copies: '0' is outside 1...99",
                "layout.csv:8: copies: '100' is outside 1...99",
                "layout.csv:9: copies: 'two' is not a number",
            ])
    }

    @Test("stores CSV: optional opening_hours in schema.org syntax; a bad one is rejected on its line with the entry and why")
    func openingHours() throws {
        let path = try temporaryFile(
            "code,name,address,latitude,longitude,timezone,opening_hours\n"
                + "PAR01,Paris,a,48.86,2.34,Europe/Paris,Mo-Sa 10:00-20:00; Su 11:00-19:00\n"
                + "LYO02,Lyon,b,45.76,4.86,Europe/Paris,\n"
                + "LIL04,Lille,c,50.64,3.06,Europe/Paris,Mo-Sx 10:00-19:00\n",
            name: "stores.csv")
        var stores: [Store] = []
        var errors: [String] = []
        try StoresFile.read(path: path, displayName: "stores.csv", row: { store, _ in stores.append(store) }, rejected: { errors.append($0.description) })
        #expect(stores.map { $0.openingHours?.description } == ["Mo-Sa 10:00-20:00; Su 11:00-19:00", nil])
        #expect(errors == ["stores.csv:4: opening_hours: 'Mo-Sx 10:00-19:00': 'Sx' is not a day (Mo Tu We Th Fr Sa Su)"])
    }

    @Test(
        "stores CSV: optional label_printer (tcp://, ipp://, ipps://) and office_printer (ipp://, ipps://); another scheme, no host or a password is rejected on its line, the password not repeated"
    )
    func printers() throws {
        let path = try temporaryFile(
            "code,name,address,latitude,longitude,timezone,label_printer,office_printer\n"
                + "PAR01,Paris,a,48.86,2.34,Europe/Paris,tcp://10.1.0.20,ipp://cups.par01.example/printers/office\n"
                + "LYO02,Lyon,b,45.76,4.86,Europe/Paris,ipps://pc.lyo02.example/printers/zebra,\n"
                + "LIL04,Lille,c,50.64,3.06,Europe/Paris,,\n"
                + "BDX03,Bordeaux,d,44.84,-0.58,Europe/Paris,,tcp://10.3.0.20\n"
                + "NCE05,Nice,e,43.70,7.27,Europe/Paris,10.5.0.20,\n"
                + "MRS06,Marseille,f,43.30,5.37,Europe/Paris,,ipp://léa:s3cret@cups.mrs06.example/printers/office\n",
            name: "stores.csv")
        var stores: [Store] = []
        var errors: [String] = []
        try StoresFile.read(path: path, displayName: "stores.csv", row: { store, _ in stores.append(store) }, rejected: { errors.append($0.description) })
        #expect(stores.map(\.code) == ["PAR01", "LYO02", "LIL04"])
        #expect(stores.map(\.labelPrinter) == ["tcp://10.1.0.20", "ipps://pc.lyo02.example/printers/zebra", nil])
        #expect(stores.map(\.officePrinter) == ["ipp://cups.par01.example/printers/office", nil, nil])
        #expect(
            errors == [
                "stores.csv:5: office_printer: not a printer address: ipp://HOST[:631]/PATH or ipps://HOST[:631]/PATH",
                "stores.csv:6: label_printer: not a printer address: tcp://HOST[:9100] or ipp://HOST[:631]/PATH or ipps://HOST[:631]/PATH",
                "stores.csv:7: office_printer: a printer address with a user or password is not stored in the reference (a printer that asks for one is not supported yet)",
            ])
        #expect(!errors.joined().contains("s3cret"))
    }

    @Test("gtin: the first of a comma-separated list keys the product; spaces and dashes inside it are ignored")
    func gtinLists() throws {
        let header = "id\ttitle\tlink\tavailability\tprice\tgtin\n"
        let gtins = [
            "3760001039986,3760001039092", ",,3760001039986,", "376-0001-03998-6", "3760001039986 ,3760001039092", "3760001039985", ",",
            "376 0001 03998 5",
        ]
        let path = try temporaryFile(
            header + gtins.enumerated().map { "I\($0.offset)\tT\thttps://s/\($0.offset)\tin_stock\t1.00 EUR\t\($0.element)\n" }.joined())
        var rows: [ProductFeedRow] = []
        var errors: [String] = []
        try ProductFeed.read(path: path, displayName: "feed.tsv", row: { row, _ in rows.append(row) }, rejected: { errors.append($0.description) })
        #expect(rows.map(\.product.gtin.digits) == Array(repeating: "03760001039986", count: 4))
        #expect(
            errors == [
                "feed.tsv:6: gtin: bad check digit 5, expected 6", "feed.tsv:7: gtin: GTIN is empty",
                "feed.tsv:8: gtin: bad check digit 5, expected 6",
            ])
    }

    @Test("eco_participation: the fee in the price, in its currency and less than it; otherwise rejected on its line")
    func ecoParticipation() throws {
        let header = "id\ttitle\tlink\tavailability\tprice\tgtin\teco_participation\n"
        let path = try temporaryFile(
            header + "A\tCasque\thttps://s/a\tin_stock\t54.99 EUR\t3760001039986\t0.10 EUR\n"
                + "B\tÉcouteurs\thttps://s/b\tin_stock\t19.99 EUR\t3760001039092\t\n"
                + "C\tEnceinte\thttps://s/c\tin_stock\t29.99 EUR\t3760001001983\t0.10 USD\n"
                + "D\tCâble\thttps://s/d\tin_stock\t0.09 EUR\t3760001009491\t0.10 EUR\n")
        var rows: [ProductFeedRow] = []
        var errors: [String] = []
        try ProductFeed.read(path: path, displayName: "feed.tsv", row: { row, _ in rows.append(row) }, rejected: { errors.append($0.description) })
        #expect(rows.map { $0.product.ecoParticipation?.feedValue } == ["0.10 EUR", nil])
        #expect(
            errors == [
                "feed.tsv:4: eco_participation: USD is not the price's currency, EUR",
                "feed.tsv:5: eco_participation: 0.10 EUR is not less than the price it is part of",
            ])
    }
}
