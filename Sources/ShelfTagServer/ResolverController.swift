import Foundation
import HTTPTypes
import Hummingbird
import ShelfTagDomain
import ShelfTagStorage

/// The link types a product answers: GS1's, and ShelfTag's own namespace for what GS1 has none of.
enum LinkType: String, CaseIterable, Sendable {
    case defaultLink, pip, review, reserve, deliver

    static let gs1Namespace = "https://gs1.org/voc/"

    var prefix: String { self == .reserve || self == .deliver ? "shelftag:" : "gs1:" }

    func uri(ownNamespace: String) -> String { (prefix == "gs1:" ? Self.gs1Namespace : ownNamespace) + rawValue }

    /// Reads a `linkType` value: a CURIE (`gs1:pip`) or a full URI (`https://gs1.org/voc/pip`, `https://ref.gs1.org/voc/pip`).
    init?(parameter: String, ownNamespace: String) {
        let name: String
        if parameter.hasPrefix("gs1:") {
            name = String(parameter.dropFirst(4))
        } else if parameter.hasPrefix(Self.gs1Namespace) {
            name = String(parameter.dropFirst(Self.gs1Namespace.count))
        } else if parameter.hasPrefix("https://ref.gs1.org/voc/") {
            name = String(parameter.dropFirst("https://ref.gs1.org/voc/".count))
        } else if parameter.hasPrefix("shelftag:") {
            name = String(parameter.dropFirst(9))
        } else if parameter.hasPrefix(ownNamespace) {
            name = String(parameter.dropFirst(ownNamespace.count))
        } else {
            return nil
        }
        guard let type = LinkType(rawValue: name), type.prefix == (parameter.hasPrefix("shelftag:") || parameter.hasPrefix(ownNamespace) ? "shelftag:" : "gs1:")
        else { return nil }
        self = type
    }
}

/// Answers GS1 Digital Link URIs: redirects to the store page or another link, JSON, linksets; and the store page itself.
struct ResolverController: Sendable {
    let reference: any ProductReference
    let configuration: ServerConfiguration
    let pages: Pages
    let scans: ScanBuffer
    let metrics: Metrics
    let shopSearch: String?

