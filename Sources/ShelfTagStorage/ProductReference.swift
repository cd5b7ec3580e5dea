import Foundation
import ShelfTagDomain

/// The storage interface every channel uses. Two drivers implement it, SQLite (`SQLiteProductReference`) and
/// PostgreSQL (`PostgresProductReference`); no SQL lives outside this module, and no caller knows which one runs.
///
/// Every call is `async`: blocking database work runs on the driver's own bounded threads, never on the caller's (a
/// server's event loops or Swift's cooperative pool). Callbacks (`write`'s body, stream items) run on those threads,
/// one at a time, while the caller waits.
public protocol ProductReference: ReservationStore, AssociateStore, Sendable {
    /// Runs `body` in one write transaction: all of it is applied, or (when it throws) none of it.
    /// - Throws: what `body` throws, `StorageError.busy` when the database stays locked, or a storage error.
    func write<Result: Sendable>(_ body: @escaping (any CatalogWriter) throws -> Result) async throws -> Result

    /// Runs a long write (an import) as one transaction, all or nothing like `write`, without keeping other writers
    /// out while `body` runs: SQLite stages `body`'s rows in a file of their own and applies those that change
    /// anything in one short transaction at the end; PostgreSQL's transactions never keep writers out of rows they
    /// do not touch. Rows are compared with the reference as it was when `body` started: a row another writer changes
    /// meanwhile keeps that change unless the import changes the row too. Every row of an import carries one time (its
    /// `--as-of`): a key saved twice keeps its last row (SQLite's stage holds one row per key, so a key saved at two
    /// times would keep one history entry there, where PostgreSQL records two).
    /// - Throws: what `body` throws, `StorageError.busy` when the database stays locked, or a storage error.
    func importing<Result: Sendable>(_ body: @escaping (any CatalogWriter) throws -> Result) async throws -> Result

    /// What every channel shows of one product, or nil when it is unknown.
    /// - Throws: a storage error.
    func details(of gtin: GTIN) async throws -> ProductDetails?

    /// The titles of the products among `gtins` that the reference holds, in one read: for lists that name products
    /// (a store's reservations, its help requests) rather than a page read per product.
    /// - Throws: a storage error.
    func titles(of gtins: Set<GTIN>) async throws -> [GTIN: String]

    /// One line per product, ordered by GTIN, for listings: each passed to `each` as it is read, so memory stays flat,
    /// in one snapshot, with no time bound (a chain's million products take as long as their rows).
    /// - Throws: a storage error, or what `each` throws (which ends the walk).
    func summaries(at time: Date, each: @escaping (ProductSummary) throws -> Void) async throws

    /// Every store, ordered by code.
    /// - Throws: a storage error.
    func stores() async throws -> [Store]

    /// The store with this code, or nil: one row, where a chain has hundreds (a reservation, a page's language).
    /// - Throws: a storage error.
    func store(code: String) async throws -> Store?

    /// Reads a store's shelf as a stream: `opening` gets the store and how many products it lists, then `item` each
    /// of them in GTIN order, with its prices and their histories, as it is read. False, calling neither, when the
    /// store is unknown.
    /// - Throws: a storage error, or what `opening` or `item` throws.
    func readShelf(
        of storeCode: String, opening: @escaping (Store, _ itemCount: Int) throws -> Void, item: @escaping (ShelfItem) throws -> Void
    ) async throws -> Bool

    /// Adds rendered tags to the print ledger, all or none.
    /// - Throws: a storage error.
    func recordPrints(_ tags: [PrintedTag]) async throws

    /// The last tag printed for each product of a store.
    /// - Throws: a storage error.
    func latestPrints(in storeCode: String) async throws -> [GTIN: PrintedTag]

    /// The ledger's newest tag with this id (any id when nil) for a product in a store, if one was ever printed.
    /// - Throws: a storage error.
    func printedTag(store storeCode: String, gtin: GTIN, tagID: String?) async throws -> PrintedTag?

    /// A product's newest reviews, newest first.
    /// - Throws: a storage error.
    func latestReviews(of gtin: GTIN, limit: Int) async throws -> [Review]

    /// Appends scans, all or none.
    /// - Throws: a storage error.
    func recordScans(_ scans: [Scan]) async throws

    /// Scans per day, store and product (busiest first within a day), optionally for one store and from a time on.
    /// - Throws: a storage error.
    func scanCounts(store storeCode: String?, since: Date?) async throws -> [ScanCount]

