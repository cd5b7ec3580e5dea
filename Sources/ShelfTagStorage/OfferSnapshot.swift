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
    /// The last tag printed for this offer, if any.
    public let lastPrint: PrintedTag?
    /// Whether the store has printed any ShelfTag tag: a store that has not has no tags to be stale.
    public let storePrintsTags: Bool

    /// The price the shelf shows.
    public var shelfPricing: Pricing { storePricing ?? webOffer.pricing }

    /// The tag this offer gets at `time`.
    public func label(at time: Date) -> ShelfLabel {
        ShelfLabel(storeCode: storeCode, gtin: gtin, pricing: shelfPricing, history: history, unitPricing: unitPricing, at: time)
    }
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
    public func forEachOffer(stores: [String]?, _ body: @escaping (OfferSnapshot) throws -> Void) async throws {
        try await reading { db in
            let placeholders = stores.map { $0.map { _ in "?" }.joined(separator: ",") }
            let filter = placeholders.map { "WHERE o.store_code IN (\($0))" } ?? ""
            let storeFilter = placeholders.map { "store_code IN (\($0))" }
            let printingStores = Set(
                try String.fetchAll(db, sql: "SELECT code FROM store WHERE EXISTS (SELECT 1 FROM print_ledger WHERE store_code = store.code)"))
            // Three walks in GTIN order, merged: offers, price history, and the newest ledger row per product and store
            // (SQLite takes the bare columns from the max() row).
            var histories = GTINOrderedRows(
                try Row.fetchCursor(
                    db,
                    sql:
                        "SELECT gtin, * FROM price_history \(storeFilter.map { "WHERE store_code IS NULL OR \($0)" } ?? "") ORDER BY gtin, store_code, recorded_at, id",
                    arguments: StatementArguments(stores ?? []))
            ) { row, _ in (row["store_code"] as String?, try StoredRows.priceChange(row)) }
            var prints = GTINOrderedRows(
                try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT \(StoredRows.ledgerColumns), max(printed_at * 1000000000 + id) FROM print_ledger \(storeFilter.map { "WHERE \($0)" } ?? "")
                        GROUP BY gtin, store_code ORDER BY gtin, store_code
                        """, arguments: StatementArguments(stores ?? []))
            ) { row, gtin in (row[1] as String?, try StoredRows.printedTag(row, gtin: gtin)) }
            var current: (gtin: GTIN, changes: [(store: String?, value: PriceChange)], prints: [(store: String?, value: PrintedTag)])?
            // Columns read by position: a million name lookups cost more than the query.
            let cursor = try Row.fetchCursor(
                db,
                sql: """
                    SELECT o.store_code, s.locale, o.gtin, p.title, o.currency, o.price, o.sale_price, o.sale_start, o.sale_end,
                        p.currency, p.price, p.sale_price, p.sale_start, p.sale_end, p.availability, p.link, p.unit_measure, p.unit_base,
                        o.on_hand, o.held, o.availability, o.pickup_method
                    FROM store_offer o JOIN store s ON s.code = o.store_code JOIN product p ON p.gtin = o.gtin
                    \(filter) ORDER BY o.gtin, o.store_code
                    """, arguments: StatementArguments(stores ?? []))
            var measures: [String: Measure] = [:]
            func measure(_ text: String) throws -> Measure {
                if let known = measures[text] { return known }
                let parsed = try Measure(feedValue: text)
                measures[text] = parsed
                return parsed
            }
            var currencies: [String: Currency] = [:]
            func currency(_ code: String) throws -> Currency {
                if let known = currencies[code] { return known }
                let parsed = try Currency(code: code)
                currencies[code] = parsed
                return parsed
            }
            func pricing(_ row: Row, from index: Int) throws -> Pricing? {
                guard let code = row[index] as String?, let price = row[index + 1] as Int64? else { return nil }
                let unit = try currency(code)
                var window: SaleWindow?
                if let start = row[index + 3] as Int64?, let end = row[index + 4] as Int64? {
                    window = SaleWindow(start: Date(timeIntervalSince1970: TimeInterval(start)), end: Date(timeIntervalSince1970: TimeInterval(end)))
                }
                return try Pricing(
                    price: Money(minorUnits: price, currency: unit), salePrice: (row[index + 2] as Int64?).map { Money(minorUnits: $0, currency: unit) },
                    saleWindow: window)
            }
            while let row = try cursor.next() {
                let gtinText: String = row[2]
                let storeCode: String = row[0]
                if current?.gtin.digits != gtinText {
                    // Once per product, not per offer.
                    let gtin: GTIN
                    do { gtin = try GTIN(gtinText) } catch { throw StorageError.corruptRow(table: "store_offer", key: gtinText, reason: "\(error)") }
                    current = (gtin, try histories.take(gtin), try prints.take(gtin))
                }
                let snapshot: OfferSnapshot
                do {
                    let gtin = current!.gtin
                    var unitPricing: UnitPricing?
                    if let measureText = row[16] as String?, let baseText = row[17] as String? {
                        unitPricing = try UnitPricing(measure: try measure(measureText), base: try measure(baseText))
                    }
                    guard let webPricing = try pricing(row, from: 9), let webAvailability = WebAvailability(rawValue: row[14]),
                        let availability = StoreAvailability(rawValue: row[20])
                    else { throw StorageError.corruptRow(table: "store_offer", key: gtinText, reason: "pricing or availability") }
                    let storePricing = try pricing(row, from: 4)
                    // The store's own history, or the web's (store code nil) when the web price applies.
                    let channel = storePricing == nil ? nil : storeCode
                    snapshot = OfferSnapshot(
                        storeCode: storeCode, storeLocale: row[1], gtin: gtin, title: row[3], storePricing: storePricing,
                        webOffer: WebOffer(gtin: gtin, pricing: webPricing, availability: webAvailability, link: row[15]), unitPricing: unitPricing,
                        onHand: row[18], held: row[19], availability: availability, pickupMethod: (row[21] as String?).flatMap(PickupMethod.init),
                        history: PriceHistory(changes: current?.changes.filter { $0.store == channel }.map(\.value) ?? []),
                        lastPrint: current?.prints.first { $0.store == storeCode }?.value, storePrintsTags: printingStores.contains(storeCode))
                } catch let error as StorageError {
                    throw error
                } catch let error as DatabaseError {
                    throw error
                } catch {
                    throw StorageError.corruptRow(table: "store_offer", key: "\(storeCode)/\(gtinText)", reason: "\(error)")
                }
                try body(snapshot)
            }
        }
    }
}
