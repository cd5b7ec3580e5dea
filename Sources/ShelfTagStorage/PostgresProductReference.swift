import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import ShelfTagDomain

/// The product reference in PostgreSQL, shared by many processes: a pool of connections for queries, one connection
/// of its own to watch the catalogue version. Open it with `PostgresProductReference.with(_:_:)`.
public final class PostgresProductReference: ProductReference {
    let client: PostgresClient
    let logger: Logger
    let freshness: Freshness
    private let versionMoves = VersionMoves()
    let queries = QueryCounter()
    /// How long a query may wait for an answer before the database counts as unavailable.
    let answerTimeout: Duration

    /// How the pool and the freshness watch are set.
    public struct Settings: Sendable {
        /// Connections in the pool; PostgreSQL's own limit (`max_connections`, 100 by default) bounds the sum over processes.
        public var poolSize: Int
        /// A resolver serves data at most this old: past it without news from the database, it answers 503.
        public var freshnessBound: Duration
        /// How often the catalogue version is read.
        public var pollInterval: Duration
        /// How long a request's queries may take in all, a free connection awaited included.
        public var answerTimeout: Duration

        public init(
            poolSize: Int = 16, freshnessBound: Duration = .seconds(2), pollInterval: Duration = .milliseconds(200), answerTimeout: Duration = .seconds(3)
        ) {
            self.poolSize = poolSize
            self.freshnessBound = freshnessBound
            self.pollInterval = pollInterval
            self.answerTimeout = answerTimeout
        }
    }

    private init(client: PostgresClient, logger: Logger, freshness: Freshness, answerTimeout: Duration) {
        self.client = client
        self.logger = logger
        self.freshness = freshness
        self.answerTimeout = answerTimeout
    }

