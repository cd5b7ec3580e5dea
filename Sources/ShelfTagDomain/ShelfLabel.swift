import Foundation

/// What a shelf tag shows of a product's price in one store: the legal price display.
///
/// Its `tagID` is derived from exactly these values, so the same display rendered twice is the
/// same tag, and a tag whose price no longer matches the current display is stale.
public struct ShelfLabel: Hashable, Sendable {
    public let storeCode: String
    public let gtin: GTIN
    /// The selling price.
    public let price: Money
    /// The price before the reduction, when a promotion is shown.
    public let regularPrice: Money?
    /// The Omnibus prior price of a promotion: the lowest price of the 30 days before it began.
    public let priorPrice: Money?
    public let unitPrice: UnitPrice?
    /// When the promotion ends (exclusive), when it has an end.
    public let promotionEnd: Date?
    /// Eight base-32 characters identifying this display in this store.
    public let tagID: String

    public init(storeCode: String, gtin: GTIN, price: Money, regularPrice: Money?, priorPrice: Money?, unitPrice: UnitPrice?, promotionEnd: Date?) {
        self.storeCode = storeCode
        self.gtin = gtin
        self.price = price
        self.regularPrice = regularPrice
        self.priorPrice = priorPrice
        self.unitPrice = unitPrice
        self.promotionEnd = promotionEnd
        // The hash of `store|gtin|price|prior|unit price/base|end`, fed piece by piece (no joined string: parity hashes a
        // million labels).
        var hash = FNV1a()
        hash.add(storeCode)
        hash.add("|")
        hash.add(gtin.digits)
        hash.add("|")
        hash.add(price.feedValue)
        hash.add("|")
        if let priorPrice { hash.add(priorPrice.feedValue) }
        hash.add("|")
        if let unitPrice {
            hash.add(unitPrice.price.feedValue)
            hash.add("/")
            hash.add(unitPrice.base.feedValue)
        }
        hash.add("|")
        if let promotionEnd { hash.add(String(Int64(promotionEnd.timeIntervalSince1970))) }
        tagID = Self.base32(hash.value, characters: 8)
    }

    /// The display of `pricing` at `time`, with its prior price from `history`.
    public init(storeCode: String, gtin: GTIN, pricing: Pricing, history: PriceHistory, unitPricing: UnitPricing?, at time: Date) {
        let price = pricing.effectivePrice(at: time)
        let onSale = pricing.isOnSale(at: time)
        self.init(
            storeCode: storeCode, gtin: gtin, price: price, regularPrice: onSale ? pricing.price : nil,
            priorPrice: onSale ? history.omnibusPriorPrice(at: time) : nil, unitPrice: unitPricing?.unitPrice(of: price),
            promotionEnd: onSale ? pricing.saleWindow?.end : nil)
    }

    /// Whether the tag announces a price reduction.
    public var isPromotion: Bool { regularPrice != nil }

    /// The reduction against the prior price, in whole percent (`-25 %` on the tag and the page); nil under 1 %.
    public var discountPercent: Int? { Self.discountPercent(price: price, prior: priorPrice) }

    /// The reduction from `prior` to `price`, in whole percent; nil without a prior price or under 1 %.
    public static func discountPercent(price: Money, prior: Money?) -> Int? {
        guard let prior, prior.minorUnits > 0, prior.currency == price.currency else { return nil }
        let percent = Int((Double(prior.minorUnits - price.minorUnits) * 100 / Double(prior.minorUnits)).rounded())
        return percent >= 1 ? percent : nil
    }

    /// How a reduction is written: `-25 %`, the same on the tag and the page.
    public static func discountText(_ percent: Int) -> String { "-\(percent)\u{A0}%" }

    /// Crockford's alphabet in lower case: no i, l, o or u to misread.
    private static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)

    private static func base32(_ value: UInt64, characters: Int) -> String {
        var bytes: [UInt8] = []
        var rest = value
        for _ in 0..<characters {
            bytes.append(alphabet[Int(rest & 31)])
            rest >>= 5
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// FNV-1a, 64 bits: stable across runs and platforms, unlike `Hasher`.
private struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ text: String) {
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x100_0000_01b3
        }
    }
}

/// A tag as the print ledger remembers it.
public struct PrintedTag: Hashable, Sendable {
    public let label: ShelfLabel
    public let template: String
    public let printedAt: Date

    public init(label: ShelfLabel, template: String, printedAt: Date) {
        self.label = label
        self.template = template
        self.printedAt = printedAt
    }
}

/// One product on one store's shelf, with everything a tag needs.
public struct ShelfItem: Sendable {
    public let product: Product
    public let webOffer: WebOffer
    public let webHistory: PriceHistory
    public let listing: StoreListing

    public init(product: Product, webOffer: WebOffer, webHistory: PriceHistory, listing: StoreListing) {
        self.product = product
        self.webOffer = webOffer
        self.webHistory = webHistory
        self.listing = listing
    }

    /// The tag this item gets at `time`.
    public func label(at time: Date) -> ShelfLabel {
        let (pricing, history) = listing.shelfPricing(webOffer: webOffer, webHistory: webHistory)
        return ShelfLabel(
            storeCode: listing.store.code, gtin: product.gtin, pricing: pricing, history: history, unitPricing: product.unitPricing, at: time)
    }
}

/// Everything one store lists, with what its tags need.
public struct StoreShelf: Sendable {
    public let store: Store
    /// Ordered by GTIN.
    public let items: [ShelfItem]

    public init(store: Store, items: [ShelfItem]) {
        self.store = store
        self.items = items
    }
}

extension StoreShelf {
    /// Of `items`, those whose last printed tag no longer shows the display due at `time`, and those never printed:
    /// the daily reprint batch.
    public func itemsNeedingTags(_ items: [ShelfItem], latest: [GTIN: PrintedTag], at time: Date) -> [ShelfItem] {
        items.filter { item in Self.needsTag(item.label(at: time), lastPrinted: latest[item.product.gtin]) }
    }

    /// Whether a product's last printed tag (nil: never printed) no longer shows `label`, the display now due.
    public static func needsTag(_ label: ShelfLabel, lastPrinted: PrintedTag?) -> Bool { lastPrinted?.label.tagID != label.tagID }
}

/// Which price a shopper pays when the shelf shows less than the till: the rule of the store's country.
public enum DisplayedPriceRule {
    /// Whether the lower displayed price is the one to charge in the country of `locale` (`fr-FR`): in France the
    /// price shown to the consumer is the price charged (Code de la consommation, L112-1 and the arrêté of
    /// 3 December 1987). Elsewhere the page does not say which applies, and tells the shopper to ask.
    public static func lowerShelfPriceApplies(storeLocale locale: String) -> Bool {
        region(ofLocale: locale) == "FR"
    }

    /// The country of a BCP 47 locale (`fr-FR` → `FR`), upper-cased; nil without one.
    public static func region(ofLocale locale: String) -> String? { locale.split(separator: "-").dropFirst().first?.uppercased() }
}
