import Foundation
import ShelfTagDomain
import ShelfTagSecrets
import ShelfTagStorage
import ShelfTagTestSupport
import Testing

/// The Paris store's espresso beans (in stock) and its first product (out of stock there).
private let outOfStockInParis = "03760001000634"

@Suite("The associate in the loop: advisor links, the remembered advisor, credit")
struct AdvisorTests {
    private func withAdvisor(_ body: (TestServer, Associate) async throws -> Void) async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let lea = Associate(code: "LEA23", storeCode: "PAR01", name: "Léa", languages: ["fr", "en"])
        #expect(try await reference.addAssociates([NewAssociate(lea, secretHash: SecretHash.of("sa_secret"))], at: testNow) == .added)
        try await TestServer.with(reference: reference) { server in try await body(server, lea) }
    }

    @Test("a=CODE: the scan keeps it, the page names the advisor and remembers the code in a cookie; the cookie alone shows them in their store")
    func linkAndCookie() async throws {
        try await withAdvisor { server, lea in
            let scan = try await server.request("/01/\(promotion)?s=PAR01&a=LEA23")
            #expect(scan.status == 307)
            #expect(scan.header("Location")?.contains("a=LEA23") == true)

            let english = ["Accept-Language": "en"]
            let page = try await server.request("/products/\(promotion)?s=PAR01&a=lea23", headers: english)
            #expect(page.status == 200)
            #expect(page.text.contains("Your advisor: Léa"))
            #expect(page.text.contains("Speaks French, English"))
            #expect(page.text.contains("Ask for Léa at the desk"))
            #expect(page.text.contains("remembers Léa&#39;s code for 30 days, nothing else."))
            let cookie = try #require(page.header("Set-Cookie"))
            #expect(cookie.hasPrefix("shelftag_advisor=LEA23;") && cookie.contains("Max-Age=2592000") && cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Lax"))

            let remembered = english.merging(["Cookie": "shelftag_advisor=LEA23"]) { $1 }
            let later = try await server.request("/products/\(outOfStockInParis)?s=PAR01", headers: remembered)
            #expect(later.text.contains("Your advisor: Léa"))
            #expect(later.header("Set-Cookie") == nil, "a remembered code is not set again")
            let otherStore = try await server.request("/products/\(promotion)?s=LYO02", headers: remembered)
            #expect(!otherStore.text.contains("Léa"), "a remembered advisor is shown in their own store only")
            let plain = try await server.request("/products/\(promotion)?s=PAR01", headers: english)
            #expect(!plain.text.contains("Your advisor"), "the cached page of the advisor is not another shopper's")
        }
    }

    @Test("an unknown, malformed or removed code is ignored: the page, no advisor, no cookie")
    func unknownCodes() async throws {
        try await withAdvisor { server, _ in
            for query in ["a=ZZZZZ", "a=%3Cscript%3E", "a=" + String(repeating: "A", count: 500)] {
                let page = try await server.request("/products/\(promotion)?s=PAR01&\(query)", headers: ["Accept-Language": "en"])
                #expect(page.status == 200)
                #expect(!page.text.contains("Your advisor") && page.header("Set-Cookie") == nil, "\(query)")
            }
            #expect(try await server.reference.removeAssociate(code: "LEA23"))
            let removed = try await server.request("/products/\(promotion)?s=PAR01&a=LEA23", headers: ["Accept-Language": "en"])
            #expect(removed.status == 200 && !removed.text.contains("Léa"), "a removed associate disappears at once")
            #expect(try await server.request("/associates/LEA23").status == 404)
        }
    }

    @Test("the JSON names the advisor; the web shop links carry the code under --associate-param")
    func jsonAndWebShop() async throws {
        try await withAdvisor { server, _ in
            let json = try await server.request("/products/\(outOfStockInParis)?s=PAR01&a=LEA23", accept: "application/json")
            let document = try #require(json.json)
            let advisor = try #require(document["advisor"] as? [String: Any])
            #expect(advisor["code"] as? String == "LEA23" && advisor["name"] as? String == "Léa" && advisor["store"] as? String == "PAR01")
            let actions = try #require(document["actions"] as? [[String: Any]])
            let web = actions.filter { ["deliver", "ship_to_store", "buy_online_pickup"].contains($0["type"] as? String ?? "") }
            #expect(!web.isEmpty)
            #expect(try SchemaValidator().violations(of: document, against: SchemaValidator().schema("Product")).isEmpty)
            for action in web {
                let href = try #require(action["href"] as? String)
                #expect(href.hasPrefix("\(publicBase)/products/\(outOfStockInParis)/web?"), "\(href)")
                let out = try await server.request(String(href.dropFirst(publicBase.count)))
                #expect(out.status == 303)
                let target = try #require(out.header("Location"))
                #expect(target.hasPrefix("https://shop.example.com/") && target.contains("associate=LEA23"), "\(target)")
            }
            let forged = try await server.request("/products/\(outOfStockInParis)/web?type=deliver&s=PAR01&a=LEA23&to=https://evil.example")
            #expect(forged.header("Location")?.hasPrefix("https://shop.example.com/") == true, "targets come from the product, never the request")
            // The scan of the link carried the advisor too.
            #expect(try await server.request("/01/\(outOfStockInParis)?s=PAR01&a=LEA23").status == 307)
            var figures: [AssociateFigures] = []
            for _ in 0..<40 {
                figures = try await server.reference.associateFigures(store: "PAR01", since: nil)
                if figures.first?.scans == 1 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(figures.first?.clickOuts == web.count + 1)
            #expect(figures.first?.scans == 1, "the scan, written by the next flush, is credited")
        }
    }

    @Test("a reservation made from the advisor's link or cookie is credited to them and names them; a form field alone credits nobody")
    func reservationCredit() async throws {
        try await withAdvisor { server, _ in
            let body = Data(#"{"store": "PAR01", "quantity": 1, "name": "Ana", "contact": "ana@example.com"}"#.utf8)
            let json = ["Content-Type": "application/json"]
            let viaLink = try await server.request(
                "/products/\(promotion)/reserve?a=LEA23", method: "POST", accept: "application/json", headers: json, body: body)
            #expect(viaLink.status == 201)
            #expect(viaLink.json?["associate"] as? String == "LEA23")
            let code = try #require(viaLink.json?["code"] as? String)
            let page = try await server.request("/reservations/\(code)", headers: ["Accept-Language": "en"])
            #expect(page.text.contains("Your advisor: Léa"))

            let viaCookie = try await server.request(
                "/products/\(promotion)/reserve", method: "POST", accept: "application/json",
                headers: json.merging(["Cookie": "shelftag_advisor=LEA23"]) { $1 },
                body: body)
            #expect(viaCookie.json?["associate"] as? String == "LEA23")

            let forged = Data(#"{"store": "PAR01", "quantity": 1, "name": "Ana", "contact": "ana@example.com", "a": "LEA23", "associate": "LEA23"}"#.utf8)
            let unlinked = try await server.request("/products/\(promotion)/reserve", method: "POST", accept: "application/json", headers: json, body: forged)
            #expect(unlinked.status == 201)
            #expect(unlinked.json?["associate"] == nil)
            let otherStore = Data(#"{"store": "LYO02", "quantity": 1, "name": "Ana", "contact": "ana@example.com"}"#.utf8)
            let elsewhere = try await server.request(
                "/products/\(promotion)/reserve?a=LEA23", method: "POST", accept: "application/json", headers: json, body: otherStore)
            #expect(elsewhere.json?["associate"] == nil, "an associate is credited in their own store only")
        }
    }

    @Test("the associate's own page remembers them; forgetting clears the cookie")
    func ownPageAndForget() async throws {
        try await withAdvisor { server, _ in
            let page = try await server.request("/associates/lea23", headers: ["Accept-Language": "en"])
            #expect(page.status == 200)
            #expect(page.text.contains("Léa") && page.text.contains("Speaks French, English"))
            #expect(page.header("Set-Cookie")?.hasPrefix("shelftag_advisor=LEA23;") == true)
            let forget = try await server.request(
                "/advisor/forget", method: "POST",
                headers: ["Cookie": "shelftag_advisor=LEA23", "Referer": "\(publicBase)/products/\(promotion)?s=PAR01&a=LEA23"])
            #expect(forget.status == 303)
            #expect(forget.header("Set-Cookie")?.contains("Max-Age=0") == true)
            #expect(forget.header("Location") == "\(publicBase)/products/\(promotion)?s=PAR01")
        }
    }
}