    /// Connects, migrates (one process at a time), and gives the reference to `body` for its length; the pool and
    /// the version watch stop when it returns.
    /// - Throws: `StorageError.unavailable` naming the host, port, database and the server's reason (never the
    ///   password) when the database cannot be reached or used; what `body` throws.
    public static func with<Result>(
        _ location: PostgresLocation, settings: Settings = Settings(), logger: Logger = Logger(label: "shelftag.postgres"),
        _ body: (PostgresProductReference) async throws -> Result
    ) async throws -> Result {
        let connector = try Connector(location: location, logger: logger)
        // The first connection says plainly why it cannot connect, and migrates.
        let first = try await connector.connect()
        var newest: Int64 = 0
        do {
            try await PostgresSchema.migrate(first, logger: logger)
            for try await version in try await first.query(PostgresSchema.newestVersionQuery, logger: logger).decode(Int64.self) {
                newest = version
            }
        } catch {
            try? await first.close()
            throw StorageError.unavailable("\(location.host):\(location.port) database \(location.database): \(Self.reason(error))")
        }
        var clientConfiguration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password, database: location.database,
            tls: connector.clientTLS)
        clientConfiguration.options.maximumConnections = settings.poolSize
        clientConfiguration.options.connectTimeout = .seconds(3)
        // The pool's own notices (a lease asked for while `run()` is starting) are not the user's business.
        var poolLogger = logger
        poolLogger.logLevel = .error
        let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: poolLogger)
        let readThrough = newest
        let freshness = Freshness(bound: settings.freshnessBound, newest: readThrough)
        let reference = PostgresProductReference(client: client, logger: logger, freshness: freshness, answerTimeout: settings.answerTimeout)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            group.addTask {
                await VersionWatch(
                    connector: connector, connection: first, freshness: freshness, readThrough: readThrough, interval: settings.pollInterval, logger: logger
                ).run()
            }
            do {
                let result = try await body(reference)
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    /// What PostgreSQL said, without anything that could hold a secret.
    static func reason(_ error: any Error) -> String {
        if case StorageError.unavailable(let reason) = error { return reason }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                return message + (error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
            }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }

    // MARK: Running queries

    /// Runs `work` with a pooled connection; refused at once while the database is known to be down.
    /// - Parameter bounded: whether the whole of `work` must end within `answerTimeout` (a request's queries, not an
    ///   import, a streamed walk or a report, which take as long as their data).
    /// - Throws: `StorageError.unavailable` when the database cannot be reached or does not answer in time; a
    ///   PostgreSQL error.
    @discardableResult
    func database<T: Sendable>(bounded: Bool = true, _ work: @escaping (Session) async throws -> T) async throws -> T {
        try freshness.checkReachable()
        let client = client
        let queries = queries
        let work = UncheckedSendable(work)
        let run: @Sendable () async throws -> T = {
            do {
                return try await client.withConnection { connection in try await work.value(Session(connection: connection, queries: queries)) }
            } catch let error as PSQLError where error.serverInfo == nil {
                throw StorageError.unavailable(Self.reason(error))
            }
        }
        return bounded ? try await Deadline.run(within: answerTimeout, run) : try await run()
    }

    /// Runs `work` in a transaction on one pooled connection: committed when it returns, rolled back when it throws
    /// (the error it threw is the one that comes out).
    @discardableResult
    func transaction<T: Sendable>(bounded: Bool = true, _ work: @escaping (Session) async throws -> T) async throws -> T {
        let logger = logger
        return try await database(bounded: bounded) { connection in
            try await connection.query("BEGIN", logger: logger)
            do {
                let result = try await work(connection)
                try await connection.query("COMMIT", logger: logger)
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    /// Moves the catalogue version once a write has committed, logging what it changed: another resolver that sees
    /// the new number finds the data it stands for, and this one has noted it when this returns. Writes that commit
    /// while a move runs share the next one (`VersionMoves`). A write that changed nothing moves nothing.
    func moveCatalogVersion(_ change: CatalogChange) async {
        if change == .products([]) { return }
        await versionMoves.afterWrite(change) { await self.nextCatalogVersion($0) }
    }

    /// Takes the catalogue's next version for `change`. A move that fails (the database went away just then) leaves
    /// answers cached elsewhere for at most their lifetime; the write itself stands.
    private func nextCatalogVersion(_ change: CatalogChange) async {
        let logger = logger
        let everything = change == .everything
        let gtins = change.loggedGTINs.compactMap { $0 }
        do {
            let version = try await database { connection in
                for try await version in try await connection.query(
                    "SELECT shelftag_move_catalog_version(\(everything), \(gtins))", logger: logger
                ).decode(Int64.self) {
                    return version
                }
                return Int64(0)
            }
            freshness.noteWrite(change, at: version)
        } catch {
            logger.warning("a write committed but the catalogue version did not move: \(Self.reason(error))")
        }
    }

    static func rows(_ sequence: PostgresRowSequence) async throws -> [PostgresStoredRow] {
        var rows: [PostgresStoredRow] = []
        for try await row in sequence { rows.append(PostgresStoredRow(row.makeRandomAccess())) }
        return rows
    }

    // MARK: ProductReference

    /// The same as `write`: a PostgreSQL transaction keeps other writers out only of the rows it changed.
    public func importing<Result: Sendable>(_ body: @escaping (any CatalogWriter) throws -> Result) async throws -> Result {
        try await write(body)
    }

    public func write<Result: Sendable>(_ body: @escaping (any CatalogWriter) throws -> Result) async throws -> Result {
        let logger = logger
        let (result, change) = try await transaction(bounded: false) { connection in
            // A batch's merge runs in tens of milliseconds, but its estimated cost can pass JIT's threshold: compiling
            // it took a second per batch of unchanged products.
            try await connection.query("SET LOCAL jit = off", logger: logger)
            let writer = PostgresCatalogWriter(connection: connection, logger: logger)
            // The writer's calls block their thread until PostgreSQL answers: not one of Swift's cooperative threads.
            return try await Blocking.run {
                do {
                    let result = try body(writer)
                    try writer.finish()
                    return (result, writer.changes.change)
                } catch {
                    writer.abandon()
                    throw error
                }
            }
        }
        await moveCatalogVersion(change)
        return result
    }

    public func details(of gtin: GTIN) async throws -> ProductDetails? {
        try await page(of: gtin, store: nil, tagID: nil, reviewLimit: 0, storesWithin: nil, at: Date()).map(\.details)
    }

    public func page(of gtin: GTIN, store: String?, tagID: String?, reviewLimit: Int, storesWithin nearbyKilometres: Double?, at time: Date)
        async throws -> ProductPage?
    {
        let logger = logger
        return try await database { connection in
            let rows = try await connection.execute(
                PageStatement(
                    gtin: gtin.digits, store: store, tagID: tagID, reviewLimit: Int64(reviewLimit), time: Int64(time.timeIntervalSince1970),
                    latitudeBand: nearbyKilometres.map(Store.latitudeDegrees(spanning:))),
                logger: logger)
            guard let row = rows.first else { return nil }
            var histories: [String: [PriceChange]] = [:]
            for (store, change) in try PriceHistoryArrays.changes(row.columns) { histories[store ?? "", default: []].append(change) }
            // Ordered here, like the history: the arrays are built in one scan (so they line up) and unordered.
            let listings = try ValueRow.unzipped(row.columns, PageStatement.listingColumns).sorted {
                ($0.text("store_code") ?? "") < ($1.text("store_code") ?? "")
            }.map { listing in
                StoreListing(
                    store: try StoredRows.store(listing), offer: try StoredRows.storeOffer(listing, gtin: gtin),
                    history: PriceHistory(changes: histories[listing.text("store_code") ?? ""] ?? []))
            }
            let reviewCount = Int(row.integer("rating_count") ?? 0)
            let details = ProductDetails(
                product: try StoredRows.product(row, gtin: gtin), webOffer: try StoredRows.webOffer(row, gtin: gtin),
                webHistory: PriceHistory(changes: histories[""] ?? []), stores: listings,
                rating: reviewCount > 0 ? RatingSummary(average: row.real("rating_average") ?? 0, count: reviewCount) : nil)
            let holds = try JSONRow.object(row.text("holds"))
            return ProductPage(
                details: details, printedTag: try row.text("printed").map { try StoredRows.printedTag(try JSONRow.array($0), gtin: gtin) },
                reviews: try JSONRow.objects(row.text("reviews")).map { try StoredRows.review($0, gtin: gtin) },
                holds: holds.object.compactMapValues { ($0 as? NSNumber)?.intValue })
        }
    }

    public var serverRoundTrips: Int { queries.value }

    public func titles(of gtins: Set<GTIN>) async throws -> [GTIN: String] {
        guard !gtins.isEmpty else { return [:] }
        let logger = logger
        return try await database { connection in
            let rows = try await Self.rows(
                connection.query("SELECT gtin, title FROM product WHERE gtin = ANY(\(gtins.map(\.digits))::text[])", logger: logger))
            return try Dictionary(uniqueKeysWithValues: rows.map { (try StoredRows.gtin($0.text("gtin") ?? ""), $0.text("title") ?? "") })
        }
    }

    public func summaries(at time: Date, each: @escaping (ProductSummary) throws -> Void) async throws {
        let logger = logger
        let each = UncheckedSendable(each)
        try await database(bounded: false) { connection in
            // Counted per product by joins over whole tables, where a subquery per product and column looked each up by
            // index: a million products with two million offers in 2.3 s rather than 10.4.
            let rows = try await connection.query(
                """
                SELECT p.gtin, p.title, p.currency, p.price, p.sale_price, p.sale_start, p.sale_end,
                    coalesce(o.store_count, 0) AS store_count, coalesce(o.on_hand, 0)::bigint AS on_hand, r.rating,
                    coalesce(r.review_count, 0) AS review_count
                FROM product p
                    LEFT JOIN (SELECT gtin, count(*) AS store_count, sum(on_hand) AS on_hand FROM store_offer GROUP BY gtin) o USING (gtin)
                    LEFT JOIN (SELECT gtin, avg(rating) AS rating, count(*) AS review_count FROM review GROUP BY gtin) r USING (gtin)
                ORDER BY p.gtin
                """, logger: logger)
            for try await row in rows { try each.value(StoredRows.summary(PostgresStoredRow(row.makeRandomAccess()), at: time)) }
        }
    }

    public func stores() async throws -> [Store] {
        let logger = logger
        return try await database { connection in
            try await Self.rows(connection.query("SELECT * FROM store ORDER BY code", logger: logger)).map(StoredRows.store)
        }
    }

    public func store(code: String) async throws -> Store? {
        let logger = logger
        return try await database { connection in
            try await Self.rows(connection.query("SELECT * FROM store WHERE code = \(code)", logger: logger)).first.map(StoredRows.store)
        }
    }

    public func readShelf(
        of storeCode: String, opening: @escaping (Store, Int) throws -> Void, item: @escaping (ShelfItem) throws -> Void
    ) async throws -> Bool {
        let logger = logger
        let callbacks = UncheckedSendable((opening, item))
        return try await transaction(bounded: false) { connection in
            // One snapshot for the store, its count and its rows.
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            guard let storeRow = try await Self.rows(connection.query("SELECT * FROM store WHERE code = \(storeCode)", logger: logger)).first else {
                return false
            }
            let store = try StoredRows.store(storeRow)
            var count = 0
            for try await number in try await connection.query("SELECT count(*) FROM store_offer WHERE store_code = \(storeCode)", logger: logger).decode(
                Int64.self)
            {
                count = Int(number)
            }
            try callbacks.value.0(store, count)
            // One streamed query: each product with its offer here and its histories (web and this store's).
            let rows = try await connection.query(
                """
                SELECT \(unescaped: PostgresStoredRow.prefixed(PostgresStoredRow.productColumns, "p")),
                    \(unescaped: PostgresStoredRow.prefixed(PostgresStoredRow.offerColumns, "o")), h.*
                FROM product p JOIN store_offer o ON o.gtin = p.gtin AND o.store_code = \(storeCode)
                \(unescaped: PriceHistoryArrays.join(where: "x.gtin = p.gtin AND (x.store_code = o.store_code OR x.store_code IS NULL)"))
                ORDER BY p.gtin
                """, logger: logger)
            for try await row in rows {
                let columns = row.makeRandomAccess()
                let product = PostgresStoredRow(columns, prefix: "p_")
                let gtin = try StoredRows.gtin(product.text("gtin") ?? "")
                let changes = try PriceHistoryArrays.changes(columns)
                try callbacks.value.1(
                    ShelfItem(
                        product: try StoredRows.product(product, gtin: gtin), webOffer: try StoredRows.webOffer(product, gtin: gtin),
                        webHistory: PriceHistory(changes: changes.filter { $0.store == nil }.map(\.change)),
                        listing: StoreListing(
                            store: store, offer: try StoredRows.storeOffer(PostgresStoredRow(columns, prefix: "o_"), gtin: gtin),
                            history: PriceHistory(changes: changes.filter { $0.store != nil }.map(\.change)))))
            }
            return true
        }
    }

    public func recordPrints(_ tags: [PrintedTag]) async throws {
        guard !tags.isEmpty else { return }
        let logger = logger
        try await transaction(bounded: false) { connection in
            // Arrays, one element per tag, unnested into rows: one statement however many tags. 0 stands for NULL in
            // the optional columns (prices are positive, times after 1970).
            let labels = tags.map(\.label)
            try await connection.query(
                """
                INSERT INTO print_ledger (store_code, gtin, tag_id, currency, price, regular_price, prior_price, unit_price, unit_base,
                    promotion_end, template, printed_at)
                SELECT s, g, t, c, p, nullif(r, 0), nullif(o, 0), nullif(u, 0), nullif(b, ''), nullif(e, 0), m, a
                FROM unnest(\(labels.map(\.storeCode))::text[], \(labels.map(\.gtin.digits))::text[], \(labels.map(\.tagID))::text[],
                    \(labels.map(\.price.currency.code))::text[], \(labels.map(\.price.minorUnits))::bigint[],
                    \(labels.map { $0.regularPrice?.minorUnits ?? 0 })::bigint[], \(labels.map { $0.priorPrice?.minorUnits ?? 0 })::bigint[],
                    \(labels.map { $0.unitPrice?.price.minorUnits ?? 0 })::bigint[], \(labels.map { $0.unitPrice?.base.feedValue ?? "" })::text[],
                    \(labels.map { $0.promotionEnd.map { Int64($0.timeIntervalSince1970) } ?? 0 })::bigint[], \(tags.map(\.template))::text[],
                    \(tags.map { Int64($0.printedAt.timeIntervalSince1970) })::bigint[]) AS x(s, g, t, c, p, r, o, u, b, e, m, a)
                """, logger: logger)
        }
        await moveCatalogVersion(.changed(tags.map(\.label.gtin.digits)))
    }

    public func latestPrints(in storeCode: String) async throws -> [GTIN: PrintedTag] {
        let logger = logger
        // A print run's read of a store's whole ledger: as long as its rows take.
        return try await database(bounded: false) { connection in
            var latest: [GTIN: PrintedTag] = [:]
            for row in try await Self.rows(
                connection.query(
                    """
                    SELECT DISTINCT ON (gtin) \(unescaped: StoredRows.ledgerColumns) FROM print_ledger WHERE store_code = \(storeCode)
                    ORDER BY gtin, printed_at DESC, id DESC
                    """, logger: logger))
            {
                let tag = try StoredRows.printedTag(row)
                latest[tag.label.gtin] = tag
            }
            return latest
        }
    }

    public func printedTag(store storeCode: String, gtin: GTIN, tagID: String?) async throws -> PrintedTag? {
        let logger = logger
        return try await database { connection in
            try await Self.rows(
                connection.query(
                    """
                    SELECT \(unescaped: StoredRows.ledgerColumns) FROM print_ledger WHERE store_code = \(storeCode) AND gtin = \(gtin.digits)
                        AND (\(tagID)::text IS NULL OR tag_id = \(tagID)) ORDER BY printed_at DESC, id DESC LIMIT 1
                    """, logger: logger)
            ).first.map { try StoredRows.printedTag($0, gtin: gtin) }
        }
    }

    public func latestReviews(of gtin: GTIN, limit: Int) async throws -> [Review] {
        let logger = logger
        return try await database { connection in
            try await Self.rows(
                connection.query(
                    "SELECT * FROM review WHERE gtin = \(gtin.digits) ORDER BY published_at DESC, id LIMIT \(Int64(limit))", logger: logger)
            ).map { try StoredRows.review($0, gtin: gtin) }
        }
    }

    public func recordScans(_ scans: [Scan]) async throws {
        guard !scans.isEmpty else { return }
        let logger = logger
        try await database { connection in
            // '' stands for NULL: store codes and tag ids are never empty.
            try await connection.query(
                """
                INSERT INTO scan (scanned_at, store_code, gtin, tag_id, stale, format, associate_code)
                SELECT a, nullif(s, ''), g, nullif(t, ''), x, f, nullif(c, '')
                FROM unnest(\(scans.map { Int64($0.time.timeIntervalSince1970) })::bigint[], \(scans.map { $0.storeCode ?? "" })::text[],
                    \(scans.map(\.gtin.digits))::text[], \(scans.map { $0.tagID ?? "" })::text[], \(scans.map { Int64($0.stale ? 1 : 0) })::bigint[],
                    \(scans.map(\.format.rawValue))::text[], \(scans.map { $0.associateCode ?? "" })::text[]) AS x(a, s, g, t, x, f, c)
                """, logger: logger)
        }
    }

    public func scanCounts(store storeCode: String?, since: Date?) async throws -> [ScanCount] {
        let logger = logger
        // A report over every scan since a time: as long as its rows take.
        return try await database(bounded: false) { connection in
            try await Self.rows(
                connection.query(
                    """
                    SELECT to_char(to_timestamp(scanned_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, store_code, gtin, count(*) AS scans,
                        sum(stale)::bigint AS stale_scans
                    FROM scan WHERE (\(storeCode)::text IS NULL OR store_code = \(storeCode)) AND scanned_at >= \(Int64(since?.timeIntervalSince1970 ?? 0))
                    GROUP BY day, store_code, gtin ORDER BY day, scans DESC, store_code, gtin
                    """, logger: logger)
            ).map { row in
                ScanCount(
                    day: row.text("day") ?? "", storeCode: row.text("store_code"), gtin: try StoredRows.gtin(row.text("gtin") ?? ""),
                    scans: Int(row.integer("scans") ?? 0), staleScans: Int(row.integer("stale_scans") ?? 0))
            }
        }
    }

    public func recordClickOut(store storeCode: String?, gtin: GTIN, associateCode: String, at time: Date) async throws {
        let logger = logger
        try await database { connection in
            try await connection.query(
                """
                INSERT INTO clickout (clicked_at, store_code, gtin, associate_code)
                VALUES (\(Int64(time.timeIntervalSince1970)), \(storeCode), \(gtin.digits), \(associateCode))
                """, logger: logger)
        }
    }

    public func associateFigures(store storeCode: String?, since: Date?) async throws -> [AssociateFigures] {
        try await figures(Schema.associateFiguresSQL(store: "$1::text", since: "$2::bigint"), store: storeCode, since: since, StoredRows.associateFigures)
    }

    public func helpFigures(store storeCode: String?, since: Date?) async throws -> [HelpFigures] {
        try await figures(Schema.helpFiguresSQL(store: "$1::text", since: "$2::bigint"), store: storeCode, since: since) { try $0.map(StoredRows.helpFigures) }
    }

    public func tagScans(store storeCode: String?, since: Date?) async throws -> [TagScanCount] {
        try await figures(Schema.tagScansSQL(store: "$1::text", since: "$2::bigint"), store: storeCode, since: since) { try $0.map(StoredRows.tagScanCount) }
    }

    /// Runs a report query whose placeholders are a store code ($1) and a time ($2).
    private func figures<T: Sendable>(
        _ sql: String, store storeCode: String?, since: Date?, _ decode: @escaping @Sendable ([PostgresStoredRow]) throws -> T
    ) async throws -> T {
        let logger = logger
        // A report over every scan, reservation or help request since a time: as long as its rows take.
        return try await database(bounded: false) { connection in
            var bindings = PostgresBindings()
            bindings.append(storeCode)
            bindings.append(Int64(since?.timeIntervalSince1970 ?? 0))
            return try decode(try await Self.rows(connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)))
        }
    }

    public func saveToken(hash: String, grant: TokenGrant, createdAt: Date, expiresAt: Date?) async throws {
        let logger = logger
        try await database { connection in
            try await connection.query(
                """
                INSERT INTO api_token (token_hash, store_code, scopes, created_at, expires_at)
                VALUES (\(hash), \(grant.storeCode), \(StoredRows.scopesText(grant.scopes)), \(Int64(createdAt.timeIntervalSince1970)),
                        \(expiresAt.map { Int64($0.timeIntervalSince1970) }))
                """, logger: logger)
        }
    }

    public func tokens(store storeCode: String?) async throws -> [TokenRecord] {
        let logger = logger
        return try await database { connection in
            try await Self.rows(
                connection.query(
                    """
                    SELECT \(unescaped: TokenSQL.columns) FROM api_token WHERE \(storeCode)::text IS NULL OR store_code = \(storeCode)
                    ORDER BY created_at DESC, token_hash
                    """, logger: logger)
            ).map(TokenSQL.record)
        }
    }

    public func revokeToken(id: String, at time: Date) async throws -> TokenRevocation {
        let logger = logger
        let pattern = TokenSQL.idPattern(id)
        return try await transaction { connection in
            let matches = try await Self.rows(
                connection.query("SELECT \(unescaped: TokenSQL.columns) FROM api_token WHERE token_hash LIKE \(pattern) FOR UPDATE", logger: logger)
            ).map(TokenSQL.record)
            guard matches.count == 1, let token = matches.first else { return matches.isEmpty ? .unknown : .ambiguous(matches.count) }
            guard token.revokedAt == nil else { return .alreadyRevoked(token) }
            let revoked = try await Self.rows(
                connection.query(
                    """
                    UPDATE api_token SET revoked_at = \(Int64(time.timeIntervalSince1970)) WHERE token_hash LIKE \(pattern)
                    RETURNING \(unescaped: TokenSQL.columns)
                    """, logger: logger)
            ).map(TokenSQL.record)
            return .revoked(revoked.first ?? token)
        }
    }

    public func catalogVersion() throws -> Int {
        try freshness.version()
    }

    public func catalogVersion(of gtin: GTIN) throws -> Int {
        try freshness.version(of: gtin.digits)
    }

    public func commonVersion() throws -> Int {
        try freshness.commonVersion()
    }

    public func webShopOrigin() async throws -> String? {
        let logger = logger
        return try await database { connection in
            for try await link in try await connection.query("SELECT link FROM product WHERE link LIKE 'http%' LIMIT 1", logger: logger).decode(String.self) {
                return StoredRows.origin(ofLink: link)
            }
            return nil
        }
    }

    public func inspectOffers<Finding: Sendable>(
        stores: [String]?, at time: Date, _ inspect: @escaping @Sendable (OfferSnapshot) throws -> Finding?
    ) async throws -> OfferInspection<Finding> {
        let logger = logger
        return try await transaction(bounded: false) { connection in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            var printingStores = Set<String>()
            for try await code in try await connection.query("SELECT DISTINCT store_code FROM print_ledger", logger: logger).decode(String.self) {
                printingStores.insert(code)
            }
            // One streamed query: each offer with its product, its channel's price history and its last tag.
            let rows = try await connection.query(
                """
                SELECT \(unescaped: StoredRows.ledgerColumns.split(separator: ",").map { "l." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")),
                    \(unescaped: PostgresStoredRow.prefixed(PostgresStoredRow.productColumns, "p")),
                    \(unescaped: PostgresStoredRow.prefixed(PostgresStoredRow.offerColumns, "o")), s.locale AS store_locale, h.*
                FROM store_offer o JOIN store s ON s.code = o.store_code JOIN product p ON p.gtin = o.gtin
                LEFT JOIN LATERAL (SELECT * FROM print_ledger l WHERE l.gtin = o.gtin AND l.store_code = o.store_code
                    ORDER BY l.printed_at DESC, l.id DESC LIMIT 1) l ON true
                \(unescaped: PriceHistoryArrays.join(
                    where: "x.gtin = o.gtin AND (CASE WHEN o.price IS NULL THEN x.store_code IS NULL ELSE x.store_code = o.store_code END)"))
                WHERE \(stores == nil) OR o.store_code = ANY(\(stores ?? [])::text[])
                ORDER BY o.gtin, o.store_code
                """, logger: logger)
            var offers = 0
            var findings: [Finding] = []
            for try await row in rows {
                let columns = row.makeRandomAccess()
                let whole = PostgresStoredRow(columns)
                let product = PostgresStoredRow(columns, prefix: "p_")
                let offerRow = PostgresStoredRow(columns, prefix: "o_")
                let gtin = try StoredRows.gtin(product.text("gtin") ?? "", table: "store_offer")
                let offer = try StoredRows.storeOffer(offerRow, gtin: gtin)
                let unitPricing = try StoredRows.product(product, gtin: gtin).unitPricing
                let lastPrint = whole.text(at: 0) == nil ? nil : try StoredRows.printedTag(whole, gtin: gtin)
                let snapshot = OfferSnapshot(
                    storeCode: offer.storeCode, storeLocale: whole.text("store_locale") ?? "", storePricing: offer.pricing,
                    webOffer: try StoredRows.webOffer(product, gtin: gtin), title: product.text("title") ?? "", unitPricing: unitPricing,
                    onHand: offer.stock.onHand, held: Int(offerRow.integer("held") ?? 0), availability: offer.availability,
                    pickupMethod: offer.pickupMethod,
                    history: PriceHistory(changes: try PriceHistoryArrays.changes(columns).map(\.change)),
                    storePrintsTags: printingStores.contains(offer.storeCode), at: time
                ) { _ in lastPrint }
                offers += 1
                if let finding = try inspect(snapshot) { findings.append(finding) }
            }
            return OfferInspection(offers: offers, findings: findings)
        }
    }

    public func grant(forTokenHash hash: String, at time: Date) async throws -> TokenGrant? {
        let logger = logger
        let now = Int64(time.timeIntervalSince1970)
        return try await database { connection in
            let found = try await Self.rows(connection.query("SELECT \(unescaped: TokenSQL.columns) FROM api_token WHERE token_hash = \(hash)", logger: logger))
                .first.map(TokenSQL.record)
            guard let token = found, token.isActive(at: time) else { return nil }
            if TokenSQL.needsStamp(token, now: now) {
                try await connection.query(
                    "UPDATE api_token SET last_used_at = \(now) WHERE token_hash = \(hash) AND coalesce(last_used_at, 0) < \(now)", logger: logger)
            }
            return token.grant
        }
    }
}

/// A store page's one query, one round trip: the product's row, its price history and the stores that list it as
/// arrays (one per column, built in one scan so that they line up; unzipped by `ValueRow.unzipped` and ordered there),
/// the rest as small JSON values. Prepared once per connection: PostgreSQL took 1 ms to plan it for 0.5 ms of
/// execution. Arrays, not JSON, for the lists a chain makes long: for a product 504 stores list, building their JSON
/// took PostgreSQL 2.5 of the query's 4.4 ms and parsing it half of the resolver's time.
struct PageStatement: StoredRowStatement {
    /// The store offer's columns, then its store's.
    static let listingColumns = ArrayColumns(
        [
            "store_code", "currency", "price", "sale_price", "sale_start", "sale_end", "availability", "pickup_method", "pickup_sla", "on_hand",
            "code", "name", "address", "latitude", "longitude", "time_zone", "locale", "max_reservation", "opening_hours", "label_printer",
            "office_printer",
        ], prefix: "l_")
    static let sql = """
        SELECT \(PostgresStoredRow.productColumns.map { "p.\($0)" }.joined(separator: ", ")),
            (SELECT avg(rating) FROM review r WHERE r.gtin = p.gtin) AS rating_average,
            (SELECT count(*) FROM review r WHERE r.gtin = p.gtin) AS rating_count,
            h.*, l.*,
            (SELECT coalesce(json_agg(row_to_json(r) ORDER BY r.published_at DESC, r.id), '[]')
             FROM (SELECT * FROM review WHERE gtin = p.gtin ORDER BY published_at DESC, id LIMIT $4) r)::text AS reviews,
            (SELECT json_build_array(\(StoredRows.ledgerColumns)) FROM print_ledger l
             WHERE l.store_code = $2 AND l.gtin = p.gtin AND l.tag_id = $3 ORDER BY l.printed_at DESC, l.id DESC LIMIT 1)::text AS printed,
            (SELECT coalesce(json_object_agg(o.store_code, o.held - coalesce((SELECT sum(quantity) FROM reservation r
                WHERE r.store_code = o.store_code AND r.gtin = o.gtin AND r.status = 'held' AND r.expires_at <= $5), 0)), '{}')
             FROM store_offer o WHERE o.gtin = p.gtin AND o.held > 0)::text AS holds
        FROM product p
        LEFT JOIN (SELECT latitude, longitude,
                CASE WHEN abs(latitude) + $6 < 90 THEN asind(sind($6) / cosd(latitude)) * (1 + 1e-9) + 1e-6 END AS longitude_band
            FROM store WHERE code = $2) origin ON true
        \(PriceHistoryArrays.join(
            where: "x.gtin = p.gtin AND (x.store_code IS NULL OR $6 IS NULL OR EXISTS (SELECT 1 FROM store s WHERE s.code = x.store_code AND \(nearStore)))"))
        LEFT JOIN LATERAL (
            SELECT \(listingColumns.aggregates)
            FROM (SELECT o.store_code, o.currency, o.price, o.sale_price, o.sale_start, o.sale_end, o.availability, o.pickup_method,
                      o.pickup_sla, o.on_hand, s.code, s.name, s.address, s.latitude, s.longitude, s.time_zone, s.locale, s.max_reservation,
                      s.opening_hours, s.label_printer, s.office_printer
                  FROM store_offer o JOIN store s ON s.code = o.store_code WHERE o.gtin = p.gtin AND \(nearStore)) x) l ON true
        WHERE p.gtin = $1
        """
    /// Whether the store `s` is one a read near store `$2` (`origin`) takes: `$6` degrees of latitude either side of
    /// it, and `origin.longitude_band` of longitude the short way round (NULL: a pole is near). `$6` NULL, or no such
    /// store: every one. The band is `Store.longitudeDegrees(spanning:atLatitude:)` (SQLite's reader calls it), here in
    /// SQL so that the page stays one round trip; the storage contract tests hold both to the same stores.
    private static let nearStore = """
        ($6 IS NULL OR origin.latitude IS NULL OR s.code = $2 OR (abs(s.latitude - origin.latitude) <= $6
            AND (origin.longitude_band IS NULL
                OR least(abs(s.longitude - origin.longitude), 360 - abs(s.longitude - origin.longitude)) <= origin.longitude_band)))
        """
    /// Declared, not inferred from the first call's values: a NULL store, tag or band has no type of its own.
    static let bindingDataTypes: [PostgresDataType] = [.text, .text, .text, .int8, .int8, .float8]

    let gtin: String
    let store: String?
    let tagID: String?
    let reviewLimit: Int64
    /// Unix seconds: holds that lapsed by then no longer count.
    let time: Int64
    /// Degrees of latitude either side of the store whose listings are read; nil for every store's.
    let latitudeBand: Double?

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 6)
        bindings.append(gtin)
        bindings.append(store)
        bindings.append(tagID)
        bindings.append(reviewLimit)
        bindings.append(time)
        bindings.append(latitudeBand)
        return bindings
    }
}

