import CSQLiteSettings
import Foundation
import GRDB
import ShelfTagDomain
import Synchronization

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
    private static let stagingNumbers = Atomic<Int>(0)

    /// The staging file's page size: a quarter of the page writes of SQLite's 4 KiB (the kernel's share of an import
    /// halved). The reference keeps SQLite's: its small writes (a reservation, a stock update) log whole pages, and
    /// with 16 KiB pages reservations ran 1–19 % slower (5 pairs, alternating).
    private static let pageSize = 16_384

    /// Stages what `body` writes, then applies it to the reference at `path` through `reference`.
    static func run<Result: Sendable>(
        path: String, reference: SQLiteProductReference, _ body: @escaping (any CatalogWriter) throws -> Result
    ) async throws -> Result {
        SQLiteProductReference.removeAbandonedFiles(of: path)
        // The process id first, for `removeAbandonedFiles`; the number keeps two imports of one process apart.
        let stagingPath = "\(path).import-\(getpid())-\(stagingNumbers.add(1, ordering: .relaxed).newValue)"
        func removeStaging() { for suffix in ["", "-journal"] { unlink(stagingPath + suffix) } }
        removeStaging()
        defer { removeStaging() }
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // Nothing reads this file but this import, and a crash throws it away: no journal, no syncs.
            try db.execute(
                sql:
                    "PRAGMA page_size = \(pageSize); PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -\(SQLiteProductReference.pageCacheKiB)"
            )
        }
        let staging = try DatabaseQueue(path: stagingPath, configuration: configuration)
        defer { try? staging.close() }
        let body = UncheckedSendable(body)
        // What the staged rows change, logged with the version the import moves to.
        let changes = UncheckedSendable(ChangeTracker())
        let result = try await staging.writeWithoutTransaction { db -> Result in
            try db.execute(sql: stagingTables)
            try db.execute(sql: "ATTACH DATABASE ? AS ref", arguments: [path])
            defer { try? db.execute(sql: "DETACH DATABASE ref") }
            var result: Result?
            // One read transaction: every lookup in the reference sees the same snapshot.
            try db.inTransaction(.deferred) {
                result = try body.value(StagingWriter(db: db, changes: changes.value))
                try db.execute(sql: pruning)
                return .commit
            }
            return result!
        }
        try staging.close()
        try await reference.writing(attaching: (path: stagingPath, name: "stage")) { db in
            try db.execute(sql: applying)
            try SQLiteProductReference.bumpCatalogVersion(db, changes.value.change)
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

    /// Whether a product row would change nothing in the reference's row `o`: the same values and no back-fill.
    /// `value` names the row's value of a column (a staged row's column, or a parameter of a row being staged).
    private static func productUnchanged(_ value: (String) -> String) -> String {
        let compared = SQLiteCatalogWriter.productColumns.filter { $0 != "gtin" && $0 != "price_since" }
        return """
            o.gtin = \(value("gtin")) AND \(columns(compared, of: "o")) IS (\(compared.map(value).joined(separator: ", ")))
                AND \(value("price_since")) >= o.price_since
            """
    }

    /// The same for a store offer row.
    private static func offerUnchanged(_ value: (String) -> String) -> String {
        let compared = SQLiteCatalogWriter.offerColumns.filter { $0 != "store_code" && $0 != "gtin" && $0 != "price_since" }
        return """
            o.store_code = \(value("store_code")) AND o.gtin = \(value("gtin"))
                AND \(columns(compared, of: "o")) IS (\(compared.map(value).joined(separator: ", ")))
                AND (\(value("price")) IS NULL OR \(value("price_since")) >= o.price_since)
            """
    }

    /// A row's parameter for a column, as `Binder.bindProductRow` and `bindOfferRow` number them.
    private static func parameter(in columns: [String]) -> (String) -> String {
        { column in "?\(columns.firstIndex(of: column)! + 1)" }
    }

    /// Drops staged rows that equal the reference's and carry no back-fill: applying them would write nothing. (Most
    /// are never staged: `StagingWriter` skips a row that changes nothing unless its key is staged already.)
    private static let pruning: String = {
        let reviewCompared = SQLiteCatalogWriter.reviewColumns.filter { $0 != "id" }
        let storeCompared = SQLiteCatalogWriter.storeColumns.filter { $0 != "code" }
        return """
            DELETE FROM stage_product WHERE EXISTS (SELECT 1 FROM ref.product o WHERE \(productUnchanged { "stage_product.\($0)" }));
            DELETE FROM stage_offer WHERE EXISTS (SELECT 1 FROM ref.store_offer o WHERE \(offerUnchanged { "stage_offer.\($0)" }));
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
        let atOrBefore = """
            (i.price_since < coalesce(o.price_since, 0)
                OR i.price_since = o.price_since AND \(columns(pricing, of: "o")) IS NOT \(columns(pricing, of: "i")))
            """
        return """
            UPDATE price_history AS h SET (currency, price, sale_price, sale_start, sale_end) = (i.currency, i.price, i.sale_price, i.sale_start, i.sale_end)
            FROM stage.\(staged)_at_entry x JOIN stage.\(staged) i ON i.seq = x.seq JOIN \(table) o ON \(join)
            WHERE i.price IS NOT NULL AND \(atOrBefore) AND \(atSecond)
                AND \(columns(pricing, of: "h")) IS NOT \(columns(pricing, of: "i"));
            INSERT INTO price_history (gtin, store_code, currency, price, sale_price, sale_start, sale_end, recorded_at)
            SELECT i.gtin, \(store), i.currency, i.price, i.sale_price, i.sale_start, i.sale_end, i.price_since
            FROM stage.\(staged) i LEFT JOIN \(table) o ON \(join)
            WHERE i.price IS NOT NULL AND (o.gtin IS NULL
                OR i.price_since > coalesce(o.price_since, 0) AND \(columns(pricing, of: "o")) IS NOT \(columns(pricing, of: "i"))
                OR \(atOrBefore) AND NOT EXISTS (SELECT 1 FROM price_history h WHERE \(atSecond)))
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
        let changes: ChangeTracker
        private let statements = PreparedStatements<Query>()
        private let unchangedProducts = UnchangedRows()
        private let unchangedOffers = UnchangedRows()

        init(db: Database, changes: ChangeTracker) {
            self.db = db
            self.changes = changes
        }

        /// The statements a row runs.
        private enum Query: Int, PreparedQuery {
            case stageStore, stageProduct, stageOffer, stageReview, itemOwner, productExists, productUnchanged, offerUnchanged

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
                // A row's parameters in `bindProductRow` and `bindOfferRow` order.
                case .productUnchanged:
                    """
                    SELECT 1 FROM ref.product o WHERE \(SQLiteStagedImport.productUnchanged(SQLiteStagedImport.parameter(in: SQLiteCatalogWriter.productColumns)))
                        AND NOT EXISTS (SELECT 1 FROM stage_product WHERE gtin = ?1)
                    """
                case .offerUnchanged:
                    """
                    SELECT 1 FROM ref.store_offer o WHERE \(SQLiteStagedImport.offerUnchanged(SQLiteStagedImport.parameter(in: SQLiteCatalogWriter.offerColumns)))
                        AND NOT EXISTS (SELECT 1 FROM stage_offer WHERE store_code = ?1 AND gtin = ?2)
                    """
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
            changes.noteEverything()
            try statements.statement(.stageStore, in: db).execute(arguments: SQLiteCatalogWriter.storeArguments(store))
        }

        /// Whether a row would change nothing and its key is not staged: pruning would drop it, so it is not staged. Its
        /// item id is its own in the reference and no staged row can hold it (one would have conflicted), so nothing
        /// else is checked. The check is a look-up per row, which pays only while most rows change nothing (a daily
        /// full feed): `skipping` pauses it where they do not.
        private func isUnchanged(_ query: Query, skipping: UnchangedRows, bind: (Binder) -> Void) throws -> Bool {
            guard skipping.checksNext() else { return false }
            let binder = try binder(query)
            bind(binder)
            defer { binder.reset() }
            let unchanged = try binder.stepRow(connection: db.sqliteConnection)
            skipping.count(unchanged: unchanged)
            return unchanged
        }

        func save(_ product: Product, webOffer: WebOffer, recordedAt: Date) throws {
            let gtin = product.gtin.digits
            let pricing = PricingValues(webOffer.pricing)
            let time = Int64(recordedAt.timeIntervalSince1970)
            if try isUnchanged(
                .productUnchanged, skipping: unchangedProducts, bind: { $0.bindProductRow(product, webOffer: webOffer, pricing: pricing, time: time) })
            {
                return
            }
            if let owner = try owner(of: product.itemID), owner != gtin { throw ItemIDConflict(itemID: product.itemID, existingGTIN: owner) }
            changes.note(product.gtin)
            let binder = try binder(.stageProduct)
            binder.bindProductRow(product, webOffer: webOffer, pricing: pricing, time: time)
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
            let pricing = PricingValues(offer.pricing)
            let time = Int64(recordedAt.timeIntervalSince1970)
            if try isUnchanged(.offerUnchanged, skipping: unchangedOffers, bind: { $0.bindOfferRow(offer, pricing: pricing, time: time) }) { return }
            changes.note(offer.gtin)
            let binder = try binder(.stageOffer)
            binder.bindOfferRow(offer, pricing: pricing, time: time)
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
            changes.note(review.gtin)
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
            let deleted = try Int.fetchOne(db, sql: "SELECT count(*) FROM ref.review WHERE id NOT IN (SELECT id FROM stage_kept_review)") ?? 0
            if deleted > 0 { changes.noteEverything() }
            return deleted
        }
    }
}

/// When a staging writer looks for rows that change nothing. It checks rows by windows; a window in which fewer than
/// half were unchanged (a feed of new or repriced products) pauses the checks for `pause` rows, after which it checks
/// a window again. The pause bounds the look-ups wasted on such a feed to one row in 17; only speed depends on it.
final class UnchangedRows {
    private static let window = 1024
    private static let pause = 16 * window
    private var checked = 0
    private var unchanged = 0
    private var paused = 0

    /// Whether to check the next row.
    func checksNext() -> Bool {
        guard paused == 0 else {
            paused -= 1
            return false
        }
        return true
    }

    func count(unchanged isUnchanged: Bool) {
        checked += 1
        if isUnchanged { unchanged += 1 }
        guard checked == Self.window else { return }
        if unchanged * 2 < checked { paused = Self.pause }
        checked = 0
        unchanged = 0
    }
}
