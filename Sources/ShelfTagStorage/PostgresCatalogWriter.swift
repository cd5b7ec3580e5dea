import Foundation
import Logging
import NIOCore
import PostgresNIO
import ShelfTagDomain

/// Writes inside one PostgreSQL transaction, with the same rules as `SQLiteCatalogWriter` (upserts that skip rows
/// that would not change; the price history gets every pricing change, and back-fills without overwriting newer
/// prices).
///
/// Products, store offers and reviews are staged: their rows go to PostgreSQL in batches through COPY into temporary
/// tables, and one statement per batch merges them (two when its plain form meets a row it leaves to the replacing form:
/// `historyWrites`), deciding each row's upsert and history entry on the server. A batch
/// holds a key once (a repeated key flushes first), so the merge gives what row-by-row saving would. Reads that could
/// see staged rows flush first; item ids are checked against maps of the reference's, so a conflict is reported for
/// its row at once. The first product saved takes `PostgresSchema.productWriterLock` and reads the maps afresh, so they
/// stay exact: a batch of products the maps do not hold is then inserted without the upsert's conflict checks (which
/// cost a third of a first load's inserts into `product`). A batch is sent while the next one is staged; anything else
/// that uses the connection waits for it first. `finish()` sends what is left. Into a reference with no product, new
/// products and their history entries skip the stage and the merge (`beginFirstLoad()`).
///
/// Its methods block the calling thread until PostgreSQL answers: `PostgresProductReference.write` runs them on
/// threads of their own.
final class PostgresCatalogWriter: CatalogWriter {
    private let connection: Session
    private let logger: Logger
    /// What this transaction changed, logged with the version it moves to.
    let changes = ChangeTracker()
    private var products = StagedRows(table: "stage_product", source: "product", columns: PostgresStoredRow.productColumns)
    private var offers = StagedRows(table: "stage_offer", source: "store_offer", columns: Array(PostgresStoredRow.offerColumns.dropLast()))
    private var reviews = StagedRows(table: "stage_review", source: "review", columns: SQLiteCatalogWriter.reviewColumns)
    /// The staging tables made so far in this transaction.
    private var stagingTables = Set<String>()
    /// Whether this transaction holds `PostgresSchema.productWriterLock`.
    private var writesProducts = false
    /// The batch PostgreSQL is merging while the next one is staged, and its staging table.
    private var sending: (table: String, task: Task<Bool, any Error>)?
    /// The staging tables whose last batch needed a merge's replacing form.
    private var replacingTables = Set<String>()
    /// The reference's GTINs by item id, and item ids by GTIN, staged rows included; each read when first needed (an
    /// inventory import needs only the first). A GTIN is kept as its number (`key(_:)`): a map keyed or valued by
    /// it takes three quarters of one by text, about 50 MB for a million products.
    private var gtinByItem: [String: UInt64]?
    private var itemByGTIN: [UInt64: String]?
    /// Whether products go by the first load's path (`beginFirstLoad()`).
    private var firstLoad = FirstLoad.undecided
    /// A first load's history entries, one per product staged: COPYed beside them.
    private var firstHistory = StagedRows(table: "price_history", columns: PostgresCatalogWriter.historyColumns)

    /// Rows sent per COPY: enough to amortise the merge statement, few enough to keep memory flat.
    static let batchRows = 20_000

