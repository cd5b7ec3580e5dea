import CSQLiteSettings
import Foundation
import GRDB
import ShelfTagDomain

/// A product's feed `id` already belongs to another GTIN.
public struct ItemIDConflict: Error, CustomStringConvertible {
    public let itemID: String
    public let existingGTIN: String

    public var description: String { "id '\(itemID)' already belongs to GTIN \(existingGTIN)" }
}

/// Writes through prepared statements; each upsert skips rows that would not change, so re-importing the same data
/// writes nothing.
///
/// Pricing rule: a row keeps the newest pricing (`price_since` says since when); the price history gets every pricing
/// change, dated, one entry per key and second (a pricing replaced within its second was never in force). A pricing
/// recorded as of a time before the row's `price_since` (a back-fill, `import --as-of`) only adds to the history.
/// The history is written here rather than by triggers: a trigger per row cost more than half of an import, and
/// every pricing write goes through this writer.
///
/// A first load (`SQLiteCatalogWriter(firstLoadInto:)`, a database with no product yet) spares the read of the stored
/// pricing and the history insert of each row while every row carries one time. New products get their history by
/// chunks of rows, in one statement each (`INSERT … SELECT` over the chunk's rowids, while the parser goes on); a
/// repeated key's entry takes its last pricing (one entry per second). Store offers get theirs from the table at the
/// end. A row of another time records what is pending, then the writer goes row by row.
struct SQLiteCatalogWriter: CatalogWriter {
    let db: Database
    /// What this transaction changed, logged with the version it moves to.
    let changes = ChangeTracker()
    private let statements = PreparedStatements<Query>()
    /// What a first load has deferred; nil for a writer that records history row by row.
    private let firstLoad: FirstLoad?

    private final class FirstLoad {
        /// The time every row carries so far; nil before the first row.
        var time: Int64?
        /// False once rows are written with their history row by row.
        var deferring = true
        /// Products up to this rowid have their history.
        var historyThrough: Int64 = 0
        /// New products since `historyThrough`.
        var pending = 0
        /// New products whose history is written in one statement: few enough to keep pace with the parser.
        static let chunk = 16_384
    }

    init(db: Database) {
        self.db = db
        firstLoad = nil
    }

    /// A writer for a database with no product yet and no other writer.
    init(firstLoadInto db: Database) {
        self.db = db
        firstLoad = FirstLoad()
    }

    static let productColumns = [
        "gtin", "item_id", "title", "description", "brand", "image_link", "product_type", "unit_measure", "unit_base",
        "link", "availability", "currency", "price", "sale_price", "sale_start", "sale_end", "price_since", "eco_participation",
    ]
    static let offerColumns = [
        "store_code", "gtin", "currency", "price", "sale_price", "sale_start", "sale_end", "price_since",
        "availability", "pickup_method", "pickup_sla", "on_hand",
    ]
    private static let pricingColumns = ["currency", "price", "sale_price", "sale_start", "sale_end"]

    /// `INSERT … ON CONFLICT DO UPDATE … WHERE something differs`; the pricing and `price_since` move only for a pricing
    /// that differs and is not older than the stored one. The rows come from `source`: one row's parameters by default,
    /// or a `SELECT` of the columns in order (with a `WHERE`, which SQLite's grammar needs before `ON CONFLICT`).
    static func upsertSQL(table: String, columns: [String], key: [String], source: String? = nil) -> String {
        let others = columns.filter { !key.contains($0) && $0 != "price_since" && !pricingColumns.contains($0) }
        let newer = "excluded.price_since >= coalesce(price_since, 0)"
        let pricingDiffers = "(" + pricingColumns.map { "\($0) IS NOT excluded.\($0)" }.joined(separator: " OR ") + ")"
        let assignments =
            others.map { "\($0) = excluded.\($0)" }
            + pricingColumns.map { "\($0) = CASE WHEN \(newer) THEN excluded.\($0) ELSE \($0) END" }
            + ["price_since = CASE WHEN \(newer) AND \(pricingDiffers) THEN excluded.price_since ELSE price_since END"]
        return """
            INSERT INTO \(table) (\(columns.joined(separator: ", "))) \(source ?? "VALUES (\(Schema.placeholders(columns.count)))")
            ON CONFLICT (\(key.joined(separator: ", "))) DO UPDATE SET \(assignments.joined(separator: ", "))
            WHERE \(others.map { "\($0) IS NOT excluded.\($0)" }.joined(separator: " OR ")) OR (\(newer) AND \(pricingDiffers))
            """
    }