/// A statement prepared once per connection whose rows the shared decoders read (`PostgresStoredRow`).
protocol StoredRowStatement: PostgresPreparedStatement where Row == PostgresRow {}

extension StoredRowStatement {
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

/// A pooled connection as the driver uses it: every query it sends is counted (the round trips a page costs).
struct Session: Sendable {
    let connection: PostgresConnection
    let queries: QueryCounter

    @discardableResult
    func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        queries.add()
        return try await connection.query(query, logger: logger)
    }

    /// Runs a statement prepared on this connection, preparing it on first use (one more round trip, once per
    /// connection, not counted).
    func execute(_ statement: some StoredRowStatement, logger: Logger) async throws -> [PostgresStoredRow] {
        queries.add()
        var rows: [PostgresStoredRow] = []
        for try await row in try await connection.execute(statement, logger: logger) { rows.append(PostgresStoredRow(row.makeRandomAccess())) }
        return rows
    }
}

/// Queries sent to the server by this process.
final class QueryCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

/// A PostgreSQL row read by the shared decoders, optionally through a column-name prefix (`p_` for a product's
/// columns beside an offer's `o_`).
struct PostgresStoredRow: StoredRow {
    let columns: PostgresRandomAccessRow
    let prefix: String

    init(_ columns: PostgresRandomAccessRow, prefix: String = "") {
        self.columns = columns
        self.prefix = prefix
    }