    init(connection: Session, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    private func rows(_ query: PostgresQuery) throws -> [PostgresStoredRow] {
        try settle()
        let connection = connection
        let logger = logger
        return try Blocking.wait { try await PostgresProductReference.rows(connection.query(query, logger: logger)) }
    }

    /// Waits until the batch being sent is merged.
    /// - Throws: what its statements threw.
    private func settle() throws {
        guard let (table, batch) = sending else { return }
        sending = nil
        if try Blocking.wait({ try await batch.value }) { replacingTables.insert(table) } else { replacingTables.remove(table) }
    }

    /// Sends every staged row.
    func finish() throws {
        try endFirstLoad()
        try flushOffers()
        try flushReviews()
        try settle()
    }

    /// Waits for a batch still being sent, whatever its outcome: the transaction is about to end.
    func abandon() {
        try? settle()
    }

    /// A GTIN's 14 digits as a number (they fit in 47 bits).
    private static func key(_ gtin: GTIN) -> UInt64 {
        // A GTIN holds 14 digits and nothing else.
        UInt64(gtin.digits)!
    }

    /// The 14 digits of a GTIN kept as `key(_:)`.
    private static func digits(_ key: UInt64) -> String {
        let text = String(key)
        return String(repeating: "0", count: max(0, 14 - text.count)) + text
    }

    /// Reads the maps asked for that are not read yet, each sized for the reference at once: a dictionary that grows
    /// holds its old and new storage together.
    private func loadProductKeys(byItem: Bool, byGTIN: Bool) throws {
        let (readingItems, readingGTINs) = (byItem && gtinByItem == nil, byGTIN && itemByGTIN == nil)
        guard readingItems || readingGTINs else { return }
        try settle()
        let connection = connection
        let logger = logger
        let (items, gtins) = try Blocking.wait {
            var count = 0
            for try await total in try await connection.query("SELECT count(*) FROM product", logger: logger).decode(Int64.self) { count = Int(total) }
            var items = [String: UInt64](minimumCapacity: readingItems ? count : 0)
            var gtins = [UInt64: String](minimumCapacity: readingGTINs ? count : 0)
            let pairs = try await connection.query("SELECT item_id, gtin::bigint FROM product", logger: logger).decode((String, Int64).self)
            for try await (item, gtin) in pairs {
                if readingItems { items[item] = UInt64(gtin) }
                if readingGTINs { gtins[UInt64(gtin)] = item }
            }
            return (items, gtins)
        }
        if readingItems { gtinByItem = items }
        if readingGTINs { itemByGTIN = gtins }
    }

    func storeCodes() throws -> Set<String> {
        Set(try rows("SELECT code FROM store").compactMap { $0.text("code") })
    }

    func save(_ store: Store) throws {
        changes.noteEverything()
        _ = try rows(
            """
            INSERT INTO store (code, name, address, latitude, longitude, time_zone, locale, max_reservation, opening_hours, label_printer, office_printer)
            VALUES (\(store.code), \(store.name), \(store.address), \(store.latitude), \(store.longitude), \(store.timeZone), \(store.locale),
                \(Int64(store.maxReservation)), \(store.openingHours?.description), \(store.labelPrinter), \(store.officePrinter))
            \(unescaped: Self.updateWhenDifferent(table: "store", key: "code", others: Array(SQLiteCatalogWriter.storeColumns.dropFirst())))
            """)
    }

    /// Takes the product writers' lock before the first product, and reads the item ids again under it.
    private func lockProducts() throws {
        guard !writesProducts else { return }
        _ = try rows("SELECT pg_advisory_xact_lock(\(PostgresSchema.productWriterLock))")
        writesProducts = true
        (gtinByItem, itemByGTIN) = (nil, nil)
    }

    func save(_ product: Product, webOffer: WebOffer, recordedAt: Date) throws {
        try lockProducts()
        try loadProductKeys(byItem: true, byGTIN: true)
        changes.note(product.gtin)
        let gtin = product.gtin.digits
        let key = Self.key(product.gtin)
        if let owner = gtinByItem?[product.itemID], owner != key {
            throw ItemIDConflict(itemID: product.itemID, existingGTIN: Self.digits(owner))
        }
        if case .undecided = firstLoad { try beginFirstLoad() }
        // A product saved twice is the first load's end: its second row takes the merge.
        if itemByGTIN?[key] != nil { try endFirstLoad() }
        if products.keys.contains(gtin) { try flushProducts() }
        let pricing = PricingValues(webOffer.pricing)
        let (price, salePrice, saleStart, saleEnd, since) = (
            pricing.price.map(String.init), pricing.salePrice.map(String.init), pricing.saleStart.map(String.init),
            pricing.saleEnd.map(String.init), String(Int64(recordedAt.timeIntervalSince1970))
        )
        products.append(
            key: gtin,
            [
                gtin, product.itemID, product.title, product.description, product.brand, product.imageLink, product.productType,
                product.unitPricing?.measure.feedValue, product.unitPricing?.base.feedValue, webOffer.link, webOffer.availability.rawValue,
                pricing.currency, price, salePrice, saleStart, saleEnd, since, product.ecoParticipation?.feedValue,
            ])
        if case .loading = firstLoad {
            // The entry the merge would write for a new product: its web pricing since the import's time.
            firstHistory.append([gtin, nil, pricing.currency, price, salePrice, saleStart, saleEnd, since])
        }
        // Changed in place: a copy of the maps per row would cost a million copies.
        if let previous = itemByGTIN?[key] {
            products.existing.append(gtin)
            if previous != product.itemID { gtinByItem?[previous] = nil }
        }
        gtinByItem?[product.itemID] = key
        itemByGTIN?[key] = product.itemID
        if products.count >= Self.batchRows { try flushProducts() }
    }

    func gtin(forItemID itemID: String) throws -> GTIN? {
        try loadProductKeys(byItem: true, byGTIN: false)
        guard let key = gtinByItem?[itemID] else { return nil }
        return try StoredRows.gtin(Self.digits(key))
    }

    func exists(_ gtin: GTIN) throws -> Bool {
        try loadProductKeys(byItem: false, byGTIN: true)
        return itemByGTIN?[Self.key(gtin)] != nil
    }

    func save(_ offer: StoreOffer, recordedAt: Date) throws {
        changes.note(offer.gtin)
        let key = offer.storeCode + "\t" + offer.gtin.digits
        if offers.keys.contains(key) { try flushOffers() }
        let pricing = PricingValues(offer.pricing)
        offers.append(
            key: key,
            [
                offer.storeCode, offer.gtin.digits, pricing.currency, pricing.price.map(String.init), pricing.salePrice.map(String.init),
                pricing.saleStart.map(String.init), pricing.saleEnd.map(String.init), String(Int64(recordedAt.timeIntervalSince1970)),
                offer.availability.rawValue, offer.pickupMethod?.rawValue, offer.pickupSLA?.rawValue, String(offer.stock.onHand),
            ])
        if offers.count >= Self.batchRows { try flushOffers() }
    }

    func offer(store storeCode: String, gtin: GTIN) throws -> StoreOffer? {
        try flushOffers()
        return try rows("SELECT * FROM store_offer WHERE store_code = \(storeCode) AND gtin = \(gtin.digits)").first.map {
            try StoredRows.storeOffer($0, gtin: gtin)
        }
    }

    func save(_ review: Review) throws {
        changes.note(review.gtin)
        if reviews.keys.contains(review.id) { try flushReviews() }
        reviews.append(
            key: review.id,
            [
                review.id, review.gtin.digits, String(review.rating), review.author, review.isAnonymous ? "1" : "0",
                String(Int64(review.publishedAt.timeIntervalSince1970)), review.title, review.content,
            ])
        if reviews.count >= Self.batchRows { try flushReviews() }
    }

    func deleteReviews(notIn ids: Set<String>) throws -> Int {
        try flushReviews()
        let deleted = try rows(
            "WITH gone AS (DELETE FROM review WHERE NOT (id = ANY(\(Array(ids))::text[])) RETURNING 1) SELECT count(*) AS deleted FROM gone")
        let count = Int(deleted.first?.integer("deleted") ?? 0)
        if count > 0 { changes.noteEverything() }
        return count
    }

    // MARK: A first load

    /// Whether products go straight to their tables.
    private enum FirstLoad {
        /// No product saved yet.
        case undecided
        /// Products and their history entries are COPYed into their tables, with the checks that PostgreSQL would
        /// make row by row dropped; `restore` re-creates them, each checking every row at once.
        case loading(restore: [String])
        /// Products take the merge.
        case off
    }

    private static let historyColumns = ["gtin", "store_code", "currency", "price", "sale_price", "sale_start", "sale_end", "recorded_at"]

    /// What a first load drops (`PostgresSchema.dropForBulkLoad`): the history's foreign key to its product (a
    /// key-share lock and a write-ahead-log record per row: 9 s of a million rows' 14 s when COPYed straight into the
    /// tables), the history's index and the item ids' unique index (built once from sorted rows rather than row by
    /// row). The products' key stays: offers and reviews name it.
    private static let firstLoadObjects = (
        constraints: "(c.conrelid, c.conname) IN (('product'::regclass, 'product_item_id_key'), ('price_history'::regclass, 'price_history_gtin_fkey'))",
        indexes: "i.indexrelid = 'price_history_by_product'::regclass"
    )

    /// Decides how products go, at the first one, under the product writers' lock. Into a reference with no product
    /// (and so no history, offer or review, which name one), they go by the first load's path; the objects it drops
    /// are part of this transaction, so a failed or killed import leaves them as they were. Readers of products
    /// wait for its commit meanwhile: a reference without products has nothing to show them.
    private func beginFirstLoad() throws {
        guard itemByGTIN?.isEmpty == true else {
            firstLoad = .off
            return
        }
        try settle()
        let connection = connection
        let logger = logger
        let restore = try Blocking.wait {
            try await PostgresSchema.dropForBulkLoad(
                constraints: Self.firstLoadObjects.constraints, indexes: Self.firstLoadObjects.indexes, on: connection, logger: logger)
        }
        firstLoad = .loading(restore: restore)
    }

    /// Sends the first load's staged products and their history entries, while the next ones are staged.
    private func sendFirstLoad() throws {
        guard products.count > 0 else { return }
        let connection = connection
        let logger = logger
        let productRows = products.take()
        let historyRows = firstHistory.take()
        let (productTable, productColumns) = ("product", products.columns)
        let (historyTable, historyColumns) = (firstHistory.table, firstHistory.columns)
        try settle()
        let task = Task {
            for (table, columns, data) in [(productTable, productColumns, productRows), (historyTable, historyColumns, historyRows)] {
                connection.queries.add()
                try await connection.connection.copyFrom(table: table, columns: columns, logger: logger) { writer in try await writer.write(data) }
            }
            return false
        }
        sending = (productTable, task)
    }

    /// Ends a first load: sends what is staged and re-creates what it dropped (a duplicate item id or a history entry
    /// without its product would fail here, failing the import). Products that follow take the merge.
    private func endFirstLoad() throws {
        guard case .loading(let restore) = firstLoad else { return }
        try sendFirstLoad()
        try settle()
        firstLoad = .off
        for statement in restore { _ = try rows(PostgresQuery(unsafeSQL: statement)) }
    }

    // MARK: Staging

    private static let pricing = ["currency", "price", "sale_price", "sale_start", "sale_end"]

    /// `(table.a, table.b, …)`: a row value of `columns`, to compare with `IS DISTINCT FROM`.
    private static func row(_ table: String, _ columns: [String]) -> String {
        "(" + columns.map { "\(table).\($0)" }.joined(separator: ", ") + ")"
    }

    /// Whether an incoming row changes a stored one: another column differs, or a pricing that differs and is not
    /// older than the stored one. Not true (false or NULL) when the row would change nothing.
    private static func changes(stored: String, incoming: String, others: [String]) -> String {
        """
        \(row(stored, others)) IS DISTINCT FROM \(row(incoming, others))
            OR (\(incoming).price_since >= coalesce(\(stored).price_since, 0) AND \(row(stored, pricing)) IS DISTINCT FROM \(row(incoming, pricing)))
        """
    }

    /// The assignments of an upsert, for the rows it changes: the pricing columns move only for a pricing not older
    /// than the stored one.
    private static func upsert(table: String, others: [String]) -> String {
        let newer = "excluded.price_since >= coalesce(\(table).price_since, 0)"
        let differs = "\(row(table, pricing)) IS DISTINCT FROM \(row("excluded", pricing))"
        let assignments =
            others.map { "\($0) = excluded.\($0)" } + pricing.map { "\($0) = CASE WHEN \(newer) THEN excluded.\($0) ELSE \(table).\($0) END" }
            + ["price_since = CASE WHEN \(newer) AND \(differs) THEN excluded.price_since ELSE \(table).price_since END"]
        return "SET \(assignments.joined(separator: ", ")) WHERE \(changes(stored: table, incoming: "excluded", others: others))"
    }

    /// Keeps the staged rows (`i`) that change what `o` holds, or that it does not hold. `ON CONFLICT DO UPDATE` locks
    /// every row it meets, also one its `WHERE` then leaves as it was: 2,000,000 unchanged offers wrote 107 MB of
    /// write-ahead log for their locks alone.
    private static func changedRows(key: [String], others: [String]) -> String {
        """
        NOT EXISTS (SELECT 1 FROM o WHERE \(key.map { "o.\($0) = i.\($0)" }.joined(separator: " AND "))
            AND (\(changes(stored: "o", incoming: "i", others: others))) IS NOT TRUE)
        """
    }

    /// The history entries of staged rows (`i`, in `staged`) against the rows they replace (`o`, NULL columns when new):
    /// a new row, a pricing change, or a back-fill not recorded yet. `channel` is the entries' store code (NULL: the
    /// web); `sameChannel` matches an entry `h` to a staged row's; `rows` filters the staged rows.
    ///
    /// A key has one entry per second: a change or back-fill at a second that has an entry already takes that entry
    /// (the pricing it replaces was never in force). Only a row at or before its stored pricing's second can meet one
    /// (`atOrBefore`), and a batch seldom holds any, so the plain form (`replacing` false) writes nothing when it holds
    /// one, and says so: the replacing form then writes the batch. The replacing form looks each such row's entry up by
    /// a lateral join, through the index; as a NOT EXISTS under OR, PostgreSQL hashed the whole history for every batch
    /// (a re-import of a million repriced products took 64-75 s instead of 24 s); the lateral join on every batch made
    /// a first load a third slower.
    /// - Returns: `gate`, a common table expression to follow `o` and the condition that the merge's upsert takes
    ///   with its own (the plain form's); `ctes`, common table expressions to follow the merge's others; and `result`,
    ///   the query that ends the merge: whether the batch holds a row at or before its stored pricing's second (for
    ///   the plain form: so it wrote nothing).
    private static func historyWrites(staged: String, key: String, sameChannel: String, channel: String, rows: String, replacing: Bool) -> (
        gate: (cte: String, condition: String), ctes: String, result: String
    ) {
        func columns(_ table: String) -> String { row(table, pricing) }
        let insertInto = "INSERT INTO price_history (gtin, store_code, currency, price, sale_price, sale_start, sale_end, recorded_at)"
        let atOrBefore = """
            (i.price_since < coalesce(o.price_since, 0) OR i.price_since = o.price_since AND \(columns("o")) IS DISTINCT FROM \(columns("i")))
            """
        // A new row, or a pricing newer than the stored one and different.
        let changes = """
            (o.present IS NULL OR i.price_since > coalesce(o.price_since, 0) AND \(columns("o")) IS DISTINCT FROM \(columns("i")))
            """
        guard replacing else {
            // `o` is materialised in this form: the gate reads it from memory. An aggregate, where an EXISTS let the planner
            // pick a nested loop for its first row: 46 s for a batch of unchanged products.
            let gate = """
                ,
                gate AS (SELECT coalesce(bool_or(\(atOrBefore)), false) AS replaces FROM \(staged) i JOIN o USING (\(key)) WHERE \(rows))
                """
            let ctes = """
                ,
                entries AS (\(insertInto)
                    SELECT i.gtin, \(channel), i.currency, i.price, i.sale_price, i.sale_start, i.sale_end, i.price_since
                    FROM \(staged) i LEFT JOIN o USING (\(key))
                    WHERE NOT (SELECT replaces FROM gate) AND \(rows) AND \(changes))
                """
            return ((gate, "NOT (SELECT replaces FROM gate)"), ctes, "SELECT replaces FROM gate")
        }
        let ctes = """
            ,
            entries AS MATERIALIZED (
                SELECT i.gtin, \(channel) AS channel, i.currency, i.price, i.sale_price, i.sale_start, i.sale_end, i.price_since,
                    \(changes) AS changes,
                    \(atOrBefore) AS at_or_before, e.id AS entry
                FROM \(staged) i LEFT JOIN o USING (\(key))
                    LEFT JOIN LATERAL (SELECT h.id FROM price_history h
                        WHERE \(atOrBefore) AND h.gtin = i.gtin AND \(sameChannel) AND h.recorded_at = i.price_since LIMIT 1) e ON true
                WHERE \(rows)),
            replaced AS (UPDATE price_history h SET (currency, price, sale_price, sale_start, sale_end) = \(columns("n"))
                FROM entries n WHERE h.id = n.entry AND \(columns("h")) IS DISTINCT FROM \(columns("n"))),
            added AS (\(insertInto)
                SELECT gtin, channel, currency, price, sale_price, sale_start, sale_end, price_since FROM entries
                WHERE changes OR at_or_before AND entry IS NULL)
            """
        return (("", "true"), ctes, "SELECT coalesce(bool_or(at_or_before), false) FROM entries")
    }

    private static let productColumns = PostgresStoredRow.productColumns.joined(separator: ", ")
    private static let offerColumns = PostgresStoredRow.offerColumns.dropLast().joined(separator: ", ")
    private static let reviewColumns = SQLiteCatalogWriter.reviewColumns.joined(separator: ", ")

    /// A batch's merge in its two forms. Each ends by answering whether the batch holds a row at or before its stored
    /// pricing's second: the plain form then wrote nothing, and the replacing form wrote the batch.
    private struct Merge {
        let plain: String
        let replacing: String
    }

    /// What a batch runs after its COPY.
    private enum MergeStatement {
        /// This statement.
        case fixed(String)
        /// The plain form, then the replacing form if the plain one wrote nothing; the replacing form alone when
        /// `replacingFirst` (the table's batch before needed it: a back-fill's batches all do). Each form reads the stored
        /// rows once for itself: a query asking which form a batch needs read them once more, a quarter of an unchanged
        /// re-import.
        case adaptive(Merge, replacingFirst: Bool)
    }

    /// How a merge reads `o`: once, for the gate, the filter and the history, in the plain form; once per use in the
    /// replacing form, where the estimates of a materialised `o` led PostgreSQL to read the whole history for every
    /// batch: a second per batch of a back-fill.
    private static func reading(replacing: Bool) -> String {
        replacing ? "NOT MATERIALIZED" : "MATERIALIZED"
    }

    /// `$1`: the staged GTINs the reference holds already. Looked up by key, where a join with the stage let the planner
    /// read the whole table for every batch: a first load of a million products spent a quarter of its time there.
    /// Without `upserting`, plain inserts: for products the reference does not hold.
    private static func productStatement(replacing: Bool, upserting: Bool) -> String {
        let history = historyWrites(
            staged: "stage_product", key: "gtin", sameChannel: "h.store_code IS NULL", channel: "NULL", rows: "true", replacing: replacing)
        // In staging order, which the filter's join may not keep: a product that gives up its item id must be saved
        // before the one that takes it. `ctid` is that order, the table being emptied before each COPY.
        let conflicts = """
             AND \(changedRows(key: ["gtin"], others: productOthers)) ORDER BY i.ctid
            ON CONFLICT (gtin) DO UPDATE \(upsert(table: "product", others: productOthers))
            """
        return """
            WITH o AS \(reading(replacing: replacing)) (
                    SELECT p.gtin, \((productOthers + pricing).map { "p.\($0)" }.joined(separator: ", ")), p.price_since, true AS present
                    FROM product p WHERE p.gtin = ANY($1::text[]))\(history.gate.cte),
                saved AS (INSERT INTO product (\(productColumns)) SELECT \(productColumns) FROM stage_product i
                    WHERE \(history.gate.condition)\(upserting ? conflicts : ""))\(history.ctes)
            \(history.result)
            """
    }

    /// The columns of a product other than its key and pricing.
    private static let productOthers = [
        "item_id", "title", "description", "brand", "image_link", "product_type", "unit_measure", "unit_base", "link", "availability",
        "eco_participation",
    ]

    private static let productMerge = Merge(
        plain: productStatement(replacing: false, upserting: true), replacing: productStatement(replacing: true, upserting: true))

    /// For products the reference does not hold, when no other writer can add them: plain inserts.
    private static let productInsert = productStatement(replacing: false, upserting: false)

    private static let offerMerge: Merge = {
        let others = ["availability", "pickup_method", "pickup_sla", "on_hand"]
        func merge(replacing: Bool) -> String {
            let history = historyWrites(
                staged: "stage_offer", key: "store_code, gtin", sameChannel: "h.store_code = i.store_code", channel: "i.store_code",
                rows: "i.price IS NOT NULL", replacing: replacing)
            return """
                WITH o AS \(reading(replacing: replacing)) (
                        SELECT s.store_code, s.gtin, \((others + pricing).map { "s.\($0)" }.joined(separator: ", ")), s.price_since, true AS present
                        FROM store_offer s JOIN stage_offer USING (store_code, gtin))\(history.gate.cte),
                    saved AS (INSERT INTO store_offer (\(offerColumns)) SELECT \(offerColumns) FROM stage_offer i
                        WHERE \(history.gate.condition) AND \(changedRows(key: ["store_code", "gtin"], others: others))
                        ON CONFLICT (store_code, gtin) DO UPDATE \(upsert(table: "store_offer", others: others)))\(history.ctes)
                \(history.result)
                """
        }
        return Merge(plain: merge(replacing: false), replacing: merge(replacing: true))
    }()

    /// Reviews have no history: one upsert of what differs, whatever the batch (the rows that differ, as `changedRows`).
    private static let reviewUpsert: String = {
        let others = SQLiteCatalogWriter.reviewColumns.filter { $0 != "id" }
        return """
            INSERT INTO review (\(reviewColumns)) SELECT \(reviewColumns) FROM stage_review i
            WHERE NOT EXISTS (SELECT 1 FROM review r WHERE r.id = i.id AND \(row("r", others)) IS NOT DISTINCT FROM \(row("i", others)))
            \(updateWhenDifferent(table: "review", key: "id", others: others))
            """
    }()

    /// `ON CONFLICT` for a table without price history (stores, reviews): the other columns take the new row's values
    /// where any of them differs.
    private static func updateWhenDifferent(table: String, key: String, others: [String]) -> String {
        """
        ON CONFLICT (\(key)) DO UPDATE SET \(others.map { "\($0) = excluded.\($0)" }.joined(separator: ", "))
        WHERE \(row(table, others)) IS DISTINCT FROM \(row("excluded", others))
        """
    }

    private func flushProducts() throws {
        if case .loading = firstLoad {
            try sendFirstLoad()
            return
        }
        var existing = PostgresBindings()
        existing.append(products.existing)
        // Only a product the reference holds can be at or before its stored pricing's second.
        let inserting = products.existing.isEmpty
        try flush(&products, binds: existing) { replacedLast in
            inserting ? .fixed(Self.productInsert) : .adaptive(Self.productMerge, replacingFirst: replacedLast)
        }
    }

    /// Offers name products: staged products go first.
    private func flushOffers() throws {
        try endFirstLoad()
        try flushProducts()
        // A small batch (a store update) takes the replacing form at once: its lateral look-ups cost less than a second
        // statement would.
        let small = offers.count <= 1_000
        try flush(&offers, binds: PostgresBindings()) { replacedLast in
            small ? .fixed(Self.offerMerge.replacing) : .adaptive(Self.offerMerge, replacingFirst: replacedLast)
        }
    }

    /// Reviews name products: staged products go first.
    private func flushReviews() throws {
        try endFirstLoad()
        try flushProducts()
        try flush(&reviews, binds: PostgresBindings()) { _ in .fixed(Self.reviewUpsert) }
    }

    /// Sends the staged rows by COPY and merges them with `statement`, given whether the table's last batch needed a
    /// merge's replacing form. `binds` go to every query.
    private func flush(_ staged: inout StagedRows, binds: PostgresBindings, statement: (Bool) -> MergeStatement) throws {
        guard staged.count > 0 else { return }
        let connection = connection
        let logger = logger
        // Made at its first batch: a table only reads the one it stages for.
        let making = staged.source.flatMap { stagingTables.insert(staged.table).inserted ? $0 : nil }
        let table = staged.table
        let columns = staged.columns
        let data = staged.take()
        try settle()
        let statement = statement(replacingTables.contains(table))
        let task = Task {
            try await PostgresCatalogWriter.send(
                data, to: table, columns: columns, statement: statement, binds: binds, creatingFrom: making,
                connection: connection, logger: logger)
        }
        sending = (table, task)
    }

    /// `flush`'s statements, run while the next batch is staged; first the staging table, copying `source`'s columns,
    /// when this is its first batch.
    /// - Returns: whether the batch needed the replacing form of an adaptive merge.
    private static func send(
        _ data: ByteBuffer, to table: String, columns: [String], statement: MergeStatement, binds: PostgresBindings,
        creatingFrom source: String?, connection: Session, logger: Logger
    ) async throws -> Bool {
        if let source {
            // Dropped with the transaction: a pooled connection keeps nothing.
            try await connection.query(
                PostgresQuery(unsafeSQL: "CREATE TEMP TABLE \(table) ON COMMIT DROP AS SELECT \(columns.joined(separator: ", ")) FROM \(source) WITH NO DATA"),
                logger: logger)
        }
        connection.queries.add()
        try await connection.connection.copyFrom(table: table, columns: columns, logger: logger) { writer in try await writer.write(data) }
        // Runs a statement; its one row, if it answers one, holds a flag.
        func run(_ sql: String) async throws -> Bool {
            var flag = false
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger) {
                flag = try row.decode(Bool.self)
            }
            return flag
        }
        let replaced: Bool
        switch statement {
        case .fixed(let sql):
            _ = try await run(sql)
            replaced = false
        case .adaptive(let merge, replacingFirst: true):
            replaced = try await run(merge.replacing)
        case .adaptive(let merge, replacingFirst: false):
            replaced = try await run(merge.plain)
            if replaced { _ = try await run(merge.replacing) }
        }
        try await connection.query(PostgresQuery(unsafeSQL: "TRUNCATE \(table)"), logger: logger)
        return replaced
    }
}

