import CSQLiteSettings
import Foundation
import GRDB
import ShelfTagDomain

/// The product reference in one SQLite file: WAL, foreign keys, a pool so readers never wait for the writer.
public final class SQLiteProductReference: ProductReference {
    /// A pool; a queue while a new database is built aside (`create(at:load:)`).
    let database: any DatabaseWriter
    /// Nil while a new database is built aside: nothing else reads it then.
    private let versionProbe: VersionProbe?
    /// How long a write waits for another writer's lock, queueing included, before it fails with `StorageError.busy`.
    let lockTimeout: TimeInterval

    /// The default `lockTimeout`: long enough for a store-update burst, short enough that a client is told to retry.
    public static let defaultLockTimeout: TimeInterval = 5

    /// Opens (creating if needed) the database at `path` and migrates it.
    /// - Throws: a `DatabaseError` when the file cannot be opened or migrated.
    public convenience init(path: String, lockTimeout: TimeInterval = defaultLockTimeout) throws {
        let pool = try DatabasePool(path: path, configuration: Self.configuration(pragmas: "PRAGMA synchronous = NORMAL", lockTimeout: lockTimeout))
        // WAL makes NORMAL durable against crashes of the process (not of the OS), and fast.
        try self.init(database: pool, probing: path, lockTimeout: lockTimeout)
    }

    /// - Parameter probePath: the file the catalogue-version probe opens, once migrated; nil for none.
    private init(database: any DatabaseWriter, probing probePath: String?, lockTimeout: TimeInterval) throws {
        self.database = database
        self.lockTimeout = lockTimeout
        try Schema.migrator.migrate(database)
        versionProbe = try probePath.map(VersionProbe.init(path:))
    }

    private static func configuration(pragmas: String, lockTimeout: TimeInterval) -> Configuration {
        _ = processSettings
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(lockTimeout)
        configuration.prepareDatabase { db in
            try db.execute(sql: "\(pragmas); PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY")
        }
        return configuration
    }

    /// Builds the database at `path`, which must not exist, with what `load` writes. It is built in a file beside
    /// `path` without a write-ahead log and appears at `path`, complete and in WAL mode, only when `load` returns true;
    /// otherwise, or when anything throws, nothing is left. A first load so writes each page once instead of twice
    /// (log, then checkpoint): a million products load in 30% less time.
    /// - Throws: `StorageError.databaseExists` when `path` exists (before or by the end), `StorageError.orphanedLog`,
    ///   a storage error, or what `load` throws.
    /// - Returns: whether the database was created.
    public static func create(at path: String, load: (any ProductReference) async throws -> Bool) async throws -> Bool {
        try checkAbsent(path)
        // No live process shares our pid: a file by this name was left by a crash.
        let partial = "\(path).partial-\(getpid())"
        func removePartial() { for suffix in ["", "-journal", "-wal", "-shm"] { unlink(partial + suffix) } }
        removePartial()
        defer { removePartial() }
        do {
            // Nothing reads the file before it is linked at `path`: a rollback journal in memory (only the schema's first
            // pages have anything to roll back), no syncs until the end.
            let queue = try DatabaseQueue(
                path: partial, configuration: configuration(pragmas: "PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF", lockTimeout: defaultLockTimeout))
            defer { try? queue.close() }
            guard try await load(SQLiteProductReference(database: queue, probing: nil, lockTimeout: defaultLockTimeout)) else { return false }
            try await queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
            try queue.close()
        }
        try FileSystem.sync(partial)
        try checkAbsent(path)
        // link fails rather than replace a database that appeared meanwhile; a file system without hard links
        // gets rename, just after the check above.
        if link(partial, path) != 0 {
            if errno == EEXIST { throw StorageError.databaseExists(path) }
            guard rename(partial, path) == 0 else { throw StorageError.fileSystem(path, errno: errno) }
        }
        try FileSystem.sync(URL(fileURLWithPath: path).deletingLastPathComponent().path)
        return true
    }

