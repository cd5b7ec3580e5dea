import Foundation
import ShelfTagDomain
import ShelfTagPrinting
import ShelfTagRender
import ShelfTagServer
import ShelfTagStorage
import ShelfTagTestSupport
import Testing

/// A promotion in Paris: 11,65 € instead of 16,69 €, prior price 15,03 €, 32 on the shelf.
let promotion = "03760001001983"

@Suite("Resolver: Digital Link URIs over real HTTP")
struct ResolverTests {
    @Test("a phone is sent to the store page by a 307, the query passed on, with Link and Vary headers")
    func defaultLinkRedirects() async throws {
        try await TestServer.with { server in
            let reply = try await server.request("/01/\(promotion)?s=PAR01&t=abc", accept: "text/html,application/xhtml+xml,*/*;q=0.8")
            #expect(reply.status == 307)
            #expect(reply.header("Location") == "\(publicBase)/products/\(promotion)?s=PAR01&t=abc")
            #expect(reply.header("Link") == "<\(publicBase)/01/\(promotion)?linkType=linkset>; rel=\"linkset\"; type=\"application/linkset+json\"")
            #expect(reply.header("Vary") == "Accept, Accept-Language")
            #expect(reply.header("Access-Control-Allow-Origin") == "*")
        }
    }

    /// The sample stores are 200 to 500 km apart: a radius that takes them all in.
    static let franceWide: ServerConfiguration = {
        var configuration = TestServer.configuration()
        configuration.nearbyRadiusKilometres = 600
        return configuration
    }()

    @Test("JSON answers the same data, held to the OpenAPI schema")
    func jsonMatchesSchema() async throws {
        let validator = try SchemaValidator()
        try await TestServer.with(configuration: Self.franceWide) { server in
            for path in ["/01/\(promotion)?s=PAR01&t=abc", "/01/\(promotion)", "/01/03760001018189?s=PAR01", "/products/\(promotion)?s=LYO02"] {
                let reply = try await server.request(path, accept: "application/json")
                #expect(reply.status == 200)
                #expect(reply.header("Content-Type") == "application/json")
                let document = try #require(reply.json)
                let violations = validator.violations(of: document, against: validator.schema("Product"))
                #expect(violations.isEmpty, "\(path): \(violations)")
            }
            let document = try await server.json("/01/\(promotion)?s=PAR01")
            let store = try #require(document["store"] as? [String: Any])
            #expect((store["price"] as? [String: Any])?["formatted"] as? String == "11,65\u{A0}€")
            #expect((store["priorPrice"] as? [String: Any])?["amount"] as? String == "15.03")
            #expect((store["unitPrice"] as? [String: Any])?["formatted"] as? String == "11,65\u{A0}€/kg")
            #expect(store["promotionEnd"] as? String == "2026-12-14T19:00:00Z")
            let nearby = try #require(document["nearby"] as? [[String: Any]])
            let distances = nearby.compactMap { $0["distanceKm"] as? Double }
            #expect(!distances.isEmpty && distances == distances.sorted(), "nearest first")
            for store in nearby {
                #expect(store["href"] as? String == "\(publicBase)/products/\(promotion)?s=\(store["code"] as? String ?? "")", "each links to its page")
            }
        }
    }