    var ownNamespace: String { configuration.baseURL + "/voc/" }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/.well-known/gs1resolver") { _, _ in description }
        router.get("/products/:gtin") { request, context in try storePage(request, gtin: try context.parameters.require("gtin")) }
        router.get("/**") { request, _ in try resolve(request) }
        router.on("/**", method: .options) { _, _ in
            var headers = HTTPFields()
            headers[.allow] = "GET, HEAD, OPTIONS"
            headers[.accessControlAllowMethods] = "GET, HEAD, OPTIONS"
            headers[.accessControlAllowHeaders] = "Accept, Accept-Language"
            return Response(status: .noContent, headers: headers)
        }
    }

    /// `/.well-known/gs1resolver`: what this resolver supports (GS1-Conformant Resolver Standard 1.2, 4.4).
    var description: Response {
        let body: [String: Any] = [
            "name": "ShelfTag resolver", "resolverRoot": configuration.baseURL, "supportedPrimaryKeys": ["01"],
            "supportedLinkType": [["namespace": LinkType.gs1Namespace, "prefix": "gs1:"], ["namespace": ownNamespace, "prefix": "shelftag:"]],
            "linkTypeDefaultCanBeLinkset": false, "jsonLdContextLocation": "https://ref.gs1.org/standards/resolver/linkset-context",
            "contact": configuration.baseURL + "/openapi.json",
        ]
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return .text(String(decoding: data, as: UTF8.self), contentType: "application/json")
    }

    // MARK: Digital Link resolution

    func resolve(_ request: Request) throws -> Response {
        let link: ParsedDigitalLink
        do { link = try ParsedDigitalLink.parse(path: request.uri.path, query: request.uri.query) } catch {
            throw ResolverError.badRequest("\(request.uri.path) is not a valid GS1 Digital Link: \(error.description).")
        }
        guard let gtin = link.gtin else {
            throw ResolverError.notFound("This resolver answers GTINs (/01/{GTIN-14}); AI \(link.primaryKey.ai) keys are not registered here.")
        }
        let details = try product(gtin)
        let now = configuration.now()
        let storeCode = link.extensionValue("s")
        let tagID = link.extensionValue("t")
        let printed = try storeCode.flatMap { store in try tagID.flatMap { try reference.printedTag(store: store, gtin: gtin, tagID: $0) } }
        // The query goes on to the target (GS1 rule), without the linkType that chose it.
        let passed = (request.uri.query ?? "").split(separator: "&").filter { !$0.hasPrefix("linkType=") }.joined(separator: "&")
        let query = passed.isEmpty ? "" : "?" + passed
        let anchor = DigitalLink(
            base: configuration.baseURL, gtin: gtin, variant: link.qualifier("22"), lot: link.qualifier("10"), serial: link.qualifier("21")
        ).uri
        var headers = HTTPFields()
        headers[.vary] = "Accept, Accept-Language"
        headers[.link] = "<\(anchor)?linkType=linkset>; rel=\"linkset\"; type=\"application/linkset+json\""

        let accept = request.headers[.accept]
        let requested = link.extensionValue("linkType")
        let asLinkset =
            requested == "linkset" || requested == "all"
            || (requested == nil && ResponseFormat.preferred(accept: accept, offered: [.html, .json, .linkset]) == .linkset)
        func record(_ format: ScanFormat, _ view: ProductView) {
            scans.append(Scan(time: now, storeCode: view.listing?.store.code, gtin: gtin, tagID: tagID, stale: view.stale, format: format))
            metrics.scan(format: format.rawValue, stale: view.stale)
        }
        let answersJSON = !asLinkset && requested == nil && ResponseFormat.preferred(accept: accept, offered: [.html, .json]) == .json
        let reviews = answersJSON ? try reference.latestReviews(of: gtin, limit: configuration.reviewLimit) : []
        let view = ProductView(
            details: details, storeCode: storeCode, tagID: tagID, printedTag: printed, reviews: reviews, configuration: configuration, at: now)
        if asLinkset {
            record(.json, view)
            headers[.link] = "<https://ref.gs1.org/standards/resolver/linkset-context>; rel=\"http://www.w3.org/ns/json-ld#context\""
            return .text(linkset(anchor: anchor, details: details, query: query, view: view), contentType: "application/linkset+json", headers: headers)
        }
        if let requested {
            guard let type = LinkType(parameter: requested, ownNamespace: ownNamespace) else {
                let known = LinkType.allCases.map { $0.prefix + $0.rawValue }.joined(separator: ", ")
                throw ResolverError.notFound("This product has no link of type \(requested). Its link types: \(known), and linkset.")
            }
            record(.html, view)
            return .redirect(to: target(type, gtin: gtin, details: details, query: query), headers: headers)
        }
        if answersJSON {
            record(.json, view)
            return .json(view.document, headers: headers)
        }
        record(.html, view)
        return .redirect(to: target(.defaultLink, gtin: gtin, details: details, query: query), headers: headers)
    }

    private func product(_ gtin: GTIN) throws -> ProductDetails {
        guard let details = try reference.details(of: gtin) else {
            var error = ResolverError.notFound("No product with GTIN \(gtin.digits) is known here.")
            if let shopSearch { error.link = (shopSearch.replacingOccurrences(of: "{gtin}", with: gtin.digits), "Search the web shop") }
            throw error
        }
        return details
    }

    /// Where a link type leads; the request's query is passed on (GS1 resolver rule).
    private func target(_ type: LinkType, gtin: GTIN, details: ProductDetails, query: String) -> String {
        let page = "\(configuration.baseURL)/products/\(gtin.digits)"
        switch type {
        case .defaultLink: return page + query
        case .review: return page + query + "#reviews"
        case .reserve: return page + "/reserve" + query
        case .pip, .deliver:
            let link = details.webOffer.link
            guard !query.isEmpty else { return link }
            return link + (link.contains("?") ? "&" : "?") + query.dropFirst()
        }
    }

    /// RFC 9264 linkset for the key level: every link type with its target.
    private func linkset(anchor: String, details: ProductDetails, query: String, view: ProductView) -> String {
        let language = PageWords.forLocale(view.locale).language
        let titles: [LinkType: String] = [
            .defaultLink: "Price, stock and reviews in this store", .pip: "Product page on the web shop", .review: "Reviews",
            .reserve: "Reserve for pickup in this store", .deliver: "Have it delivered",
        ]
        var set: [String: Any] = ["anchor": anchor]
        for type in LinkType.allCases {
            var entry: [String: Any] = [
                "href": target(type, gtin: details.product.gtin, details: details, query: query), "title": titles[type]!, "type": "text/html",
            ]
            if type != .pip && type != .deliver { entry["hreflang"] = [language] }
            set[type.uri(ownNamespace: ownNamespace)] = [entry]
        }
        let data = (try? JSONSerialization.data(withJSONObject: ["linkset": [set]], options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: Store page

    func storePage(_ request: Request, gtin text: String) throws -> Response {
        let gtin: GTIN
        do { gtin = try GTIN(text) } catch { throw ResolverError.badRequest("'\(text)' is not a GTIN: \(error.description).") }
        let details = try product(gtin)
        let now = configuration.now()
        let query = request.uri.queryParameters
        let storeCode = query["s"].map(String.init)
        let tagID = query["t"].map(String.init)
        let printed = try storeCode.flatMap { store in try tagID.flatMap { try reference.printedTag(store: store, gtin: gtin, tagID: $0) } }
        let view = ProductView(
            details: details, storeCode: storeCode, tagID: tagID, printedTag: printed,
            reviews: try reference.latestReviews(of: gtin, limit: configuration.reviewLimit), configuration: configuration, at: now)
        var headers = HTTPFields()
        headers[.vary] = "Accept, Accept-Language"
        if ResponseFormat.preferred(accept: request.headers[.accept], offered: [.html, .json]) == .json {
            return .json(view.document, headers: headers)
        }
        return .text(pages.product(view, at: now), contentType: "text/html; charset=utf-8", headers: headers)
    }
}
