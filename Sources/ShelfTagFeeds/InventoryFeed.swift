import Foundation
import ShelfTagDomain

/// One row of the local inventory feed, before it is joined to a product by `id`.
public struct InventoryFeedRow: Sendable {
    public let storeCode: String
    public let itemID: String
    /// The store's price; nil when the feed leaves the primary feed's price in force.
    public let pricing: Pricing?
    public let quantity: Int
    public let availability: StoreAvailability
    public let pickupMethod: PickupMethod?
    public let pickupSLA: PickupSLA?

    /// The store offer, once joined to its product.
    public func offer(of gtin: GTIN) -> StoreOffer {
        StoreOffer(
            storeCode: storeCode, gtin: gtin, pricing: pricing, availability: availability, pickupMethod: pickupMethod, pickupSLA: pickupSLA,
            stock: Stock(onHand: quantity))
    }
}

/// Reads the Merchant Center local inventory feed (TSV; headers with spaces or underscores).
public enum InventoryFeed {
    static let columns = ["store_code", "id", "quantity", "price", "sale_price", "sale_price_effective_date", "availability", "pickup_method", "pickup_sla"]
    private static let required: Set<String> = ["store_code", "id", "quantity"]

    /// - Throws: `FeedError` when the file cannot be read; rethrows what the callbacks throw.
    public static func read(
        path: String, displayName: String, row: @escaping (InventoryFeedRow, Int) throws -> Void, rejected: @escaping (RowError) throws -> Void
    ) throws {
        try TabSeparatedReader(path: path, displayName: displayName).read(
            columns: columns, required: required,
            row: { values, line in
                do { try row(try parse(values, location: SourceLocation(file: displayName, line: line)), line) } catch let error as RowError {
                    try rejected(error)
                }
            }, rejected: rejected)
    }

    static func parse(_ values: [String?], location: SourceLocation) throws(RowError) -> InventoryFeedRow {
        let fields = FieldParser(location: location)
        let storeCode = try fields.required("store_code", values[0], .identifier)
        let itemID = try fields.required("id", values[1], .identifier)
        let quantityText = try fields.required("quantity", values[2])
        guard let quantity = Int(quantityText) else { throw fields.fail("quantity", .notANumber(quantityText)) }
        guard quantity >= 0 else { throw fields.fail("quantity", .negative(quantityText)) }
        // A bound every later sum of stock stays far from overflowing.
        guard quantity <= Stock.maximumOnHand else { throw fields.fail("quantity", .outOfRange(quantityText, range: 0...Double(Stock.maximumOnHand))) }
        var pricing: Pricing?
        if let priceText = values[3], !priceText.isEmpty {
            pricing = try fields.pricing(
                priceField: "price", price: fields.money("price", priceText), saleField: "sale_price", sale: values[4],
                windowField: "sale_price_effective_date", window: values[5])
        } else if let sale = values[4], !sale.isEmpty {
            throw fields.fail("price", .missing)
        }
        let availability =
            try values[6].flatMap { $0.isEmpty ? nil : $0 }.map { (text: String) throws(RowError) -> StoreAvailability in
                try fields.choice("availability", text, as: StoreAvailability.self)
            } ?? StoreAvailability(quantity: quantity)
        let pickupMethod = try values[7].flatMap { $0.isEmpty ? nil : $0 }.map { (text: String) throws(RowError) -> PickupMethod in
            try fields.choice("pickup_method", text, as: PickupMethod.self)
        }
        let pickupSLA = try values[8].flatMap { $0.isEmpty ? nil : $0 }.map { (text: String) throws(RowError) -> PickupSLA in
            try fields.choice("pickup_sla", text, as: PickupSLA.self)
        }
        return InventoryFeedRow(
            storeCode: storeCode, itemID: itemID, pricing: pricing, quantity: quantity, availability: availability, pickupMethod: pickupMethod,
            pickupSLA: pickupSLA)
    }
}
