import Foundation
import ShelfTagDomain
import ShelfTagPrinting
import ShelfTagRender
import ShelfTagSecrets
import ShelfTagStorage
import ShelfTagTestSupport
import Testing

@Suite("Resolver: stale tags, scans, store updates")
struct StoreUpdateTests {
    /// A token of `store` with `scopes`, as `shelftag token create` makes one.
    func token(_ reference: any ProductReference, store: String, scopes: Set<TokenScope>) async throws -> String {
        let token = AccessToken.generate()
        try await reference.saveToken(hash: SecretHash.of(token), grant: TokenGrant(storeCode: store, scopes: scopes), createdAt: testNow, expiresAt: nil)
        return token
    }

    func post(_ server: TestServer, _ path: String, token: String?, _ body: String) async throws -> TestServer.Reply {
        var headers = ["Content-Type": "application/json"]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        return try await server.request(path, method: "POST", accept: "application/json", headers: headers, body: Data(body.utf8))
    }

    @Test("a tag printed before a price change says so plainly, the scan is flagged stale, and stats count it")
    func staleTagNotice() async throws {
        let path = try await sampleDatabase()
        let reference = try SQLiteProductReference(path: path)
        let run = try await PrintRun.run(
            PrintRequest(
                storeCode: "PAR01", gtins: [try GTIN("3760001018189")], baseURL: publicBase, directory: try newDirectory(), time: testNow),
            reference: reference, library: TemplateLibrary(directory: repository.appendingPathComponent("Templates")))
        let printed = try #require(run.rendered.first)
        let uri = printed.content.uri.replacingOccurrences(of: publicBase, with: "")
        let token = try await token(reference, store: "PAR01", scopes: [.prices])
        try await TestServer.with(reference: reference) { server in
            let fresh = try await server.json(uri)
            #expect((fresh["tag"] as? [String: Any])?["stale"] as? Bool == false)

            let update = try await post(server, "/api/stores/PAR01/prices", token: token, #"{"gtin": "3760001018189", "price": "5.99 EUR"}"#)
            #expect(update.status == 200, "\(update.text)")
            #expect(update.json?["changed"] as? Int == 1)

            let page = try await server.request(uri.replacingOccurrences(of: "/01/", with: "/products/"), accept: "text/html").text
            #expect(
                page.contains("L’étiquette en rayon indique 6,39\u{A0}€ ; le prix est maintenant 5,99\u{A0}€.")
                    || page.contains("L&#39;étiquette en rayon indique 6,39\u{A0}€ ; le prix est maintenant 5,99\u{A0}€."))
            let stale = try await server.json(uri)
            #expect((stale["tag"] as? [String: Any])?["stale"] as? Bool == true)
            #expect(((stale["tag"] as? [String: Any])?["shownPrice"] as? [String: Any])?["amount"] as? String == "6.39")
            let redirected = try await server.request(uri, accept: "text/html")
            #expect(redirected.status == 307)
        }
        // The server wrote its buffered scans when it shut down.
        let counts = try await reference.scanCounts(store: "PAR01", since: nil)
        #expect(counts.map(\.scans).reduce(0, +) == 3)
        #expect(counts.map(\.staleScans).reduce(0, +) == 2)
        #expect(counts.first?.gtin.digits == "03760001018189" && counts.first?.day == "2026-11-23")
        // The new price is in the history, and the tag is in tomorrow's --stale batch.
        let shelf = try #require(try await reference.shelf(of: "PAR01"))
        let latest = try await reference.latestPrints(in: "PAR01")
        #expect(shelf.itemsNeedingTags(shelf.items, latest: latest, at: testNow).contains { $0.product.gtin.digits == "03760001018189" })
        #expect(
            try await reference.details(of: try GTIN("3760001018189"))?.stores.first { $0.store.code == "PAR01" }?.history.changes.last?.pricing.price
                .minorUnits
                == 599)
    }

    @Test("a price that went up since the tag was printed: the page says which price applies (France: the lower shelf price), never the higher one silently")
    func higherPriceThanTag() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let run = try await PrintRun.run(
            PrintRequest(
                storeCode: "PAR01", gtins: [try GTIN("3760001018189")], baseURL: publicBase, directory: try newDirectory(), time: testNow),
            reference: reference, library: TemplateLibrary(directory: repository.appendingPathComponent("Templates")))
        let uri = try #require(run.rendered.first).content.uri.replacingOccurrences(of: publicBase, with: "")
        let token = try await token(reference, store: "PAR01", scopes: [.prices])
        try await TestServer.with(reference: reference) { server in
            // A price that went up: the tag shows less than the till, and in France the shelf price applies.
            let raise = try await post(server, "/api/stores/PAR01/prices", token: token, #"{"gtin": "3760001018189", "price": "6.99 EUR"}"#)
            #expect(raise.status == 200)
            let higher = try await server.request(uri.replacingOccurrences(of: "/01/", with: "/products/"), accept: "text/html").text
            #expect(
                higher.contains(
                    "L&#39;étiquette en rayon indique 6,39\u{A0}€ et le prix est maintenant 6,99\u{A0}€ : en caisse, c&#39;est le prix affiché en rayon, le plus bas, qui s&#39;applique."
                ), "\(higher)")
            let english = try await server.request(
                uri.replacingOccurrences(of: "/01/", with: "/products/"), accept: "text/html", headers: ["Accept-Language": "en"]
            ).text
            #expect(english.contains("at the checkout, the lower shelf price applies."))
            #expect(!DisplayedPriceRule.lowerShelfPriceApplies(storeLocale: "fr-BE") && DisplayedPriceRule.lowerShelfPriceApplies(storeLocale: "fr-FR"))
        }
    }

    @Test("tokens: 401 without or with an unknown one, 403 for another store or scope, stock updates live")
    func tokenScopes() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let paris = try await token(reference, store: "PAR01", scopes: [.stock])
        try await TestServer.with(reference: reference) { server in
            let body = #"{"gtin": "3760001001983", "onHand": 0}"#
            #expect(try await post(server, "/api/stores/PAR01/stock", token: nil, body).status == 401)
            #expect(try await post(server, "/api/stores/PAR01/stock", token: "st_unknown", body).status == 401)
            let otherStore = try await post(server, "/api/stores/LYO02/stock", token: paris, body)
            #expect(otherStore.status == 403 && (otherStore.json?["detail"] as? String)?.contains("PAR01") == true)
            #expect(try await post(server, "/api/stores/PAR01/prices", token: paris, #"{"gtin": "3760001001983", "price": "1.00 EUR"}"#).status == 403)

            let ok = try await post(server, "/api/stores/PAR01/stock", token: paris, body)
            #expect(ok.status == 200)
            let document = try await server.json("/01/\(promotion)?s=PAR01")
            #expect(((document["store"] as? [String: Any])?["stock"] as? [String: Any])?["status"] as? String == "out_of_stock")
            #expect((document["actions"] as? [[String: Any]])?.first?["type"] as? String == "deliver")
        }
    }

    @Test("a revoked token is refused at the next request, an expired one too, and the list shows its last use")
    func revokedAndExpiredTokens() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let paris = try await token(reference, store: "PAR01", scopes: [.stock])
        let shortLived = AccessToken.generate()
        try await reference.saveToken(
            hash: SecretHash.of(shortLived), grant: TokenGrant(storeCode: "PAR01", scopes: [.stock]), createdAt: Date().addingTimeInterval(-7200),
            expiresAt: Date().addingTimeInterval(-3600))
        try await TestServer.with(reference: reference) { server in
            let body = #"{"gtin": "3760001001983", "onHand": 3}"#
            #expect(try await post(server, "/api/stores/PAR01/stock", token: paris, body).status == 200)
            let expired = try await post(server, "/api/stores/PAR01/stock", token: shortLived, body)
            #expect(expired.status == 401 && (expired.json?["detail"] as? String)?.contains("expired") == true)
            let listed = try #require(try await reference.tokens(store: "PAR01").first { SecretHash.of(paris).hasPrefix($0.id) })
            #expect(listed.lastUsedAt != nil)
            guard case .revoked = try await reference.revokeToken(id: listed.id, at: Date()) else {
                Issue.record("not revoked")
                return
            }
            #expect(try await post(server, "/api/stores/PAR01/stock", token: paris, body).status == 401)
        }
    }

    @Test("store updates validate like the import and change nothing when one item is bad")
    func updatesValidate() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let token = try await token(reference, store: "PAR01", scopes: [.prices, .stock])
        try await TestServer.with(reference: reference) { server in
            let cases: [(String, Int, String)] = [
                (#"{"gtin": "3760001001983", "price": "3,49 EUR"}"#, 400, "price: '3,49 EUR' is not a price like '15.00 EUR'"),
                (#"{"gtin": "3760001001984", "price": "3.49 EUR"}"#, 400, "gtin: bad check digit"),
                (#"{"gtin": "3760001001983", "price": "3.49 EUR", "salePrice": "4.00 EUR"}"#, 400, "salePrice: sale price must be lower"),
                (#"[{"gtin": "3760001001983", "price": "3.49 EUR"}, {"gtin": "3760001001983"}]"#, 400, "[1].price: is missing"),
                ("not json", 400, "not valid JSON"),
                (#"{"gtin": "00000000000017", "price": "3.49 EUR"}"#, 404, "does not list"),
            ]
            for (body, status, message) in cases {
                let reply = try await post(server, "/api/stores/PAR01/prices", token: token, body)
                #expect(reply.status == status, "\(body): \(reply.text)")
                #expect((reply.json?["detail"] as? String)?.contains(message) == true, "\(body): \(reply.text)")
            }
            let document = try await server.json("/01/\(promotion)?s=PAR01")
            #expect(
                ((document["store"] as? [String: Any])?["price"] as? [String: Any])?["amount"] as? String == "11.65", "the valid first item was not applied")
            let negative = try await post(server, "/api/stores/PAR01/stock", token: token, #"{"gtin": "3760001001983", "onHand": -1}"#)
            #expect(negative.status == 400 && (negative.json?["detail"] as? String)?.contains("onHand") == true)
            let huge = String(repeating: " ", count: 20 * 1024)
            #expect(try await post(server, "/api/stores/PAR01/stock", token: token, huge + "{}").status == 413)
        }
    }

    @Test("health, metrics and the OpenAPI document")
    func operations() async throws {
        try await TestServer.with { server in
            #expect(try await server.request("/healthz").text == "ok\n")
            _ = try await server.request("/01/\(promotion)?s=PAR01", accept: "application/json")
            _ = try await server.request("/01/03760001001984", accept: "application/json")
            let metrics = try await server.request("/metrics").text
            #expect(metrics.contains("shelftag_http_requests_total{route=\"/**\",method=\"GET\",status=\"200\"} 1"))
            #expect(metrics.contains("shelftag_http_errors_total{status=\"400\"} 1"))
            #expect(metrics.contains("shelftag_scans_total{format=\"json\",stale=\"false\"} 1"))
            #expect(metrics.contains("shelftag_http_request_duration_seconds_count"))
            #expect(try await server.json("/openapi.json")["openapi"] as? String == "3.1.0")
        }
    }
}