    static let productColumns = [
        "gtin", "item_id", "title", "description", "brand", "image_link", "product_type", "unit_measure", "unit_base", "link", "availability",
        "currency", "price", "sale_price", "sale_start", "sale_end", "price_since", "eco_participation",
    ]
    static let offerColumns = [
        "store_code", "gtin", "currency", "price", "sale_price", "sale_start", "sale_end", "price_since", "availability", "pickup_method",
        "pickup_sla", "on_hand", "held",
    ]

    /// `p.gtin AS p_gtin, …`.
    static func prefixed(_ names: [String], _ table: String) -> String {
        names.map { "\(table).\($0) AS \(table)_\($0)" }.joined(separator: ", ")
    }

    private func cell(_ column: String) -> PostgresCell? {
        let name = prefix + column
        return columns.contains(name) ? columns[name] : nil
    }

    func text(_ column: String) -> String? { (try? cell(column)?.decode(String?.self)) ?? nil }
    func integer(_ column: String) -> Int64? { (try? cell(column)?.decode(Int64?.self)) ?? nil }
    func real(_ column: String) -> Double? { (try? cell(column)?.decode(Double?.self)) ?? nil }

    func text(at index: Int) -> String? {
        index < columns.count ? ((try? columns[index].decode(String?.self)) ?? nil) : nil
    }