    /// Records that a shopper left for the web shop from a page that carried an associate.
    /// - Throws: a storage error.
    func recordClickOut(store storeCode: String?, gtin: GTIN, associateCode: String, at time: Date) async throws

    /// Per associate: scans of pages that carried them, reservations credited (units, value), click-outs; in one
    /// store or all, from `since` on; ordered by store and name.
    /// - Throws: a storage error.
    func associateFigures(store storeCode: String?, since: Date?) async throws -> [AssociateFigures]

    /// Scans per printed tag, most scanned first.
    /// - Throws: a storage error.
    func tagScans(store storeCode: String?, since: Date?) async throws -> [TagScanCount]

    /// Help requests per store, and how long shoppers waited for an associate to take them.
    /// - Throws: a storage error.
    func helpFigures(store storeCode: String?, since: Date?) async throws -> [HelpFigures]

    /// Stores a token's hash, what it grants and when it expires (nil: never).
    /// - Throws: a storage error (an unknown store breaks a foreign key).
    func saveToken(hash: String, grant: TokenGrant, createdAt: Date, expiresAt: Date?) async throws

    /// Every token (of `store`, or all), newest first.
    /// - Throws: a storage error.
    func tokens(store storeCode: String?) async throws -> [TokenRecord]

    /// Revokes the token whose id starts with `id` (at least 6 hex digits): refused from the next request on.
    /// - Throws: a storage error.
    func revokeToken(id: String, at time: Date) async throws -> TokenRevocation

    /// A number that moves with every committed write through this interface that changes what the channels show
    /// (catalogue, stock, holds, reviews, print ledger, associates; not scans, not a write that saved nothing), from
    /// this process or another: equal numbers mean answers computed
    /// from the data can be reused. Synchronous and never waits on the database (SQLite compares a mapped header and
    /// reads without waiting for writers; PostgreSQL returns the last poll's number): the resolver asks on every
    /// request, before any hop to another thread.
    /// - Throws: `StorageError.unavailable` when the database cannot vouch that the number is fresh, or a storage error.
    func catalogVersion() throws -> Int

    /// Like `catalogVersion()`, for what the channels show of one product: it moves with the writes that change that
    /// product (its prices, stock, holds, reviews, printed tags) and with those that change everything (stores,
    /// associates, imports), not with writes to other products, so answers about it stay reusable while others change.
    /// - Throws: `StorageError.unavailable` when the database cannot vouch that the number is fresh, or a storage error.
    func catalogVersion(of gtin: GTIN) throws -> Int

    /// Like `catalogVersion()`, for what every product's answers share (stores, associates): it moves with the writes
    /// that change everything, not with writes to single products, so what is read of those stays reusable while
    /// prices, stock and holds change.
    /// - Throws: `StorageError.unavailable` when the database cannot vouch that the number is fresh, or a storage error.
    func commonVersion() throws -> Int

    /// The scheme and host of the web shop's product links (`https://shop.example`), or nil with no products.
    /// - Throws: a storage error.
    func webShopOrigin() async throws -> String?

    /// Walks every store offer (of `stores`, or all) beside its web offer, price history, the tag due at `time` and
    /// the last tag printed, and keeps what `inspect` returns of each, in GTIN and store order. The offers are
    /// streamed (memory grows with the findings only), and may be read in GTIN ranges at once, each on a thread of its
    /// own: `inspect` may run on several threads at a time, one offer at a time per range.
    /// - Throws: a storage error, or what `inspect` throws.
    func inspectOffers<Finding: Sendable>(
        stores: [String]?, at time: Date, _ inspect: @escaping @Sendable (OfferSnapshot) throws -> Finding?
    ) async throws -> OfferInspection<Finding>

    /// What the token with this hash grants at `time`, or nil for an unknown, revoked or expired token. Stamps its
    /// last use (at most once a minute).
    /// - Throws: a storage error.
    func grant(forTokenHash hash: String, at time: Date) async throws -> TokenGrant?

    /// Everything a product page shows, read together (one query on PostgreSQL): the product, the ledger's tag with
    /// `tagID` in `store`, the newest reviews, and the units held per store at `time`. Nil for an unknown product.
    /// - Parameter nearbyKilometres: with a known `store`, only its listing and those of the stores within this
    ///   distance of it in latitude are read, with their histories (a superset of the stores this near it; the page
    ///   measures the distances): a page that shows five nearby stores does not decode a chain's hundreds of listings.
    ///   Nil, or a store the reference does not know: every store's.
    /// - Throws: a storage error.
    func page(of gtin: GTIN, store: String?, tagID: String?, reviewLimit: Int, storesWithin nearbyKilometres: Double?, at time: Date) async throws
        -> ProductPage?

