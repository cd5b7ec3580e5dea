import Foundation
import GRDB
import GRDBSQLite
import ShelfTagDomain

/// A product's feed `id` already belongs to another GTIN.
public struct ItemIDConflict: Error, CustomStringConvertible {
    public let itemID: String
    public let existingGTIN: String

    public var description: String { "id '\(itemID)' already belongs to GTIN \(existingGTIN)" }
}

/// Writes through cached prepared statements; each upsert skips rows that would not change,
/// so re-importing the same data writes nothing.
struct SQLiteCatalogWriter: CatalogWriter {
    let db: Database

    private static let productColumns = [
        "gtin", "item_id", "title", "description", "brand", "image_link", "product_type", "unit_measure", "unit_base",
        "link", "availability", "currency", "price", "sale_price", "sale_start", "sale_end", "price_since",
    ]
    private static let offerColumns = [
        "store_code", "gtin", "currency", "price", "sale_price", "sale_start", "sale_end", "price_since",
        "availability", "pickup_method", "pickup_sla", "on_hand",
    ]
    private static let pricingColumns = ["currency", "price", "sale_price", "sale_start", "sale_end"]

    /// `INSERT … ON CONFLICT DO UPDATE … WHERE something differs`; `price_since` moves only with the pricing.
    private static func upsertSQL(table: String, columns: [String], key: [String]) -> String {
        let updated = columns.filter { !key.contains($0) && $0 != "price_since" }
        let pricingDiffers = pricingColumns.map { "\($0) IS NOT excluded.\($0)" }.joined(separator: " OR ")
        return """
            INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))
            ON CONFLICT (\(key.joined(separator: ", "))) DO UPDATE SET
            \(updated.map { "\($0) = excluded.\($0)" }.joined(separator: ", ")),
            price_since = CASE WHEN \(pricingDiffers) THEN excluded.price_since ELSE price_since END
            WHERE \(updated.map { "\($0) IS NOT excluded.\($0)" }.joined(separator: " OR "))
            """
    }

    private static let productUpsert = upsertSQL(table: "product", columns: productColumns, key: ["gtin"])
    private static let offerUpsert = upsertSQL(table: "store_offer", columns: offerColumns, key: ["store_code", "gtin"])

    func storeCodes() throws -> Set<String> {
        Set(try String.fetchAll(db, sql: "SELECT code FROM store"))
    }