    func integer(at index: Int) -> Int64? {
        index < columns.count ? ((try? columns[index].decode(Int64?.self)) ?? nil) : nil
    }
}

/// A price history as PostgreSQL returns it beside its row: each column an array (`h_…`), built in one scan (so they
/// line up), unordered (one sort rather than one per column) and ordered here. As JSON, building and parsing it took
/// most of a store page's time for a product a chain's stores list.
enum PriceHistoryArrays {
    static let columns = ArrayColumns(["id", "store_code", "currency", "price", "sale_price", "sale_start", "sale_end", "recorded_at"], prefix: "h_")

    /// A `LEFT JOIN LATERAL` of the history rows `condition` selects (`x`: the history row) as `h.*`.
    static func join(where condition: String) -> String {
        "LEFT JOIN LATERAL (SELECT \(columns.aggregates) FROM price_history x WHERE \(condition)) h ON true"
    }

    /// The changes in the order they were recorded, each with its channel (nil: the web).
    /// - Throws: `StorageError.corruptRow` for arrays or changes that cannot be read.
    static func changes(_ row: PostgresRandomAccessRow) throws -> [(store: String?, change: PriceChange)] {
        try ValueRow.unzipped(row, columns).sorted {
            ($0.integer("recorded_at") ?? 0, $0.integer("id") ?? 0) < ($1.integer("recorded_at") ?? 0, $1.integer("id") ?? 0)
        }.map { (store: $0.text("store_code"), change: try StoredRows.priceChange($0)) }
    }
}

