import Foundation
import ShelfTagDomain

/// What a committed write changed of what the channels show: some products, or everything (a store, an associate,
/// an import). Each write logs it with the catalogue version it moved to, so that a resolver retires the cached
/// answers of the products a write changed and keeps the others: a chain's stream of reservations and store updates
/// no longer empties every resolver's cache many times a second.
enum CatalogChange: Sendable, Equatable {
    case everything
    /// GTINs (their 14 digits).
    case products(Set<String>)

    /// Past this many products a write counts as a change to everything: one log row rather than thousands, and a
    /// reader's map stays small.
    static let productLimit = 256

    /// How many versions the log keeps: a reader further behind (a resolver that lost its database for a while) takes
    /// the gap as a change to everything.
    static let loggedVersions: Int64 = 10_000

    static func product(_ gtin: GTIN) -> CatalogChange { .products([gtin.digits]) }

    /// The products with these digits, or everything past `productLimit`.
    static func changed<Digits: Sequence<String>>(_ gtins: Digits) -> CatalogChange {
        var set = Set<String>()
        for gtin in gtins {
            set.insert(gtin)
            if set.count > productLimit { return .everything }
        }
        return .products(set)
    }

    /// Both changes at once (writes whose version moves are shared).
    func merged(with other: CatalogChange) -> CatalogChange {
        guard case .products(let mine) = self, case .products(let theirs) = other else { return .everything }
        return Self.changed(mine.union(theirs))
    }

    /// The log's rows: a GTIN each, or one nil for everything.
    var loggedGTINs: [String?] {
        switch self {
        case .everything: [nil]
        case .products(let gtins): gtins.sorted()
        }
    }
}

/// Collects what a `CatalogWriter` changes, row by row, until it is everything.
final class ChangeTracker {
    private(set) var change = CatalogChange.products([])

    func note(_ gtin: GTIN) {
        guard case .products(var gtins) = change else { return }
        change = .everything  // Released while it is changed, so the insert does not copy the set.
        gtins.insert(gtin.digits)
        change = gtins.count > CatalogChange.productLimit ? .everything : .products(gtins)
    }

    func noteEverything() {
        change = .everything
    }
}

/// Where a reference reads the versions this process knows of: each owner reads them under its own lock, after its
/// own check that they are fresh (the SQLite probe reads the database's header, PostgreSQL's `Freshness` the age of the
/// last poll).
protocol KnownVersions {
    /// `read`'s answer from the versions, once they are known to be fresh.
    /// - Throws: `StorageError` when they cannot be vouched for.
    func withVersions<T>(_ read: (ChangeVersions) -> T) throws -> T
}

extension KnownVersions {
    /// The newest catalogue version.
    func version() throws -> Int { try withVersions { Int($0.latest) } }

    /// The version of the last change to what the channels show of the product with these digits.
    func version(of gtin: String) throws -> Int { try withVersions { $0.version(of: gtin) } }

    /// The version of the last change to everything.
    func commonVersion() throws -> Int { try withVersions { $0.common } }
}

/// The catalogue versions this process knows of: the newest, and per product the version of its last change.
/// Equal numbers for a product mean its answers computed from the data can be reused. A value: its owner (the SQLite
/// probe, PostgreSQL's `Freshness`) guards it with the lock it takes anyway, one lock per request rather than two.
struct ChangeVersions {
    private(set) var latest: Int64
    /// The last version that changed everything.
    private var everything: Int64
    private var products: [String: Int64] = [:]
    /// Products changed since `everything`, past which the map starts again (as a change to everything).
    private let capacity: Int

    init(newest: Int64 = 0, capacity: Int = 100_000) {
        latest = newest
        everything = newest
        self.capacity = capacity
    }

    /// The version of the last change to everything.
    var common: Int { Int(everything) }

    func version(of gtin: String) -> Int {
        // No product changed on its own since the last change to everything: no key to hash.
        if products.isEmpty { return Int(everything) }
        return Int(max(everything, products[gtin] ?? 0))
    }

    /// Notes `change` at `version`. A version at or below one noted already still counts for its products (writes
    /// are noted by the writer and again by the reader of the log, in either order).
    mutating func apply(_ change: CatalogChange, at version: Int64) {
        note(change.loggedGTINs, at: version)
    }

    /// Whether the log still holds every row after `old` through `new`: a first reading (`old` below 0), or one
    /// further behind than the log reaches, cannot rely on it.
    static func logCovers(after old: Int64, through new: Int64) -> Bool {
        old >= 0 && new - old < CatalogChange.loggedVersions
    }

    /// Notes the log's rows (a GTIN, or nil for everything) read after `old` through `new`, and `new` as the newest;
    /// when the log cannot cover that span (`logCovers`), a change to everything at `new` instead.
    mutating func apply(_ rows: [(version: Int64, gtin: String?)], after old: Int64, through new: Int64) {
        guard Self.logCovers(after: old, through: new) else { return apply(.everything, at: new) }
        for row in rows { note([row.gtin], at: row.version) }
        latest = max(latest, new)
    }

    private mutating func note(_ gtins: [String?], at version: Int64) {
        latest = max(latest, version)
        for gtin in gtins {
            guard let gtin else {
                everything = max(everything, version)
                continue
            }
            products[gtin] = max(products[gtin] ?? 0, version)
        }
        if products.count > capacity {
            everything = latest
            products.removeAll()
        }
    }
}