    func save(_ store: Store) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO store (code, name, address, latitude, longitude, time_zone, locale, max_reservation) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (code) DO UPDATE SET name = excluded.name, address = excluded.address, latitude = excluded.latitude,
                longitude = excluded.longitude, time_zone = excluded.time_zone, locale = excluded.locale, max_reservation = excluded.max_reservation
                WHERE (name, address, latitude, longitude, time_zone, locale, max_reservation) IS NOT
                    (excluded.name, excluded.address, excluded.latitude, excluded.longitude, excluded.time_zone, excluded.locale, excluded.max_reservation)
                """
        ).execute(arguments: [store.code, store.name, store.address, store.latitude, store.longitude, store.timeZone, store.locale, store.maxReservation])
    }

    func save(_ product: Product, webOffer: WebOffer, recordedAt: Date) throws {
        let pricing = webOffer.pricing
        let statement = try db.cachedStatement(sql: Self.productUpsert)
        // Bound straight through the C API: this runs once per feed row, and GRDB's
        // StatementArguments boxing cost a fifth of the import's instructions.
        let binder = Binder(statement: statement.sqliteStatement)
        binder.reset()
        binder.bind(1, product.gtin.digits)
        binder.bind(2, product.itemID)
        binder.bind(3, product.title)
        binder.bind(4, product.description)
        binder.bind(5, product.brand)
        binder.bind(6, product.imageLink)
        binder.bind(7, product.productType)
        binder.bind(8, product.unitPricing?.measure.feedValue)
        binder.bind(9, product.unitPricing?.base.feedValue)
        binder.bind(10, webOffer.link)
        binder.bind(11, webOffer.availability.rawValue)
        binder.bind(12, pricing.price.currency.code)
        binder.bind(13, pricing.price.minorUnits)
        binder.bind(14, pricing.salePrice?.minorUnits)
        binder.bind(15, pricing.saleWindow.map { Int64($0.start.timeIntervalSince1970) })
        binder.bind(16, pricing.saleWindow.map { Int64($0.end.timeIntervalSince1970) })
        binder.bind(17, Int64(recordedAt.timeIntervalSince1970))
        do {
            try binder.step(connection: db.sqliteConnection)
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            let owner = try String.fetchOne(db, sql: "SELECT gtin FROM product WHERE item_id = ?", arguments: [product.itemID])
            throw ItemIDConflict(itemID: product.itemID, existingGTIN: owner ?? "?")
        }
    }

    func gtin(forItemID itemID: String) throws -> GTIN? {
        guard let text = try String.fetchOne(db.cachedStatement(sql: "SELECT gtin FROM product WHERE item_id = ?"), arguments: [itemID]) else {
            return nil
        }
        return try GTIN(text)
    }

    func exists(_ gtin: GTIN) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM product WHERE gtin = ?)"), arguments: [gtin.digits]) ?? false
    }

    func save(_ offer: StoreOffer, recordedAt: Date) throws {
        let pricing = offer.pricing
        try db.cachedStatement(sql: Self.offerUpsert).execute(arguments: [
            offer.storeCode, offer.gtin.digits, pricing?.price.currency.code, pricing?.price.minorUnits, pricing?.salePrice?.minorUnits,
            pricing?.saleWindow.map { Int64($0.start.timeIntervalSince1970) }, pricing?.saleWindow.map { Int64($0.end.timeIntervalSince1970) },
            pricing.map { _ in Int64(recordedAt.timeIntervalSince1970) }, offer.availability.rawValue, offer.pickupMethod?.rawValue,
            offer.pickupSLA?.rawValue, offer.stock.onHand,
        ])
    }

    func offer(store storeCode: String, gtin: GTIN) throws -> StoreOffer? {
        try Row.fetchOne(db, sql: "SELECT * FROM store_offer WHERE store_code = ? AND gtin = ?", arguments: [storeCode, gtin.digits]).map {
            try SQLiteProductReference.storeOffer($0, gtin: gtin)
        }
    }

    func save(_ review: Review) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO review (id, gtin, rating, author, is_anonymous, published_at, title, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET gtin = excluded.gtin, rating = excluded.rating, author = excluded.author,
                is_anonymous = excluded.is_anonymous, published_at = excluded.published_at, title = excluded.title, content = excluded.content
                WHERE (gtin, rating, author, is_anonymous, published_at, title, content) IS NOT (excluded.gtin, excluded.rating,
                    excluded.author, excluded.is_anonymous, excluded.published_at, excluded.title, excluded.content)
                """
        ).execute(arguments: [
            review.id, review.gtin.digits, review.rating, review.author, review.isAnonymous,
            Int64(review.publishedAt.timeIntervalSince1970), review.title, review.content,
        ])
    }

    func deleteReviews(notIn ids: Set<String>) throws -> Int {
        try db.execute(sql: "CREATE TEMP TABLE IF NOT EXISTS kept_review (id TEXT PRIMARY KEY) WITHOUT ROWID; DELETE FROM kept_review")
        let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO kept_review (id) VALUES (?)")
        for id in ids { try insert.execute(arguments: [id]) }
        try db.execute(sql: "DELETE FROM review WHERE id NOT IN (SELECT id FROM kept_review)")
        let deleted = db.changesCount
        try db.execute(sql: "DELETE FROM kept_review")
        return deleted
    }
}

/// Binds values to a prepared statement's 1-based parameters; SQLite copies text (SQLITE_TRANSIENT).
private struct Binder {
    let statement: SQLiteStatement
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    func bind(_ index: Int32, _ value: String?) {
        guard var text = value else { return bindNull(index) }
        text.withUTF8 { bytes in
            _ = sqlite3_bind_text(
                statement, index, UnsafeRawPointer(bytes.baseAddress)?.assumingMemoryBound(to: CChar.self), Int32(bytes.count), Self.transient)
        }
    }

    func bind(_ index: Int32, _ value: Int64?) {
        guard let value else { return bindNull(index) }
        sqlite3_bind_int64(statement, index, value)
    }

    func reset() {
        sqlite3_reset(statement)
    }

    /// Runs the statement to completion.
    /// - Throws: `DatabaseError` with SQLite's extended result code and message.
    func step(connection: SQLiteConnection?) throws {
        var code = sqlite3_step(statement)
        while code == SQLITE_ROW { code = sqlite3_step(statement) }
        guard code == SQLITE_DONE else {
            let extended = connection.map { sqlite3_extended_errcode($0) } ?? code
            let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
            sqlite3_reset(statement)
            throw DatabaseError(resultCode: ResultCode(rawValue: extended), message: message)
        }
        sqlite3_reset(statement)
    }

    private func bindNull(_ index: Int32) {
        sqlite3_bind_null(statement, index)
    }
}