/// Columns a query returns as arrays, each named `prefix` + its name, with their positions in the unzipped rows: made
/// once, not for every row of a streamed walk (parity's reads a million).
struct ArrayColumns: Sendable {
    let names: [String]
    let prefix: String
    let prefixed: [String]
    let positions: [String: Int]

    init(_ names: [String], prefix: String) {
        self.names = names
        self.prefix = prefix
        prefixed = names.map { prefix + $0 }
        positions = ValueRow.positions(of: names)
    }

    /// `array_agg(x.name) AS prefix_name, …`, for a `SELECT` over rows named `x`.
    var aggregates: String { zip(names, prefixed).map { "array_agg(x.\($0)) AS \($1)" }.joined(separator: ", ") }
}

extension ValueRow {
    /// The rows a query returned as arrays, one per column, built in one scan (`array_agg` in one `SELECT`): row i holds
    /// element i of each. A NULL array (an aggregate over no rows) holds none.
    /// - Throws: `StorageError.corruptRow` for a cell that is not a one-dimensional array of text, integers or reals, or
    ///   for arrays of different lengths.
    static func unzipped(_ row: PostgresRandomAccessRow, _ columns: ArrayColumns) throws -> [ValueRow] {
        let arrays = try columns.prefixed.map { name in
            guard row.contains(name) else { throw StorageError.corruptRow(table: "array", key: name, reason: "no such column") }
            return try PostgresArray.values(row[name], column: name)
        }
        let count = arrays.first?.count ?? 0
        guard arrays.allSatisfy({ $0.count == count }) else {
            throw StorageError.corruptRow(table: "array", key: columns.prefix, reason: "arrays of different lengths")
        }
        return (0..<count).map { index in ValueRow(values: arrays.map { $0[index] }, positions: columns.positions) }
    }
}

