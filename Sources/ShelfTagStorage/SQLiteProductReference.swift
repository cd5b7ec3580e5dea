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
    /// The database's file; nil while it is built aside.
    private let path: String?
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
        path = probePath
        try Schema.migrator.migrate(database)
        versionProbe = try probePath.map(VersionProbe.init(path:))
    }

    /// SQLite's page cache per connection. The operating system caches the file anyway; a larger cache made no
    /// import faster (a million products: 4.49 s with 64 MiB, 4.54 s with 8) and cost its size in every connection
    /// of the pool, so an import stays under 64 MB resident and a server's memory does not grow with the catalogue.
    /// Temporary data stays in files (SQLite's default): in memory, the statement journal of an import's apply
    /// grew with the rows applied (102 MB against 60 MB for a million new products, and 13% slower).
    static let pageCacheKiB = 8192

    private static func configuration(pragmas: String, lockTimeout: TimeInterval) -> Configuration {
        _ = processSettings
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(lockTimeout)
        configuration.prepareDatabase { db in
            try db.execute(sql: "\(pragmas); PRAGMA cache_size = -\(pageCacheKiB)")
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
        removeAbandonedFiles(of: path)
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

    /// Removes the files of first loads and staged imports into `path` whose process is gone (killed, or the machine
    /// stopped): nothing else would, and each may be as large as the database.
    static func removeAbandonedFiles(of path: String) {
        let url = URL(fileURLWithPath: path)
        let prefixes = [".partial-", ".import-"].map { url.lastPathComponent + $0 }
        let directory = url.deletingLastPathComponent().path
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            guard let prefix = prefixes.first(where: name.hasPrefix) else { continue }
            let rest = name.dropFirst(prefix.count)
            guard let pid = pid_t(rest.prefix { $0.isNumber }), pid != getpid() else { continue }
            // kill with signal 0 only asks whether the process exists.
            if kill(pid, 0) == -1 && errno == ESRCH { unlink(directory + "/" + name) }
        }
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
    /// - Parameter attaching: a database file attached under a name for the transaction (SQLite attaches only outside one).
    /// - Throws: `StorageError.busy` past it, what `body` throws, or a storage error.
    func writing<T: Sendable>(attaching: (path: String, name: String)? = nil, _ body: @escaping (Database) throws -> T) async throws -> T {
        let body = UncheckedSendable(body)
        let queued = Date()
        let timeout = lockTimeout
        do {
            return try await database.writeWithoutTransaction { db in
                let remaining = timeout - Date().timeIntervalSince(queued)
                guard remaining > 0 else { throw StorageError.busy(waited: timeout) }
                sqlite3_busy_timeout(db.sqliteConnection, Int32(remaining * 1000))
                if let attaching {
                    try db.execute(sql: "ATTACH DATABASE ? AS \(attaching.name)", arguments: [attaching.path])
                }
                defer { if let attaching { try? db.execute(sql: "DETACH DATABASE \(attaching.name)") } }
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
            let writer = SQLiteCatalogWriter(db: db)
            let result = try body(writer)
            try Self.bumpCatalogVersion(db, writer.changes.change)
            return result
        }
    }

    public func importing<Result: Sendable>(_ body: @escaping (any CatalogWriter) throws -> Result) async throws -> Result {
        guard let path else {
            // A database being built aside has no other writer to keep out.
            return try await writing { db in
                let empty = try Bool.fetchOne(db, sql: "SELECT NOT EXISTS (SELECT 1 FROM product)") ?? false
                let writer = empty ? SQLiteCatalogWriter(firstLoadInto: db) : SQLiteCatalogWriter(db: db)
                let result = try body(writer)
                try writer.finishFirstLoad()
                try Self.bumpCatalogVersion(db, .everything)
                return result
            }
        }
        return try await SQLiteStagedImport.run(path: path, reference: self, body)
    }

    /// Moves the catalogue version in the write's transaction and logs what the write changed under the new number
    /// (`CatalogChange`); rows older than the log keeps go. A write that changed nothing moves nothing.
    static func bumpCatalogVersion(_ db: Database, _ change: CatalogChange) throws {
        if change == .products([]) { return }
        guard let version = try Int64.fetchOne(db, sql: "UPDATE catalog_version SET version = version + 1 WHERE id = 1 RETURNING version") else {
            throw StorageError.corruptRow(table: "catalog_version", key: "1", reason: "missing")
        }
        let log = try db.cachedStatement(sql: "INSERT INTO catalog_change (version, gtin) VALUES (?, ?)")
        for gtin in change.loggedGTINs { try log.execute(arguments: [version, gtin]) }
        try db.cachedStatement(sql: "DELETE FROM catalog_change WHERE version <= ?").execute(arguments: [version - CatalogChange.loggedVersions])
    }

    public func details(of gtin: GTIN) async throws -> ProductDetails? {
        try await reading { db in try Self.details(of: gtin, near: nil, within: nil, in: db) }
    }

    public func titles(of gtins: Set<GTIN>) async throws -> [GTIN: String] {
        guard !gtins.isEmpty else { return [:] }
        return try await reading { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT gtin, title FROM product WHERE gtin IN (\(databaseQuestionMarks(count: gtins.count)))",
                arguments: StatementArguments(gtins.map(\.digits)))
            return try Dictionary(uniqueKeysWithValues: rows.map { (try StoredRows.gtin($0["gtin"]), $0["title"] as String) })
        }
    }

    public func summaries(at time: Date, each: @escaping (ProductSummary) throws -> Void) async throws {
        try await reading { db in
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT p.gtin, p.title, p.currency, p.price, p.sale_price, p.sale_start, p.sale_end,
                        (SELECT count(*) FROM store_offer o WHERE o.gtin = p.gtin) AS store_count,
                        (SELECT coalesce(sum(on_hand), 0) FROM store_offer o WHERE o.gtin = p.gtin) AS on_hand,
                        (SELECT avg(rating) FROM review r WHERE r.gtin = p.gtin) AS rating,
                        (SELECT count(*) FROM review r WHERE r.gtin = p.gtin) AS review_count
                    FROM product p ORDER BY p.gtin
                    """)
            while let row = try rows.next() { try each(StoredRows.summary(row, at: time)) }
        }
    }

    public func stores() async throws -> [Store] {
        try await reading { db in try Row.fetchAll(db, sql: "SELECT * FROM store ORDER BY code").map(StoredRows.store) }
    }

    public func store(code: String) async throws -> Store? {
        try await reading { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM store WHERE code = ?"), arguments: [code]).map(StoredRows.store)
        }
    }

    public func readShelf(
        of storeCode: String, opening: @escaping (Store, Int) throws -> Void, item: @escaping (ShelfItem) throws -> Void
    ) async throws -> Bool {
        try await reading { db in
            guard let storeRow = try Row.fetchOne(db, sql: "SELECT * FROM store WHERE code = ?", arguments: [storeCode]) else { return false }
            let store = try StoredRows.store(storeRow)
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
                let gtin = try StoredRows.gtin(digits)
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
                        product: try StoredRows.product(productRow, gtin: gtin), webOffer: try StoredRows.webOffer(productRow, gtin: gtin),
                        webHistory: PriceHistory(changes: webChanges),
                        listing: StoreListing(
                            store: store, offer: try StoredRows.storeOffer(offerRow, gtin: gtin), history: PriceHistory(changes: storeChanges))))
            }
            return true
        }
    }

    /// The next price change of a history cursor: its GTIN, the change, and whether it is the web price's (no store).
    private static func nextChange(_ cursor: RowCursor) throws -> (gtin: String, change: PriceChange, isWeb: Bool)? {
        guard let row = try cursor.next() else { return nil }
        return (row["gtin"], try StoredRows.priceChange(row), row["store_code"] as String? == nil)
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
            try Self.bumpCatalogVersion(db, .changed(tags.map(\.label.gtin.digits)))
        }
    }

    public func latestPrints(in storeCode: String) async throws -> [GTIN: PrintedTag] {
        try await reading { db in
            // The newest row per product: SQLite takes the bare columns from the max() row.
            let rows = try Row.fetchAll(
                db, sql: "SELECT \(StoredRows.ledgerColumns), max(printed_at * 1000000000 + id) FROM print_ledger WHERE store_code = ? GROUP BY gtin",
                arguments: [storeCode])
            var latest: [GTIN: PrintedTag] = [:]
            for row in rows {
                let tag = try StoredRows.printedTag(row)
                latest[tag.label.gtin] = tag
            }
            return latest
        }
    }

    public func printedTag(store storeCode: String, gtin: GTIN, tagID: String?) async throws -> PrintedTag? {
        try await reading { db in try Self.printedTag(store: storeCode, gtin: gtin, tagID: tagID, in: db) }
    }

    static func printedTag(store storeCode: String, gtin: GTIN, tagID: String?, in db: Database) throws -> PrintedTag? {
        try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT \(StoredRows.ledgerColumns) FROM print_ledger WHERE store_code = ?1 AND gtin = ?2 AND (?3 IS NULL OR tag_id = ?3)
                    ORDER BY printed_at DESC, id DESC LIMIT 1
                    """),
            arguments: [storeCode, gtin.digits, tagID]
        ).map { try StoredRows.printedTag($0, gtin: gtin) }
    }

    public func latestReviews(of gtin: GTIN, limit: Int) async throws -> [Review] {
        try await reading { db in try Self.latestReviews(of: gtin, limit: limit, in: db) }
    }

    private static func latestReviews(of gtin: GTIN, limit: Int, in db: Database) throws -> [Review] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM review WHERE gtin = ? ORDER BY published_at DESC, id LIMIT ?"), arguments: [gtin.digits, limit]
        ).map {
            try StoredRows.review($0, gtin: gtin)
        }
    }

    public func page(of gtin: GTIN, store: String?, tagID: String?, reviewLimit: Int, storesWithin nearbyKilometres: Double?, at time: Date)
        async throws -> ProductPage?
    {
        try await reading { db in
            guard let details = try Self.details(of: gtin, near: store, within: nearbyKilometres, in: db) else { return nil }
            var printed: PrintedTag?
            if let store, let tagID { printed = try Self.printedTag(store: store, gtin: gtin, tagID: tagID, in: db) }
            return ProductPage(
                details: details, printedTag: printed, reviews: reviewLimit > 0 ? try Self.latestReviews(of: gtin, limit: reviewLimit, in: db) : [],
                holds: try Self.activeHolds(of: gtin, at: time, in: db))
        }
    }

    /// An embedded database: no server, no round trips.
    public var serverRoundTrips: Int { 0 }

    public func recordScans(_ scans: [Scan]) async throws {
        guard !scans.isEmpty else { return }
        try await writing { db in
            let insert = try db.cachedStatement(
                sql: "INSERT INTO scan (scanned_at, store_code, gtin, tag_id, stale, format, associate_code) VALUES (?, ?, ?, ?, ?, ?, ?)")
            for scan in scans {
                try insert.execute(arguments: [
                    Int64(scan.time.timeIntervalSince1970), scan.storeCode, scan.gtin.digits, scan.tagID, scan.stale, scan.format.rawValue,
                    scan.associateCode,
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
                ScanCount(
                    day: row["day"], storeCode: row["store_code"], gtin: try StoredRows.gtin(row["gtin"]), scans: row["scans"], staleScans: row["stale_scans"])
            }
        }
    }

    public func recordClickOut(store storeCode: String?, gtin: GTIN, associateCode: String, at time: Date) async throws {
        try await writing { db in
            try db.execute(
                sql: "INSERT INTO clickout (clicked_at, store_code, gtin, associate_code) VALUES (?, ?, ?, ?)",
                arguments: [Int64(time.timeIntervalSince1970), storeCode, gtin.digits, associateCode])
        }
    }

    public func associateFigures(store storeCode: String?, since: Date?) async throws -> [AssociateFigures] {
        try await reading { db in
            try StoredRows.associateFigures(
                Row.fetchAll(
                    db, sql: Schema.associateFiguresSQL(store: "?1", since: "?2"), arguments: [storeCode, Int64(since?.timeIntervalSince1970 ?? 0)]))
        }
    }

    public func helpFigures(store storeCode: String?, since: Date?) async throws -> [HelpFigures] {
        try await reading { db in
            try Row.fetchAll(db, sql: Schema.helpFiguresSQL(store: "?1", since: "?2"), arguments: [storeCode, Int64(since?.timeIntervalSince1970 ?? 0)])
                .map(StoredRows.helpFigures)
        }
    }

    public func tagScans(store storeCode: String?, since: Date?) async throws -> [TagScanCount] {
        try await reading { db in
            try Row.fetchAll(db, sql: Schema.tagScansSQL(store: "?1", since: "?2"), arguments: [storeCode, Int64(since?.timeIntervalSince1970 ?? 0)])
                .map(StoredRows.tagScanCount)
        }
    }

    public func saveToken(hash: String, grant: TokenGrant, createdAt: Date, expiresAt: Date?) async throws {
        try await writing { db in
            try db.execute(
                sql: "INSERT INTO api_token (token_hash, store_code, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [
                    hash, grant.storeCode, StoredRows.scopesText(grant.scopes), Int64(createdAt.timeIntervalSince1970),
                    expiresAt.map { Int64($0.timeIntervalSince1970) },
                ])
        }
    }

    public func tokens(store storeCode: String?) async throws -> [TokenRecord] {
        try await reading { db in
            try Row.fetchAll(
                db, sql: "SELECT \(TokenSQL.columns) FROM api_token WHERE ?1 IS NULL OR store_code = ?1 ORDER BY created_at DESC, token_hash",
                arguments: [storeCode]
            ).map(TokenSQL.record)
        }
    }

    public func revokeToken(id: String, at time: Date) async throws -> TokenRevocation {
        try await writing { db in
            let matches = try Row.fetchAll(
                db, sql: "SELECT \(TokenSQL.columns) FROM api_token WHERE token_hash LIKE ? LIMIT 2", arguments: [TokenSQL.idPattern(id)]
            ).map(TokenSQL.record)
            guard matches.count == 1, let token = matches.first else {
                return matches.isEmpty
                    ? .unknown
                    : .ambiguous(try Int.fetchOne(db, sql: "SELECT count(*) FROM api_token WHERE token_hash LIKE ?", arguments: [TokenSQL.idPattern(id)]) ?? 2)
            }
            guard token.revokedAt == nil else { return .alreadyRevoked(token) }
            try db.execute(
                sql: "UPDATE api_token SET revoked_at = ? WHERE token_hash LIKE ?", arguments: [Int64(time.timeIntervalSince1970), TokenSQL.idPattern(id)])
            return .revoked(
                try Row.fetchOne(db, sql: "SELECT \(TokenSQL.columns) FROM api_token WHERE token_hash LIKE ?", arguments: [TokenSQL.idPattern(id)]).map(
                    TokenSQL.record) ?? token)
        }
    }

    /// Whether the catalogue version is read through the WAL-index header (tests).
    var readsWALIndexHeader: Bool { versionProbe?.readsWALIndexHeader ?? false }

    public func catalogVersion() throws -> Int {
        // Inline, not on the pool: a WAL read never waits for the writer, and the probe costs a microsecond.
        if let versionProbe { return try versionProbe.version() }
        // A database being built aside: only its own loader reads it.
        return try database.read { db in try Int.fetchOne(db, sql: "SELECT version FROM catalog_version WHERE id = 1") ?? 0 }
    }

    public func catalogVersion(of gtin: GTIN) throws -> Int {
        if let versionProbe { return try versionProbe.version(of: gtin.digits) }
        return try catalogVersion()
    }

    public func commonVersion() throws -> Int {
        if let versionProbe { return try versionProbe.commonVersion() }
        return try catalogVersion()
    }

    public func webShopOrigin() async throws -> String? {
        try await reading { db in
            try String.fetchOne(db, sql: "SELECT link FROM product WHERE link LIKE 'http%' LIMIT 1").flatMap(StoredRows.origin(ofLink:))
        }
    }

    public func grant(forTokenHash hash: String, at time: Date) async throws -> TokenGrant? {
        let token = try await reading { db in
            try Row.fetchOne(db, sql: "SELECT \(TokenSQL.columns) FROM api_token WHERE token_hash = ?", arguments: [hash]).map(TokenSQL.record)
        }
        guard let token, token.isActive(at: time) else { return nil }
        let now = Int64(time.timeIntervalSince1970)
        if TokenSQL.needsStamp(token, now: now) {
            try await writing { db in
                try db.execute(
                    sql: "UPDATE api_token SET last_used_at = ? WHERE token_hash = ? AND coalesce(last_used_at, 0) < ?", arguments: [now, hash, now])
            }
        }
        return token.grant
    }

    /// Whether the store `s` is one a read near store `?2` takes: `?3` degrees of latitude either side of `?2`'s (`?4`),
    /// and `?6` of longitude either side of its `?5` the short way round (`?6` NULL: a pole is near, every longitude).
    /// `?3` NULL: every store.
    private static let nearStore = """
        (?3 IS NULL OR s.code = ?2 OR (abs(s.latitude - ?4) <= ?3
            AND (?6 IS NULL OR min(abs(s.longitude - ?5), 360 - abs(s.longitude - ?5)) <= ?6)))
        """

    /// The product with its listings and price histories: every store's, or with `store` and `kilometres`, that store's
    /// and those in the band of latitude and longitude that holds every point within `kilometres` of it. The page's
    /// reads use statements prepared once per connection (`cachedStatement`): preparing them on every call took a
    /// sixth of an uncached store page's CPU.
    private static func details(of gtin: GTIN, near store: String?, within kilometres: Double?, in db: Database) throws -> ProductDetails? {
        guard
            let row = try ValueRow.fetchAll(db.cachedStatement(sql: "SELECT * FROM product WHERE gtin = ?"), arguments: [gtin.digits]).first
        else {
            return nil
        }
        var arguments: StatementArguments = [gtin.digits, store, nil, nil, nil, nil]
        if let store, let kilometres,
            let origin = try Row.fetchOne(db.cachedStatement(sql: "SELECT latitude, longitude FROM store WHERE code = ?"), arguments: [store])
        {
            let (latitude, longitude): (Double, Double) = (origin[0], origin[1])
            arguments = [
                gtin.digits, store, Store.latitudeDegrees(spanning: kilometres), latitude, longitude,
                Store.longitudeDegrees(spanning: kilometres, atLatitude: latitude),
            ]
        }
        var histories: [String: [PriceChange]] = [:]
        let changes = try ValueRow.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT * FROM price_history h WHERE h.gtin = ?1
                        AND (h.store_code IS NULL OR ?3 IS NULL OR EXISTS (SELECT 1 FROM store s WHERE s.code = h.store_code AND \(nearStore)))
                    ORDER BY h.recorded_at, h.id
                    """), arguments: arguments)
        for change in changes {
            histories[change.text("store_code") ?? "", default: []].append(try StoredRows.priceChange(change))
        }
        // The stores that list the product (a chain's hundreds, or those near the page's store), for its stock nearby.
        let listings = try ValueRow.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT o.*, s.name, s.address, s.latitude, s.longitude, s.time_zone, s.locale, s.max_reservation, s.opening_hours, s.label_printer,
                        s.office_printer, s.code
                    FROM store_offer o JOIN store s ON s.code = o.store_code WHERE o.gtin = ?1 AND \(nearStore) ORDER BY o.store_code
                    """), arguments: arguments
        ).map { offerRow in
            StoreListing(
                store: try StoredRows.store(offerRow), offer: try StoredRows.storeOffer(offerRow, gtin: gtin),
                history: PriceHistory(changes: histories[offerRow.text("store_code") ?? ""] ?? []))
        }
        let ratingRow = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT avg(rating) AS average, count(*) AS count FROM review WHERE gtin = ?"), arguments: [gtin.digits])!
        let reviewCount: Int = ratingRow[1]
        return ProductDetails(
            product: try StoredRows.product(row, gtin: gtin), webOffer: try StoredRows.webOffer(row, gtin: gtin),
            webHistory: PriceHistory(changes: histories[""] ?? []),
            stores: listings, rating: reviewCount > 0 ? RatingSummary(average: ratingRow[0], count: reviewCount) : nil)
    }
}

