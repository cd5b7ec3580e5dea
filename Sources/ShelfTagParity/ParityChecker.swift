import Foundation
import ShelfTagDomain
import ShelfTagFeeds
import ShelfTagStorage
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What to check.
public struct ParityOptions: Sendable {
    public var stores: [String]?
    public var at: Date
    /// Merchant Center feeds for the web side; empty: the imported web offers.
    public var webFeeds: [String]
    /// The resolver to compare, `https://s.example.com`.
    public var resolver: URL?
    /// Fetch each web product page and compare its JSON-LD.
    public var crawl: Bool
    /// Requests in flight at once.
    public var concurrency: Int
    /// Mismatches listed per rule (all are counted; 0 lists none); nil lists every one.
    public var listLimit: Int?

    public init(
        stores: [String]? = nil, at: Date, webFeeds: [String] = [], resolver: URL? = nil, crawl: Bool = false, concurrency: Int = 16,
        listLimit: Int? = nil
    ) {
        self.stores = stores
        self.at = at
        self.webFeeds = webFeeds
        self.resolver = resolver
        self.crawl = crawl
        self.concurrency = max(1, concurrency)
        self.listLimit = listLimit
    }
}

/// Why a parity run could not be done: bad input or an unreachable source (exit 2), never a pass.
public enum ParityError: Error, CustomStringConvertible {
    case feed(String)
    case unknownStore(String)
    case unreachable(url: String, reason: String)
    case storage(String)

    public var description: String {
        switch self {
        case .feed(let message): message
        case .unknownStore(let code): "unknown store '\(code)'"
        case .unreachable(let url, let reason): "\(url) is unreachable: \(reason)"
        case .storage(let message): "database: \(message)"
        }
    }
}

/// Runs the parity rules over the reference, the print ledger, web feeds, a live resolver and web pages.
public struct ParityChecker: Sendable {
    let reference: any ProductReference

    public init(reference: any ProductReference) {
        self.reference = reference
    }

    /// - Throws: `ParityError` for bad input or an unreachable source.
    public func run(_ options: ParityOptions) async throws(ParityError) -> ParityReport {
        var rules: [ParityRule] = [.storeWebPrice, .staleTag, .tagPriorPrice, .tagUnitPrice, .storeAvailability, .smallDiscount]
        if options.resolver != nil { rules.append(.resolverAnswer) }
        if options.crawl { rules.append(.webPagePrice) }
        let web = try readWebFeeds(options.webFeeds)
        let tally = MismatchTally(limit: options.listLimit)
        // The offers themselves are kept only for the resolver's rule, which asks the resolver about each.
        let walk: OfferInspection<OfferSnapshot>
        do {
            let known = Set(try await reference.stores().map(\.code))
            if let unknown = options.stores?.first(where: { !known.contains($0) }) { throw ParityError.unknownStore(unknown) }
            let keepOffers = options.resolver != nil
            let at = options.at
            walk = try await reference.inspectOffers(stores: options.stores, at: at) { offer in
                tally.add(Self.offerRules(offer, web: web[offer.gtin] ?? offer.webOffer, at: at) + Self.tagRules(offer))
                return keepOffers ? offer : nil
            }
        } catch let error as ParityError {
            throw error
        } catch {
            throw .storage("\(error)")
        }
        if let resolver = options.resolver {
            tally.add(try await resolverRule(walk.findings, resolver: resolver, at: options.at, concurrency: options.concurrency))
        }
        if options.crawl {
            tally.add(try await crawlRule(web: web, stores: options.stores, at: options.at, concurrency: options.concurrency))
        }
        return tally.report(at: options.at, rules: rules, offersChecked: walk.offers)
    }

    // MARK: Store offers against the web