/// PostgreSQL's binary array format (`array_send`): dimensions, a NULL flag, the element type, each dimension's size and
/// lower bound, then each element's length (-1: NULL) and bytes. postgres-nio decodes arrays without NULLs only.
enum PostgresArray {
    static func values(_ cell: PostgresCell, column: String) throws -> [ValueRow.Value] {
        func corrupt(_ reason: String) -> StorageError { .corruptRow(table: "array", key: column, reason: reason) }
        guard var buffer = cell.bytes else { return [] }
        guard cell.format == .binary, let (dimensions, _, element) = buffer.readMultipleIntegers(as: (Int32, Int32, UInt32).self) else {
            throw corrupt("not a binary array")
        }
        if dimensions == 0 { return [] }
        guard dimensions == 1, let (count, _) = buffer.readMultipleIntegers(as: (Int32, Int32).self), count >= 0 else {
            throw corrupt("not a one-dimensional array")
        }
        var values: [ValueRow.Value] = []
        values.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let length = buffer.readInteger(as: Int32.self) else { throw corrupt("truncated") }
            if length < 0 {
                values.append(.null)
                continue
            }
            guard var bytes = buffer.readSlice(length: Int(length)) else { throw corrupt("truncated") }
            switch PostgresDataType(element) {
            case .text, .varchar:
                values.append(.text(bytes.readString(length: bytes.readableBytes) ?? ""))
            case .int8 where length == 8:
                values.append(.integer(bytes.readInteger(as: Int64.self)!))
            case .int4 where length == 4:
                values.append(.integer(Int64(bytes.readInteger(as: Int32.self)!)))
            case .float8 where length == 8:
                values.append(.real(Double(bitPattern: bytes.readInteger(as: UInt64.self)!)))
            default:
                throw corrupt("elements of type \(element)")
            }
        }
        return values
    }
}