extension ValueRow {
    /// Every row of `statement` for `arguments`, its values read through SQLite's C API while GRDB steps the statement.
    /// GRDB finds a name by lowercasing every column's name on each look-up, and its generic decoding looked up type
    /// metadata under a lock for every value: together most of a store page's CPU when 500 stores listed its product.
    static func fetchAll(_ statement: Statement, arguments: StatementArguments) throws -> [ValueRow] {
        let positions = positions(of: statement.columnNames)
        let handle = statement.sqliteStatement
        let columns = sqlite3_column_count(handle)
        var rows: [ValueRow] = []
        let cursor = try Row.fetchCursor(statement, arguments: arguments)
        while try cursor.next() != nil {
            var values: [Value] = []
            values.reserveCapacity(Int(columns))
            for column in 0..<columns { values.append(value(handle, column)) }
            rows.append(ValueRow(values: values, positions: positions))
        }
        return rows
    }

    private static func value(_ handle: SQLiteStatement, _ column: Int32) -> Value {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_NULL: return .null
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, column))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, column))
        default:
            guard let text = sqlite3_column_text(handle, column) else { return .null }
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(handle, column))), as: UTF8.self))
        }
    }
}

/// GRDB's rows, read by the decoders both drivers share.
extension Row: StoredRow {
    func text(_ column: String) -> String? { self[column] }
    func integer(_ column: String) -> Int64? { self[column] }
    func real(_ column: String) -> Double? { self[column] }
    func text(at index: Int) -> String? { self[index] }
    func integer(at index: Int) -> Int64? { self[index] }
}