    /// - Throws: `StorageError.databaseExists`, or `StorageError.orphanedLog` for a log whose database was deleted:
    ///   SQLite would replay it into any new file of that name, and a process may still be writing to it.
    private static func checkAbsent(_ path: String) throws {
        if FileManager.default.fileExists(atPath: path) { throw StorageError.databaseExists(path) }
        if FileManager.default.fileExists(atPath: path + "-wal") { throw StorageError.orphanedLog(path + "-wal") }
    }

    /// Made once per process, before the first connection opens (SQLite ignores them afterwards).
    private static let processSettings: Void = {
        _ = shelftag_sqlite_disable_memory_statistics()
    }()

    /// Runs `body` on one of the pool's reader threads (GRDB's own, bounded by its reader count).
    /// - Throws: what `body` throws, or a storage error.
    func reading<T: Sendable>(_ body: @escaping (Database) throws -> T) async throws -> T {
        // The caller waits for the read: the closure is never called concurrently with its owner.
        let body = UncheckedSendable(body)
        return try await database.read { db in try body.value(db) }
    }

    /// Runs `body` in an immediate transaction on the writer's thread. The wait for the lock, including the time spent
    /// queued behind other writes, is bounded by `lockTimeout`.
    /// - Throws: `StorageError.busy` past it, what `body` throws, or a storage error.
    func writing<T: Sendable>(_ body: @escaping (Database) throws -> T) async throws -> T {
        let body = UncheckedSendable(body)
        let queued = Date()
        let timeout = lockTimeout
        do {
            return try await database.writeWithoutTransaction { db in
                let remaining = timeout - Date().timeIntervalSince(queued)
                guard remaining > 0 else { throw StorageError.busy(waited: timeout) }
                sqlite3_busy_timeout(db.sqliteConnection, Int32(remaining * 1000))
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body.value(db)
                    return .commit
                }
                return result!
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            throw StorageError.busy(waited: Date().timeIntervalSince(queued))
        }
    }

    public func write<Result: Sendable>(_ body: @escaping (any CatalogWriter) throws -> Result) async throws -> Result {
        try await writing { db in
            let result = try body(SQLiteCatalogWriter(db: db))
            try Self.bumpCatalogVersion(db)
            return result
        }
    }

    static func bumpCatalogVersion(_ db: Database) throws {
        try db.execute(sql: "UPDATE catalog_version SET version = version + 1 WHERE id = 1")
    }

    public func details(of gtin: GTIN) async throws -> ProductDetails? {
        try await reading { db in try Self.details(of: gtin, in: db) }
    }

