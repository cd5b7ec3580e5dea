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

    /// The price the shelf shows.
    public var shelfPricing: Pricing { storePricing ?? webOffer.pricing }
}

extension SQLiteProductReference {
    /// Every store offer (of `stores`, or all), ordered by store and GTIN, streamed: memory stays flat at a million rows.
    /// - Throws: a storage error, or what `body` throws.
    public func forEachOffer(stores: [String]?, _ body: (OfferSnapshot) throws -> Void) throws {
        try pool.read { db in
            let filter = stores.map { "WHERE o.store_code IN (\($0.map { _ in "?" }.joined(separator: ",")))" } ?? ""
            // Columns read by position: a million name lookups cost more than the query.
            let cursor = try Row.fetchCursor(
                db,
                sql: """
                    SELECT o.store_code, s.locale, o.gtin, p.title, o.currency, o.price, o.sale_price, o.sale_start, o.sale_end,
                        p.currency, p.price, p.sale_price, p.sale_start, p.sale_end, p.availability, p.link, p.unit_measure, p.unit_base,
                        o.on_hand, o.held, o.availability, o.pickup_method
                    FROM store_offer o JOIN store s ON s.code = o.store_code JOIN product p ON p.gtin = o.gtin
                    \(filter) ORDER BY o.store_code, o.gtin
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
                let snapshot: OfferSnapshot
                do {
                    let gtin = try GTIN(gtinText)
                    var unitPricing: UnitPricing?
                    if let measureText = row[16] as String?, let baseText = row[17] as String? {
                        unitPricing = try UnitPricing(measure: try measure(measureText), base: try measure(baseText))
                    }
                    guard let webPricing = try pricing(row, from: 9), let webAvailability = WebAvailability(rawValue: row[14]),
                        let availability = StoreAvailability(rawValue: row[20])
                    else { throw StorageError.corruptRow(table: "store_offer", key: gtinText, reason: "pricing or availability") }
                    snapshot = OfferSnapshot(
                        storeCode: row[0], storeLocale: row[1], gtin: gtin, title: row[3], storePricing: try pricing(row, from: 4),
                        webOffer: WebOffer(gtin: gtin, pricing: webPricing, availability: webAvailability, link: row[15]), unitPricing: unitPricing,
                        onHand: row[18], held: row[19], availability: availability, pickupMethod: (row[21] as String?).flatMap(PickupMethod.init))
                } catch let error as StorageError {
                    throw error
                } catch let error as DatabaseError {
                    throw error
                } catch {
                    throw StorageError.corruptRow(table: "store_offer", key: "\(row[0] as String)/\(gtinText)", reason: "\(error)")
                }
                try body(snapshot)
            }
        }
    }
}
