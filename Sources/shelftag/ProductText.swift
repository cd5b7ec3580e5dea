import Foundation
import ShelfTagDomain

/// The text `products show` prints: the same prices every channel will show.
struct ProductText {
    let details: ProductDetails
    let at: Date

    var lines: [String] {
        let product = details.product
        let (title, itemID, brand) = (TextRule.escaped(product.title), TextRule.escaped(product.itemID), TextRule.escaped(product.brand))
        var lines = ["\(title)", "  GTIN \(product.gtin.digits) · id \(itemID)" + (brand.isEmpty ? "" : " · \(brand)")]
        // The feed carries no locale; the stores' one is the shop's.
        let webLocale = details.stores.first?.store.locale ?? "en-US"
        lines.append(
            "  web: " + priceLine(pricing: details.webOffer.pricing, history: details.webHistory, locale: webLocale)
                + " · \(details.webOffer.availability.rawValue) · \(TextRule.escaped(details.webOffer.link))")
        for listing in details.stores {
            let (pricing, history) = details.shelfPricing(at: listing)
            let offer = listing.offer
            var line = "  \(TextRule.escaped(listing.store.code)): " + priceLine(pricing: pricing, history: history, locale: listing.store.locale)
            if offer.pricing == nil { line += " (web price)" }
            line += " · \(offer.stock.onHand) on hand · \(offer.availability.rawValue)"
            if let method = offer.pickupMethod { line += " · pickup \(method.rawValue)" + (offer.pickupSLA.map { " \($0.rawValue)" } ?? "") }
            lines.append(line)
        }
        if let rating = details.rating {
            lines.append(String(format: "  rating: %.1f/5 from %d reviews", rating.average, rating.count))
        } else {
            lines.append("  rating: no reviews")
        }
        return lines
    }

    private func priceLine(pricing: Pricing, history: PriceHistory, locale: String) -> String {
        let price = pricing.effectivePrice(at: at)
        var text = price.formatted(locale: locale)
        if let unitPricing = details.product.unitPricing {
            text += " (\(unitPricing.unitPrice(of: price).formatted(locale: locale)))"
        }
        if pricing.isOnSale(at: at) {
            let prior = history.omnibusPriorPrice(at: at).map { $0.formatted(locale: locale) } ?? "unknown"
            let end = pricing.saleWindow.map { " until \(Timestamp.format($0.end))" } ?? ""
            text += " promotion\(end), prior price \(prior)"
        }
        return text
    }
}
