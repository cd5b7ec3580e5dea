import Foundation
import GRDB
import ShelfTagDomain

/// One store's offer with the web offer beside it: what the parity rules compare, row by row.
public struct OfferSnapshot: Sendable {
    public let storeCode: String
    public let storeLocale: String
    public let gtin: GTIN
    public let title: String
    /// The store's own pricing; nil when the web price applies in the store.
    public let storePricing: Pricing?
    public let webOffer: WebOffer
    public let unitPricing: UnitPricing?
    public let onHand: Int
    /// Units held by reservations (lapsed ones not yet swept included).
    public let held: Int
    public let availability: StoreAvailability
    public let pickupMethod: PickupMethod?
    /// The changes of `shelfPricing`: the store's own, or the web's when the web price applies.
    public let history: PriceHistory
    /// The tag due at the walk's time.
    public let label: ShelfLabel
    /// The last tag printed for this offer, if any.
    public let lastPrint: PrintedTag?
    /// Whether the store has printed any ShelfTag tag: a store that has not has no tags to be stale.
    public let storePrintsTags: Bool

    /// The price the shelf shows.
    public var shelfPricing: Pricing { storePricing ?? webOffer.pricing }

    /// - Parameter lastPrint: the last tag printed, given the label due at `time`.
    init(
        storeCode: String, storeLocale: String, storePricing: Pricing?, webOffer: WebOffer, title: String, unitPricing: UnitPricing?,
        onHand: Int, held: Int, availability: StoreAvailability, pickupMethod: PickupMethod?, history: PriceHistory,
        storePrintsTags: Bool, at time: Date, lastPrint: (ShelfLabel) throws -> PrintedTag?
    ) rethrows {
        self.storeCode = storeCode
        self.storeLocale = storeLocale
        self.gtin = webOffer.gtin
        self.title = title
        self.storePricing = storePricing
        self.webOffer = webOffer
        self.unitPricing = unitPricing
        self.onHand = onHand
        self.held = held
        self.availability = availability
        self.pickupMethod = pickupMethod
        self.history = history
        self.storePrintsTags = storePrintsTags
        label = ShelfLabel(
            storeCode: storeCode, gtin: webOffer.gtin, pricing: storePricing ?? webOffer.pricing, history: history, unitPricing: unitPricing,
            at: time)
        self.lastPrint = try lastPrint(label)
    }
}

/// What a walk over the store offers found: how many offers it saw, and what `inspect` kept of them, in GTIN and store
/// order.
public struct OfferInspection<Finding: Sendable>: Sendable {
    public let offers: Int
    public let findings: [Finding]
}

/// Rows of a cursor ordered by GTIN, taken one GTIN at a time beside another walk in GTIN order: a merge join that
/// keeps one product's rows in memory.
private struct GTINOrderedRows<Value> {
    let cursor: RowCursor
    /// Reads a row's store code (nil: the web) and value; the GTIN is column 0, given parsed when already known.
    let decode: (Row, GTIN?) throws -> (store: String?, value: Value)
    private var pending: (gtin: String, store: String?, value: Value)?

    init(_ cursor: RowCursor, decode: @escaping (Row, GTIN?) throws -> (store: String?, value: Value)) {
        self.cursor = cursor
        self.decode = decode
    }

    /// The rows of `gtin`; GTINs must be asked for in ascending order. Rows of GTINs not asked for are skipped undecoded.
    mutating func take(_ parsed: GTIN) throws -> [(store: String?, value: Value)] {
        let gtin = parsed.digits
        var found: [(store: String?, value: Value)] = []
        if let waiting = pending {
            // 14-digit GTINs: string order is numeric order, the same as SQLite's.
            guard waiting.gtin <= gtin else { return found }
            pending = nil
            if waiting.gtin == gtin { found.append((waiting.store, waiting.value)) }
        }
        while let row = try cursor.next() {
            let rowGTIN: String = row[0]
            if rowGTIN < gtin { continue }
            let decoded = try decode(row, rowGTIN == gtin ? parsed : nil)
            if rowGTIN > gtin {
                // The row is invalid once the cursor moves: keep it decoded for a later GTIN.
                pending = (rowGTIN, decoded.store, decoded.value)
                break
            }
            found.append(decoded)
        }
        return found
    }
}