/// A row that PostgreSQL built as JSON (`row_to_json`, `json_build_array`), read by the shared decoders.
struct JSONRow: StoredRow {
    let object: [String: Any]
    let array: [Any]

    /// - Throws: `StorageError.corruptRow` for text that is not a JSON object.
    static func object(_ json: String?) throws -> JSONRow {
        guard let json, let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else {
            throw StorageError.corruptRow(table: "json", key: String((json ?? "NULL").prefix(40)), reason: "not a JSON object")
        }
        return JSONRow(object: object, array: [])
    }

    /// - Throws: `StorageError.corruptRow` for text that is not a JSON array.
    static func array(_ json: String) throws -> JSONRow {
        guard let array = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [Any] else {
            throw StorageError.corruptRow(table: "json", key: String(json.prefix(40)), reason: "not a JSON array")
        }
        return JSONRow(object: [:], array: array)
    }

    /// - Throws: `StorageError.corruptRow` for text that is not a JSON array of objects.
    static func objects(_ json: String?) throws -> [JSONRow] {
        guard let json, let objects = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [[String: Any]] else {
            throw StorageError.corruptRow(table: "json", key: String((json ?? "NULL").prefix(40)), reason: "not a JSON array of objects")
        }
        return objects.map { JSONRow(object: $0, array: []) }
    }

    func text(_ column: String) -> String? { object[column] as? String }
    func integer(_ column: String) -> Int64? { (object[column] as? NSNumber)?.int64Value }
    func real(_ column: String) -> Double? { (object[column] as? NSNumber)?.doubleValue }
    func text(at index: Int) -> String? { index < array.count ? array[index] as? String : nil }
    func integer(at index: Int) -> Int64? { index < array.count ? (array[index] as? NSNumber)?.int64Value : nil }
}
