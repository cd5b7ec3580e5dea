import Foundation

/// When a sale price applies: from `start` (inclusive) to `end` (exclusive).
public struct SaleWindow: Hashable, Sendable {
    public let start: Date
    public let end: Date

    public init(start: Date, end: Date) {
        self.start = start
        self.end = end
    }

    /// Parses Merchant Center's `sale_price_effective_date`: two ISO 8601 times joined by `/`.
    ///
    /// A start with no time begins at 00:00; an end with no time runs to the end of that day
    /// (23:59:59); a time with no zone is UTC.
    /// - Throws: `TimestampError` when either side is malformed or the range is empty.
    public init(feedValue text: String) throws(TimestampError) {
        let sides = text.split(byte: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard sides.count == 2 else { throw TimestampError.malformed(text) }
        let start = try Timestamp.parse(String(sides[0]))
        let end = try Timestamp.parse(String(sides[1]))
        let endDate = end.hasTime ? end.date : end.date.addingTimeInterval(86_400)
        guard endDate > start.date else { throw TimestampError.emptyRange(text) }
        self.init(start: start.date, end: endDate)
    }

    public func contains(_ time: Date) -> Bool { start <= time && time < end }

    /// The feed form, `2026-11-20T07:00:00Z/2026-11-30T19:00:00Z`.
    public var feedValue: String { Timestamp.format(start) + "/" + Timestamp.format(end) }
}

/// A price with its optional sale price, as every channel publishes it.
public struct Pricing: Hashable, Sendable {
    public let price: Money
    public let salePrice: Money?
    /// With a sale price but no window, the sale price applies at all times (Merchant Center's rule).
    public let saleWindow: SaleWindow?

    /// - Throws: `PricingError` when the sale price is in another currency or not below the price.
    public init(price: Money, salePrice: Money? = nil, saleWindow: SaleWindow? = nil) throws(PricingError) {
        if let salePrice {
            guard salePrice.currency == price.currency else { throw PricingError.currencyMismatch }
            guard salePrice.minorUnits < price.minorUnits else { throw PricingError.saleNotLower }
        } else if saleWindow != nil {
            throw PricingError.windowWithoutSalePrice
        }
        self.price = price
        self.salePrice = salePrice
        self.saleWindow = saleWindow
    }

    /// The price a shopper pays at `time`.
    public func effectivePrice(at time: Date) -> Money {
        guard let salePrice else { return price }
        guard let saleWindow else { return salePrice }
        return saleWindow.contains(time) ? salePrice : price
    }

    /// The first moment after `time` at which the effective price changes by itself: a sale window opening or closing.
    public func nextChange(after time: Date) -> Date? {
        guard salePrice != nil, let saleWindow else { return nil }
        return [saleWindow.start, saleWindow.end].filter { $0 > time }.min()
    }

    /// Whether a reduction is announced at `time`.
    public func isOnSale(at time: Date) -> Bool { effectivePrice(at: time) != price }
}

/// Why a price and sale price do not go together.
public enum PricingError: Error, Equatable, CustomStringConvertible {
    case currencyMismatch
    case saleNotLower
    case windowWithoutSalePrice

    public var description: String {
        switch self {
        case .currencyMismatch: "sale price is in another currency than the price"
        case .saleNotLower: "sale price must be lower than the price"
        case .windowWithoutSalePrice: "a sale window needs a sale price"
        }
    }
}