    public func summaries(at time: Date) async throws -> [ProductSummary] {
        try await reading { db in
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

    public func stores() async throws -> [Store] {
        try await reading { db in try Row.fetchAll(db, sql: "SELECT * FROM store ORDER BY code").map(Self.store) }
    }

    public func readShelf(
        of storeCode: String, opening: @escaping (Store, Int) throws -> Void, item: @escaping (ShelfItem) throws -> Void
    ) async throws -> Bool {
        try await reading { db in
            guard let storeRow = try Row.fetchOne(db, sql: "SELECT * FROM store WHERE code = ?", arguments: [storeCode]) else { return false }
            let store = Self.store(storeRow)
            let offerCount = try Int.fetchOne(db, sql: "SELECT count(*) FROM store_offer WHERE store_code = ?", arguments: [storeCode]) ?? 0
            try opening(store, offerCount)
            // Three cursors over the same products in GTIN order, stepped together (a merge join): no row is held
            // beyond its product, so the first item goes out as soon as it is read, and memory stays flat.
            let products = try Row.fetchCursor(
                db, sql: "SELECT p.* FROM product p JOIN store_offer o ON o.gtin = p.gtin AND o.store_code = ? ORDER BY p.gtin", arguments: [storeCode])
            let offers = try Row.fetchCursor(db, sql: "SELECT * FROM store_offer WHERE store_code = ? ORDER BY gtin", arguments: [storeCode])
            let changes = try Row.fetchCursor(
                db,
                sql: """
                    SELECT h.* FROM price_history h JOIN store_offer o ON o.gtin = h.gtin AND o.store_code = ?1
                    WHERE h.store_code = ?1 OR h.store_code IS NULL ORDER BY h.gtin, h.recorded_at, h.id
                    """, arguments: [storeCode])
            // The change read past the last product's: the first of the next one's (rows are reused by the cursor).
            var pending = try Self.nextChange(changes)
            while let productRow = try products.next(), let offerRow = try offers.next() {
                let digits: String = productRow["gtin"]
                let gtin = try Self.gtin(digits)
                var webChanges: [PriceChange] = []
                var storeChanges: [PriceChange] = []
                while let (changeGTIN, change, isWeb) = pending, changeGTIN <= digits {
                    // A change of a product before this one cannot be: the join lists only this store's products.
                    if changeGTIN == digits {
                        if isWeb { webChanges.append(change) } else { storeChanges.append(change) }
                    }
                    pending = try Self.nextChange(changes)
                }
                try item(
                    ShelfItem(
                        product: try Self.product(productRow, gtin: gtin), webOffer: try Self.webOffer(productRow, gtin: gtin),
                        webHistory: PriceHistory(changes: webChanges),
                        listing: StoreListing(store: store, offer: try Self.storeOffer(offerRow, gtin: gtin), history: PriceHistory(changes: storeChanges))))
            }
            return true
        }
    }

    /// The next price change of a history cursor: its GTIN, the change, and whether it is the web price's (no store).
    private static func nextChange(_ cursor: RowCursor) throws -> (gtin: String, change: PriceChange, isWeb: Bool)? {
        guard let row = try cursor.next() else { return nil }
        return (row["gtin"], try priceChange(row), row["store_code"] as String? == nil)
    }

    public func recordPrints(_ tags: [PrintedTag]) async throws {
        try await writing { db in
            let statement = try db.makeStatement(
                sql: """
                    INSERT INTO print_ledger (store_code, gtin, tag_id, currency, price, regular_price, prior_price, unit_price, unit_base,
                        promotion_end, template, printed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for tag in tags {
                let label = tag.label
                try statement.execute(arguments: [
                    label.storeCode, label.gtin.digits, label.tagID, label.price.currency.code, label.price.minorUnits,
                    label.regularPrice?.minorUnits, label.priorPrice?.minorUnits, label.unitPrice?.price.minorUnits,
                    label.unitPrice?.base.feedValue, label.promotionEnd.map { Int64($0.timeIntervalSince1970) }, tag.template,
                    Int64(tag.printedAt.timeIntervalSince1970),
                ])
            }
            try Self.bumpCatalogVersion(db)
        }
    }

    public func latestPrints(in storeCode: String) async throws -> [GTIN: PrintedTag] {
        try await reading { db in
            // The newest row per product: SQLite takes the bare columns from the max() row.
            let rows = try Row.fetchAll(
                db, sql: "SELECT \(Self.ledgerColumns), max(printed_at * 1000000000 + id) FROM print_ledger WHERE store_code = ? GROUP BY gtin",
                arguments: [storeCode])
            var latest: [GTIN: PrintedTag] = [:]
            for row in rows {
                let tag = try Self.printedTag(row)
                latest[tag.label.gtin] = tag
            }
            return latest
        }
    }

    public func printedTag(store storeCode: String, gtin: GTIN, tagID: String) async throws -> PrintedTag? {
        try await reading { db in
            try Row.fetchOne(
                db,
                sql:
                    "SELECT \(Self.ledgerColumns) FROM print_ledger WHERE store_code = ? AND gtin = ? AND tag_id = ? ORDER BY printed_at DESC, id DESC LIMIT 1",
                arguments: [storeCode, gtin.digits, tagID]
            ).map { try Self.printedTag($0, gtin: gtin) }
        }
    }

    public func latestReviews(of gtin: GTIN, limit: Int) async throws -> [Review] {
        try await reading { db in
            try Row.fetchAll(db, sql: "SELECT * FROM review WHERE gtin = ? ORDER BY published_at DESC, id LIMIT ?", arguments: [gtin.digits, limit]).map {
                row in
                Review(
                    id: row["id"], gtin: gtin, rating: row["rating"], author: row["author"], isAnonymous: row["is_anonymous"],
                    publishedAt: Date(timeIntervalSince1970: TimeInterval(row["published_at"] as Int64)), title: row["title"], content: row["content"])
            }
        }
    }

    public func recordScans(_ scans: [Scan]) async throws {
        guard !scans.isEmpty else { return }
        try await writing { db in
            let insert = try db.cachedStatement(
                sql: "INSERT INTO scan (scanned_at, store_code, gtin, tag_id, stale, format) VALUES (?, ?, ?, ?, ?, ?)")
            for scan in scans {
                try insert.execute(arguments: [
                    Int64(scan.time.timeIntervalSince1970), scan.storeCode, scan.gtin.digits, scan.tagID, scan.stale, scan.format.rawValue,
                ])
            }
        }
    }

    public func scanCounts(store storeCode: String?, since: Date?) async throws -> [ScanCount] {
        try await reading { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT date(scanned_at, 'unixepoch') AS day, store_code, gtin, count(*) AS scans, sum(stale) AS stale_scans
                    FROM scan WHERE (?1 IS NULL OR store_code = ?1) AND scanned_at >= ?2
                    GROUP BY day, store_code, gtin ORDER BY day, scans DESC, store_code, gtin
                    """, arguments: [storeCode, Int64(since?.timeIntervalSince1970 ?? 0)])
            return try rows.map { row in
                ScanCount(day: row["day"], storeCode: row["store_code"], gtin: try Self.gtin(row["gtin"]), scans: row["scans"], staleScans: row["stale_scans"])
            }
        }
    }

    public func saveToken(hash: String, grant: TokenGrant, createdAt: Date) async throws {
        try await writing { db in
            try db.execute(
                sql: "INSERT INTO api_token (token_hash, store_code, scopes, created_at) VALUES (?, ?, ?, ?)",
                arguments: [hash, grant.storeCode, grant.scopes.map(\.rawValue).sorted().joined(separator: ","), Int64(createdAt.timeIntervalSince1970)])
        }
    }

    public func catalogVersion() async throws -> Int {
        // Inline, not on the pool: a WAL read never waits for the writer, and the probe costs a microsecond.
        if let versionProbe { return try versionProbe.version() }
        return try await reading { db in try Int.fetchOne(db, sql: "SELECT version FROM catalog_version WHERE id = 1") ?? 0 }
    }

    public func webShopOrigin() async throws -> String? {
        try await reading { db in
            guard let link = try String.fetchOne(db, sql: "SELECT link FROM product WHERE link LIKE 'http%' LIMIT 1"),
                let components = URLComponents(string: link), let scheme = components.scheme, let host = components.host
            else { return nil }
            return "\(scheme)://\(host)" + (components.port.map { ":\($0)" } ?? "")
        }
    }

    public func grant(forTokenHash hash: String) async throws -> TokenGrant? {
        try await reading { db in
            try Row.fetchOne(db, sql: "SELECT store_code, scopes FROM api_token WHERE token_hash = ?", arguments: [hash]).map { row in
                let scopes = (row["scopes"] as String).split(separator: ",").compactMap { TokenScope(rawValue: String($0)) }
                return TokenGrant(storeCode: row["store_code"], scopes: Set(scopes))
            }
        }
    }

    // MARK: Reading rows back into domain values

    /// The print ledger's columns, in the order `printedTag` reads them (by position: a million name lookups cost more
    /// than the query).
    static let ledgerColumns =
        "gtin, store_code, tag_id, currency, price, regular_price, prior_price, unit_price, unit_base, promotion_end, template, printed_at"

    /// A ledger row selected as `ledgerColumns`; `gtin` is its product's, when the caller has parsed it already.
    static func printedTag(_ row: Row, gtin known: GTIN? = nil) throws -> PrintedTag {
        let gtin = try known ?? gtin(row[0])
        let storeCode: String = row[1]
        do {
            let currency = try Currency(code: row[3])
            func money(_ index: Int) -> Money? { (row[index] as Int64?).map { Money(minorUnits: $0, currency: currency) } }
            var unitPrice: UnitPrice?
            if let amount = money(7), let base = row[8] as String? {
                unitPrice = UnitPrice(price: amount, per: try Measure(feedValue: base))
            }
            guard let price = money(4) else { throw StorageError.corruptRow(table: "print_ledger", key: "\(storeCode)/\(gtin.digits)", reason: "no price") }
            let label = ShelfLabel(
                storeCode: storeCode, gtin: gtin, price: price, regularPrice: money(5), priorPrice: money(6), unitPrice: unitPrice,
                promotionEnd: (row[9] as Int64?).map { Date(timeIntervalSince1970: TimeInterval($0)) })
            guard label.tagID == row[2] else {
                throw StorageError.corruptRow(table: "print_ledger", key: "\(storeCode)/\(gtin.digits)", reason: "tag id does not match the prices it records")
            }
            return PrintedTag(label: label, template: row[10], printedAt: Date(timeIntervalSince1970: TimeInterval(row[11] as Int64)))
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError.corruptRow(table: "print_ledger", key: "\(storeCode)/\(gtin.digits)", reason: "\(error)")
        }
    }

    private static func details(of gtin: GTIN, in db: Database) throws -> ProductDetails? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM product WHERE gtin = ?", arguments: [gtin.digits]) else {
            return nil
        }
        var histories: [String: [PriceChange]] = [:]
        for change in try Row.fetchAll(db, sql: "SELECT * FROM price_history WHERE gtin = ? ORDER BY recorded_at, id", arguments: [gtin.digits]) {
            let channel: String = change["store_code"] ?? ""
            histories[channel, default: []].append(try priceChange(change))
        }
        let listings = try Row.fetchAll(
            db,
            sql: """
                SELECT o.*, s.name, s.address, s.latitude, s.longitude, s.time_zone, s.locale, s.max_reservation, s.code
                FROM store_offer o JOIN store s ON s.code = o.store_code WHERE o.gtin = ? ORDER BY o.store_code
                """, arguments: [gtin.digits]
        ).map { offerRow in
            let code: String = offerRow["store_code"]
            return StoreListing(store: store(offerRow), offer: try storeOffer(offerRow, gtin: gtin), history: PriceHistory(changes: histories[code] ?? []))
        }
        let ratingRow = try Row.fetchOne(db, sql: "SELECT avg(rating) AS average, count(*) AS count FROM review WHERE gtin = ?", arguments: [gtin.digits])!
        let reviewCount: Int = ratingRow["count"]
        return ProductDetails(
            product: try product(row, gtin: gtin), webOffer: try webOffer(row, gtin: gtin), webHistory: PriceHistory(changes: histories[""] ?? []),
            stores: listings, rating: reviewCount > 0 ? RatingSummary(average: ratingRow["average"], count: reviewCount) : nil)
    }