    @Test("the page shows what the tag shows (discount, prior price, last day); with no store, the web shop's promotion, not 'unknown store'")
    func promotionAsOnTheTag() async throws {
        try await TestServer.with { server in
            let page = try await server.request("/products/\(promotion)?s=PAR01", accept: "text/html").text
            // The tag of this promotion says -22 % (11,65 € against a prior 15,03 €).
            #expect(page.contains("<p class=\"price\">11,65\u{A0}€ <span class=\"discount\">-22\u{A0}%</span></p>"), "\(page)")
            let onPack = try await server.request("/products/\(promotion)", accept: "text/html").text
            #expect(!onPack.contains("Magasin inconnu") && onPack.contains("Prix en ligne"))
            #expect(onPack.contains("<p class=\"price\">11,65\u{A0}€"), "the chain's money format, not 11.65 €")
            let json = try await server.json("/01/\(promotion)")
            let web = try #require(json["web"] as? [String: Any])
            #expect(web["regularPrice"] != nil, "the web shop has this product on promotion too")
            #expect(onPack.contains("Prix antérieur <s>15,03\u{A0}€</s>") && onPack.contains("<span class=\"discount\">-22\u{A0}%</span>"), "\(onPack)")
            #expect(onPack.contains("Offre valable jusqu&#39;au"))
            let unknownStore = try await server.request("/products/\(promotion)?s=NOPE", accept: "text/html").text
            #expect(unknownStore.contains("Magasin inconnu : prix en ligne"))
        }
    }

    @Test("out of stock here: each option says what it does, when (the feed's pickup_sla) and at which price; a pickup through the web shop names the store")
    func outOfStockOptions() async throws {
        try await TestServer.with { server in
            // Out of stock in Paris, pickup method "ship to store", 3-day.
            let json = try await server.json("/01/03760001045956?s=PAR01")
            let actions = try #require(json["actions"] as? [[String: Any]])
            let web = try #require((json["web"] as? [String: Any])?["link"] as? String)
            let price = try #require(((json["web"] as? [String: Any])?["price"] as? [String: Any])?["formatted"] as? String)
            let deliver = try #require(actions.first { $0["type"] as? String == "deliver" })
            let ship = try #require(actions.first { $0["type"] as? String == "ship_to_store" })
            #expect(deliver["href"] as? String == web, "delivery goes to the product's web page")
            #expect(ship["href"] as? String == web + (web.contains("?") ? "&" : "?") + "store=PAR01", "the pickup names the store")
            #expect(deliver["detail"] as? String == "Livré chez vous, au prix en ligne · \(price)")
            #expect(ship["detail"] as? String == "Commandé en ligne, en magasin sous 3 jours · \(price)")
            let page = try await server.request("/products/03760001045956?s=PAR01", accept: "text/html").text
            #expect(page.contains("<span class=\"detail\">Commandé en ligne, en magasin sous 3 jours · \(price)</span>"), "\(page)")
            // In stock: reserving says how long it is held and that it is paid at pickup.
            let reserve = try #require((try await server.json("/01/\(promotion)?s=PAR01")["actions"] as? [[String: Any]])?.first)
            #expect(reserve["type"] as? String == "reserve" && reserve["detail"] as? String == "Gardé 48 h, payé au retrait · 11,65\u{A0}€")
        }
    }

    @Test("one way to write numbers per page: an English page in a French store writes distances like its money, and review dates in words")
    func numbersInThePageLocale() async throws {
        #expect(NumberText.decimal(204.24, locale: "en-FR") == "204,2" && NumberText.decimal(204.24, locale: "en-US") == "204.2")
        #expect(NumberText.decimal(50, locale: "fr-FR") == "50")
        // Whole and one-decimal values in turn in one locale: each gets its own number of decimals.
        #expect(["4,5", "4", "4,3", "4"] == [4.5, 4, 4.25, 3.96].map { NumberText.decimal($0, locale: "fr-FR") })
        try await TestServer.with(configuration: Self.franceWide) { server in
            let page = try await server.request("/products/\(promotion)?s=PAR01", accept: "text/html", headers: ["Accept-Language": "en"]).text
            #expect(page.contains("11,65"), "money with en-FR's decimal comma")
            let distances = page.matches(of: /· (\d+[.,]\d)\u{A0}km/).map { String($0.output.1) }
            #expect(!distances.isEmpty && distances.allSatisfy { $0.contains(",") }, "\(distances)")
            #expect(page.matches(of: /\d{4}-\d{2}-\d{2}/).isEmpty, "no ISO date on the page")
        }
    }