    static let storeColumns = [
        "code", "name", "address", "latitude", "longitude", "time_zone", "locale", "max_reservation", "opening_hours", "label_printer", "office_printer",
    ]
    static let reviewColumns = ["id", "gtin", "rating", "author", "is_anonymous", "published_at", "title", "content"]

    /// Upserts that write only what differs; `source` as in `upsertSQL`.
    static func storeUpsertSQL(source: String? = nil) -> String {
        plainUpsertSQL(table: "store", columns: storeColumns, key: "code", source: source)
    }

    static func reviewUpsertSQL(source: String? = nil) -> String {
        plainUpsertSQL(table: "review", columns: reviewColumns, key: "id", source: source)
    }

    private static func plainUpsertSQL(table: String, columns: [String], key: String, source: String?) -> String {
        let others = columns.filter { $0 != key }
        return """
            INSERT INTO \(table) (\(columns.joined(separator: ", "))) \(source ?? "VALUES (\(Schema.placeholders(columns.count)))")
            ON CONFLICT (\(key)) DO UPDATE SET \(others.map { "\($0) = excluded.\($0)" }.joined(separator: ", "))
            WHERE (\(others.joined(separator: ", "))) IS NOT (\(others.map { "excluded.\($0)" }.joined(separator: ", ")))
            """
    }

    /// The statements of the hot paths, prepared once per transaction (GRDB's cache looks them up by hashing their text).
    private enum Query: Int, PreparedQuery {
        case productUpsert, productPricing, offerUpsert, offerPricing, historyInsert, historyHas, historyReplace

        var sql: String {
            switch self {
            case .productUpsert: SQLiteCatalogWriter.upsertSQL(table: "product", columns: productColumns, key: ["gtin"])
            case .offerUpsert: SQLiteCatalogWriter.upsertSQL(table: "store_offer", columns: offerColumns, key: ["store_code", "gtin"])
            case .productPricing: "SELECT currency, price, sale_price, sale_start, sale_end, price_since FROM product WHERE gtin = ?"
            case .offerPricing:
                "SELECT currency, price, sale_price, sale_start, sale_end, price_since FROM store_offer WHERE store_code = ? AND gtin = ?"
            case .historyInsert:
                """
                INSERT INTO price_history (gtin, store_code, currency, price, sale_price, sale_start, sale_end, recorded_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """
            case .historyReplace:
                """
                UPDATE price_history SET (currency, price, sale_price, sale_start, sale_end) = (?3, ?4, ?5, ?6, ?7)
                WHERE id = (SELECT max(id) FROM price_history WHERE gtin = ?1 AND store_code IS ?2 AND recorded_at = ?8)
                """
            case .historyHas:
                """
                SELECT 1 FROM price_history WHERE gtin = ? AND store_code IS ? AND currency = ? AND price = ? AND sale_price IS ?
                    AND sale_start IS ? AND sale_end IS ? AND recorded_at = ?
                """
            }
        }
    }

    /// The pricing a row holds and since when; nil when there is no row.
    private func storedPricing(_ query: Query, key: [String]) throws -> (pricing: PricingValues, since: Int64)? {
        let binder = try statements.binder(query, in: db)
        binder.reset()
        for (index, value) in key.enumerated() { binder.bind(Int32(index + 1), value) }
        defer { binder.reset() }
        guard try binder.stepRow(connection: db.sqliteConnection) else { return nil }
        return (PricingValues(binder, from: 0), binder.integer(5) ?? 0)
    }

