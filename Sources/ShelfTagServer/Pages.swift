import Foundation
import Hummingbird
import Mustache
import ShelfTagDomain

/// Why the server cannot start.
public enum ServerStartError: Error, CustomStringConvertible {
    case templates(directory: String, reason: String)
    case missingTemplate(String)
    case messages(MessageCatalogError)
    /// The code asks for words English's message file does not have.
    case messagesMissing(language: String, keys: [String])

    public var description: String {
        switch self {
        case .templates(let directory, let reason): "cannot load the resolver templates in \(directory): \(reason)"
        case .missingTemplate(let name): "resolver template \(name) is missing"
        case .messages(let error): "cannot load the messages: \(error)"
        case .messagesMissing(let language, let keys): "messages/\(language).json lacks \(keys.joined(separator: ", "))"
        }
    }
}

/// The resolver's Mustache templates and their words, loaded once at start-up: a missing one fails there, not per
/// request.
struct Pages: Sendable {
    private let library: MustacheLibrary
    let wording: Wording
    /// What the advisor notice says and where its "forget" form posts.
    var attributionDays = 30
    var forgetAction = "/advisor/forget"
    var helpAction = "/help"
    static let required = ["product", "error", "reserve", "reservation", "advisor", "work-signin", "work", "work-product", "work-queue", "help"]

    static func load(from directory: URL) async throws(ServerStartError) -> Pages {
        MustacheContentTypes.register(ShopperHTML(), named: ShopperHTML.name)
        let path = directory.appendingPathComponent("resolver").path
        let library: MustacheLibrary
        do { library = try await MustacheLibrary(directory: path) } catch { throw .templates(directory: path, reason: "\(error)") }
        for name in required where library.getTemplate(named: name) == nil { throw .missingTemplate("\(path)/\(name).mustache") }
        let catalog: MessageCatalog
        do { catalog = try MessageCatalog.load(from: directory.appendingPathComponent("messages")) } catch { throw .messages(error) }
        return Pages(library: library, wording: try Wording(catalog: catalog))
    }

    /// An error page in the reader's language (else English): what happened and what to do next, in words; the
    /// precise reason below for whoever helps them.
    func error(_ error: ResolverError, language: String?) -> String {
        let words = wording(language ?? MessageCatalog.fallbackLanguage)
        var context: [String: Any] = [
            "lang": words.language, "status": error.status, "title": words.error.title(error.status), "next": words.error.next(error.status),
            "detailLabel": words.error.detailLabel, "detail": error.detail,
        ]
        if let link = error.link { context["link"] = ["href": link, "text": words.error.search] }
        return library.render(context, withTemplate: "error") ?? ""
    }