    @Test("error pages speak the reader's language and say what to do next; the precise reason stays below")
    func errorPagesInTheReadersLanguage() async throws {
        try await TestServer.with { server in
            let french = try await server.request("/01/03760001999990", accept: "text/html")
            #expect(french.status == 404 && french.text.contains("<html lang=\"fr\">") && french.text.contains("<h1>Introuvable</h1>"))
            #expect(french.text.contains("Scannez l&#39;étiquette à nouveau, ou demandez à un vendeur.") && french.text.contains("Détail :"))
            let english = try await server.request("/01/12345", accept: "text/html", headers: ["Accept-Language": "en"])
            #expect(english.status == 400 && english.text.contains("<html lang=\"en\">") && english.text.contains("This link is not valid"))
            // Machines still get RFC 9457 in English.
            let json = try await server.request("/01/12345", accept: "application/json")
            #expect(json.header("Content-Type") == "application/problem+json" && json.json?["title"] as? String == "Bad request")
        }
    }

    @Test("nearby means within --nearby-radius (50 km by default), each store a link to its page; out of stock with none near, the page says so")
    func nearbyRadius() async throws {
        try await TestServer.with { server in
            // The sample stores are all more than 50 km from Paris.
            let document = try await server.json("/01/\(promotion)?s=PAR01")
            #expect((document["nearby"] as? [[String: Any]])?.isEmpty == true)
            // Out of stock in Paris, in stock in stores farther away.
            let outHere = try await server.request("/products/03760001000634?s=PAR01", accept: "text/html")
            #expect(outHere.text.contains("En rupture dans ce magasin"))
            #expect(!outHere.text.contains("Disponible près d&#39;ici"))
            #expect(outHere.text.contains("Aucun autre magasin à moins de 50\u{A0}km ne l&#39;a en stock."), "\(outHere.text)")
        }
        try await TestServer.with(configuration: Self.franceWide) { server in
            let page = try await server.request("/products/\(promotion)?s=PAR01", accept: "text/html")
            #expect(page.text.contains("<li><a href=\"\(publicBase)/products/\(promotion)?s=LIL04\">"), "a nearby store is a link to its page")
        }
    }

    @Test("an electrical product's page and JSON say the eco-participation in its price, as its tag does")
    func ecoParticipation() async throws {
        try await TestServer.with { server in
            let page = try await server.request("/products/03760001039092?s=LIL04", accept: "text/html").text
            #expect(page.contains("dont éco-participation : 0,50\u{A0}€"), "\(page)")
            let english = try await server.request("/products/03760001039092?s=LIL04", accept: "text/html", headers: ["Accept-Language": "en"]).text
            let fee = Money(minorUnits: 50, currency: try Currency(code: "EUR")).formatted(locale: "en-FR")
            #expect(english.contains("incl. \(fee) eco-fee"), "\(english)")
            #expect(!(try await server.request("/products/\(promotion)?s=PAR01", accept: "text/html").text.contains("éco-participation")))
            // The JSON says it too, as an amount.
            let json = try await server.json("/01/03760001039092?s=LIL04")
            #expect((json["ecoParticipation"] as? [String: Any])?["amount"] as? String == "0.50")
            #expect(try await server.json("/01/\(promotion)?s=PAR01")["ecoParticipation"] == nil)
        }
    }

    @Test("four reviews, three shown: the page says they are the three most recent of four, not '4 avis' over three")
    func reviewsShown() async throws {
        try await TestServer.with { server in
            let page = try await server.request("/products/03760001000634?s=PAR01", accept: "text/html").text
            #expect(page.contains("4 avis") && page.contains("Les 3 avis les plus récents sur 4"))
            #expect(page.components(separatedBy: "<div class=\"review\">").count - 1 == 3)
            let english = try await server.request("/products/03760001000634?s=PAR01", accept: "text/html", headers: ["Accept-Language": "en"]).text
            #expect(english.contains("The 3 most recent of 4 reviews"))
        }
    }