extension SQLiteProductReference {
    /// Products per part below which a walk is not split: a thread costs more than it saves on a small reference.
    static let productsPerPart = 20_000

    public func inspectOffers<Finding: Sendable>(
        stores: [String]?, at time: Date, _ inspect: @escaping @Sendable (OfferSnapshot) throws -> Finding?
    ) async throws -> OfferInspection<Finding> {
        try await inspectOffers(stores: stores, at: time, parts: nil, inspect)
    }

    /// - Parameter parts: GTIN ranges walked at once, each in a read transaction of its own on a thread of its own; nil:
    ///   one per core when the reference is big enough to gain from it.
    public func inspectOffers<Finding: Sendable>(
        stores: [String]?, at time: Date, parts: Int?, _ inspect: @escaping @Sendable (OfferSnapshot) throws -> Finding?
    ) async throws -> OfferInspection<Finding> {
        // The parts read in transactions of their own: a write committed between their starts would show them
        // different references, so they are read again (and, should writes keep landing, in one part).
        for attempt in 1...3 {
            let bounds = try await reading { db in try Self.gtinBounds(parts: attempt == 3 ? 1 : parts, in: db) }
            let ranges = zip([nil] + bounds, bounds + [nil]).map { GTINRange(from: $0, to: $1) }
            let walks = try await withThrowingTaskGroup(of: (Int, OfferWalk<Finding>).self) { group in
                for (index, range) in ranges.enumerated() {
                    group.addTask { (index, try await self.reading { db in try Self.walkOffers(stores: stores, range: range, at: time, inspect, in: db) }) }
                }
                var walks = [OfferWalk<Finding>?](repeating: nil, count: ranges.count)
                for try await (index, walk) in group { walks[index] = walk }
                return walks.compactMap { $0 }
            }
            if Set(walks.map(\.seen)).count == 1 {
                return OfferInspection(offers: walks.reduce(0) { $0 + $1.offers }, findings: walks.flatMap(\.findings))
            }
        }
        preconditionFailure("a walk in one part is always consistent")
    }

    /// The GTINs that split the products into `parts` ranges of about the same size (fewer for a small reference).
    private static func gtinBounds(parts requested: Int?, in db: Database) throws -> [String] {
        let products = try Int.fetchOne(db, sql: "SELECT count(*) FROM product") ?? 0
        let parts = requested ?? min(ProcessInfo.processInfo.activeProcessorCount, products / productsPerPart)
        guard parts > 1 else { return [] }
        var bounds: [String] = []
        for part in 1..<parts {
            let bound = try String.fetchOne(db, sql: "SELECT gtin FROM product ORDER BY gtin LIMIT 1 OFFSET ?", arguments: [products * part / parts])
            if let bound, bound > bounds.last ?? "" { bounds.append(bound) }
        }
        return bounds
    }