    static func offerRules(_ offer: OfferSnapshot, web: WebOffer, at time: Date) -> [Mismatch] {
        var found: [Mismatch] = []
        for breach in PriceRules.check(shelf: offer.shelfPricing, web: web.pricing, at: time) {
            switch breach {
            case .differsFromWeb(let store, let online):
                found.append(
                    Mismatch(
                        rule: .storeWebPrice, storeCode: offer.storeCode, gtin: offer.gtin, name: offer.title, shown: ("store", store.feedValue),
                        expected: ("web", online.feedValue), difference: Mismatch.difference(store, online)))
            case .implausibleDiscount(let percent):
                found.append(
                    Mismatch(
                        rule: .smallDiscount, storeCode: offer.storeCode, gtin: offer.gtin, name: offer.title,
                        shown: ("discount", String(format: "%.1f %%", percent)),
                        expected: ("discount", "more than 5 % and less than 90 %")))
            }
        }
        let available = offer.onHand - offer.held
        let saysInStock = offer.availability == .inStock || offer.availability == .limitedAvailability
        if saysInStock && offer.onHand == 0 || offer.availability == .outOfStock && offer.onHand > 0 {
            found.append(
                Mismatch(
                    rule: .storeAvailability, storeCode: offer.storeCode, gtin: offer.gtin, name: offer.title,
                    shown: ("availability", offer.availability.rawValue),
                    expected: ("quantity", String(offer.onHand))))
        } else if let method = offer.pickupMethod, method == .buy || method == .reserve, available <= 0, saysInStock {
            found.append(
                Mismatch(
                    rule: .storeAvailability, storeCode: offer.storeCode, gtin: offer.gtin, name: offer.title, shown: ("pickup", method.rawValue),
                    expected: ("available", String(available))))
        }
        return found
    }

    private func readWebFeeds(_ paths: [String]) throws(ParityError) -> [GTIN: WebOffer] {
        var offers: [GTIN: WebOffer] = [:]
        for path in paths {
            var rejected: [String] = []
            do {
                let kind = try FeedKind.detect(path: path, displayName: path)
                guard kind == .products else { throw ParityError.feed("\(path): a \(kind.rawValue) file, not a Merchant Center product feed") }
                try ProductFeed.read(
                    path: path, displayName: path, row: { row, _ in offers[row.product.gtin] = row.webOffer }, rejected: { rejected.append($0.description) })
            } catch let error as ParityError {
                throw error
            } catch {
                throw .feed("\(error)")
            }
            if !rejected.isEmpty { throw .feed(rejected.joined(separator: "\n")) }
        }
        return offers
    }

    // MARK: The print ledger

    /// Stale tags, and printed tags whose prior price or unit price is wrong.
    static func tagRules(_ offer: OfferSnapshot) -> [Mismatch] {
        guard offer.storePrintsTags else { return [] }
        var found: [Mismatch] = []
        let current = offer.label
        let printed = offer.lastPrint
        if printed?.label.tagID != current.tagID {
            found.append(
                Mismatch(
                    rule: .staleTag, storeCode: offer.storeCode, gtin: offer.gtin, name: offer.title,
                    shown: ("tag", printed.map { Self.display($0.label) } ?? "never printed"), expected: ("now", Self.display(current)),
                    difference: printed.flatMap { Mismatch.difference($0.label.price, current.price) }))
        }
        guard let printed else { return found }
        let label = printed.label
        if label.isPromotion {
            let expected = offer.history.omnibusPriorPrice(at: printed.printedAt)
            if expected != label.priorPrice {
                found.append(
                    Mismatch(
                        rule: .tagPriorPrice, storeCode: offer.storeCode, gtin: offer.gtin, name: offer.title,
                        shown: ("tag", label.priorPrice?.feedValue ?? "no prior price"),
                        expected: ("30-day low", expected?.feedValue ?? "unknown (no history)")))
            }
        }
        let expectedUnit = offer.unitPricing?.unitPrice(of: label.price)
        if expectedUnit?.price != label.unitPrice?.price || expectedUnit?.base != label.unitPrice?.base {
            found.append(
                Mismatch(
                    rule: .tagUnitPrice, storeCode: offer.storeCode, gtin: offer.gtin, name: offer.title,
                    shown: ("tag", label.unitPrice.map { "\($0.price.feedValue)/\($0.baseLabel)" } ?? "none"),
                    expected: ("computed", expectedUnit.map { "\($0.price.feedValue)/\($0.baseLabel)" } ?? "none")))
        }
        return found
    }

    static func display(_ label: ShelfLabel) -> String {
        var text = label.price.feedValue
        if let prior = label.priorPrice { text += " (prior \(prior.feedValue))" }
        return text
    }

