import Foundation
import ShelfTagDomain
import ShelfTagStorage
import ShelfTagTestSupport
import Testing

@Suite("The associates' work view: sign-in, sessions, the staff view of a product")
struct WorkViewTests {
    private func withAssociates(_ body: (TestServer) async throws -> Void) async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let lea = Associate(code: "LEA23", storeCode: "PAR01", name: "Léa", languages: ["fr"])
        let max = Associate(code: "MAX67", storeCode: "LYO02", name: "Max", languages: [])
        #expect(
            try await reference.addAssociates(
                [NewAssociate(lea, secretHash: AccessToken.hash("sa_lea")), NewAssociate(max, secretHash: AccessToken.hash("sa_max"))], at: testNow)
                == .added)
        try await TestServer.with(reference: reference) { server in try await body(server) }
    }

    /// Opens the sign-in form, then posts it: the session cookie, or the reply when refused.
    private func signIn(_ server: TestServer, code: String, secret: String) async throws -> (cookie: String?, reply: TestServer.Reply) {
        let form = try await server.request("/work/sign-in", headers: ["Accept-Language": "en"])
        let formCookie = try #require(form.header("Set-Cookie")?.split(separator: ";").first.map(String.init))
        let csrf = try #require(form.text.firstRange(of: #/name="csrf" value="([^"]+)"/#).map { String(form.text[$0].split(separator: "\"")[3]) })
        let reply = try await server.request(
            "/work/sign-in", method: "POST",
            headers: ["Content-Type": "application/x-www-form-urlencoded", "Cookie": formCookie, "Accept-Language": "en"],
            body: Data("csrf=\(csrf)&code=\(code)&secret=\(secret)".utf8))
        let cookie = reply.status == 303 ? reply.header("Set-Cookie")?.split(separator: ";").first.map(String.init) : nil
        return (cookie, reply)
    }

    @Test("sign-in with code and secret opens a session (HttpOnly, SameSite=Strict); a wrong secret is refused; sign-out needs its token")
    func signInAndOut() async throws {
        try await withAssociates { server in
            #expect(try await server.request("/work").status == 303, "the work view asks to sign in")
            let wrong = try await signIn(server, code: "LEA23", secret: "sa_nope")
            #expect(wrong.reply.status == 401 && wrong.reply.text.contains("Wrong code or secret"))
            let (cookie, reply) = try await signIn(server, code: "lea23", secret: "sa_lea")
            #expect(reply.status == 303 && reply.header("Location")?.hasSuffix("/work") == true)
            let setCookie = try #require(reply.header("Set-Cookie"))
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Max-Age=43200"))
            let session = try #require(cookie)
            let home = try await server.request("/work", headers: ["Cookie": session, "Accept-Language": "en"])
            #expect(home.status == 200 && home.text.contains("Léa") && home.text.contains("Paris"))

            let forged = try await server.request(
                "/work/sign-out", method: "POST", headers: ["Cookie": session, "Content-Type": "application/x-www-form-urlencoded"],
                body: Data("csrf=forged".utf8))
            #expect(forged.status == 403, "a sign-out posted from another site is refused")
            let csrf = try #require(home.text.firstRange(of: #/name="csrf" value="([^"]+)"/#).map { String(home.text[$0].split(separator: "\"")[3]) })
            let out = try await server.request(
                "/work/sign-out", method: "POST", headers: ["Cookie": session, "Content-Type": "application/x-www-form-urlencoded"],
                body: Data("csrf=\(csrf)".utf8))
            #expect(out.status == 303)
            #expect(try await server.request("/work", headers: ["Cookie": session]).status == 303, "the session is closed")

            let noForm = try await server.request(
                "/work/sign-in", method: "POST", headers: ["Content-Type": "application/x-www-form-urlencoded"],
                body: Data("code=LEA23&secret=sa_lea".utf8))
            #expect(noForm.status == 403, "a sign-in without the form's token is refused")
        }
    }

    @Test("failed sign-ins are rate limited per client; a revoked secret ends the session at once")
    func rateLimitAndRevocation() async throws {
        try await withAssociates { server in
            let (cookie, _) = try await signIn(server, code: "LEA23", secret: "sa_lea")
            let session = try #require(cookie)
            for _ in 0..<5 { #expect(try await signIn(server, code: "LEA23", secret: "guess").reply.status == 401) }
            let limited = try await signIn(server, code: "LEA23", secret: "sa_lea")
            #expect(limited.reply.status == 429 && limited.reply.header("Retry-After") != nil)

            #expect(try await server.request("/work", headers: ["Cookie": session]).status == 200)
            #expect(try await server.reference.revokeAssociate(code: "LEA23"))
            #expect(try await server.request("/work", headers: ["Cookie": session]).status == 303)
        }
    }

    @Test("a scanned tag on a signed-in tablet opens the staff view: shelf price as the tag shows it, on hand, held and available in every store")
    func staffProductView() async throws {
        try await withAssociates { server in
            let (cookie, _) = try await signIn(server, code: "LEA23", secret: "sa_lea")
            let session = try #require(cookie)
            let hold = try HoldRequest(storeCode: "PAR01", gtin: try GTIN(promotion), quantity: "2", customerName: "Ana", contact: "ana@example.com")
            guard case .held = try await server.reference.hold(hold, at: testNow, for: 3600, key: nil) else {
                Issue.record("no hold")
                return
            }
            let scan = try await server.request("/01/\(promotion)?s=PAR01&t=abc", headers: ["Cookie": session])
            #expect(scan.status == 307)
            let location = try #require(scan.header("Location"))
            #expect(location == "\(publicBase)/work/products/\(promotion)?t=abc")
            let view = try await server.request(String(location.dropFirst(publicBase.count)), headers: ["Cookie": session, "Accept-Language": "en"])
            #expect(view.status == 200)
            let details = try #require(try await server.reference.details(of: try GTIN(promotion)))
            let paris = try #require(details.stores.first { $0.store.code == "PAR01" })
            let label = ShelfLabel(
                storeCode: "PAR01", gtin: details.product.gtin, pricing: details.shelfPricing(at: paris).pricing,
                history: details.shelfPricing(at: paris).history, unitPricing: details.product.unitPricing, at: testNow)
            #expect(view.text.contains(label.price.formatted(locale: "en-FR")), "the shelf price")
            if let prior = label.priorPrice { #expect(view.text.contains(prior.formatted(locale: "en-FR")), "the prior price") }
            let onHand = paris.offer.stock.onHand
            #expect(
                view.text.contains("<td class=\"n\">\(onHand)</td><td class=\"n\">2</td><td class=\"n\">\(onHand - 2)</td>"), "on hand, held, available here")
            for listing in details.stores where listing.store.code != "PAR01" {
                #expect(view.text.contains(listing.store.name), "every store that lists it")
            }
            #expect(view.text.contains("Tag abc is not in the print ledger"))
            #expect(!view.text.contains("Ana") && !view.text.contains("ana@"), "no shopper data in the product view")

            // A shopper's phone (no session) still gets the shopper page; so does a revoked tablet.
            #expect(try await server.request("/01/\(promotion)?s=PAR01").header("Location")?.contains("/products/") == true)
            let lyon = try #require(try await signIn(server, code: "MAX67", secret: "sa_max").cookie)
            let fromLyon = try await server.request("/work/products/\(promotion)", headers: ["Cookie": lyon, "Accept-Language": "en"])
            #expect(fromLyon.status == 200 && fromLyon.text.contains("(here)"), "other stores' stock is read-only, their own marked")
        }
    }
}
