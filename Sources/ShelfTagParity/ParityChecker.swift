import Foundation
import NIOCore
import NIOFoundationCompat
import ShelfTagDomain
import ShelfTagFeeds
import ShelfTagStorage
import Synchronization

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
    /// Told of each live answer: the step (`resolver` or `web pages`), answers so far, requests in all.
    public var progress: (@Sendable (_ step: String, _ done: Int, _ total: Int) -> Void)?

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
        // What the resolver should answer is kept only for its rule, which asks the resolver about each offer.
        let walk: OfferInspection<ResolverExpectation>
        do {
            let known = Set(try await reference.stores().map(\.code))
            if let unknown = options.stores?.first(where: { !known.contains($0) }) { throw ParityError.unknownStore(unknown) }
            let keepOffers = options.resolver != nil
            let at = options.at
            walk = try await reference.inspectOffers(stores: options.stores, at: at) { offer in
                tally.add(Self.offerRules(offer, web: web[offer.gtin] ?? offer.webOffer, at: at) + Self.tagRules(offer))
                return keepOffers ? ResolverExpectation(offer) : nil
            }
        } catch let error as ParityError {
            throw error
        } catch {
            throw .storage("\(error)")
        }
        if let resolver = options.resolver {
            try await resolverRule(walk.findings, resolver: resolver, options: options, into: tally)
        }
        if options.crawl {
            try await crawlRule(web: web, options: options, into: tally)
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

    /// Asks the resolver for each offer's answer and checks it as it comes.
    private func resolverRule(_ expected: [ResolverExpectation], resolver: URL, options: ParityOptions, into tally: MismatchTally) async throws(ParityError) {
        let base = resolver.absoluteString.hasSuffix("/") ? String(resolver.absoluteString.dropLast()) : resolver.absoluteString
        var done = 0
        try await Fetcher.fetch(
            count: expected.count, url: { expected[$0].address(base: base) }, accept: "application/json", concurrency: options.concurrency,
            receive: { index, answer in
                tally.add(expected[index].mismatches(in: answer))
                done += 1
                options.progress?("resolver", done, expected.count)
            })
    }

    private func crawlRule(web: [GTIN: WebOffer], options: ParityOptions, into tally: MismatchTally) async throws(ParityError) {
        let time = options.at
        // The web side: the feeds given, else every imported web offer of the products the stores list.
        let products: [(key: GTIN, value: (WebOffer, String))]
        do {
            let listed = ListedProducts()
            let walk = try await reference.inspectOffers(stores: options.stores, at: time) { offer in
                listed.isNew(offer.gtin) ? (offer.gtin, (web[offer.gtin] ?? offer.webOffer, offer.title)) : nil
            }
            products = walk.findings.map { (key: $0.0, value: $0.1) }
        } catch {
            throw .storage("\(error)")
        }
        var done = 0
        try await Fetcher.fetch(
            count: products.count, url: { products[$0].value.0.link }, accept: "text/html", concurrency: options.concurrency,
            receive: { index, page in
                done += 1
                options.progress?("web pages", done, products.count)
                let (gtin, (offer, name)) = products[index]
                let expected = offer.pricing.effectivePrice(at: time)
                let shown = page.status == 200 ? JSONLD.offerPrice(in: String(buffer: page.body)) : nil
                if shown != expected.feedValue {
                    tally.add([
                        Mismatch(
                            rule: .webPagePrice, storeCode: nil, gtin: gtin, name: name,
                            shown: ("page", shown ?? "HTTP \(page.status), no JSON-LD offer price"), expected: ("feed", expected.feedValue),
                            difference: shown.flatMap { try? Money(feedValue: $0) }.flatMap { Mismatch.difference($0, expected) })
                    ])
                }
            })
    }
}

/// The products a walk has kept one offer of, for an `inspect` that runs on several threads at once.
private final class ListedProducts: Sendable {
    private let seen = Mutex(Set<GTIN>())

    func isNew(_ gtin: GTIN) -> Bool { seen.withLock { $0.insert(gtin).inserted } }
}

/// What the resolver should answer for one offer: the price display a tag due now shows (selling, regular, prior and
/// unit price, the promotion's end) and its stock. Only what its rule compares and names is kept, since a run may keep
/// a million of them while it asks.
struct ResolverExpectation: Sendable {
    let storeCode: String
    let gtin: GTIN
    let title: String
    let price: Money
    let regularPrice: Money?
    let priorPrice: Money?
    let unitPrice: Money?
    let promotionEnd: Date?
    let available: Int

    init(_ offer: OfferSnapshot) {
        storeCode = offer.storeCode
        gtin = offer.gtin
        title = offer.title
        let label = offer.label
        price = label.price
        regularPrice = label.regularPrice
        priorPrice = label.priorPrice
        unitPrice = label.unitPrice?.price
        promotionEnd = label.promotionEnd
        available = offer.onHand - offer.held
    }

    /// The Digital Link of the offer's product in its store, under the resolver's `base`.
    func address(base: String) -> String { "\(base)/01/\(gtin.digits)?s=\(DigitalLink.percentEncoded(storeCode))" }

    /// Where the resolver's JSON `answer` differs from the reference: each part of the price display, and the stock.
    func mismatches(in answer: Fetcher.Answer) -> [Mismatch] {
        var found: [Mismatch] = []
        func mismatch(_ shown: String, _ expected: String, _ difference: String? = nil) {
            found.append(
                Mismatch(
                    rule: .resolverAnswer, storeCode: storeCode, gtin: gtin, name: title, shown: ("resolver", shown), expected: ("reference", expected),
                    difference: difference))
        }
        func compare(_ part: String, shown: String?, expected: String?) {
            if shown != expected { mismatch("\(part) \(shown ?? "none")", "\(part) \(expected ?? "none")") }
        }
        guard answer.status == 200, let store = (try? JSONDecoder().decode(ResolverAnswer.self, from: answer.body))?.store, let shownPrice = store.price
        else {
            mismatch("HTTP \(answer.status), no store price", price.feedValue)
            return found
        }
        let shown = "\(shownPrice.amount) \(shownPrice.currency)"
        if shown != price.feedValue {
            mismatch(shown, price.feedValue, (try? Money(feedValue: shown)).flatMap { Mismatch.difference($0, price) })
        }
        compare("regular price", shown: store.regularPrice?.amount, expected: regularPrice?.decimalString)
        compare("prior price", shown: store.priorPrice?.amount, expected: priorPrice?.decimalString)
        compare("unit price", shown: store.unitPrice?.amount, expected: unitPrice?.decimalString)
        compare("promotion end", shown: store.promotionEnd, expected: promotionEnd.map(Timestamp.format))
        if (store.stock?.status == "out_of_stock") != (available <= 0) {
            mismatch("stock \(store.stock?.status ?? "none")", "available \(max(0, available))")
        }
        return found
    }
}

/// The fields of the resolver's JSON answer that parity reads.
private struct ResolverAnswer: Decodable {
    struct Store: Decodable {
        let price: Amount?
        let regularPrice: Amount?
        let priorPrice: Amount?
        let unitPrice: Amount?
        let promotionEnd: String?
        let stock: Stock?
    }

    struct Amount: Decodable {
        let amount: String
        let currency: String
    }

    struct Stock: Decodable {
        let status: String?
    }

    let store: Store?
}