    @Test("the store page: price, unit and prior price, stock, nearby, reviews, next step, JSON-LD with the same price, under 30 KB")
    func storePage() async throws {
        try await TestServer.with(configuration: Self.franceWide) { server in
            let reply = try await server.request("/products/\(promotion)?s=PAR01", accept: "text/html")
            #expect(reply.status == 200)
            let html = reply.text
            #expect(reply.body.count < 30_000)
            for expected in [
                "<h1>Café moulu pur arabica Brésil 1 kg</h1>", "<p class=\"price\">11,65\u{A0}€ <span class=\"discount\">-22\u{A0}%</span></p>",
                "11,65\u{A0}€/kg", "<s>15,03\u{A0}€</s>",
                "Offre valable jusqu&#39;au 14 décembre 2026", "En stock dans ce magasin", "Disponible près d&#39;ici", "Réserver pour retrait ici",
                "Me le faire livrer", "<h2 id=\"reviews\">",
            ] {
                #expect(html.contains(expected), "page lacks \(expected)")
            }
            #expect(!html.contains("<script src") && !html.contains("@font-face") && !html.contains("<link rel=\"stylesheet\""))
            let start = try #require(html.range(of: "<script type=\"application/ld+json\">"))
            let end = try #require(html.range(of: "</script>", range: start.upperBound..<html.endIndex))
            let jsonLD = try #require(try JSONSerialization.jsonObject(with: Data(html[start.upperBound..<end.lowerBound].utf8)) as? [String: Any])
            #expect(jsonLD["@type"] as? String == "Product")
            let offer = try #require(jsonLD["offers"] as? [String: Any])
            #expect(offer["price"] as? String == "11.65" && offer["priceCurrency"] as? String == "EUR")
            let seller = try #require(offer["seller"] as? [String: Any])
            #expect(seller["@type"] as? String == "Store" && seller["openingHours"] as? [String] == ["Mo-Sa 10:00-20:00", "Su 11:00-19:00"])
            let geo = try #require(seller["geo"] as? [String: Any])
            #expect(geo["@type"] as? String == "GeoCoordinates" && geo["latitude"] as? Double == 48.8606 && geo["longitude"] as? Double == 2.3412)
            #expect(reply.header("Content-Security-Policy")?.contains("default-src 'none'") == true)
            #expect(reply.header("X-Content-Type-Options") == "nosniff")
            #expect(reply.header("Referrer-Policy") == "no-referrer")
        }
    }

