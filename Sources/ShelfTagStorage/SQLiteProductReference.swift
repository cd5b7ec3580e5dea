import Foundation
import GRDB
import ShelfTagDomain

/// The product reference in one SQLite file: WAL, foreign keys, a pool so readers never wait for the writer.
public final class SQLiteProductReference: ProductReference {
    private let pool: DatabasePool

    /// Opens (creating if needed) the database at `path` and migrates it.
    /// - Throws: a `DatabaseError` when the file cannot be opened or migrated.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // WAL makes NORMAL durable against crashes of the process (not of the OS), and fast.
            try db.execute(sql: "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        try Schema.migrator.migrate(pool)
    }

    public func write<Result>(_ body: (any CatalogWriter) throws -> Result) throws -> Result {
        try pool.write { db in try body(SQLiteCatalogWriter(db: db)) }
    }

    public func details(of gtin: GTIN) throws -> ProductDetails? {
        try pool.read { db in try Self.details(of: gtin, in: db) }
    }

    public func summaries(at time: Date) throws -> [ProductSummary] {
        try pool.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT p.gtin, p.title, p.currency, p.price, p.sale_price, p.sale_start, p.sale_end,
                        (SELECT count(*) FROM store_offer o WHERE o.gtin = p.gtin) AS store_count,
                        (SELECT coalesce(sum(on_hand), 0) FROM store_offer o WHERE o.gtin = p.gtin) AS on_hand,
                        (SELECT avg(rating) FROM review r WHERE r.gtin = p.gtin) AS rating,
                        (SELECT count(*) FROM review r WHERE r.gtin = p.gtin) AS review_count
                    FROM product p ORDER BY p.gtin
                    """)
            return try rows.map { row in
                let gtin = try Self.gtin(row["gtin"])
                let pricing = try Self.pricing(row, table: "product", key: gtin.digits)!
                let reviewCount: Int = row["review_count"]
                return ProductSummary(
                    gtin: gtin, title: row["title"], webPrice: pricing.effectivePrice(at: time), storeCount: row["store_count"],
                    unitsOnHand: row["on_hand"], rating: reviewCount > 0 ? RatingSummary(average: row["rating"], count: reviewCount) : nil)
            }
        }
    }

    public func stores() throws -> [Store] {
        try pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM store ORDER BY code").map(Self.store) }
    }

    // MARK: Reading rows back into domain values

    private static func details(of gtin: GTIN, in db: Database) throws -> ProductDetails? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM product WHERE gtin = ?", arguments: [gtin.digits]) else {
            return nil
        }
        var histories: [String: [PriceChange]] = [:]
        for change in try Row.fetchAll(db, sql: "SELECT * FROM price_history WHERE gtin = ? ORDER BY recorded_at, id", arguments: [gtin.digits]) {
            guard let pricing = try pricing(change, table: "price_history", key: gtin.digits) else { continue }
            let channel: String = change["store_code"] ?? ""
            histories[channel, default: []].append(
                PriceChange(recordedAt: Date(timeIntervalSince1970: TimeInterval(change["recorded_at"] as Int64)), pricing: pricing))
        }
        let listings = try Row.fetchAll(
            db,
            sql: """
                SELECT o.*, s.name, s.address, s.latitude, s.longitude, s.time_zone, s.locale, s.code
                FROM store_offer o JOIN store s ON s.code = o.store_code WHERE o.gtin = ? ORDER BY o.store_code
                """, arguments: [gtin.digits]
        ).map { offerRow in
            let code: String = offerRow["store_code"]
            let offer = StoreOffer(
                storeCode: code, gtin: gtin, pricing: try pricing(offerRow, table: "store_offer", key: code),
                availability: try choice(offerRow["availability"], StoreAvailability.self),
                pickupMethod: try (offerRow["pickup_method"] as String?).map { try choice($0, PickupMethod.self) },
                pickupSLA: try (offerRow["pickup_sla"] as String?).map { try choice($0, PickupSLA.self) },
                stock: Stock(onHand: offerRow["on_hand"]))
            return StoreListing(store: store(offerRow), offer: offer, history: PriceHistory(changes: histories[code] ?? []))
        }
        let ratingRow = try Row.fetchOne(db, sql: "SELECT avg(rating) AS average, count(*) AS count FROM review WHERE gtin = ?", arguments: [gtin.digits])!
        let reviewCount: Int = ratingRow["count"]
        let webPricing = try pricing(row, table: "product", key: gtin.digits)!
        let webOffer = WebOffer(gtin: gtin, pricing: webPricing, availability: try choice(row["availability"], WebAvailability.self), link: row["link"])
        return ProductDetails(
            product: try product(row, gtin: gtin), webOffer: webOffer, webHistory: PriceHistory(changes: histories[""] ?? []),
            stores: listings, rating: reviewCount > 0 ? RatingSummary(average: ratingRow["average"], count: reviewCount) : nil)
    }

    private static func product(_ row: Row, gtin: GTIN) throws -> Product {
        var unitPricing: UnitPricing?
        if let measure = row["unit_measure"] as String?, let base = row["unit_base"] as String? {
            do {
                unitPricing = try UnitPricing(measure: Measure(feedValue: measure), base: Measure(feedValue: base))
            } catch {
                throw StorageError.corruptRow(table: "product", key: gtin.digits, reason: error.description)
            }
        }
        return Product(
            gtin: gtin, itemID: row["item_id"], title: row["title"], description: row["description"], brand: row["brand"],
            imageLink: row["image_link"], productType: row["product_type"], unitPricing: unitPricing)
    }

    private static func store(_ row: Row) -> Store {
        Store(
            code: row["code"], name: row["name"], address: row["address"], latitude: row["latitude"], longitude: row["longitude"],
            timeZone: row["time_zone"], locale: row["locale"])
    }

    private static func gtin(_ text: String) throws -> GTIN {
        do { return try GTIN(text) } catch { throw StorageError.corruptRow(table: "product", key: text, reason: error.description) }
    }

    private static func choice<Choice: RawRepresentable>(_ text: String, _: Choice.Type) throws -> Choice where Choice.RawValue == String {
        guard let value = Choice(rawValue: text) else { throw StorageError.corruptRow(table: "\(Choice.self)", key: text, reason: "unknown value") }
        return value
    }

    /// The pricing stored in a row's `currency, price, sale_price, sale_start, sale_end` columns (nil when price is NULL).
    static func pricing(_ row: Row, table: String, key: String) throws -> Pricing? {
        guard let price = row["price"] as Int64?, let code = row["currency"] as String? else { return nil }
        do {
            let currency = try Currency(code: code)
            let sale = (row["sale_price"] as Int64?).map { Money(minorUnits: $0, currency: currency) }
            var window: SaleWindow?
            if let start = row["sale_start"] as Int64?, let end = row["sale_end"] as Int64? {
                window = SaleWindow(start: Date(timeIntervalSince1970: TimeInterval(start)), end: Date(timeIntervalSince1970: TimeInterval(end)))
            }
            return try Pricing(price: Money(minorUnits: price, currency: currency), salePrice: sale, saleWindow: window)
        } catch {
            throw StorageError.corruptRow(table: table, key: key, reason: "\(error)")
        }
    }
}
