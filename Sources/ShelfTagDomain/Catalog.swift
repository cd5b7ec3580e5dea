import Foundation

/// A shop: where tags hang and stock sits.
public struct Store: Hashable, Sendable {
    /// The Business Profile store code, case-sensitive (`PAR01`).
    public let code: String
    public let name: String
    public let address: String
    public let latitude: Double
    public let longitude: Double
    /// An IANA time zone (`Europe/Paris`).
    public let timeZone: String
    /// A BCP 47 locale for prices and dates (`fr-FR`).
    public let locale: String
    /// The most a shopper may reserve at once.
    public let maxReservation: Int
    /// When the doors are open, if the stores file says: a hold never ends while they are shut.
    public let openingHours: OpeningHours?
    /// Where `render --printer store` sends this store's tags, if the stores file says: the thermal label printer that
    /// takes ZPL (`tcp://HOST[:9100]` or `ipp://…`) and the office printer that takes PDF (`ipp://…`, `ipps://…`).
    public let labelPrinter: String?
    public let officePrinter: String?

    public init(
        code: String, name: String, address: String, latitude: Double, longitude: Double, timeZone: String, locale: String, maxReservation: Int = 5,
        openingHours: OpeningHours? = nil, labelPrinter: String? = nil, officePrinter: String? = nil
    ) {
        self.maxReservation = maxReservation
        self.openingHours = openingHours
        self.labelPrinter = labelPrinter
        self.officePrinter = officePrinter
        self.code = code
        self.name = name
        self.address = address
        self.latitude = latitude
        self.longitude = longitude
        self.timeZone = timeZone
        self.locale = locale
    }

    /// The mean Earth radius (IUGG), in kilometres.
    static let earthRadiusKilometres = 6371.0088

    /// Great-circle distance in kilometres (haversine, mean Earth radius).
    public func distanceKilometres(to other: Store) -> Double {
        let radians = Double.pi / 180
        let dLat = (other.latitude - latitude) * radians
        let dLon = (other.longitude - longitude) * radians
        let a =
            sin(dLat / 2) * sin(dLat / 2)
            + cos(latitude * radians) * cos(other.latitude * radians) * sin(dLon / 2) * sin(dLon / 2)
        return Self.earthRadiusKilometres * 2 * atan2(a.squareRoot(), (1 - a).squareRoot())
    }

    /// The degrees of latitude that `kilometres` spans along a meridian, rounded up: a store farther than that in
    /// latitude is farther than `kilometres` away, whatever its longitude (no great circle is shorter than its change
    /// of latitude). What a read of the stores near one can filter on without trigonometry.
    public static func latitudeDegrees(spanning kilometres: Double) -> Double {
        kilometres / earthRadiusKilometres * 180 / .pi * (1 + 1e-9)
    }

    /// The degrees of longitude either side of a point at `latitude` that hold every point within `kilometres` of it,
    /// rounded up: the circle of that radius touches the meridians asin(sin δ / cos φ) away, δ its angular radius. Nil
    /// when a pole lies within `kilometres`, and so does every longitude. Readers compare it with the difference of
    /// longitudes the short way round (across ±180° where that is shorter).
    public static func longitudeDegrees(spanning kilometres: Double, atLatitude latitude: Double) -> Double? {
        let angle = kilometres / earthRadiusKilometres
        let radians = Double.pi / 180
        guard abs(latitude) * radians + angle < .pi / 2 else { return nil }
        // The absolute margin covers asin's rounding where its argument nears 1 (a circle that nearly reaches a pole).
        return asin(sin(angle) / cos(latitude * radians)) / radians * (1 + 1e-9) + 1e-6
    }
}

/// What is sold: one GTIN, described as the web channel's primary feed describes it.
public struct Product: Hashable, Sendable {
    public let gtin: GTIN
    /// The feed's `id`, which the inventory feed joins on.
    public let itemID: String
    public let title: String
    public let description: String
    public let brand: String
    public let imageLink: String
    public let productType: String
    /// The pack size and the quantity the unit price is quoted per (`750g` per `1kg`).
    public let unitPricing: UnitPricing?
    /// The recycling fee included in the price that French law has shown beside it (éco-participation: DEEE for
    /// electrical goods, DEA for furniture), from the feed's `eco_participation`.
    public let ecoParticipation: Money?

    public init(
        gtin: GTIN, itemID: String, title: String, description: String = "", brand: String = "", imageLink: String = "", productType: String = "",
        unitPricing: UnitPricing? = nil, ecoParticipation: Money? = nil
    ) {
        self.ecoParticipation = ecoParticipation
        self.gtin = gtin
        self.itemID = itemID
        self.title = title
        self.description = description
        self.brand = brand
        self.imageLink = imageLink
        self.productType = productType
        self.unitPricing = unitPricing
    }
}