    /// Renders a template with a context, for pages built by their controllers.
    func render(_ name: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: name) ?? ""
    }

    /// The store page. Every value goes through Mustache's HTML escaping; the JSON-LD is escaped for a script element.
    func product(_ view: ProductView) -> String {
        let document = view.document
        let language = wording(view.locale)
        let words = language.page
        var context: [String: Any] = [
            "lang": language.language, "name": document.name, "brand": document.brand, "reviewsTitle": words.reviews, "noReviews": words.noReviews,
            "unavailable": words.unavailable, "nearbyTitle": words.nearby, "jsonLD": Self.jsonLD(view),
        ]
        if let image = document.image { context["image"] = image }
        // The fee in the price, under whichever price the page shows.
        let ecoParticipation = document.ecoParticipation.map { words.ecoParticipation(["amount": $0.formatted]) }
        func stockText(_ status: String) -> (String, String) {
            switch status {
            case "in_stock": (words.inStock, "in")
            case "few_left": (words.fewLeft, "few")
            default: (words.outOfStock, "out")
            }
        }
        if let store = document.store {
            let (text, style) = stockText(store.stock.status)
            var block: [String: Any] = [
                "name": store.name, "price": store.price.formatted, "stockText": text, "stockClass": style, "priorPriceLabel": words.priorPrice,
                "promotionEndLabel": words.until,
            ]
            if let unit = store.unitPrice { block["unitPrice"] = unit.formatted }
            if let ecoParticipation { block["ecoParticipation"] = ecoParticipation }
            // Where the store is, on an open map, and whether it is open: a shopper sent on from a store nearby goes there.
            block["address"] = store.address
            if let place = view.listing?.store { block["map"] = ["href": place.mapURL, "label": words.map] }
            if let opening = view.openingText { block["opening"] = opening }
            if let prior = store.priorPrice { block["priorPrice"] = prior.formatted }
            // What the tag shows: the reduction against the prior price.
            if let percent = view.label?.discountPercent { block["discount"] = ShelfLabel.discountText(percent) }
            if let end = view.label?.promotionEnd, let listing = view.listing {
                block["promotionEnd"] = DayText.format(end.addingTimeInterval(-1), locale: view.locale, timeZone: listing.store.timeZone, style: .long)
            }
            context["store"] = block
        } else {
            // An on-pack code names no store: the web shop's offer, its promotion as a tag would show it.
            var web: [String: Any] = [
                "label": view.askedForStore ? words.storeNotFound : words.webPrice, "price": document.web.price.formatted,
                "priorPriceLabel": words.priorPrice, "promotionEndLabel": words.until,
            ]
            if let ecoParticipation { web["ecoParticipation"] = ecoParticipation }
            if let prior = view.webPriorPrice {
                web["priorPrice"] = prior.formatted(locale: view.locale)
                if let percent = ShelfLabel.discountPercent(price: view.webPrice, prior: prior) { web["discount"] = ShelfLabel.discountText(percent) }
            }
            if let end = view.webPromotionEnd {
                let zone = view.details.stores.first?.store.timeZone ?? "UTC"
                web["promotionEnd"] = DayText.format(end.addingTimeInterval(-1), locale: view.locale, timeZone: zone, style: .long)
            }
            context["web"] = web
        }
        if let tag = document.tag, tag.stale, let shown = tag.shownPrice, let now = document.store?.price {
            // A tag showing less than the till never leaves the shopper to find out at the checkout.
            let lower = view.tagPrice.map { $0 < (view.label?.price ?? $0) } ?? false
            let notice =
                !lower
                ? words.staleNotice
                : DisplayedPriceRule.lowerShelfPriceApplies(storeLocale: view.listing?.store.locale ?? "") ? words.staleLowerApplies : words.staleLowerAsk
            context["staleNotice"] = notice(["shown": shown.formatted, "now": now.formatted])
        }
        let nearby = document.nearby.map { store -> [String: Any] in
            let (text, style) = store.stock.status == "few_left" ? (words.nearbyFewLeft, "few") : (words.nearbyInStock, "in")
            let distance = MeasureText.kilometres(store.distanceKm, locale: view.locale)
            var entry: [String: Any] = ["name": store.name, "distance": distance, "stockText": text, "stockClass": style, "href": store.href]
            if let closed = view.nearbyClosed[store.code] { entry["closed"] = closed }
            return entry
        }
        context["hasNearby"] = !nearby.isEmpty
        context["nearby"] = nearby
        // Out of stock here and no store within the radius has it: say so, rather than list none without a word.
        if nearby.isEmpty, document.store?.stock.status == "out_of_stock" {
            context["noneNearby"] = words.noneNearby(["radius": MeasureText.kilometres(view.nearbyRadiusKilometres, locale: view.locale)])
        }
        context["actions"] = document.actions.enumerated().map { index, action in
            var entry: [String: Any] = ["title": action.title, "href": action.href, "secondary": index > 0]
            if let detail = action.detail { entry["detail"] = detail }
            return entry
        }
        if let store = document.store {
            context["help"] = [
                "action": helpAction, "label": language.help.ask, "gtin": document.gtin, "store": store.code,
                "tag": document.tag?.id ?? "",
            ]
        }
        if let advisor = view.advisor {
            var block: [String: Any] = [
                "label": words.advisor, "name": advisor.name, "askFor": words.askFor(["name": advisor.name]),
                "remembered": words.remembered(["name": advisor.name, "days": "\(attributionDays)"]), "forget": words.forget, "forgetAction": forgetAction,
            ]
            if view.listing?.store.code == advisor.storeCode, let store = view.listing?.store { block["store"] = store.name }
            if !advisor.languages.isEmpty { block["languages"] = Self.spoken(advisor.languages, words: words, locale: view.locale) }
            context["advisor"] = block
        }
        if let rating = document.rating {
            context["rating"] = ["average": MeasureText.decimal(rating.average, locale: view.locale), "count": words.reviewCount(["count": "\(rating.count)"])]
            // The count above is every review; below are the latest few: say which, never "4 reviews" over three.
            if document.reviews.count < rating.count {
                context["reviewsShown"] = words.reviewsShown(["shown": "\(document.reviews.count)", "count": "\(rating.count)"])
            }
        }
        context["reviews"] = document.reviews.map {
            [
                "rating": MeasureText.decimal($0.rating, locale: view.locale), "title": $0.title, "text": $0.text, "author": $0.author,
                // The page's way, like the promotion's last day above it (the JSON keeps the ISO day, a calendar day:
                // written in UTC, where it was read).
                "date": (try? Timestamp.parse($0.date)).map { DayText.format($0.date, locale: view.locale, timeZone: "UTC", style: .long) } ?? $0.date,
            ]
        }
        return library.render(context, withTemplate: "product") ?? ""
    }

    /// "Speaks French, English", the language names written in the page's language.
    static func spoken(_ codes: [String], words: PageWords, locale: String) -> String {
        let page = Locale(identifier: locale)
        return words.speaks(["languages": codes.map { page.localizedString(forLanguageCode: $0) ?? $0 }.joined(separator: ", ")])
    }

    /// schema.org Product with its Offer (the same price as the page) and AggregateRating. Encoded from types, not
    /// through JSONSerialization's dictionaries: that took an eighth of an uncached page's CPU.
    static func jsonLD(_ view: ProductView) -> String {
        let document = view.document
        let price = document.store?.price ?? document.web.price
        // What the page shows, as the page shows it (no control or bidirectional characters from stored text).
        let shown = TextRule.displayable
        let product = LinkedProduct(
            name: shown(document.name), gtin14: document.gtin, brand: .init(type: "Brand", name: shown(document.brand)), image: document.image,
            offers: .init(
                price: price.amount, priceCurrency: price.currency, url: document.uri,
                availability: "https://schema.org/" + ((document.store?.stock.status ?? "in_stock") == "out_of_stock" ? "OutOfStock" : "InStock"),
                seller: view.listing.map { listing in
                    let store = listing.store
                    return .init(
                        type: "Store", name: shown(store.name), address: shown(store.address), geo: .init(latitude: store.latitude, longitude: store.longitude),
                        openingHours: store.openingHours.map { $0.description.components(separatedBy: "; ") })
                }),
            aggregateRating: document.rating.map { .init(ratingValue: $0.average, reviewCount: $0.count) })
        return scriptSafe(Response.jsonText(product))
    }

    /// JSON made safe inside `<script>`, where "</" and "<!--" must not appear: the angle brackets and ampersands
    /// written as JSON escapes.
    static func scriptSafe(_ json: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(json.utf8.count + 32)
        for byte in json.utf8 {
            switch byte {
            case UInt8(ascii: "<"): bytes.append(contentsOf: "\\u003c".utf8)
            case UInt8(ascii: ">"): bytes.append(contentsOf: "\\u003e".utf8)
            case UInt8(ascii: "&"): bytes.append(contentsOf: "\\u0026".utf8)
            default: bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The JSON-LD's shape (schema.org names; nil members are left out).
    private struct LinkedProduct: Encodable {
        struct Named: Encodable {
            let type: String
            let name: String
            var address: String? = nil
            /// A store's place and hours, for search engines' local results: schema.org's own opening-hours syntax.
            var geo: Geo? = nil
            var openingHours: [String]? = nil
            enum CodingKeys: String, CodingKey {
                case type = "@type"
                case name, address, geo, openingHours
            }
        }
        struct Geo: Encodable {
            let type = "GeoCoordinates"
            let latitude: Double
            let longitude: Double
            enum CodingKeys: String, CodingKey {
                case type = "@type"
                case latitude, longitude
            }
        }
        struct Offer: Encodable {
            let type = "Offer"
            let price: String
            let priceCurrency: String
            let url: String
            let availability: String
            let seller: Named?
            enum CodingKeys: String, CodingKey {
                case type = "@type"
                case price, priceCurrency, url, availability, seller
            }
        }
        struct Rating: Encodable {
            let type = "AggregateRating"
            let ratingValue: Double
            let reviewCount: Int
            enum CodingKeys: String, CodingKey {
                case type = "@type"
                case ratingValue, reviewCount
            }
        }
        let context = "https://schema.org"
        let type = "Product"
        let name: String
        let gtin14: String
        let brand: Named
        let image: String?
        let offers: Offer
        let aggregateRating: Rating?
        enum CodingKeys: String, CodingKey {
            case context = "@context"
            case type = "@type"
            case name, gtin14, brand, image, offers, aggregateRating
        }
    }
}

/// Numbers written the page's way (`1,2 km`, `4,5`), with the separators of the money beside them.
enum MeasureText {
    static func decimal(_ value: Double, locale: String) -> String { NumberText.decimal(value, locale: locale) }

    static func kilometres(_ value: Double, locale: String) -> String { decimal(value, locale: locale) + "\u{A0}km" }
}

/// HTML escaping that also drops the characters no field may hold (control characters, bidirectional overrides):
/// stored text written before these rules, or by other software, cannot reorder what a shopper reads. Templates
/// choose it with `{{% CONTENT_TYPE: SHOPPER_HTML }}`.
struct ShopperHTML: MustacheContentType {
    static let name = "SHOPPER_HTML"

    func escapeText(_ text: String) -> String {
        // Most values hold nothing to escape or drop, and go out as they are (a value's characters walked one by one
        // were a tenth of an uncached page's rendering).
        guard Self.needsEscaping(text) else { return text }
        var escaped = String.UnicodeScalarView()
        for scalar in TextRule.displayable(text).unicodeScalars {
            switch scalar {
            case "&": escaped.append(contentsOf: "&amp;".unicodeScalars)
            case "<": escaped.append(contentsOf: "&lt;".unicodeScalars)
            case ">": escaped.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": escaped.append(contentsOf: "&quot;".unicodeScalars)
            case "'": escaped.append(contentsOf: "&#39;".unicodeScalars)
            default: escaped.append(scalar)
            }
        }
        return String(escaped)
    }

    /// Whether `text` holds a character HTML escapes, or one `TextRule.displayable` drops.
    static func needsEscaping(_ text: String) -> Bool {
        text.utf8.contains { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 } || !TextRule.isDisplayable(text)
    }
}

extension Store {
    /// The store on OpenStreetMap, marked: an open map every phone opens, for the shopper on their way.
    var mapURL: String { "https://www.openstreetmap.org/?mlat=\(latitude)&mlon=\(longitude)#map=17/\(latitude)/\(longitude)" }
}