    @Test(
        "Accept-Language: an English phone in a French store reads English with the store's money; each shipped language from its file; others get the store's")
    func pageLanguage() async throws {
        // English in France: CLDR's en-FR writes the store's money, not the French page's.
        let englishPrice = Money(minorUnits: 1165, currency: try Currency(code: "EUR")).formatted(locale: "en-FR")
        #expect(englishPrice != "11,65\u{A0}€")
        try await TestServer.with { server in
            let english = try await server.request(
                "/products/\(promotion)?s=PAR01", accept: "text/html", headers: ["Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"])
            // The page also shows the advisor a cookie remembers.
            #expect(english.status == 200 && english.header("Vary") == "Accept, Accept-Language, Cookie, Accept-Encoding")
            for expected in ["<html lang=\"en\"", "In stock in this store", englishPrice, "Reserve for pickup here"] {
                #expect(english.text.contains(expected), "English page lacks \(expected)")
            }
            #expect(!english.text.contains("En stock dans ce magasin"))
            // Each shipped language, from its message file, with the store's money written that language's way.
            let written = [
                "de-DE,de;q=0.9": ("de", "In dieser Filiale vorrätig"), "es": ("es", "Disponible en esta tienda"),
                "it-IT": ("it", "Disponibile in questo negozio"), "nl-BE,nl;q=0.9": ("nl", "Op voorraad in deze winkel"),
            ]
            for (header, (language, inStock)) in written {
                let page = try await server.request("/products/\(promotion)?s=PAR01", accept: "text/html", headers: ["Accept-Language": header])
                let price = Money(minorUnits: 1165, currency: try Currency(code: "EUR")).formatted(locale: "\(language)-FR")
                for expected in ["<html lang=\"\(language)\"", inStock, price] { #expect(page.text.contains(expected), "\(header): \(expected)") }
                #expect(!page.text.contains("En stock dans ce magasin"))
            }
            // Portuguese and Japanese are not written: the store's French, also when they come first; q=0 refuses a language.
            for header in ["pt-BR,pt;q=0.9", "ja,fr;q=0.8,en;q=0.5", "en;q=0,fr", "*"] {
                let page = try await server.request("/products/\(promotion)?s=PAR01", accept: "text/html", headers: ["Accept-Language": header])
                #expect(page.text.contains("En stock dans ce magasin") && page.text.contains("11,65\u{A0}€"), "\(header)")
            }
            let weighted = try await server.request(
                "/products/\(promotion)?s=PAR01", accept: "text/html", headers: ["Accept-Language": "fr;q=0.4,en;q=0.8"])
            #expect(weighted.text.contains("In stock in this store"), "the higher quality wins")
            // The JSON's formatted amounts follow the page language too; the cached French answer is not reused.
            let json = try await server.request("/01/\(promotion)?s=PAR01", accept: "application/json", headers: ["Accept-Language": "en"])
            let store = try #require(json.json?["store"] as? [String: Any])
            #expect((store["price"] as? [String: Any])?["formatted"] as? String == englishPrice)
            let french = try await server.json("/01/\(promotion)?s=PAR01")
            #expect(((french["store"] as? [String: Any])?["price"] as? [String: Any])?["formatted"] as? String == "11,65\u{A0}€")
            let form = try await server.request("/products/\(promotion)/reserve?s=PAR01", accept: "text/html", headers: ["Accept-Language": "en-US"])
            #expect(form.text.contains("Reserve for pickup in store") && form.header("Vary") == "Accept-Language")
        }
    }

    @Test("linkset: linkType=linkset, the legacy all, or Accept: application/linkset+json")
    func linkset() async throws {
        try await TestServer.with { server in
            for (path, accept) in [
                ("/01/\(promotion)?s=PAR01&linkType=linkset", nil), ("/01/\(promotion)?s=PAR01&linkType=all", nil),
                ("/01/\(promotion)?s=PAR01", "application/linkset+json"),
            ] as [(String, String?)] {
                let reply = try await server.request(path, accept: accept)
                #expect(reply.status == 200, "\(path)")
                #expect(reply.header("Content-Type") == "application/linkset+json")
                #expect(reply.header("Link")?.contains("rel=\"http://www.w3.org/ns/json-ld#context\"") == true)
                let set = try #require((reply.json?["linkset"] as? [[String: Any]])?.first)
                #expect(set["anchor"] as? String == "\(publicBase)/01/\(promotion)")
                let pip = try #require((set["https://gs1.org/voc/pip"] as? [[String: Any]])?.first)
                #expect((pip["href"] as? String)?.hasPrefix("https://shop.example.com/") == true && pip["title"] != nil)
                let page = try #require((set["https://gs1.org/voc/defaultLink"] as? [[String: Any]])?.first)
                #expect(page["href"] as? String == "\(publicBase)/products/\(promotion)?s=PAR01")
                for type in ["https://gs1.org/voc/review", "\(publicBase)/voc/reserve", "\(publicBase)/voc/deliver"] { #expect(set[type] != nil, "\(type)") }
            }
        }
    }

    @Test("link types: gs1:pip in any spelling to the web page, gs1:review, unknown type 404")
    func linkTypes() async throws {
        try await TestServer.with { server in
            for type in ["gs1:pip", "https://gs1.org/voc/pip", "https://ref.gs1.org/voc/pip"] {
                let reply = try await server.request("/01/\(promotion)?linkType=\(DigitalLink.percentEncoded(type))")
                #expect(reply.status == 307)
                #expect(reply.header("Location") == "https://shop.example.com/fr/p/fr-epi-0004", "\(type)")
            }
            let review = try await server.request("/01/\(promotion)?s=PAR01&linkType=gs1:review")
            #expect(review.header("Location") == "\(publicBase)/products/\(promotion)?s=PAR01#reviews")
            let unknown = try await server.request("/01/\(promotion)?linkType=gs1:recallStatus", accept: "application/json")
            #expect(unknown.status == 404)
            #expect((unknown.json?["detail"] as? String)?.contains("gs1:pip") == true)
            let description = try await server.json("/.well-known/gs1resolver")
            #expect(description["supportedPrimaryKeys"] as? [String] == ["01"])
            #expect((description["supportedLinkType"] as? [[String: String]])?.contains { $0["prefix"] == "shelftag:" } == true)
        }
    }

    @Test("key qualifiers are validated, then walk up to the product")
    func qualifiersWalkUp() async throws {
        try await TestServer.with { server in
            let lot = try await server.json("/01/\(promotion)/10/LOT42?s=PAR01")
            #expect(lot["gtin"] as? String == promotion)
            let full = try await server.request("/01/\(promotion)/22/V1/10/LOT42/21/SN1?s=PAR01", accept: "application/json")
            #expect(full.status == 200)
            let outOfOrder = try await server.request("/01/\(promotion)/21/SN1/10/LOT42", accept: "application/json")
            #expect(outOfOrder.status == 400)
            #expect((outOfOrder.json?["detail"] as? String)?.contains("out of order") == true)
        }
    }

    @Test("the Digital Link examples: valid ones resolve (or 404 when unknown), invalid ones get 400")
    func digitalLinkExamples() async throws {
        let file = repository.appendingPathComponent("Tests/ShelfTagDomainTests/Fixtures/dl_uri_examples.tsv")
        let rows = try String(contentsOf: file, encoding: .utf8).split(separator: "\n").dropFirst().map {
            $0.split(separator: "\t", omittingEmptySubsequences: false)
        }
        try await TestServer.with { server in
            var checked = 0
            for row in rows {
                let uri = String(row[0])
                // Only what an HTTP client sends: an http(s) URI, its path and query, no fragment, no raw characters URLs refuse.
                guard let schemeEnd = uri.range(of: "://"), let slash = uri[schemeEnd.upperBound...].firstIndex(of: "/") else { continue }
                var pathAndQuery = String(uri[slash...])
                if let hash = pathAndQuery.firstIndex(of: "#") { pathAndQuery = String(pathAndQuery[..<hash]) }
                guard URL(string: server.address + pathAndQuery) != nil, !["ftp", "mailto"].contains(uri.prefix(3).lowercased()) else { continue }
                let reply = try await server.request(pathAndQuery, accept: "application/json")
                if row[1] == "1" {
                    #expect(reply.status == 404 || reply.status == 200, "\(uri): \(reply.status) \(reply.text)")
                } else if uri.lowercased().hasPrefix("http") && !uri.hasPrefix("Http") {
                    #expect(reply.status == 400, "\(uri): \(reply.status)")
                }
                checked += 1
            }
            #expect(checked > 40)
        }
    }

    @Test("bad input: 400 and 404 in the client's format, unknown store shows the page without the store block, HEAD and OPTIONS")
    func badInput() async throws {
        try await TestServer.with { server in
            let badCheckHTML = try await server.request("/01/03760001001984", accept: "text/html")
            #expect(badCheckHTML.status == 400)
            #expect(badCheckHTML.header("Content-Type") == "text/html; charset=utf-8")
            #expect(badCheckHTML.text.contains("bad check digit"))
            let badCheckJSON = try await server.request("/01/03760001001984", accept: "application/json")
            #expect(badCheckJSON.status == 400 && badCheckJSON.header("Content-Type") == "application/problem+json")
            #expect(badCheckJSON.json?["status"] as? Int == 400)

            let unknown = try await server.request("/01/00000000000017", accept: "text/html")
            #expect(unknown.status == 404)
            #expect(unknown.text.contains("https://shop.example.com/search?q=00000000000017"))
            #expect(!unknown.text.contains("Fatal") && !unknown.text.contains(".swift"))

            let unknownStore = try await server.request("/products/\(promotion)?s=NOPE", accept: "text/html")
            #expect(unknownStore.status == 200)
            // No store: the phone's language (French here), the web price.
            #expect(!unknownStore.text.contains("En stock dans ce magasin") && unknownStore.text.contains("Magasin inconnu : prix en ligne"))

            let head = try await server.request("/01/\(promotion)?s=PAR01", method: "HEAD")
            #expect(head.status == 307 && head.body.isEmpty)
            let options = try await server.request("/01/\(promotion)", method: "OPTIONS")
            #expect(options.status == 204)
            #expect(options.header("Access-Control-Allow-Methods") == "GET, HEAD, OPTIONS")
            let notALink = try await server.request("/nothing-here", accept: "application/json")
            #expect(notALink.status == 400 && (notALink.json?["detail"] as? String)?.contains("/01/{GTIN-14}") == true)
        }
    }

    @Test("markup in a product name is shown as text")
    func htmlIsEscaped() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let feed = try newDirectory().appendingPathComponent("products.tsv")
        try Data(
            ("id\ttitle\tdescription\tlink\timage_link\tavailability\tprice\tgtin\tbrand\n"
                + "EVIL-1\t<script>alert(1)</script> & <b>bold</b>\td\thttps://shop.example.com/p/evil\thttps://img.example.com/e.jpg\tin_stock\t1.00 EUR\t96385074\t\"Brand\" <i>\n")
                .utf8
        ).write(to: feed)
        let (report, rejected) = try await runImport([feed.path], into: reference, asOf: "2026-11-20T06:00Z")
        #expect(rejected.isEmpty && report.committed)
        try await TestServer.with(reference: reference) { server in
            let html = try await server.request("/products/00000096385074", accept: "text/html").text
            #expect(!html.contains("<script>alert") && !html.contains("<b>bold"))
            #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"))
            #expect(!html.contains("</script> &") && html.contains("\\u003cscript\\u003e"))
        }
    }

    @Test("a promotion that ends shows the regular price on the next request, though answers are cached and the data unchanged")
    func promotionEndsOnTime() async throws {
        // The Paris promotion ends at 2026-12-14T19:00Z; answers otherwise live up to ten seconds.
        let clock = TestClock(try time("2026-12-14T18:59:59Z"))
        try await TestServer.with(configuration: TestServer.configuration(clock: clock)) { server in
            func price() async throws -> String? {
                (((try await server.json("/01/\(promotion)?s=PAR01"))["store"] as? [String: Any])?["price"] as? [String: Any])?["amount"] as? String
            }
            let during = try await price()
            let cached = try await price()
            clock.advance(by: 2)
            let after = try await price()
            #expect(during == "11.65" && cached == "11.65")
            #expect(after == "16.69")
        }
    }

    @Test("a price change in the database shows on the next request, no restart")
    func livePrice() async throws {
        try await TestServer.with { server in
            let before = try await server.json("/01/03760001018189?s=PAR01")
            #expect(((before["store"] as? [String: Any])?["price"] as? [String: Any])?["amount"] as? String == "6.39")
            let feed = try newDirectory().appendingPathComponent("inventory.tsv")
            try Data("store_code\tid\tquantity\tprice\tavailability\nPAR01\tFR-EPI-0042\t5\t5.39 EUR\tin_stock\n".utf8).write(to: feed)
            _ = try await runImport([feed.path], into: server.reference, asOf: "2026-11-23T09:00Z")
            let after = try await server.json("/01/03760001018189?s=PAR01")
            #expect(((after["store"] as? [String: Any])?["price"] as? [String: Any])?["amount"] as? String == "5.39")
        }
    }

    @Test(
        "product answers carry an entity tag and ask caches to revalidate: If-None-Match gets a 304 with no body until the price changes; everything else is no-store"
    )
    func answersRevalidate() async throws {
        try await TestServer.with { server in
            let page = "/products/03760001018189?s=PAR01"
            let json = "/01/03760001018189?s=PAR01"
            let first = try await server.request(page, accept: "text/html")
            #expect(first.status == 200)
            #expect(first.header("Cache-Control") == "private, no-cache", "a page names the associate a cookie remembers: no shared cache keeps it")
            let tag = try #require(first.header("ETag"))
            #expect(tag.count > 32 && tag.hasPrefix("\"") && tag.hasSuffix("\""), "\(tag)")
            let again = try await server.request(page, accept: "text/html", headers: ["If-None-Match": tag])
            #expect(again.status == 304 && again.body.isEmpty)
            #expect(again.header("ETag") == tag && again.header("Cache-Control") == "private, no-cache")
            #expect(again.header("Vary") == "Accept, Accept-Language, Cookie, Accept-Encoding")
            // A web shop's script on another origin may read the tag to revalidate.
            #expect(first.header("Access-Control-Expose-Headers") == "Link, Location, ETag")
            // Weak comparison, lists and the wildcard; anything else gets the page.
            for held in ["\"other\", W/\(tag)", "*", " \(tag) "] {
                #expect(try await server.request(page, accept: "text/html", headers: ["If-None-Match": held]).status == 304, "\(held)")
            }
            for held in ["\"other\"", "abc", "W/\"\(tag)", String(tag.dropLast())] {
                let reply = try await server.request(page, accept: "text/html", headers: ["If-None-Match": held])
                #expect(reply.status == 200 && reply.body.count == first.body.count, "\(held)")
            }
            let document = try await server.request(json, accept: "application/json")
            #expect(document.header("Cache-Control") == "no-cache")
            let jsonTag = try #require(document.header("ETag"))
            #expect(jsonTag != tag, "the JSON and the page are two representations")
            #expect(try await server.request(json, accept: "application/json", headers: ["If-None-Match": jsonTag]).status == 304)
            #expect(try await server.request(json, accept: "text/html").header("Cache-Control") == "no-cache", "the redirect is asked again too")

            // A new price is a new representation: the held tags no longer match.
            let feed = try newDirectory().appendingPathComponent("inventory.tsv")
            try Data("store_code\tid\tquantity\tprice\tavailability\nPAR01\tFR-EPI-0042\t5\t5.39 EUR\tin_stock\n".utf8).write(to: feed)
            _ = try await runImport([feed.path], into: server.reference, asOf: "2026-11-23T09:00Z")
            let changed = try await server.request(page, accept: "text/html", headers: ["If-None-Match": tag])
            #expect(changed.status == 200 && changed.text.contains("5,39"))
            #expect(changed.header("ETag").map { $0 != tag } == true)
            let changedJSON = try await server.request(json, accept: "application/json", headers: ["If-None-Match": jsonTag])
            #expect(changedJSON.status == 200 && changedJSON.header("ETag").map { $0 != jsonTag } == true)

            // Personal data, errors and health are never stored; documents that change only with a restart are.
            for path in ["/healthz", "/products/03760001018189/reserve?s=PAR01", "/work/sign-in", "/products/03760009999999?s=PAR01", "/01/12345"] {
                let reply = try await server.request(path, accept: "text/html")
                #expect(reply.header("Cache-Control") == "no-store", "\(path): \(reply.status)")
                #expect(reply.header("ETag") == nil, "\(path)")
            }
            for path in ["/openapi.json", "/.well-known/gs1resolver"] {
                #expect(try await server.request(path).header("Cache-Control") == "public, max-age=300", "\(path)")
            }
        }
    }
}
