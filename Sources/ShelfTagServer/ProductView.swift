import Foundation
import ShelfTagDomain

/// An amount in the JSON document: exact decimal, ISO 4217 code, and as the page's locale writes it (`PageLanguage`).
struct MoneyDocument: Codable, Equatable {
    let amount: String
    let currency: String
    let formatted: String

    init(_ money: Money, locale: String) {
        amount = money.decimalString
        currency = money.currency.code
        formatted = money.formatted(locale: locale)
    }
}

/// The resolver's JSON answer: what the store page shows, for machines. Schema: `Templates/resolver/openapi.json`.
struct ProductDocument: Codable {
    struct Web: Codable {
        let price: MoneyDocument
        let regularPrice: MoneyDocument?
        let availability: String
        let link: String
    }

    struct UnitPriceDocument: Codable {
        let amount: String
        let currency: String
        let per: String
        let formatted: String
    }

    struct StockDocument: Codable {
        /// `in_stock`, `few_left` or `out_of_stock`.
        let status: String
        let available: Int
    }

    struct StoreDocument: Codable {
        let code: String
        let name: String
        let address: String
        /// schema.org `openingHours`, and whether the store is open at the answer's time, when the stores file gives them.
        let openingHours: String?
        let open: Bool?
        let price: MoneyDocument
        let regularPrice: MoneyDocument?
        let priorPrice: MoneyDocument?
        let unitPrice: UnitPriceDocument?
        let promotionEnd: String?
        let stock: StockDocument
        let pickupMethod: String?
        let pickupSLA: String?
    }

    struct TagDocument: Codable {
        let id: String
        let stale: Bool
        let shownPrice: MoneyDocument?
    }

    struct NearbyDocument: Codable {
        let code: String
        let name: String
        let distanceKm: Double
        let stock: StockDocument
        /// That store's page for the product, where the shopper can reserve there.
        let href: String
    }

    struct RatingDocument: Codable {
        let average: Double
        let count: Int
    }

    struct ReviewDocument: Codable {
        let rating: Double
        let author: String
        let date: String
        let title: String
        let text: String
    }

    struct AdvisorDocument: Codable {
        let code: String
        let name: String
        let store: String
        let languages: [String]
    }

    struct ActionDocument: Codable {
        /// `reserve`, `buy_online_pickup`, `ship_to_store`, `deliver` or `visit`.
        let type: String
        let title: String
        let href: String
        /// What the option does, when and at which price (`Gardé 48 h, payé au retrait · 11,65 €`).
        var detail: String? = nil
    }

    let gtin: String
    let uri: String
    let name: String
    let brand: String
    let description: String
    let image: String?
    /// The recycling fee included in the price (éco-participation), when the feed gives one.
    let ecoParticipation: MoneyDocument?
    let web: Web
    let store: StoreDocument?
    let tag: TagDocument?
    let nearby: [NearbyDocument]
    let rating: RatingDocument?
    let reviews: [ReviewDocument]
    let actions: [ActionDocument]
    let advisor: AdvisorDocument?
}

/// Everything one resolve shows, computed once and rendered as HTML, JSON or JSON-LD.
struct ProductView {
    /// A web-shop link with the associate's code under the retailer's parameter, so the web shop credits the sale.
    static func crediting(_ link: String, to advisor: Associate, configuration: ServerConfiguration) -> String {
        link + (link.contains("?") ? "&" : "?") + DigitalLink.percentEncoded(configuration.associateParameter) + "=" + advisor.code
    }

    let document: ProductDocument
    let details: ProductDetails
    let listing: StoreListing?
    let label: ShelfLabel?
    let stale: Bool
    let locale: String
    /// When what this view shows changes with no write to the data: a sale window of a shown price opening or closing.
    let changesAt: Date?
    let advisor: Associate?
    /// How far the nearby stores may be (the page says so when none is).
    let nearbyRadiusKilometres: Double
    /// Where each web-shop action leads, the advisor's code appended, by action type: with an advisor, the page links
    /// to the resolver's `/web` route, which counts the click-out and redirects here.
    let webTargets: [String: String]
    /// The web shop's promotion, as the page shows it without a store: the price, its Omnibus prior price and last day.
    let webPrice: Money
    let webPriorPrice: Money?
    let webPromotionEnd: Date?
    /// Whether the link named a store (known or not): without one, the page shows the web shop's offer as such.
    let askedForStore: Bool
    /// The price the scanned tag shows, when the print ledger knows it.
    let tagPrice: Money?
    /// Whether the page's store is open now, and until when or when it opens, when its opening hours are known.
    let openingText: String?
    /// The shown nearby stores that are shut now, by code: when each opens.
    let nearbyClosed: [String: String]