    /// One part's walk: three reads in GTIN order, merged (offers, price history, and the newest ledger row per
    /// product and store), the product's columns decoded once for all its offers.
    private static func walkOffers<Finding: Sendable>(
        stores: [String]?, range: GTINRange, at time: Date, _ inspect: (OfferSnapshot) throws -> Finding?, in db: Database
    ) throws -> OfferWalk<Finding> {
        // What the transaction sees, to compare with the other parts'.
        let seen =
            try Row.fetchOne(
                db, sql: "SELECT (SELECT version FROM catalog_version WHERE id = 1), (SELECT max(id) FROM print_ledger)"
            ).map { [$0[0] as Int64? ?? 0, $0[1] as Int64? ?? 0] } ?? []
        let storeList = stores.map { "(\(Schema.placeholders($0.count)))" }
        func filter(gtin: String, store: String, webRows: Bool) -> (sql: String, arguments: StatementArguments) {
            var conditions: [String] = []
            var arguments: [(any DatabaseValueConvertible)?] = []
            if let storeList, let stores {
                conditions.append(webRows ? "(\(store) IS NULL OR \(store) IN \(storeList))" : "\(store) IN \(storeList)")
                arguments += stores
            }
            if let from = range.from {
                conditions.append("\(gtin) >= ?")
                arguments.append(from)
            }
            if let to = range.to {
                conditions.append("\(gtin) < ?")
                arguments.append(to)
            }
            return (conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "), StatementArguments(arguments))
        }
        var locales: [String: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT code, locale FROM store") { locales[row[0]] = row[1] }
        let printingStores = Set(
            try String.fetchAll(db, sql: "SELECT code FROM store WHERE EXISTS (SELECT 1 FROM print_ledger WHERE store_code = store.code)"))
        let historyFilter = filter(gtin: "gtin", store: "store_code", webRows: true)
        var histories = GTINOrderedRows(
            try Row.fetchCursor(
                db, sql: "SELECT gtin, * FROM price_history \(historyFilter.sql) ORDER BY gtin, store_code, recorded_at, id", arguments: historyFilter.arguments
            )
        ) { row, _ in (row["store_code"] as String?, try StoredRows.priceChange(row)) }
        // The newest row per product and store (SQLite takes the bare columns from the max() row), read in part: the
        // whole tag is decoded only when it is not the one due.
        let ledgerFilter = filter(gtin: "gtin", store: "store_code", webRows: false)
        var prints = GTINOrderedRows(
            try Row.fetchCursor(
                db,
                sql: """
                    SELECT gtin, store_code, tag_id, template, printed_at, max(printed_at * 1000000000 + id) FROM print_ledger \(ledgerFilter.sql)
                    GROUP BY gtin, store_code ORDER BY gtin, store_code
                    """, arguments: ledgerFilter.arguments)
        ) { row, _ in (row[1] as String?, LedgerEntry(tagID: row[2], template: row[3], printedAt: Date(timeIntervalSince1970: TimeInterval(row[4] as Int64)))) }
        // Columns read by position: a million name lookups cost more than the query.
        let offerFilter = filter(gtin: "o.gtin", store: "o.store_code", webRows: false)
        let cursor = try Row.fetchCursor(
            db,
            sql: """
                SELECT o.store_code, o.gtin, o.currency, o.price, o.sale_price, o.sale_start, o.sale_end, o.on_hand, o.held, o.availability,
                    o.pickup_method, p.title, p.currency, p.price, p.sale_price, p.sale_start, p.sale_end, p.availability, p.link, p.unit_measure,
                    p.unit_base
                FROM store_offer o JOIN product p ON p.gtin = o.gtin \(offerFilter.sql) ORDER BY o.gtin, o.store_code
                """, arguments: offerFilter.arguments)
        var measures: [String: Measure] = [:]
        func measure(_ text: String) throws -> Measure {
            if let known = measures[text] { return known }
            let parsed = try Measure(feedValue: text)
            measures[text] = parsed
            return parsed
        }
        var currencies: [String: Currency] = [:]
        func pricing(_ row: Row, from index: Int) throws -> Pricing? {
            guard let code = row[index] as String?, let price = row[index + 1] as Int64? else { return nil }
            let unit: Currency
            if let known = currencies[code] {
                unit = known
            } else {
                unit = try Currency(code: code)
                currencies[code] = unit
            }
            var window: SaleWindow?
            if let start = row[index + 3] as Int64?, let end = row[index + 4] as Int64? {
                window = SaleWindow(start: Date(timeIntervalSince1970: TimeInterval(start)), end: Date(timeIntervalSince1970: TimeInterval(end)))
            }
            return try Pricing(
                price: Money(minorUnits: price, currency: unit), salePrice: (row[index + 2] as Int64?).map { Money(minorUnits: $0, currency: unit) },
                saleWindow: window)
        }
        var product: ProductColumns?
        var walk = OfferWalk<Finding>(seen: seen)
        while let row = try cursor.next() {
            let storeCode: String = row[0]
            let gtinText: String = row[1]
            do {
                if product?.webOffer.gtin.digits != gtinText {
                    // Once per product, not per offer.
                    let gtin = try GTIN(gtinText)
                    guard let webPricing = try pricing(row, from: 12), let webAvailability = WebAvailability(rawValue: row[17]) else {
                        throw StorageError.corruptRow(table: "product", key: gtinText, reason: "pricing or availability")
                    }
                    var unitPricing: UnitPricing?
                    if let measureText = row[19] as String?, let baseText = row[20] as String? {
                        unitPricing = try UnitPricing(measure: try measure(measureText), base: try measure(baseText))
                    }
                    let changes = try histories.take(gtin)
                    product = ProductColumns(
                        webOffer: WebOffer(gtin: gtin, pricing: webPricing, availability: webAvailability, link: row[18]), title: row[11],
                        unitPricing: unitPricing, changes: changes, webHistory: PriceHistory(changes: changes.filter { $0.store == nil }.map(\.value)),
                        prints: try prints.take(gtin))
                }
                guard let product, let availability = StoreAvailability(rawValue: row[9]) else {
                    throw StorageError.corruptRow(table: "store_offer", key: gtinText, reason: "availability")
                }
                let storePricing = try pricing(row, from: 2)
                // The store's own history, or the web's when the web price applies.
                let history = storePricing == nil ? product.webHistory : PriceHistory(changes: product.changes.filter { $0.store == storeCode }.map(\.value))
                let printed = product.prints.first { $0.store == storeCode }?.value
                let snapshot = try OfferSnapshot(
                    storeCode: storeCode, storeLocale: locales[storeCode] ?? "", storePricing: storePricing, webOffer: product.webOffer,
                    title: product.title, unitPricing: product.unitPricing, onHand: row[7], held: row[8], availability: availability,
                    pickupMethod: (row[10] as String?).flatMap(PickupMethod.init), history: history, storePrintsTags: printingStores.contains(storeCode),
                    at: time
                ) { due in
                    guard let printed else { return nil }
                    // The tag id is the hash of what the tag shows: the same id, the same tag.
                    if printed.tagID == due.tagID { return PrintedTag(label: due, template: printed.template, printedAt: printed.printedAt) }
                    return try Self.printedTag(store: storeCode, gtin: product.webOffer.gtin, tagID: printed.tagID, in: db)
                }
                walk.offers += 1
                if let finding = try inspect(snapshot) { walk.findings.append(finding) }
            } catch let error as StorageError {
                throw error
            } catch let error as DatabaseError {
                throw error
            } catch {
                throw StorageError.corruptRow(table: "store_offer", key: "\(storeCode)/\(gtinText)", reason: "\(error)")
            }
        }
        return walk
    }
}

/// A range of GTINs, `from` included, `to` excluded; nil: unbounded.
private struct GTINRange: Sendable {
    let from: String?
    let to: String?
}

/// What one part of a walk saw and found.
private struct OfferWalk<Finding: Sendable>: Sendable {
    /// The catalogue version and newest ledger row its transaction saw.
    let seen: [Int64]
    var offers = 0
    var findings: [Finding] = []
}

/// A ledger row as far as a walk reads it.
private struct LedgerEntry {
    let tagID: String
    let template: String
    let printedAt: Date
}

/// The product side of the offers of one GTIN.
private struct ProductColumns {
    let webOffer: WebOffer
    let title: String
    let unitPricing: UnitPricing?
    let changes: [(store: String?, value: PriceChange)]
    let webHistory: PriceHistory
    let prints: [(store: String?, value: LedgerEntry)]
}