/// A pack size and the base the unit price is quoted per.
public struct UnitPricing: Hashable, Sendable {
    public let measure: Measure
    public let base: Measure

    /// - Throws: `MeasureError.mismatchedDimensions` when measure and base are different kinds of unit.
    public init(measure: Measure, base: Measure) throws(MeasureError) {
        guard measure.unit.dimension == base.unit.dimension else {
            throw MeasureError.mismatchedDimensions(measure: measure.feedValue, base: base.feedValue)
        }
        self.measure = measure
        self.base = base
    }

    /// The unit price of `price` for this pack.
    public func unitPrice(of price: Money) -> UnitPrice {
        // Dimensions were checked in init, so this cannot throw.
        try! UnitPrice(price: price, measure: measure, base: base)
    }
}

/// Web-channel availability, Merchant Center's list.
public enum WebAvailability: String, Sendable, CaseIterable {
    case inStock = "in_stock"
    case outOfStock = "out_of_stock"
    case preorder
    case backorder
}

/// The web shop's offer for a product.
public struct WebOffer: Hashable, Sendable {
    public let gtin: GTIN
    public let pricing: Pricing
    public let availability: WebAvailability
    /// The product page on the web shop.
    public let link: String

    public init(gtin: GTIN, pricing: Pricing, availability: WebAvailability, link: String) {
        self.gtin = gtin
        self.pricing = pricing
        self.availability = availability
        self.link = link
    }
}

/// In-store availability, the local inventory feed's list.
public enum StoreAvailability: String, Sendable, CaseIterable {
    case inStock = "in stock"
    case limitedAvailability = "limited availability"
    case onDisplayToOrder = "on display to order"
    case outOfStock = "out of stock"

    /// Google's reading of a quantity: 3 or more in stock, 1 to 2 limited, 0 out of stock.
    public init(quantity: Int) {
        self = quantity >= 3 ? .inStock : quantity > 0 ? .limitedAvailability : .outOfStock
    }
}

/// How a shopper can get the item at the store (`pickup_method`).
public enum PickupMethod: String, Sendable, CaseIterable {
    case buy
    case reserve
    case shipToStore = "ship to store"
    case notSupported = "not supported"
}

/// How soon a pickup is ready (`pickup_SLA`).
public enum PickupSLA: String, Sendable, CaseIterable {
    case sameDay = "same day"
    case nextDay = "next day"
    case twoDay = "2-day"
    case threeDay = "3-day"
    case fourDay = "4-day"
    case fiveDay = "5-day"
    case sixDay = "6-day"
    case multiWeek = "multi-week"
}

/// A store's offer for a product and the stock behind it.
public struct StoreOffer: Hashable, Sendable {
    public let storeCode: String
    public let gtin: GTIN
    /// The store's own price; nil means the web price applies in this store.
    public let pricing: Pricing?
    public let availability: StoreAvailability
    public let pickupMethod: PickupMethod?
    public let pickupSLA: PickupSLA?
    /// Units on hand.
    public let stock: Stock

    public init(
        storeCode: String, gtin: GTIN, pricing: Pricing?, availability: StoreAvailability, pickupMethod: PickupMethod?, pickupSLA: PickupSLA?, stock: Stock
    ) {
        self.storeCode = storeCode
        self.gtin = gtin
        self.pricing = pricing
        self.availability = availability
        self.pickupMethod = pickupMethod
        self.pickupSLA = pickupSLA
        self.stock = stock
    }
}

/// Units on hand in one store, never negative.
public struct Stock: Hashable, Sendable {
    public let onHand: Int

    /// The most one store may have of one product: far above any shelf, and a million of them still sum far below
    /// an overflow.
    public static let maximumOnHand = 1_000_000_000

    public init(onHand: Int) {
        self.onHand = max(onHand, 0)
    }
}

/// A shopper's review of one product.
public struct Review: Hashable, Sendable {
    public let id: String
    public let gtin: GTIN
    /// On the 1 to 5 scale, decimals allowed.
    public let rating: Double
    public let author: String
    public let isAnonymous: Bool
    public let publishedAt: Date
    public let title: String
    public let content: String

    public init(id: String, gtin: GTIN, rating: Double, author: String, isAnonymous: Bool, publishedAt: Date, title: String, content: String) {
        self.id = id
        self.gtin = gtin
        self.rating = rating
        self.author = author
        self.isAnonymous = isAnonymous
        self.publishedAt = publishedAt
        self.title = title
        self.content = content
    }
}

/// Average rating and count.
public struct RatingSummary: Hashable, Sendable {
    public let average: Double
    public let count: Int

    public init(average: Double, count: Int) {
        self.average = average
        self.count = count
    }
}
