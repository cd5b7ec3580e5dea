import Foundation

/// A rule a shelf price breaks, knowable from the reference alone: `shelftag parity` reports it, `shelftag render`
/// warns of it on the tag it is about to print (and refuses it with `--strict`).
public enum PriceRuleBreach: Equatable, Sendable, CustomStringConvertible {
    /// The shelf price is not the web shop's price at that moment.
    case differsFromWeb(shelf: Money, web: Money)
    /// A reduction of 5 % or less, or of 90 % or more: a data entry error more often than a promotion.
    case implausibleDiscount(percent: Double)

    public var description: String {
        switch self {
        case .differsFromWeb(let shelf, let web): "store price \(shelf.feedValue) differs from the web price \(web.feedValue)"
        case .implausibleDiscount(let percent): "discount of \(String(format: "%.1f", percent)) % is not more than 5 % and less than 90 %"
        }
    }
}

public enum PriceRules {
    /// The rules `shelf` (the store's pricing, or the web's where it applies) breaks at `time` against `web`.
    public static func check(shelf: Pricing, web: Pricing, at time: Date) -> [PriceRuleBreach] {
        var breaches: [PriceRuleBreach] = []
        let store = shelf.effectivePrice(at: time)
        let online = web.effectivePrice(at: time)
        if store != online { breaches.append(.differsFromWeb(shelf: store, web: online)) }
        if let sale = shelf.salePrice, shelf.isOnSale(at: time) {
            let percent = Double(shelf.price.minorUnits - sale.minorUnits) * 100 / Double(shelf.price.minorUnits)
            if percent <= 5 || percent >= 90 { breaches.append(.implausibleDiscount(percent: percent)) }
        }
        return breaches
    }
}