    /// Queries sent to a database server by this process (what a chain's resolvers cost their shared database); 0 for
    /// an embedded database.
    var serverRoundTrips: Int { get }
}

/// What a product page shows, read in one go.
public struct ProductPage: Sendable {
    public let details: ProductDetails
    /// The ledger's tag with the page's tag id in its store, if it was printed.
    public let printedTag: PrintedTag?
    /// The newest reviews, newest first.
    public let reviews: [Review]
    /// Units held by reservations, per store.
    public let holds: [String: Int]

    public init(details: ProductDetails, printedTag: PrintedTag?, reviews: [Review], holds: [String: Int]) {
        self.details = details
        self.printedTag = printedTag
        self.reviews = reviews
        self.holds = holds
    }
}

extension ProductReference {
    /// Every product a store lists, with its prices and their histories; nil when the store is unknown.
    /// - Throws: a storage error.
    public func shelf(of storeCode: String) async throws -> StoreShelf? {
        let collected = ShelfCollector()
        let found = try await readShelf(
            of: storeCode,
            opening: { opened, count in
                collected.store = opened
                collected.items.reserveCapacity(count)
            },
            item: { collected.items.append($0) })
        guard found, let store = collected.store else { return nil }
        return StoreShelf(store: store, items: collected.items)
    }
}

/// What `shelf(of:)` gathers; written by one stream's callbacks at a time, read after the stream ends.
private final class ShelfCollector: @unchecked Sendable {
    var store: Store?
    var items: [ShelfItem] = []
}

/// Writes inside one transaction of `ProductReference.write`.
public protocol CatalogWriter {
    /// The codes of the stores known so far in this transaction.
    func storeCodes() throws -> Set<String>
    /// Inserts or updates a store.
    func save(_ store: Store) throws
    /// Inserts or updates a product and its web offer; a pricing change is dated `recordedAt` in the price history.
    func save(_ product: Product, webOffer: WebOffer, recordedAt: Date) throws
    /// The GTIN of the product whose feed `id` is `itemID`.
    func gtin(forItemID itemID: String) throws -> GTIN?
    /// Whether a product with this GTIN exists.
    func exists(_ gtin: GTIN) throws -> Bool
    /// Inserts or updates a store offer and its stock; a pricing change is dated `recordedAt`.
    func save(_ offer: StoreOffer, recordedAt: Date) throws
    /// A store's offer for a product, if the store lists it.
    func offer(store storeCode: String, gtin: GTIN) throws -> StoreOffer?
    /// Inserts or updates a review.
    func save(_ review: Review) throws
    /// Deletes the reviews whose ids are not in `ids` (a reviews feed is always a full feed).
    /// - Returns: how many were deleted.
    func deleteReviews(notIn ids: Set<String>) throws -> Int
}

/// A product in a listing.
public struct ProductSummary: Sendable {
    public let gtin: GTIN
    public let title: String
    public let webPrice: Money
    public let storeCount: Int
    public let unitsOnHand: Int
    public let rating: RatingSummary?
}

/// Why storage failed, apart from the database engine's own errors.
public enum StorageError: Error, CustomStringConvertible {
    /// Stored data breaks the domain's rules (written by something other than ShelfTag).
    case corruptRow(table: String, key: String, reason: String)
    /// The catalogue version could not be read.
    case probe(String)
    /// A database to create exists already.
    case databaseExists(String)
    /// A write-ahead log lies beside a database that does not exist.
    case orphanedLog(String)
    /// A file system call failed.
    case fileSystem(String, errno: Int32)
    /// Another writer held the database past the lock timeout: try again shortly (a server answers 503).
    case busy(waited: TimeInterval)
    /// The database cannot be reached, or cannot vouch for fresh data (a server answers 503 until it recovers).
    case unavailable(String)

    public var description: String {
        switch self {
        case .corruptRow(let table, let key, let reason): "stored \(table) row \(key) is invalid: \(reason)"
        case .probe(let reason): "cannot read the catalogue version: \(reason)"
        case .databaseExists(let path): "\(path) exists already"
        case .orphanedLog(let path):
            "\(path) is the log of a deleted database (a process may still have it open): stop that process, remove it and its -shm file"
        case .fileSystem(let path, let errno): "\(path): \(String(cString: strerror(errno)))"
        case .busy(let waited): "the database stayed locked by another writer for \(Int(waited.rounded())) s"
        case .unavailable(let reason): "the database is unavailable: \(reason)"
        }
    }
}
