import CSQLiteSettings
import Foundation
import GRDB
import ShelfTagDomain

/// An import into a SQLite reference that other processes use, in two steps so that their writes never wait long:
///
/// 1. **Stage**, holding no lock writers need: the rows go to a file of their own beside the reference (attached as
///    `ref`, read in one snapshot), where lookups see the staged rows over the reference's. Rows that would change
///    nothing are then dropped.
/// 2. **Apply** what is left in one immediate transaction on the reference, with the same rules as
///    `SQLiteCatalogWriter` (upserts of what differs; price history for every pricing change and for back-fills).
///
/// A key staged twice keeps its last row: both would carry the same time, so the first never was a price anyone saw.
enum SQLiteStagedImport {
    /// Stages what `body` writes, then applies it to the reference at `path` through `reference`.
    static func run<Result: Sendable>(
        path: String, reference: SQLiteProductReference, _ body: @escaping (any CatalogWriter) throws -> Result
    ) async throws -> Result {
        SQLiteProductReference.removeAbandonedFiles(of: path)
        let stagingPath = "\(path).import-\(getpid())"
        func removeStaging() { for suffix in ["", "-journal"] { unlink(stagingPath + suffix) } }
        removeStaging()
        defer { removeStaging() }
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // Nothing reads this file but this import, and a crash throws it away: no journal, no syncs.
            try db.execute(sql: "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -\(SQLiteProductReference.pageCacheKiB)")
        }
        let staging = try DatabaseQueue(path: stagingPath, configuration: configuration)
        defer { try? staging.close() }
        let body = UncheckedSendable(body)
        let result = try await staging.writeWithoutTransaction { db -> Result in
            try db.execute(sql: stagingTables)
            try db.execute(sql: "ATTACH DATABASE ? AS ref", arguments: [path])
            defer { try? db.execute(sql: "DETACH DATABASE ref") }
            var result: Result?
            // One read transaction: every lookup in the reference sees the same snapshot.
            try db.inTransaction(.deferred) {
                result = try body.value(StagingWriter(db: db))
                try db.execute(sql: pruning)
                return .commit
            }
            return result!
        }
        try staging.close()
        try await reference.writing(attaching: (path: stagingPath, name: "stage")) { db in
            try db.execute(sql: applying)
            try SQLiteProductReference.bumpCatalogVersion(db)
        }
        return result
    }

    private static let product = SQLiteCatalogWriter.productColumns.joined(separator: ", ")
    private static let offer = SQLiteCatalogWriter.offerColumns.joined(separator: ", ")
    private static let store = SQLiteCatalogWriter.storeColumns.joined(separator: ", ")
    private static let review = SQLiteCatalogWriter.reviewColumns.joined(separator: ", ")

    /// `seq` keeps the order rows were staged in (a re-staged key moves to the end, as `INSERT OR REPLACE` deletes it
    /// first): applying in that order meets the unique item ids as row-by-row saving would.
    private static let stagingTables = """
        CREATE TABLE stage_store (seq INTEGER PRIMARY KEY, \(store), UNIQUE (code));
        CREATE TABLE stage_product (seq INTEGER PRIMARY KEY, \(product), UNIQUE (gtin));
        CREATE INDEX stage_product_by_item ON stage_product(item_id);
        CREATE TABLE stage_offer (seq INTEGER PRIMARY KEY, \(offer), UNIQUE (store_code, gtin));
        CREATE TABLE stage_review (seq INTEGER PRIMARY KEY, \(review), UNIQUE (id));
        -- The ids a full reviews feed keeps; one row in stage_full_reviews says the others go.
        CREATE TABLE stage_kept_review (id TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE TABLE stage_full_reviews (present INTEGER PRIMARY KEY);
        -- Staged rows at or before their stored pricing's second, as the snapshot has them: the only ones that can meet a
        -- history entry of their second, listed while staging so that the apply, which holds the lock, reads no others.
        CREATE TABLE stage_product_at_entry (seq INTEGER PRIMARY KEY);
        CREATE TABLE stage_offer_at_entry (seq INTEGER PRIMARY KEY);
        """

    private static let pricing = ["currency", "price", "sale_price", "sale_start", "sale_end"]

    private static func columns(_ names: [String], of table: String) -> String {
        "(" + names.map { "\(table).\($0)" }.joined(separator: ", ") + ")"
    }

    /// Drops staged rows that equal the reference's and carry no back-fill: applying them would write nothing.
    private static let pruning: String = {
        let productCompared = SQLiteCatalogWriter.productColumns.filter { $0 != "gtin" && $0 != "price_since" }
        let offerCompared = SQLiteCatalogWriter.offerColumns.filter { $0 != "store_code" && $0 != "gtin" && $0 != "price_since" }
        let reviewCompared = SQLiteCatalogWriter.reviewColumns.filter { $0 != "id" }
        let storeCompared = SQLiteCatalogWriter.storeColumns.filter { $0 != "code" }
        return """
            DELETE FROM stage_product WHERE EXISTS (SELECT 1 FROM ref.product o WHERE o.gtin = stage_product.gtin
                AND \(columns(productCompared, of: "o")) IS \(columns(productCompared, of: "stage_product"))
                AND stage_product.price_since >= o.price_since);
            DELETE FROM stage_offer WHERE EXISTS (SELECT 1 FROM ref.store_offer o
                WHERE o.store_code = stage_offer.store_code AND o.gtin = stage_offer.gtin
                AND \(columns(offerCompared, of: "o")) IS \(columns(offerCompared, of: "stage_offer"))
                AND (stage_offer.price IS NULL OR stage_offer.price_since >= o.price_since));
            DELETE FROM stage_review WHERE EXISTS (SELECT 1 FROM ref.review o WHERE o.id = stage_review.id
                AND \(columns(reviewCompared, of: "o")) IS \(columns(reviewCompared, of: "stage_review")));
            DELETE FROM stage_store WHERE EXISTS (SELECT 1 FROM ref.store o WHERE o.code = stage_store.code
                AND \(columns(storeCompared, of: "o")) IS \(columns(storeCompared, of: "stage_store")));
            INSERT INTO stage_product_at_entry SELECT i.seq FROM stage_product i JOIN ref.product o ON o.gtin = i.gtin
                WHERE i.price_since <= o.price_since;
            INSERT INTO stage_offer_at_entry SELECT i.seq FROM stage_offer i JOIN ref.store_offer o ON o.store_code = i.store_code AND o.gtin = i.gtin
                WHERE i.price_since <= o.price_since;
            """
    }()

    /// The history entries of staged rows (`i`) against the rows they replace (`o`): a new row, a pricing change, or
    /// a back-fill not recorded yet. A key has one entry per second: a change or back-fill at a second that has an entry
    /// already takes that entry (the pricing it replaces was never in force). Run before the upsert, which overwrites `o`.
    private static func historySQL(staged: String, table: String, key: [String], store: String) -> String {
        let join = key.map { "o.\($0) = i.\($0)" }.joined(separator: " AND ")
        let atSecond = "h.gtin = i.gtin AND h.store_code IS \(store) AND h.recorded_at = i.price_since"
        // Only a change at the stored pricing's second, or a back-fill, can meet an entry of its second.
        let sameSecondOrOlder = """
            (i.price_since < coalesce(o.price_since, 0)
                OR i.price_since = o.price_since AND \(columns(pricing, of: "o")) IS NOT \(columns(pricing, of: "i")))
            """
        return """
            UPDATE price_history AS h SET (currency, price, sale_price, sale_start, sale_end) = (i.currency, i.price, i.sale_price, i.sale_start, i.sale_end)
            FROM stage.\(staged)_at_entry x JOIN stage.\(staged) i ON i.seq = x.seq JOIN \(table) o ON \(join)
            WHERE i.price IS NOT NULL AND \(sameSecondOrOlder) AND \(atSecond)
                AND \(columns(pricing, of: "h")) IS NOT \(columns(pricing, of: "i"));
            INSERT INTO price_history (gtin, store_code, currency, price, sale_price, sale_start, sale_end, recorded_at)
            SELECT i.gtin, \(store), i.currency, i.price, i.sale_price, i.sale_start, i.sale_end, i.price_since
            FROM stage.\(staged) i LEFT JOIN \(table) o ON \(join)
            WHERE i.price IS NOT NULL AND (o.gtin IS NULL
                OR i.price_since > coalesce(o.price_since, 0) AND \(columns(pricing, of: "o")) IS NOT \(columns(pricing, of: "i"))
                OR \(sameSecondOrOlder) AND NOT EXISTS (SELECT 1 FROM price_history h WHERE \(atSecond)))
            ORDER BY i.seq;
            """
    }

    /// History goes in before the rows it dates (the upserts overwrite what it compares with): foreign keys are
    /// checked at commit.
    private static let applying = """
        PRAGMA defer_foreign_keys = ON;
        \(SQLiteCatalogWriter.storeUpsertSQL(source: "SELECT \(store) FROM stage.stage_store WHERE true ORDER BY seq"));
        \(historySQL(staged: "stage_product", table: "product", key: ["gtin"], store: "NULL"))
        \(SQLiteCatalogWriter.upsertSQL(
            table: "product", columns: SQLiteCatalogWriter.productColumns, key: ["gtin"],
            source: "SELECT \(product) FROM stage.stage_product WHERE true ORDER BY seq"));
        \(historySQL(staged: "stage_offer", table: "store_offer", key: ["store_code", "gtin"], store: "i.store_code"))
        \(SQLiteCatalogWriter.upsertSQL(
            table: "store_offer", columns: SQLiteCatalogWriter.offerColumns, key: ["store_code", "gtin"],
            source: "SELECT \(offer) FROM stage.stage_offer WHERE true ORDER BY seq"));
        \(SQLiteCatalogWriter.reviewUpsertSQL(source: "SELECT \(review) FROM stage.stage_review WHERE true ORDER BY seq"));
        DELETE FROM review WHERE EXISTS (SELECT 1 FROM stage.stage_full_reviews)
            AND id NOT IN (SELECT id FROM stage.stage_kept_review);
        """

    /// Writes to the staging tables; reads see them over the reference (`ref`).
    private struct StagingWriter: CatalogWriter {
        let db: Database
        private let statements = PreparedStatements<Query>()

        init(db: Database) {
            self.db = db
        }

        /// The statements a row runs.
        private enum Query: Int, PreparedQuery {
            case stageStore, stageProduct, stageOffer, stageReview, itemOwner, productExists

            var sql: String {
                switch self {
                case .stageStore:
                    "INSERT OR REPLACE INTO stage_store (\(SQLiteStagedImport.store)) VALUES (\(Schema.placeholders(SQLiteCatalogWriter.storeColumns.count)))"
                case .stageReview:
                    "INSERT OR REPLACE INTO stage_review (\(SQLiteStagedImport.review)) VALUES (\(Schema.placeholders(SQLiteCatalogWriter.reviewColumns.count)))"
                case .stageProduct:
                    "INSERT OR REPLACE INTO stage_product (\(SQLiteStagedImport.product)) VALUES (\(Schema.placeholders(SQLiteCatalogWriter.productColumns.count)))"
                case .stageOffer:
                    "INSERT OR REPLACE INTO stage_offer (\(SQLiteStagedImport.offer)) VALUES (\(Schema.placeholders(SQLiteCatalogWriter.offerColumns.count)))"
                case .itemOwner:
                    """
                    SELECT gtin FROM stage_product WHERE item_id = ?1
                    UNION ALL SELECT gtin FROM ref.product p WHERE item_id = ?1 AND NOT EXISTS (SELECT 1 FROM stage_product s WHERE s.gtin = p.gtin)
                    LIMIT 1
                    """
                case .productExists:
                    "SELECT EXISTS (SELECT 1 FROM stage_product WHERE gtin = ?1) OR EXISTS (SELECT 1 FROM ref.product WHERE gtin = ?1)"
                }
            }
        }

        private func binder(_ query: Query) throws -> Binder {
            let binder = try statements.binder(query, in: db)
            binder.reset()
            return binder
        }

        func storeCodes() throws -> Set<String> {
            Set(try String.fetchAll(db, sql: "SELECT code FROM stage_store UNION SELECT code FROM ref.store"))
        }

        func save(_ store: Store) throws {
            try statements.statement(.stageStore, in: db).execute(arguments: SQLiteCatalogWriter.storeArguments(store))
        }

        func save(_ product: Product, webOffer: WebOffer, recordedAt: Date) throws {
            let gtin = product.gtin.digits
            if let owner = try owner(of: product.itemID), owner != gtin { throw ItemIDConflict(itemID: product.itemID, existingGTIN: owner) }
            let binder = try binder(.stageProduct)
            binder.bindProductRow(product, webOffer: webOffer, pricing: PricingValues(webOffer.pricing), time: Int64(recordedAt.timeIntervalSince1970))
            try binder.step(connection: db.sqliteConnection)
        }

        /// The GTIN an item id belongs to: a staged product's, or the reference's unless that product is staged anew.
        private func owner(of itemID: String) throws -> String? {
            let binder = try binder(.itemOwner)
            binder.bind(1, itemID)
            defer { binder.reset() }
            return try binder.stepRow(connection: db.sqliteConnection) ? binder.text(0) : nil
        }

        func gtin(forItemID itemID: String) throws -> GTIN? {
            try owner(of: itemID).map { try StoredRows.gtin($0) }
        }

        func exists(_ gtin: GTIN) throws -> Bool {
            let binder = try binder(.productExists)
            binder.bind(1, gtin.digits)
            defer { binder.reset() }
            return try binder.stepRow(connection: db.sqliteConnection) && binder.integer(0) == 1
        }

        func save(_ offer: StoreOffer, recordedAt: Date) throws {
            let binder = try binder(.stageOffer)
            binder.bindOfferRow(offer, pricing: PricingValues(offer.pricing), time: Int64(recordedAt.timeIntervalSince1970))
            try binder.step(connection: db.sqliteConnection)
        }

        func offer(store storeCode: String, gtin: GTIN) throws -> StoreOffer? {
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT \(SQLiteStagedImport.offer) FROM stage_offer WHERE store_code = ?1 AND gtin = ?2
                    UNION ALL SELECT \(SQLiteStagedImport.offer) FROM ref.store_offer WHERE store_code = ?1 AND gtin = ?2
                    LIMIT 1
                    """, arguments: [storeCode, gtin.digits])
            return try row.map { try StoredRows.storeOffer($0, gtin: gtin) }
        }

        func save(_ review: Review) throws {
            try statements.statement(.stageReview, in: db).execute(
                arguments: [
                    review.id, review.gtin.digits, review.rating, review.author, review.isAnonymous,
                    Int64(review.publishedAt.timeIntervalSince1970), review.title, review.content,
                ])
        }

        func deleteReviews(notIn ids: Set<String>) throws -> Int {
            try db.execute(sql: "DELETE FROM stage_kept_review; INSERT OR IGNORE INTO stage_full_reviews VALUES (1)")
            let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO stage_kept_review (id) VALUES (?)")
            for id in ids { try insert.execute(arguments: [id]) }
            return try Int.fetchOne(db, sql: "SELECT count(*) FROM ref.review WHERE id NOT IN (SELECT id FROM stage_kept_review)") ?? 0
        }
    }
}