    /// Adds `pricing` at `time` to the history when it changes the stored one, or when it is a back-fill not yet there.
    /// A key has one entry per second: an entry at `time` takes the new pricing (the one it replaces was never in force).
    private func recordHistory(
        gtin: String, storeCode: String?, pricing: PricingValues, time: Int64, stored: (pricing: PricingValues, since: Int64)?
    ) throws {
        // A store row without its own price (the web's applies) has no history of its own.
        guard pricing.price != nil else { return }
        if let stored {
            if time >= stored.since {
                guard pricing != stored.pricing else { return }
            } else {
                let has = try historyStatement(.historyHas, gtin: gtin, storeCode: storeCode, pricing: pricing, time: time)
                defer { has.reset() }
                if try has.stepRow(connection: db.sqliteConnection) { return }
            }
        }
        // Only a time at or before the stored pricing's can have an entry already (the stored pricing only moves later).
        if let stored, time <= stored.since {
            try historyStatement(.historyReplace, gtin: gtin, storeCode: storeCode, pricing: pricing, time: time).step(connection: db.sqliteConnection)
            if db.changesCount > 0 { return }
        }
        try historyStatement(.historyInsert, gtin: gtin, storeCode: storeCode, pricing: pricing, time: time).step(connection: db.sqliteConnection)
    }

    /// One of the history statements, which all take an entry's eight values in the same order.
    private func historyStatement(_ query: Query, gtin: String, storeCode: String?, pricing: PricingValues, time: Int64) throws -> Binder {
        let binder = try statements.binder(query, in: db)
        binder.reset()
        binder.bind(1, gtin)
        binder.bind(2, storeCode)
        pricing.bind(to: binder, from: 3)
        binder.bind(8, time)
        return binder
    }

    func storeCodes() throws -> Set<String> {
        Set(try String.fetchAll(db, sql: "SELECT code FROM store"))
    }

    func save(_ store: Store) throws {
        changes.noteEverything()
        try db.cachedStatement(sql: Self.storeUpsertSQL()).execute(arguments: Self.storeArguments(store))
    }

    /// `store`'s values in `storeColumns` order.
    static func storeArguments(_ store: Store) -> StatementArguments {
        [
            store.code, store.name, store.address, store.latitude, store.longitude, store.timeZone, store.locale, store.maxReservation,
            store.openingHours?.description, store.labelPrinter, store.officePrinter,
        ]
    }

    /// Whether this row's history is left to the first load's chunks (or its end).
    private func defersHistory(at time: Int64) throws -> Bool {
        guard let firstLoad, firstLoad.deferring else { return false }
        guard let first = firstLoad.time else {
            firstLoad.time = time
            return true
        }
        if first == time { return true }
        try finishFirstLoad()
        return false
    }

    /// Records the history of the products inserted since the last chunk.
    private func recordPendingProductHistory(_ firstLoad: FirstLoad) throws {
        let last = try Int64.fetchOne(db, sql: "SELECT max(rowid) FROM product") ?? firstLoad.historyThrough
        try db.cachedStatement(
            sql: """
                INSERT INTO price_history (gtin, store_code, currency, price, sale_price, sale_start, sale_end, recorded_at)
                SELECT gtin, NULL, currency, price, sale_price, sale_start, sale_end, price_since FROM product
                WHERE rowid > ? AND rowid <= ? ORDER BY rowid
                """
        ).execute(arguments: [firstLoad.historyThrough, last])
        firstLoad.historyThrough = last
        firstLoad.pending = 0
    }

    /// Records the history a first load left pending; later rows get theirs row by row.
    func finishFirstLoad() throws {
        guard let firstLoad, firstLoad.deferring else { return }
        firstLoad.deferring = false
        try recordPendingProductHistory(firstLoad)
        try db.execute(
            sql: """
                INSERT INTO price_history (gtin, store_code, currency, price, sale_price, sale_start, sale_end, recorded_at)
                SELECT gtin, store_code, currency, price, sale_price, sale_start, sale_end, price_since FROM store_offer
                WHERE price IS NOT NULL ORDER BY gtin, store_code
                """)
    }

