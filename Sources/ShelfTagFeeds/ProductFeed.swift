import Foundation
import ShelfTagDomain

/// One item of the Merchant Center primary feed: the product and the web shop's offer.
public struct ProductFeedRow: Sendable {
    public let product: Product
    public let webOffer: WebOffer
}

/// Reads the Merchant Center primary product feed, as TSV or as RSS 2.0 with the `g:` namespace.
public enum ProductFeed {
    static let columns = [
        "id", "title", "description", "link", "image_link", "availability", "price", "sale_price",
        "sale_price_effective_date", "gtin", "brand", "product_type", "unit_pricing_measure", "unit_pricing_base_measure",
        // Not a Merchant Center attribute: the recycling fee French law has shown beside the price ("0.50 EUR").
        "eco_participation",
    ]
    private static let required: Set<String> = ["id", "title", "link", "availability", "price", "gtin"]

    /// Streams the feed at `path`, calling `row` for each valid item and `rejected` for each bad one.
    /// - Throws: `FeedError` when the file cannot be read; rethrows what the callbacks throw.
    public static func read(
        path: String, displayName: String, row: @escaping (ProductFeedRow, Int) throws -> Void, rejected: @escaping (RowError) throws -> Void
    ) throws {
        let convert = { (values: [String?], line: Int) throws in
            do { try row(try parse(values, location: SourceLocation(file: displayName, line: line)), line) } catch let error as RowError { try rejected(error) }
        }
        if try isXML(path: path) {
            try RSSItemReader(path: path, displayName: displayName).read(columns: columns) { values, line in try convert(values, line) }
        } else {
            try TabSeparatedReader(path: path, displayName: displayName).read(columns: columns, required: required, row: convert, rejected: rejected)
        }
    }

    static func isXML(path: String) throws(FeedError) -> Bool {
        let reader = try LineReader(path: path, bufferSize: 4096)
        let first = reader.nextLine { $0.first { $0 != 0x20 && $0 != 0x09 && $0 != 0xEF && $0 != 0xBB && $0 != 0xBF } }
        return first == UInt8(ascii: "<")
    }

    static func parse(_ values: [String?], location: SourceLocation) throws(RowError) -> ProductFeedRow {
        let fields = FieldParser(location: location)
        // Merchant Center's own limits, in characters.
        let id = try fields.required("id", values[0], .identifier)
        let title = try fields.required("title", values[1], .line(150))
        let link = try fields.required("link", values[3], .line(2000))
        let availability = try fields.choice("availability", fields.required("availability", values[5]), as: WebAvailability.self)
        let price = try fields.money("price", fields.required("price", values[6]))
        let pricing = try fields.pricing(
            priceField: "price", price: price, saleField: "sale_price", sale: values[7], windowField: "sale_price_effective_date", window: values[8])
        // A repeated gtin comes comma-separated; the first one keys the product.
        let gtinText = try fields.required("gtin", values[9])
        let gtin = try fields.gtin("gtin", firstListed(in: gtinText))
        var unitPricing: UnitPricing?
        if let measureText = values[12], !measureText.isEmpty {
            let measure = try fields.measure("unit_pricing_measure", measureText)
            let baseText = values[13].flatMap { $0.isEmpty ? nil : $0 }
            // Without a base, Merchant Center quotes per 1 of the measure's reference unit family.
            let base =
                try baseText.map { (text: String) throws(RowError) -> Measure in try fields.measure("unit_pricing_base_measure", text) }
                ?? Measure(value: 1, unit: defaultBaseUnit(for: measure.unit))
            do { unitPricing = try UnitPricing(measure: measure, base: base) } catch { throw fields.fail("unit_pricing_base_measure", .measure(error)) }
        }
        var ecoParticipation: Money?
        if let text = values[14], !text.isEmpty {
            let fee = try fields.money("eco_participation", text)
            guard fee.currency == price.currency else {
                throw fields.fail("eco_participation", .invalid("\(fee.currency.code) is not the price's currency, \(price.currency.code)"))
            }
            guard fee < price else { throw fields.fail("eco_participation", .invalid("\(text) is not less than the price it is part of")) }
            ecoParticipation = fee
        }
        let product = Product(
            gtin: gtin, itemID: id, title: title, description: try fields.optional("description", values[2], .paragraphs(5000)),
            brand: try fields.optional("brand", values[10], .line(70)), imageLink: try fields.optional("image_link", values[4], .line(2000)),
            productType: try fields.optional("product_type", values[11], .line(750)), unitPricing: unitPricing, ecoParticipation: ecoParticipation)
        return ProductFeedRow(product: product, webOffer: WebOffer(gtin: gtin, pricing: pricing, availability: availability, link: link))
    }

    /// The first non-empty item of a comma-separated value; the value itself when it is the only one.
    private static func firstListed(in text: String) -> String {
        guard let first = text.nextPiece(splitBy: UInt8(ascii: ","), from: text.startIndex) else { return "" }
        return first == text.startIndex..<text.endIndex ? text : String(Substring(text.utf8[first]))
    }

    private static func defaultBaseUnit(for unit: MeasureUnit) -> MeasureUnit {
        switch unit.dimension {
        case .weight: unit == .oz || unit == .lb ? .lb : .kg
        case .volume: unit == .floz || unit == .pt || unit == .qt || unit == .gal ? .gal : .l
        case .length: unit == .inch || unit == .ft || unit == .yd ? .ft : .m
        case .area: unit == .sqft ? .sqft : .sqm
        case .count: unit
        }
    }
}
