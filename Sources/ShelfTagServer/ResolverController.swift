import Foundation
import HTTPTypes
import Hummingbird
import Logging
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
    let advisors: Advisors
    let logger: Logger
    let cache: AnswerCache

    /// The namespace of ShelfTag's own link types: the base URL without its port, which GS1's linkset schema does
    /// not allow in a link type's key (`^https?://[a-zA-Z0-9./]+$`).
    var ownNamespace: String {
        guard var components = URLComponents(string: configuration.baseURL) else { return configuration.baseURL + "/voc/" }
        components.port = nil
        return (components.string ?? configuration.baseURL) + "/voc/"
    }

    func addRoutes(to router: Router<ShelfTagRequestContext>) {
        router.get("/.well-known/gs1resolver") { _, _ in description }
        router.get("/products/:gtin") { request, context in try await storePage(request, gtin: try context.parameters.require("gtin")) }
        router.post("/advisor/forget") { request, _ in
            var headers = HTTPFields()
            headers[.setCookie] = advisors.forgetCookie
            // Back to the page the form was on when it is one of ours, else the resolver's root.
            let back = request.headers[.referer].flatMap { $0.hasPrefix(configuration.baseURL + "/") ? $0 : nil } ?? configuration.baseURL + "/"
            // Without the link's a=, which would remember the advisor again.
            var target = URLComponents(string: back)
            let kept = target?.queryItems?.filter { $0.name != "a" } ?? []
            target?.queryItems = kept.isEmpty ? nil : kept
            headers[.location] = target?.string ?? configuration.baseURL + "/"
            return Response(status: .seeOther, headers: headers)
        }
        router.get("/associates/:code") { request, context in try await advisorPage(request, code: try context.parameters.require("code")) }
        router.get("/products/:gtin/web") { request, context in try await clickOut(request, gtin: try context.parameters.require("gtin")) }
        router.get("/**") { request, _ in try await resolve(request) }
        router.on("/**", method: .options) { request, _ in
            var headers = HTTPFields()
            headers[.allow] = "GET, HEAD, OPTIONS"
            headers[.accessControlAllowMethods] = "GET, HEAD, OPTIONS"
            headers[.accessControlAllowHeaders] = Self.allowedRequestHeaders(request.headers[.accessControlRequestHeaders])
            headers[.accessControlMaxAge] = "86400"
            // A Digital Link's OPTIONS names its linkset, where a client (GS1's test suite) looks for it.
            if let link = try? ParsedDigitalLink.parse(path: request.uri.path, query: nil), let gtin = link.gtin {
                headers[.link] = Self.linksetLink(anchor: anchor(of: link, gtin: gtin))
            }
            return Response(status: .noContent, headers: headers)
        }
    }

    /// Request headers a browser may send here: the common ones, and whatever else a preflight asks for that is a
    /// well-formed header name (nothing here depends on a header being refused, and no credentials are accepted
    /// cross-origin).
    static func allowedRequestHeaders(_ requested: String?) -> String {
        var names = ["Accept", "Accept-Language", "Content-Type", "Authorization", "Idempotency-Key", "If-None-Match", "Cache-Control"]
        let known = Set(names.map { $0.lowercased() })
        for name in (requested ?? "").split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            let isToken =
                name.utf8.count <= 64
                && name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_".unicodeScalars.contains($0)) }
            if isToken && !known.contains(name.lowercased()) { names.append(name) }
        }
        return names.joined(separator: ", ")
    }

    /// The link's key and qualifiers on this resolver, without its query: the linkset's anchor.
    private func anchor(of link: ParsedDigitalLink, gtin: GTIN) -> String {
        DigitalLink(base: configuration.baseURL, gtin: gtin, variant: link.qualifier("22"), lot: link.qualifier("10"), serial: link.qualifier("21")).uri
    }

    /// The `Link` header naming a Digital Link's linkset.
    static func linksetLink(anchor: String) -> String { "<\(anchor)?linkType=linkset>; rel=\"linkset\"; type=\"application/linkset+json\"" }

    /// `/.well-known/gs1resolver`: what this resolver supports (GS1-Conformant Resolver Standard 1.2, 4.4).
    var description: Response {
        let body: [String: Any] = [
            "name": "ShelfTag resolver", "resolverRoot": configuration.baseURL, "supportedPrimaryKeys": ["01"],
            "supportedLinkType": [["namespace": LinkType.gs1Namespace, "prefix": "gs1:"], ["namespace": ownNamespace, "prefix": "shelftag:"]],
            "linkTypeDefaultCanBeLinkset": false, "jsonLdContextLocation": "https://ref.gs1.org/standards/resolver/linkset-context",
            // The schema's vCard form: a formatted name and where to reach the operator.
            "contact": [
                "fn": "ShelfTag resolver at \(URL(string: configuration.baseURL)?.host ?? configuration.baseURL)", "hasURL": configuration.baseURL + "/",
            ],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return .text(String(decoding: data, as: UTF8.self), contentType: "application/json", headers: [.cacheControl: CachePolicy.published])
    }

    // MARK: Digital Link resolution

    func resolve(_ request: Request) async throws -> Response {
        var path = request.uri.path
        var query = request.uri.query
        var sameAs: String?
        // A compressed Digital Link resolves as the URI it stands for, which a `Link` header names.
        if CompressedDigitalLink.isCandidate(path: Substring(path)), (try? ParsedDigitalLink.parse(path: path, query: nil)) == nil {
            let elements: [(key: String, value: String)]
            do { elements = try CompressedDigitalLink.elements(Substring(path).drop { $0 == "/" }) } catch {
                throw ResolverError.badRequest(
                    "\(path) is neither a GS1 Digital Link (\(DigitalLinkError.noPrimaryKey.description)) nor a valid compressed one (\(error.description)).")
            }
            let uncompressed = CompressedDigitalLink.uncompressedPathAndQuery(elements)
            path = uncompressed.path
            query = [uncompressed.query, query ?? ""].filter { !$0.isEmpty }.joined(separator: "&")
            sameAs = configuration.baseURL + path + (query?.isEmpty == false ? "?" + query! : "")
        }
        let link: ParsedDigitalLink
        do { link = try ParsedDigitalLink.parse(path: path, query: query) } catch {
            throw ResolverError.badRequest("\(path) is not a valid GS1 Digital Link: \(error.description).")
        }
        guard let gtin = link.gtin else {
            throw ResolverError.notFound("This resolver answers GTINs (/01/{GTIN-14}); AI \(link.primaryKey.ai) keys are not registered here.")
        }
        let storeCode = link.extensionValue("s")
        let tagID = link.extensionValue("t")
        let language = pages.wording.preferred(by: request)
        // The query goes on to the target (GS1 rule), without the linkType that chose it.
        let passed = (query ?? "").split(byte: UInt8(ascii: "&")).filter { !$0.hasPrefix("linkType=") }.joined(separator: "&")
        let passedQuery = passed.isEmpty ? "" : "?" + passed
        let anchor = anchor(of: link, gtin: gtin)
        let requested = link.extensionValue("linkType")
        let wanted = requested == nil ? ResponseFormat.preferred(by: request, offered: [.html, .json, .linkset]) : .html
        let asLinkset = requested == "linkset" || requested == "all" || wanted == .linkset
        let answersJSON = !asLinkset && requested == nil && wanted == .json
        var headers = HTTPFields()
        // Only the JSON has a body that may go gzipped.
        headers[.vary] = answersJSON ? "Accept, Accept-Language, Accept-Encoding" : "Accept, Accept-Language"
        headers[.cacheControl] = CachePolicy.revalidate
        headers[.link] = Self.linksetLink(anchor: anchor) + (sameAs.map { ", <\($0)>; rel=\"owl:sameAs\"" } ?? "")
        // Only a link or a phone that carries a code costs a look-up (cached until the catalogue moves), and an async step.
        let linkCode = link.extensionValue("a")
        let advisor =
            Advisors.carriesCode(request, linkCode: linkCode)
            ? try await advisors.advisor(for: request, linkCode: linkCode, store: storeCode)?.associate : nil
        func record(_ format: ScanFormat, _ answer: AnswerCache.Answer) {
            // A parity run's requests are no shopper's scans.
            guard request.headers.value(of: .userAgent)?.hasPrefix(Scan.parityUserAgent) != true else { return }
            scans.append(
                Scan(
                    time: configuration.now(), storeCode: answer.storeCode, gtin: gtin, tagID: tagID, stale: answer.stale, format: format,
                    associateCode: advisor?.code))
            metrics.scan(format: format.rawValue, stale: answer.stale)
        }
        // JSON is answered from its cached body. Redirects and linksets need the product (404 when unknown) and the
        // scan's store and staleness, and no body: they are written per request from the summary's fields.
        let key = AnswerCache.Key(kind: answersJSON ? .json : .redirect, gtin: gtin.digits, store: storeCode, tag: tagID, language: language)
        let (hit, version) = try cachedAnswer(key, gtin: gtin)
        let summary: AnswerCache.Answer
        if let hit {
            summary = hit
        } else {
            summary = try await computed(key, version: version, gtin: gtin, advisor: nil) { view in
                AnswerCache.Answer(body: answersJSON ? Response.jsonText(view.document) : "", view: view)
            }
        }
        if answersJSON {
            record(.json, summary)
            headers[.contentType] = "application/json"
            return Self.respond(with: summary, headers: headers, to: request)
        }
        let webLink = summary.webLink
        if asLinkset {
            record(.json, summary)
            headers[.link] =
                "<https://ref.gs1.org/standards/resolver/linkset-context>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\""
                + (sameAs.map { ", <\($0)>; rel=\"owl:sameAs\"" } ?? "")
            let language = pages.wording(summary.locale).language
            return .text(
                linkset(anchor: anchor, gtin: gtin, title: summary.title, webLink: webLink, query: passedQuery, language: language),
                contentType: "application/linkset+json",
                headers: headers)
        }
        if let requested {
            guard let type = LinkType(parameter: requested, ownNamespace: ownNamespace) else {
                let known = LinkType.allCases.map { $0.prefix + $0.rawValue }.joined(separator: ", ")
                throw ResolverError.notFound("This product has no link of type \(requested). Its link types: \(known), and linkset.")
            }
            record(.html, summary)
            return .redirect(to: target(type, gtin: gtin, webLink: webLink, query: passedQuery), headers: headers)
        }
        record(.html, summary)
        // A signed-in associate's tablet scanning a tag gets the staff view of the product (a shopper's phone, with
        // no session cookie, takes no async step for it).
        if request.cookie(WorkController.sessionCookie) != nil,
            try await WorkController.session(of: request, reference: reference, at: configuration.now()) != nil
        {
            let tag = tagID.map { "?t=" + DigitalLink.percentEncoded($0) } ?? ""
            return .redirect(to: "\(configuration.baseURL)/work/products/\(gtin.digits)\(tag)", headers: headers)
        }
        return .redirect(to: target(.defaultLink, gtin: gtin, webLink: webLink, query: passedQuery), headers: headers)
    }

    /// The cache's answer for `key` at its product's current version, and that version: writes to other products do
    /// not retire it. Synchronous, so a request served from the cache never leaves its event loop, and a handler that
    /// calls it first takes no async step on a hit (each allocates a frame: a measurable share of a cached page).
    private func cachedAnswer(_ key: AnswerCache.Key, gtin: GTIN) throws -> (answer: AnswerCache.Answer?, version: Int) {
        let version = try reference.catalogVersion(of: gtin)
        return (cache.cached(key, version: version, now: configuration.now()), version)
    }

    /// The answer for `key` computed from a fresh view of the product (after `cachedAnswer` had none), and cached:
    /// answers are reused while the data is unchanged.
    private func computed(
        _ key: AnswerCache.Key, version: Int, gtin: GTIN, advisor: Associate?, make: (ProductView) throws -> AnswerCache.Answer
    ) async throws -> AnswerCache.Answer {
        try await cache.refresh(key, version: version, now: configuration.now()) {
            let now = configuration.now()
            // One read for the page: one round trip on a database server.
            let reviewLimit = key.kind == .redirect ? 0 : configuration.reviewLimit
            guard
                let page = try await reference.page(
                    of: gtin, store: key.store, tagID: key.tag, reviewLimit: reviewLimit, storesWithin: configuration.nearbyRadiusKilometres, at: now)
            else {
                throw unknownProduct(gtin)
            }
            return try make(
                ProductView(
                    details: page.details, storeCode: key.store, tagID: key.tag, printedTag: page.printedTag, reviews: page.reviews, holds: page.holds,
                    language: key.language, advisor: advisor, wording: pages.wording, configuration: configuration, at: now))
        }
    }

    private func unknownProduct(_ gtin: GTIN) -> ResolverError {
        var error = ResolverError.notFound("No product with GTIN \(gtin.digits) is known here.")
        if let shopSearch { error.link = shopSearch.replacingOccurrences(of: "{gtin}", with: gtin.digits) }
        return error
    }

    /// Where a link type leads; the request's query is passed on (GS1 resolver rule).
    private func target(_ type: LinkType, gtin: GTIN, webLink link: String, query: String) -> String {
        let page = "\(configuration.baseURL)/products/\(gtin.digits)"
        switch type {
        case .defaultLink: return page + query
        case .review: return page + query + "#reviews"
        case .reserve: return page + "/reserve" + query
        case .pip, .deliver:
            guard !query.isEmpty else { return link }
            return link + (link.contains("?") ? "&" : "?") + query.dropFirst()
        }
    }

    /// RFC 9264 linkset for the key level: every link type with its target.
    private func linkset(anchor: String, gtin: GTIN, title: String, webLink: String, query: String, language: String) -> String {
        let titles: [LinkType: String] = [
            .defaultLink: "Price, stock and reviews in this store", .pip: "Product page on the web shop", .review: "Reviews",
            .reserve: "Reserve for pickup in this store", .deliver: "Have it delivered",
        ]
        var set: [String: Any] = ["anchor": anchor, "itemDescription": title]
        for type in LinkType.allCases {
            var entry: [String: Any] = [
                "href": target(type, gtin: gtin, webLink: webLink, query: query), "title": titles[type]!, "type": "text/html",
            ]
            if type != .pip && type != .deliver { entry["hreflang"] = [language] }
            set[type.uri(ownNamespace: ownNamespace)] = [entry]
        }
        let data = (try? JSONSerialization.data(withJSONObject: ["linkset": [set]], options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: Store page

    func storePage(_ request: Request, gtin text: String) async throws -> Response {
        let gtin = try ResolverError.gtin(text)
        let query = RawQuery(request)
        let storeCode = query["s"]
        let tagID = query["t"]
        let language = pages.wording.preferred(by: request)
        let linkCode = query["a"]
        // Most pages carry no advisor's code: they take no async step for one.
        let advisor =
            Advisors.carriesCode(request, linkCode: linkCode) ? try await advisors.advisor(for: request, linkCode: linkCode, store: storeCode) : nil
        let asJSON = ResponseFormat.preferred(by: request, offered: [.html, .json]) == .json
        let key = AnswerCache.Key(
            kind: asJSON ? .pageJSON : .page, gtin: gtin.digits, store: storeCode, tag: tagID, language: language, advisor: advisor?.associate.code)
        let (hit, version) = try cachedAnswer(key, gtin: gtin)
        let answer: AnswerCache.Answer
        if let hit {
            answer = hit
        } else {
            answer = try await computed(key, version: version, gtin: gtin, advisor: advisor?.associate) { view in
                AnswerCache.Answer(body: asJSON ? Response.jsonText(view.document) : pages.product(view), view: view)
            }
        }
        // The fields every page answer has, built once: each field set per request searched and copied the list.
        var headers = asJSON ? Self.pageJSONFields : Self.pageFields
        if let advisor, advisor.fromLink { headers.append(HTTPField(name: .setCookie, value: advisors.rememberCookie(advisor.associate))) }
        return Self.respond(with: answer, headers: headers, to: request)
    }

    private static let pageFields: HTTPFields = [
        .contentType: "text/html; charset=utf-8", .vary: "Accept, Accept-Language, Cookie, Accept-Encoding",
        .cacheControl: CachePolicy.revalidatePrivately,
    ]
    private static let pageJSONFields: HTTPFields = [
        .contentType: "application/json", .vary: "Accept, Accept-Language, Cookie, Accept-Encoding", .cacheControl: CachePolicy.revalidatePrivately,
    ]

    /// A cached answer's body, gzipped when the client takes it, with its entity tag; or a 304 without the body when
    /// the client holds it already (a reload, a back button, a CDN revalidating).
    private static func respond(with answer: AnswerCache.Answer, headers: HTTPFields, to request: Request) -> Response {
        var headers = headers
        let body: ByteBuffer
        let entityTag: String?
        // The client first: the answer gzips its body at the first request that takes it.
        if request.acceptsGzip, let gzipped = answer.gzipped {
            (body, entityTag) = gzipped
            headers.append(HTTPField(name: .contentEncoding, value: "gzip"))
        } else {
            (body, entityTag) = (answer.bytes, answer.entityTag)
        }
        guard let entityTag else { return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: body)) }
        headers.append(HTTPField(name: .eTag, value: entityTag))
        guard request.holds(entityTag: entityTag) else { return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: body)) }
        // A 304 carries what a 200 would have said of caching, not of a body it does not have.
        headers[.contentType] = nil
        headers[.contentEncoding] = nil
        return Response(status: .notModified, headers: headers)
    }

    /// An associate's own page: who they are, where, the languages they speak; it remembers them on the phone.
    func advisorPage(_ request: Request, code: String) async throws -> Response {
        guard let normalized = Associate.normalizedCode(code), let associate = try await reference.associate(code: normalized) else {
            throw ResolverError.notFound("No associate with code \(code) works here any more.")
        }
        let store = try await reference.store(code: associate.storeCode)
        let locale = PageLanguage.locale(preferred: pages.wording.preferred(by: request), storeLocale: store?.locale ?? "en-US")
        let language = pages.wording(locale)
        let words = language.page
        var context: [String: Any] = [
            "lang": language.language, "label": words.advisor, "name": associate.name, "store": store?.name ?? associate.storeCode,
            "address": store?.address ?? "", "askFor": words.askFor(["name": associate.name]),
            "remembered": words.remembered(["name": associate.name, "days": "\(configuration.attributionDays)"]), "forget": words.forget,
            "forgetAction": configuration.baseURL + "/advisor/forget",
        ]
        if !associate.languages.isEmpty { context["languages"] = Pages.spoken(associate.languages, words: words, locale: locale) }
        var headers = HTTPFields()
        headers[.vary] = "Accept-Language"
        headers[.setCookie] = advisors.rememberCookie(associate)
        return .text(pages.render("advisor", context), contentType: "text/html; charset=utf-8", headers: headers)
    }

    /// A shopper leaving for the web shop from a page that carried an advisor: counted, then sent on with the
    /// advisor's code. Targets come from the product's own links, never from the request (no open redirect).
    func clickOut(_ request: Request, gtin text: String) async throws -> Response {
        let gtin = try ResolverError.gtin(text)
        let query = RawQuery(request)
        let storeCode = query["s"]
        let now = configuration.now()
        guard let page = try await reference.page(of: gtin, store: storeCode, tagID: nil, reviewLimit: 0, storesWithin: 0, at: now) else {
            throw unknownProduct(gtin)
        }
        let advisor = try await advisors.advisor(for: request, linkCode: query["a"], store: storeCode)?.associate
        let view = ProductView(
            details: page.details, storeCode: storeCode, tagID: nil, printedTag: nil, reviews: [], holds: page.holds, advisor: advisor,
            wording: pages.wording, configuration: configuration, at: now)
        var headers = HTTPFields()
        // The action's own target; else (the page no longer offers it) the product's web page, still credited.
        headers[.location] =
            query["type"].flatMap { view.webTargets[$0] }
            ?? advisor.map { ProductView.crediting(page.details.webOffer.link, to: $0, configuration: configuration) } ?? page.details.webOffer.link
        if let advisor {
            do {
                try await reference.recordClickOut(store: view.listing?.store.code, gtin: gtin, associateCode: advisor.code, at: now)
            } catch {
                // The shopper goes on to the web shop whatever happens to the count.
                logger.warning("a click-out was not counted: \(error)")
            }
        }
        return Response(status: .seeOther, headers: headers)
    }
}