/// Rows waiting for COPY, in its text format: tab-separated, `\N` for NULL, backslash escapes.
struct StagedRows {
    let table: String
    /// For a staging table, the table its rows go to, whose columns it copies; nil when the rows go straight to `table`.
    let source: String?
    let columns: [String]
    private(set) var keys = Set<String>()
    private(set) var count = 0
    /// Keys of staged rows that the reference holds already (for the merge to look up).
    var existing: [String] = []
    private var buffer = ByteBuffer()

    init(table: String, source: String? = nil, columns: [String]) {
        self.table = table
        self.source = source
        self.columns = columns
    }

    /// Adds a row; `key`, if given, to `keys`.
    mutating func append(key: String? = nil, _ values: [String?]) {
        if let key { keys.insert(key) }
        count += 1
        for (index, value) in values.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: "\t")) }
            guard var text = value else {
                buffer.writeStaticString("\\N")
                continue
            }
            text.withUTF8 { bytes in
                // Most fields need no escape: copy them whole.
                guard bytes.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) else {
                    buffer.writeBytes(bytes)
                    return
                }
                for byte in bytes {
                    switch byte {
                    case 0x5C: buffer.writeStaticString("\\\\")
                    case 0x09: buffer.writeStaticString("\\t")
                    case 0x0A: buffer.writeStaticString("\\n")
                    case 0x0D: buffer.writeStaticString("\\r")
                    default: buffer.writeInteger(byte)
                    }
                }
            }
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    /// The rows so far, emptying the stage.
    mutating func take() -> ByteBuffer {
        defer {
            keys.removeAll(keepingCapacity: true)
            existing.removeAll(keepingCapacity: true)
            count = 0
            buffer = ByteBuffer()
        }
        return buffer
    }
}