    // MARK: Live sources

    private func resolverRule(_ offers: [OfferSnapshot], resolver: URL, at time: Date, concurrency: Int) async throws(ParityError) -> [Mismatch] {
        let base = resolver.absoluteString.hasSuffix("/") ? String(resolver.absoluteString.dropLast()) : resolver.absoluteString
        let fetched = try await Fetcher.fetchAll(
            offers.map { "\(base)/01/\($0.gtin.digits)?s=\(DigitalLink.percentEncoded($0.storeCode))" }, accept: "application/json", concurrency: concurrency)
        var found: [Mismatch] = []
        for (offer, answer) in zip(offers, fetched) {
            func mismatch(_ shown: String, _ expected: String, _ difference: String? = nil) {
                found.append(
                    Mismatch(
                        rule: .resolverAnswer, storeCode: offer.storeCode, gtin: offer.gtin, name: offer.title, shown: ("resolver", shown),
                        expected: ("reference", expected), difference: difference))
            }
            let price = offer.shelfPricing.effectivePrice(at: time)
            guard answer.status == 200, let document = (try? JSONSerialization.jsonObject(with: answer.body)) as? [String: Any],
                let store = document["store"] as? [String: Any], let shownPrice = store["price"] as? [String: Any]
            else {
                mismatch("HTTP \(answer.status), no store price", price.feedValue)
                continue
            }
            let shown = "\(shownPrice["amount"] as? String ?? "?") \(shownPrice["currency"] as? String ?? "?")"
            if shown != price.feedValue {
                mismatch(shown, price.feedValue, (try? Money(feedValue: shown)).flatMap { Mismatch.difference($0, price) })
            }
            let unit = offer.unitPricing?.unitPrice(of: price)
            let shownUnit = (store["unitPrice"] as? [String: Any])?["amount"] as? String
            if shownUnit != unit?.price.decimalString {
                mismatch("unit price \(shownUnit ?? "none")", "unit price \(unit?.price.decimalString ?? "none")")
            }
            let available = offer.onHand - offer.held
            let status = (store["stock"] as? [String: Any])?["status"] as? String
            if (status == "out_of_stock") != (available <= 0) {
                mismatch("stock \(status ?? "none")", "available \(max(0, available))")
            }
        }
        return found
    }

    private func crawlRule(web: [GTIN: WebOffer], stores: [String]?, at time: Date, concurrency: Int) async throws(ParityError) -> [Mismatch] {
        // The web side: the feeds given, else every imported web offer of the products the stores list.
        let products: [(key: GTIN, value: (WebOffer, String))]
        do {
            let listed = ListedProducts()
            let walk = try await reference.inspectOffers(stores: stores, at: time) { offer in
                listed.isNew(offer.gtin) ? (offer.gtin, (web[offer.gtin] ?? offer.webOffer, offer.title)) : nil
            }
            products = walk.findings.map { (key: $0.0, value: $0.1) }
        } catch {
            throw .storage("\(error)")
        }
        let pages = try await Fetcher.fetchAll(products.map { $0.value.0.link }, accept: "text/html", concurrency: concurrency)
        var found: [Mismatch] = []
        for ((gtin, (offer, name)), page) in zip(products, pages) {
            let expected = offer.pricing.effectivePrice(at: time)
            let shown = page.status == 200 ? JSONLD.offerPrice(in: String(decoding: page.body, as: UTF8.self)) : nil
            if shown != expected.feedValue {
                found.append(
                    Mismatch(
                        rule: .webPagePrice, storeCode: nil, gtin: gtin, name: name, shown: ("page", shown ?? "HTTP \(page.status), no JSON-LD offer price"),
                        expected: ("feed", expected.feedValue),
                        difference: shown.flatMap { try? Money(feedValue: $0) }.flatMap { Mismatch.difference($0, expected) }))
            }
        }
        return found
    }
}

/// The products a walk has kept one offer of, for an `inspect` that runs on several threads at once.
private final class ListedProducts: Sendable {
    private let seen = Mutex(Set<GTIN>())

    func isNew(_ gtin: GTIN) -> Bool { seen.withLock { $0.insert(gtin).inserted } }
}