    static func priceChange(_ row: Row) throws -> PriceChange {
        let key: String = row["gtin"]
        // price_history.price is NOT NULL, so a pricing is always there.
        let pricing = try pricing(row, table: "price_history", key: key)!
        return PriceChange(recordedAt: Date(timeIntervalSince1970: TimeInterval(row["recorded_at"] as Int64)), pricing: pricing)
    }

    static func storeOffer(_ row: Row, gtin: GTIN) throws -> StoreOffer {
        let code: String = row["store_code"]
        return StoreOffer(
            storeCode: code, gtin: gtin, pricing: try pricing(row, table: "store_offer", key: code),
            availability: try choice(row["availability"], StoreAvailability.self),
            pickupMethod: try (row["pickup_method"] as String?).map { try choice($0, PickupMethod.self) },
            pickupSLA: try (row["pickup_sla"] as String?).map { try choice($0, PickupSLA.self) },
            stock: Stock(onHand: row["on_hand"]))
    }

    private static func webOffer(_ row: Row, gtin: GTIN) throws -> WebOffer {
        let pricing = try pricing(row, table: "product", key: gtin.digits)!
        return WebOffer(gtin: gtin, pricing: pricing, availability: try choice(row["availability"], WebAvailability.self), link: row["link"])
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
            timeZone: row["time_zone"], locale: row["locale"], maxReservation: row["max_reservation"])
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