    init(
        details: ProductDetails, storeCode: String?, tagID: String?, printedTag: PrintedTag?, reviews: [Review], holds: [String: Int] = [:],
        language: String? = nil, advisor: Associate? = nil, wording: Wording, configuration: ServerConfiguration, at time: Date
    ) {
        self.details = details
        self.advisor = advisor
        let product = details.product
        let listing = details.stores.first { $0.store.code == storeCode }
        self.listing = listing
        // Without a store (an on-pack code), the chain's own locale: its stores', not a default the shopper never chose.
        locale = PageLanguage.locale(preferred: language, storeLocale: listing?.store.locale ?? details.stores.first?.store.locale ?? "en-US")
        let label = listing.map { listing -> ShelfLabel in
            let (pricing, history) = details.shelfPricing(at: listing)
            return ShelfLabel(storeCode: listing.store.code, gtin: product.gtin, pricing: pricing, history: history, unitPricing: product.unitPricing, at: time)
        }
        self.label = label
        let webPricing = details.webOffer.pricing
        webPrice = webPricing.effectivePrice(at: time)
        webPriorPrice = webPricing.isOnSale(at: time) ? details.webHistory.omnibusPriorPrice(at: time) : nil
        webPromotionEnd = webPricing.isOnSale(at: time) ? webPricing.saleWindow?.end : nil
        askedForStore = storeCode != nil
        tagPrice = printedTag?.label.price
        let pageLocale = locale
        let words = wording(pageLocale).page
        let opening = listing.flatMap { OpeningNotes.shared.note(for: $0.store, locale: pageLocale, words: words, at: time) }
        openingText = opening?.text
        // A tag is stale when the ledger knows it and it shows another display than today's.
        let stale = printedTag.map { $0.label.tagID != label?.tagID } ?? false
        self.stale = stale
        let locale = self.locale
        func stock(_ available: Int) -> ProductDocument.StockDocument {
            let status = available <= 0 ? "out_of_stock" : available <= configuration.fewLeftThreshold ? "few_left" : "in_stock"
            return ProductDocument.StockDocument(status: status, available: max(0, available))
        }
        // Available: on hand minus the units held by active reservations.
        func available(_ listing: StoreListing) -> Int { max(0, listing.offer.stock.onHand - (holds[listing.store.code] ?? 0)) }
        let nearby = listing.map { details.nearbyStock(from: $0, holds: holds, within: configuration.nearbyRadiusKilometres) } ?? []
        let shownNearby = Array(nearby.prefix(configuration.nearbyLimit))
        // A store nearby that is shut says when it opens: a shopper sent there should not find the doors closed.
        var nearbyNotes: [String: OpeningNotes.Note] = [:]
        for other in shownNearby {
            nearbyNotes[other.store.code] = OpeningNotes.shared.note(for: other.store, locale: pageLocale, words: words, at: time)
        }
        nearbyClosed = nearbyNotes.compactMapValues { note in if case .closed = note.status { note.text } else { nil } }
        // A sale window opening or closing, or the words on a shown store's opening ceasing to be true, changes the
        // page with no write.
        changesAt =
            ([details.webOffer.pricing, listing.map { details.shelfPricing(at: $0).pricing }].compactMap { $0?.nextChange(after: time) }
            + ([opening?.until] + nearbyNotes.values.map(\.until)).compactMap { $0 }).min()
        let base = configuration.baseURL
        let availableHere = listing.map { available($0) } ?? 0
        let steps = NextStep.choose(here: listing?.offer, availableHere: availableHere, web: details.webOffer, nearby: shownNearby)
        // The advisor's code goes with the shopper: to the reservation (credited there) and to the web shop.
        let advisorQuery = advisor.map { "&a=" + $0.code } ?? ""
        let storeQuery = listing.map { "?s=" + DigitalLink.percentEncoded($0.store.code) + advisorQuery } ?? ""
        var webTargets: [String: String] = [:]
        func web(_ type: String, _ link: String) -> String {
            guard let advisor else { return link }
            webTargets[type] = Self.crediting(link, to: advisor, configuration: configuration)
            let store = listing.map { "&s=" + DigitalLink.percentEncoded($0.store.code) } ?? ""
            return "\(base)/products/\(product.gtin.digits)/web?type=\(type)\(store)&a=\(advisor.code)"
        }
        // A pickup ordered through the web shop names the store it is for.
        func forStore(_ link: String) -> String {
            guard let listing else { return link }
            return link + (link.contains("?") ? "&" : "?") + DigitalLink.percentEncoded(configuration.storeParameter) + "="
                + DigitalLink.percentEncoded(listing.store.code)
        }
        let webPrice = webPricing.effectivePrice(at: time).formatted(locale: locale)
        let shelfPrice = label.map { $0.price.formatted(locale: locale) } ?? webPrice
        let actions = steps.map { step -> ProductDocument.ActionDocument in
            switch step {
            case .reserveHere:
                .init(
                    type: "reserve", title: words.reserve, href: "\(base)/products/\(product.gtin.digits)/reserve\(storeQuery)",
                    detail: words.reserveDetail(hours: Int(configuration.holdDuration / 3600)) + " · " + shelfPrice)
            case .buyOnlinePickUpHere(let link, let sla):
                .init(
                    type: "buy_online_pickup", title: words.buyOnlinePickUp, href: web("buy_online_pickup", forStore(link)),
                    detail: words.pickupDetail(sla) + " · " + webPrice)
            case .shipToStore(let link, let sla):
                .init(
                    type: "ship_to_store", title: words.shipToStore, href: web("ship_to_store", forStore(link)),
                    detail: words.shipDetail(sla) + " · " + webPrice)
            case .deliver(let link):
                .init(type: "deliver", title: words.deliver, href: web("deliver", link), detail: words.deliverDetail + " · " + webPrice)
            case .visitNearby(let other):
                .init(
                    type: "visit", title: words.visit(["store": other.store.name]),
                    href: "\(base)/products/\(product.gtin.digits)?s=\(DigitalLink.percentEncoded(other.store.code))")
            }
        }
        self.webTargets = webTargets
        nearbyRadiusKilometres = configuration.nearbyRadiusKilometres
        document = ProductDocument(
            gtin: product.gtin.digits,
            uri: DigitalLink(base: base, gtin: product.gtin, query: listing.map { [("s", $0.store.code)] } ?? []).uri,
            name: product.title, brand: product.brand, description: product.description, image: product.imageLink.isEmpty ? nil : product.imageLink,
            ecoParticipation: product.ecoParticipation.map { MoneyDocument($0, locale: locale) },
            web: .init(
                price: MoneyDocument(webPricing.effectivePrice(at: time), locale: locale),
                regularPrice: webPricing.isOnSale(at: time) ? MoneyDocument(webPricing.price, locale: locale) : nil,
                availability: details.webOffer.availability.rawValue, link: details.webOffer.link),
            store: listing.flatMap { listing in
                label.map { label in
                    ProductDocument.StoreDocument(
                        code: listing.store.code, name: listing.store.name, address: listing.store.address,
                        openingHours: listing.store.openingHours?.description, open: opening.map { if case .open = $0.status { true } else { false } },
                        price: MoneyDocument(label.price, locale: locale),
                        regularPrice: label.regularPrice.map { MoneyDocument($0, locale: locale) },
                        priorPrice: label.priorPrice.map { MoneyDocument($0, locale: locale) },
                        unitPrice: label.unitPrice.map {
                            .init(amount: $0.price.decimalString, currency: $0.price.currency.code, per: $0.baseLabel, formatted: $0.formatted(locale: locale))
                        },
                        promotionEnd: label.promotionEnd.map(Timestamp.format), stock: stock(availableHere),
                        pickupMethod: listing.offer.pickupMethod?.rawValue, pickupSLA: listing.offer.pickupSLA?.rawValue)
                }
            },
            tag: tagID.map {
                ProductDocument.TagDocument(
                    id: $0, stale: stale,
                    shownPrice: printedTag.map { MoneyDocument($0.label.price, locale: locale) })
            },
            nearby: shownNearby.map {
                .init(
                    code: $0.store.code, name: $0.store.name, distanceKm: ($0.distanceKilometres * 10).rounded() / 10, stock: stock($0.available),
                    href: "\(base)/products/\(product.gtin.digits)?s=\(DigitalLink.percentEncoded($0.store.code))\(advisorQuery)")
            },
            rating: details.rating.map { .init(average: ($0.average * 10).rounded() / 10, count: $0.count) },
            reviews: reviews.map {
                .init(
                    rating: $0.rating, author: $0.isAnonymous ? words.anonymous : $0.author, date: Timestamp.formatDay($0.publishedAt), title: $0.title,
                    text: $0.content)
            },
            actions: actions,
            advisor: advisor.map { .init(code: $0.code, name: $0.name, store: $0.storeCode, languages: $0.languages) })
    }
}
