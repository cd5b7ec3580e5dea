import Foundation

/// Everything every channel shows of one product: the reference that tags, the resolver and parity read.
public struct ProductDetails: Sendable {
    public let product: Product
    public let webOffer: WebOffer
    public let webHistory: PriceHistory
    /// One entry per store that lists the product, ordered by store code.
    public let stores: [StoreListing]
    public let rating: RatingSummary?

    public init(product: Product, webOffer: WebOffer, webHistory: PriceHistory, stores: [StoreListing], rating: RatingSummary?) {
        self.product = product
        self.webOffer = webOffer
        self.webHistory = webHistory
        self.stores = stores
        self.rating = rating
    }

    /// The price at one store: the store's own pricing, or else the web pricing (Merchant Center's
    /// "national default"), with the history that applies to it.
    public func shelfPricing(at listing: StoreListing) -> (pricing: Pricing, history: PriceHistory) {
        listing.shelfPricing(webOffer: webOffer, webHistory: webHistory)
    }
}

/// A product as one store lists it.
public struct StoreListing: Sendable {
    public let store: Store
    public let offer: StoreOffer
    /// The store's own price changes (empty when the store has no price of its own).
    public let history: PriceHistory

    public init(store: Store, offer: StoreOffer, history: PriceHistory) {
        self.store = store
        self.offer = offer
        self.history = history
    }

    /// The store's own pricing and history, or else the web's (Merchant Center's "national default").
    public func shelfPricing(webOffer: WebOffer, webHistory: PriceHistory) -> (pricing: Pricing, history: PriceHistory) {
        if let pricing = offer.pricing { return (pricing, history) }
        return (webOffer.pricing, webHistory)
    }
}

extension ProductDetails {
    /// The other stores within `radius` km of `listing`'s that have the product available (on hand minus `holds`),
    /// nearest first: what the product page and the reservation form offer as nearby.
    public func nearbyStock(from listing: StoreListing, holds: [String: Int], within radius: Double) -> [NearbyStock] {
        stores.compactMap { other -> NearbyStock? in
            let available = other.offer.stock.onHand - (holds[other.store.code] ?? 0)
            let distance = listing.store.distanceKilometres(to: other.store)
            guard other.store.code != listing.store.code, available > 0, distance <= radius else { return nil }
            return NearbyStock(store: other.store, available: available, distanceKilometres: distance)
        }.sorted { $0.distanceKilometres < $1.distanceKilometres }
    }
}
