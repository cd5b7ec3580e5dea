import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import ShelfTagDomain
import ShelfTagServer
import ShelfTagStorage
import ShelfTagTestSupport
import Synchronization
import Testing

@testable import ShelfTagParity

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite("Parity against live sources")
struct LiveSourceTests {
    @Test("resolver: a resolver serving other data is reported, and counts no scan; an unreachable one is an error, not a pass")
    func resolver() async throws {
        let served = try await sampleDatabase()
        let servedReference = try SQLiteProductReference(path: served)
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        // The reference moves on: one promotion ends, another is cut short. The resolver still serves the old data.
        try await importText(
            "store_code\tid\tquantity\tprice\tsale_price\tsale_price_effective_date\tavailability\n"
                + "PAR01\tFR-EPI-0004\t32\t9.99 EUR\t\t\tin_stock\n"
                + "PAR01\tFR-EPI-0012\t26\t12.59 EUR\t10.70 EUR\t2026-11-16T08:00+0100/2026-12-10T20:00+0100\tin_stock\n",
            name: "inventory.tsv", into: reference)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "parity.resolver")
        logger.logLevel = .critical
        let configuration = ServerConfiguration(
            host: "127.0.0.1", port: 0, baseURL: "https://s.example", templatesDirectory: repository.appendingPathComponent("Templates"), now: { now })
        let application = try await buildApplication(configuration: configuration, reference: servedReference, logger: logger) {
            continuation.yield($0)
        }
        try await withRunning(application, ports: ports) { port in
            let report = try await check(reference, ParityOptions(stores: ["PAR01"], at: now, resolver: URL(string: "http://127.0.0.1:\(port)")!))
            let found = report.mismatches.filter { $0.rule == .resolverAnswer }.map { "\($0.gtin.digits): \($0.shown.value) / \($0.expected.value)" }
            // Every part of the price display the resolver shows: the ended promotion's (its prior price is
            // Samples/promotions.tsv's; the product is a 1 kg pack), and the other promotion's end.
            #expect(
                found.sorted() == [
                    "03760001001983: 11.65 EUR / 9.99 EUR", "03760001001983: prior price 15.03 / prior price none",
                    "03760001001983: promotion end 2026-12-14T19:00:00Z / promotion end none", "03760001001983: regular price 16.69 / regular price none",
                    "03760001001983: unit price 11.65 / unit price 9.99",
                    "03760001006223: promotion end 2026-12-14T19:00:00Z / promotion end 2026-12-10T19:00:00Z",
                ], "\(found)")
            #expect(report.mismatches.contains { $0.rule == .resolverAnswer && $0.shown.value == "11.65 EUR" && $0.difference == "+1.66 EUR" })
            #expect(report.rules.contains(.resolverAnswer))
            // A shopper's scan, for comparison: the resolver counts it, and none of parity's requests.
            var shopper = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/01/03760001001983?s=PAR01")!)
            shopper.setValue("application/json", forHTTPHeaderField: "Accept")
            #expect((try await URLSession.shared.data(for: shopper).1 as? HTTPURLResponse)?.statusCode == 200)
        }
        let scans = try await servedReference.scanCounts(store: nil, since: nil).reduce(0) { $0 + $1.scans }
        #expect(scans == 1, "parity's requests are no shopper's scans")
        do {
            _ = try await check(reference, ParityOptions(stores: ["PAR01"], at: now, resolver: URL(string: "http://127.0.0.1:9")!))
            Issue.record("an unreachable resolver passed")
        } catch let error as ParityError {
            #expect(error.description.hasPrefix("http://127.0.0.1:9/01/"), "\(error)")
            #expect(error.description.hasSuffix("is unreachable: connection refused"), "\(error)")
        }
    }

    @Test("crawl: each product page's JSON-LD price against the web feed")
    func crawl() async throws {
        let router = Router()
        router.get("/p/:price") { _, context -> Response in
            let price = try context.parameters.require("price")
            let html = """
                <html><head><script type="application/ld+json">{"@context": "https://schema.org", "@type": "Product", "name": "X",
                "offers": {"@type": "Offer", "price": "\(price)", "priceCurrency": "EUR"}}</script></head><body></body></html>
                """
            return Response(status: .ok, headers: [.contentType: "text/html"], body: .init(byteBuffer: ByteBuffer(string: html)))
        }
        let reference = try SQLiteProductReference(path: try newDatabasePath())
        try await serving(router) { port in
            try await importText(
                "code,name,address,latitude,longitude,timezone,locale\nPAR01,Paris,1 rue,48.86,2.35,Europe/Paris,fr-FR\n", name: "stores.csv", into: reference)
            try await importText(
                "id\ttitle\tdescription\tlink\timage_link\tavailability\tprice\tgtin\tbrand\n"
                    + "A\tRight price\td\thttp://127.0.0.1:\(port)/p/2.50\thttps://img/a.jpg\tin_stock\t2.50 EUR\t3760001001983\tB\n"
                    + "B\tWrong price\td\thttp://127.0.0.1:\(port)/p/4.10\thttps://img/b.jpg\tin_stock\t3.99 EUR\t3760001018189\tB\n",
                name: "products.tsv", into: reference)
            try await importText(
                "store_code\tid\tquantity\tavailability\nPAR01\tA\t5\tin_stock\nPAR01\tB\t5\tin_stock\n", name: "inventory.tsv", into: reference)
            let report = try await check(reference, ParityOptions(at: now, crawl: true))
            let found = report.mismatches.filter { $0.rule == .webPagePrice }
            #expect(found.count == 1)
            #expect(found.first?.gtin.digits == "03760001018189" && found.first?.shown.value == "4.10 EUR" && found.first?.difference == "+0.11 EUR")
            #expect(report.mismatches.count == 1, "\(report.mismatches)")
        }
        // The pages are gone: an unreachable site is an error.
        await #expect(throws: ParityError.self) { _ = try await check(reference, ParityOptions(at: now, crawl: true)) }
    }

    @Test("a page answering 503 is asked again after its Retry-After; one that keeps answering it is an error, not a mismatch")
    func transientStatuses() async throws {
        let asks = Mutex([String: Int]())
        let router = Router()
        router.get("/p/:name") { _, context -> Response in
            let name = try context.parameters.require("name")
            let ask = asks.withLock { counts in
                counts[name, default: 0] += 1
                return counts[name]!
            }
            guard name == "steady" || (name == "flaky" && ask > 1) else {
                return Response(status: .serviceUnavailable, headers: [.retryAfter: "0"])
            }
            let html = """
                <script type="application/ld+json">{"@type": "Product", "offers": {"price": "2.50", "priceCurrency": "EUR"}}</script>
                """
            return Response(status: .ok, headers: [.contentType: "text/html"], body: .init(byteBuffer: ByteBuffer(string: html)))
        }
        let reference = try SQLiteProductReference(path: try newDatabasePath())
        try await serving(router) { port in
            func products(_ second: String) -> String {
                "id\ttitle\tdescription\tlink\timage_link\tavailability\tprice\tgtin\tbrand\n"
                    + "A\tSteady\td\thttp://127.0.0.1:\(port)/p/steady\thttps://img/a.jpg\tin_stock\t2.50 EUR\t3760001001983\tB\n"
                    + "B\tOther\td\thttp://127.0.0.1:\(port)/p/\(second)\thttps://img/b.jpg\tin_stock\t2.50 EUR\t3760001018189\tB\n"
            }
            try await importText(
                "code,name,address,latitude,longitude,timezone,locale\nPAR01,Paris,1 rue,48.86,2.35,Europe/Paris,fr-FR\n", name: "stores.csv", into: reference)
            try await importText(products("flaky"), name: "products.tsv", into: reference)
            try await importText(
                "store_code\tid\tquantity\tavailability\nPAR01\tA\t5\tin_stock\nPAR01\tB\t5\tin_stock\n", name: "inventory.tsv", into: reference)
            let report = try await check(reference, ParityOptions(at: now, crawl: true))
            #expect(report.mismatches.isEmpty, "\(report.mismatches)")
            #expect(asks.withLock { $0 } == ["steady": 1, "flaky": 2])

            try await importText(products("down"), name: "products.tsv", into: reference)
            do {
                _ = try await check(reference, ParityOptions(at: now, crawl: true))
                Issue.record("a page that never answered passed")
            } catch let error as ParityError {
                #expect(error.description == "http://127.0.0.1:\(port)/p/down is unreachable: answered HTTP 503 Service Unavailable 4 times")
            }
            #expect(asks.withLock { $0["down"] } == Fetcher.attempts)
        }
    }

    @Test("proxies come from the environment as curl reads them")
    func proxies() {
        let settings = ProxySettings(environment: [
            "http_proxy": "proxy.corp:3128", "HTTPS_PROXY": "http://secure.corp:8443", "no_proxy": "localhost, .internal.example,127.0.0.1",
        ])
        #expect(settings.proxy(for: "http://shop.example/p/1") == .init(host: "proxy.corp", port: 3128))
        #expect(settings.proxy(for: "https://shop.example/p/1") == .init(host: "secure.corp", port: 8443))
        #expect(settings.proxy(for: "https://s.internal.example/01/03760001001983") == nil, "a subdomain of a domain no_proxy names")
        #expect(settings.proxy(for: "https://internal.example/") == nil)
        #expect(settings.proxy(for: "https://notinternal.example/") == .init(host: "secure.corp", port: 8443))
        #expect(settings.proxy(for: "http://127.0.0.1:8080/01/03760001001983") == nil)
        // curl reads no upper-case HTTP_PROXY (a CGI script's request header could set it), and takes port 1080 when none is given.
        #expect(ProxySettings(environment: ["HTTP_PROXY": "proxy.corp:3128"]).proxy(for: "http://shop.example/") == nil)
        #expect(ProxySettings(environment: ["https_proxy": "proxy.corp"]).proxy(for: "https://shop.example/") == .init(host: "proxy.corp", port: 1080))
        #expect(ProxySettings(environment: ["https_proxy": "proxy.corp", "NO_PROXY": "*"]).proxy(for: "https://shop.example/") == nil)
        #expect(
            ProxySettings(environment: ["https_proxy": "http://ci%40shop:s%3Acret@proxy.corp:3128"]).proxy(for: "https://shop.example/")
                == .init(host: "proxy.corp", port: 3128, user: "ci@shop", password: "s:cret"))
    }

    /// Runs `body` while a web shop's pages are served by `router` on a free port of 127.0.0.1.
    private func serving(_ router: Router<BasicRequestContext>, _ body: (Int) async throws -> Void) async throws {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "parity.pages")
        logger.logLevel = .critical
        let pages = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), onServerRunning: { continuation.yield($0.localAddress!.port!) },
            logger: logger)
        try await withRunning(pages, ports: ports, body)
    }
}