    /// After a first load's product upsert: counts a new product towards its chunk; a repeated one's entry, if its
    /// chunk has one already, takes the last pricing (as within a chunk).
    private func deferredProductHistory(gtin: String, pricing: PricingValues, time: Int64, inserted: Bool) throws {
        guard let firstLoad else { return }
        if inserted {
            firstLoad.pending += 1
            if firstLoad.pending >= FirstLoad.chunk { try recordPendingProductHistory(firstLoad) }
            return
        }
        try historyStatement(.historyReplace, gtin: gtin, storeCode: nil, pricing: pricing, time: time).step(connection: db.sqliteConnection)
    }

    func save(_ product: Product, webOffer: WebOffer, recordedAt: Date) throws {
        changes.note(product.gtin)
        let pricing = PricingValues(webOffer.pricing)
        let time = Int64(recordedAt.timeIntervalSince1970)
        let deferred = try defersHistory(at: time)
        let stored = deferred ? nil : try storedPricing(.productPricing, key: [product.gtin.digits])
        // Bound straight through the C API: this runs once per feed row, and GRDB's
        // StatementArguments boxing cost a fifth of the import's instructions.
        let binder = try statements.binder(.productUpsert, in: db)
        binder.reset()
        binder.bindProductRow(product, webOffer: webOffer, pricing: pricing, time: time)
        // An insert sets the last inserted rowid (never 0); an upsert that updates or skips leaves it.
        sqlite3_set_last_insert_rowid(db.sqliteConnection, 0)
        do {
            try binder.step(connection: db.sqliteConnection)
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            let owner = try String.fetchOne(db, sql: "SELECT gtin FROM product WHERE item_id = ?", arguments: [product.itemID])
            throw ItemIDConflict(itemID: product.itemID, existingGTIN: owner ?? "?")
        }
        if deferred {
            let inserted = sqlite3_last_insert_rowid(db.sqliteConnection) != 0
            try deferredProductHistory(gtin: product.gtin.digits, pricing: pricing, time: time, inserted: inserted)
        } else {
            try recordHistory(gtin: product.gtin.digits, storeCode: nil, pricing: pricing, time: time, stored: stored)
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
        changes.note(offer.gtin)
        let pricing = PricingValues(offer.pricing)
        let time = Int64(recordedAt.timeIntervalSince1970)
        let deferred = try defersHistory(at: time)
        let stored = deferred ? nil : try storedPricing(.offerPricing, key: [offer.storeCode, offer.gtin.digits])
        let binder = try statements.binder(.offerUpsert, in: db)
        binder.reset()
        binder.bindOfferRow(offer, pricing: pricing, time: time)
        try binder.step(connection: db.sqliteConnection)
        if !deferred { try recordHistory(gtin: offer.gtin.digits, storeCode: offer.storeCode, pricing: pricing, time: time, stored: stored) }
    }

    func offer(store storeCode: String, gtin: GTIN) throws -> StoreOffer? {
        try Row.fetchOne(db, sql: "SELECT * FROM store_offer WHERE store_code = ? AND gtin = ?", arguments: [storeCode, gtin.digits]).map {
            try StoredRows.storeOffer($0, gtin: gtin)
        }
    }

    func save(_ review: Review) throws {
        changes.note(review.gtin)
        try db.cachedStatement(sql: Self.reviewUpsertSQL()).execute(arguments: [
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
        if deleted > 0 { changes.noteEverything() }
        try db.execute(sql: "DELETE FROM kept_review")
        return deleted
    }
}

/// Binds values to a prepared statement's 1-based parameters; SQLite copies text (SQLITE_TRANSIENT).
struct Binder {
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

    /// A product row in the order of `SQLiteCatalogWriter.productColumns`.
    func bindProductRow(_ product: Product, webOffer: WebOffer, pricing: PricingValues, time: Int64) {
        bind(1, product.gtin.digits)
        bind(2, product.itemID)
        bind(3, product.title)
        bind(4, product.description)
        bind(5, product.brand)
        bind(6, product.imageLink)
        bind(7, product.productType)
        bind(8, product.unitPricing?.measure.feedValue)
        bind(9, product.unitPricing?.base.feedValue)
        bind(10, webOffer.link)
        bind(11, webOffer.availability.rawValue)
        pricing.bind(to: self, from: 12)
        bind(17, time)
        bind(18, product.ecoParticipation?.feedValue)
    }

    /// A store offer row in the order of `SQLiteCatalogWriter.offerColumns`.
    func bindOfferRow(_ offer: StoreOffer, pricing: PricingValues, time: Int64) {
        bind(1, offer.storeCode)
        bind(2, offer.gtin.digits)
        pricing.bind(to: self, from: 3)
        bind(8, time)
        bind(9, offer.availability.rawValue)
        bind(10, offer.pickupMethod?.rawValue)
        bind(11, offer.pickupSLA?.rawValue)
        bind(12, Int64(offer.stock.onHand))
    }

    /// Steps once: true with a row to read, false when done.
    /// - Throws: `DatabaseError` with SQLite's extended result code and message.
    func stepRow(connection: SQLiteConnection?) throws -> Bool {
        let code = sqlite3_step(statement)
        if code == SQLITE_ROW { return true }
        if code == SQLITE_DONE { return false }
        throw error(code, connection: connection)
    }

    func text(_ column: Int32) -> String? {
        guard sqlite3_column_type(statement, column) != SQLITE_NULL, let bytes = sqlite3_column_text(statement, column) else { return nil }
        return String(cString: bytes)
    }

    func integer(_ column: Int32) -> Int64? {
        sqlite3_column_type(statement, column) == SQLITE_NULL ? nil : sqlite3_column_int64(statement, column)
    }

    private func error(_ code: Int32, connection: SQLiteConnection?) -> DatabaseError {
        let extended = connection.map { sqlite3_extended_errcode($0) } ?? code
        let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        sqlite3_reset(statement)
        return DatabaseError(resultCode: ResultCode(rawValue: extended), message: message)
    }

    /// Runs the statement to completion.
    /// - Throws: `DatabaseError` with SQLite's extended result code and message.
    func step(connection: SQLiteConnection?) throws {
        var code = sqlite3_step(statement)
        while code == SQLITE_ROW { code = sqlite3_step(statement) }
        guard code == SQLITE_DONE else { throw error(code, connection: connection) }
        sqlite3_reset(statement)
    }

    private func bindNull(_ index: Int32) {
        sqlite3_bind_null(statement, index)
    }
}

extension PricingValues {
    /// The five columns a statement's row holds from `column` on.
    init(_ binder: Binder, from column: Int32) {
        self.init(
            currency: binder.text(column), price: binder.integer(column + 1), salePrice: binder.integer(column + 2),
            saleStart: binder.integer(column + 3), saleEnd: binder.integer(column + 4))
    }

    func bind(to binder: Binder, from index: Int32) {
        binder.bind(index, currency)
        binder.bind(index + 1, price)
        binder.bind(index + 2, salePrice)
        binder.bind(index + 3, saleStart)
        binder.bind(index + 4, saleEnd)
    }
}

/// The statements of a writer's hot paths, by case.
protocol PreparedQuery: CaseIterable, RawRepresentable<Int> {
    var sql: String { get }
}

/// A writer's statements prepared once per transaction: GRDB's cache finds a statement by hashing its text, which
/// for a row's statements cost more than the statement itself.
final class PreparedStatements<Query: PreparedQuery> {
    private var prepared: [Statement?] = Array(repeating: nil, count: Query.allCases.count)

    func statement(_ query: Query, in db: Database) throws -> Statement {
        if let statement = prepared[query.rawValue] { return statement }
        let statement = try db.makeStatement(sql: query.sql)
        prepared[query.rawValue] = statement
        return statement
    }

    /// The statement bound through the C API (GRDB's arguments box every value: a fifth of an import's instructions).
    func binder(_ query: Query, in db: Database) throws -> Binder {
        Binder(statement: try statement(query, in: db).sqliteStatement)
    }
}
