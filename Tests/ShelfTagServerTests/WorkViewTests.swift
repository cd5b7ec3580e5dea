import Foundation
import ShelfTagDomain
import ShelfTagSecrets
import ShelfTagServer
import ShelfTagStorage
import ShelfTagTestSupport
import Testing

@Suite("The associates' work view: sign-in, sessions, the staff view of a product")
struct WorkViewTests {
    private func withAssociates(configuration: ServerConfiguration = TestServer.configuration(), _ body: (TestServer) async throws -> Void) async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let lea = Associate(code: "LEA23", storeCode: "PAR01", name: "Léa", languages: ["fr"])
        let max = Associate(code: "MAX67", storeCode: "LYO02", name: "Max", languages: [])
        #expect(
            try await reference.addAssociates(
                [NewAssociate(lea, secretHash: SecretHash.of("sa_lea")), NewAssociate(max, secretHash: SecretHash.of("sa_max"))], at: testNow)
                == .added)
        try await TestServer.with(reference: reference, configuration: configuration) { server in try await body(server) }
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
            #expect(home.text.contains("Your page, to share") && home.text.contains("\(publicBase)/associates/LEA23"))
            let byGTIN = try await server.request("/work?q=3760001001983", headers: ["Cookie": session])
            #expect(byGTIN.status == 303 && byGTIN.header("Location")?.hasSuffix("/work/products/03760001001983") == true)
            let byWords = try await server.request("/work?q=caf%C3%A9+moulu", headers: ["Cookie": session, "Accept-Language": "en"])
            #expect(byWords.text.contains("/work/products/03760001001983"), "words of the title find the product")
            let nothing = try await server.request("/work?q=zzzz", headers: ["Cookie": session, "Accept-Language": "en"])
            #expect(nothing.text.contains("No product has these words."))

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
            guard case .held = try await server.reference.hold(hold, at: testNow, until: testNow.addingTimeInterval(3600), key: nil) else {
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
            // Each figure's cell is labelled for the handheld's cards (data-label): the figures are read without it.
            let cells = view.text.replacing(#/ data-label="[^"]*"/#, with: "")
            #expect(cells.contains("<td class=\"n\">\(onHand)</td><td class=\"n\">2</td><td class=\"n\">\(onHand - 2)</td>"), "on hand, held, available here")
            #expect(details.stores.count > 1, "other stores list it too")
            for listing in details.stores where listing.store.code != "PAR01" {
                #expect(view.text.contains(listing.store.name), "every store that lists it")
            }
            #expect(view.text.contains("Tag abc is not in the print ledger"))
            #expect(view.text.contains("\(publicBase)/01/\(promotion)?s=PAR01&amp;a=LEA23"), "the associate's own link to share")
            // Once a tag is printed here, the view says when and whether it is current.
            let promoted = try GTIN(promotion)
            let shelf = try #require(try await server.reference.shelf(of: "PAR01"))
            let shelfItem = try #require(shelf.items.first(where: { $0.product.gtin == promoted }))
            let printedAt = testNow.addingTimeInterval(-3600)
            try await server.reference.recordPrints([PrintedTag(label: shelfItem.label(at: printedAt), template: "standard", printedAt: printedAt)])
            let printed = try await server.request("/work/products/\(promotion)", headers: ["Cookie": session, "Accept-Language": "en"])
            #expect(printed.text.contains("Last tag printed here on"), "\(printed.text.count)")
            // The delivery link for the shopper's phone, as a QR code, carrying the associate's code.
            let deliveryLink = "\(publicBase)/products/\(promotion)/web?type=deliver&amp;s=PAR01&amp;a=LEA23"
            #expect(view.text.contains(deliveryLink))
            // Both QR codes on the page decode to their links: the associate's to share, the delivery one.
            var decoded: [String] = []
            for match in view.text.matches(of: #/data:image\/png;base64,([A-Za-z0-9+\/=]+)/#) {
                let png = FileManager.default.temporaryDirectory.appendingPathComponent("work-qr-\(UUID().uuidString).png")
                try Data(base64Encoded: String(match.output.1))?.write(to: png)
                decoded += try await zbarSymbols(in: [png.path])[png.path] ?? []
            }
            #expect(
                Set(decoded) == [
                    "QR-Code:" + deliveryLink.replacingOccurrences(of: "&amp;", with: "&"), "QR-Code:\(publicBase)/01/\(promotion)?s=PAR01&a=LEA23",
                ])
            // The shopper's phone following it (in stock here, so the page offers no delivery) still reaches the web shop credited.
            let followed = try await server.request("/products/\(promotion)/web?type=deliver&s=PAR01&a=LEA23")
            #expect(followed.status == 303 && followed.header("Location")?.contains("associate=LEA23") == true)
            #expect(!view.text.contains("Ana") && !view.text.contains("ana@"), "no shopper data in the product view")

            // A shopper's phone (no session) still gets the shopper page; so does a revoked tablet.
            #expect(try await server.request("/01/\(promotion)?s=PAR01").header("Location")?.contains("/products/") == true)
            let lyon = try #require(try await signIn(server, code: "MAX67", secret: "sa_max").cookie)
            let fromLyon = try await server.request("/work/products/\(promotion)", headers: ["Cookie": lyon, "Accept-Language": "en"])
            #expect(fromLyon.status == 200 && fromLyon.text.contains("(here)"), "other stores' stock is read-only, their own marked")
        }
    }

    /// The anti-forgery token of a signed-in page.
    private func csrf(in page: TestServer.Reply) throws -> String {
        try #require(page.text.firstRange(of: #/name="csrf" value="([^"]+)"/#).map { String(page.text[$0].split(separator: "\"")[3]) })
    }

    private func post(_ server: TestServer, _ path: String, session: String, fields: String) async throws -> TestServer.Reply {
        try await server.request(
            path, method: "POST", headers: ["Cookie": session, "Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "en"],
            body: Data(fields.utf8))
    }

    @Test("for a product a chain lists in many stores, the staff view shows its own store and the nearest with some available, with a link to all of them")
    func nearestStoresWithStock() async throws {
        try await withAssociates { server in
            let gtin = try GTIN(promotion)
            let samples = try #require(try await server.reference.details(of: gtin))
            // 14 more stores east of Paris, one every 20 km: every third has none on hand, C05's one is held.
            try await server.reference.write { writer in
                let pricing = try #require(samples.stores.first).offer.pricing
                for index in 1...14 {
                    let code = String(format: "C%02d", index)
                    // C01 opens on Sundays only.
                    try writer.save(
                        Store(
                            code: code, name: "Chain \(code)", address: "", latitude: 48.8606, longitude: 2.3412 + Double(index) * 0.2735,
                            timeZone: "Europe/Paris", locale: "fr-FR", openingHours: index == 1 ? try OpeningHours("Su 10:00-12:00") : nil))
                    let onHand = index % 3 == 0 ? 0 : index == 5 ? 1 : 4
                    try writer.save(
                        StoreOffer(
                            storeCode: code, gtin: gtin, pricing: pricing, availability: StoreAvailability(quantity: onHand), pickupMethod: nil,
                            pickupSLA: nil, stock: Stock(onHand: onHand)), recordedAt: testNow)
                }
            }
            let hold = try HoldRequest(storeCode: "C05", gtin: gtin, quantity: "1", customerName: "Ana", contact: "ana@example.com")
            guard case .held = try await server.reference.hold(hold, at: testNow, until: testNow.addingTimeInterval(3600), key: nil) else {
                Issue.record("no hold in C05")
                return
            }
            let details = try #require(try await server.reference.details(of: gtin))
            #expect(details.stores.count == 18)
            let paris = try #require(details.stores.first { $0.store.code == "PAR01" }).store
            let expected =
                ["PAR01"]
                + details.stores.filter { $0.store.code != "PAR01" && $0.offer.stock.onHand > 0 && $0.store.code != "C05" }
                .sorted { paris.distanceKilometres(to: $0.store) < paris.distanceKilometres(to: $1.store) }.prefix(10).map(\.store.code)
            let names = Dictionary(uniqueKeysWithValues: details.stores.map { ($0.store.name, $0.store.code) })
            /// The stores of the stock table, in order, and those the reservation form offers.
            func listed(_ page: TestServer.Reply) -> (rows: [String], offered: [String]) {
                let rows = page.text.matches(of: #/<tr(?: class="here")?><td class="store">([^<(]+?)(?: \(here\))?(?:<br>|</td>)/#).compactMap {
                    names[String($0.output.1)]
                }
                let offered = page.text.matches(of: #/<option value="([^"]+)"/#).map { String($0.output.1) }
                return (rows, offered)
            }

            let session = try #require(try await signIn(server, code: "LEA23", secret: "sa_lea").cookie)
            let english = ["Cookie": session, "Accept-Language": "en"]
            let nearest = try await server.request("/work/products/\(promotion)?t=abc", headers: english)
            #expect(nearest.status == 200)
            #expect(listed(nearest).rows == expected, "Paris, then the 10 nearest with some available")
            #expect(!listed(nearest).rows.contains("C03") && !listed(nearest).rows.contains("C05"), "none on hand, or all of it held")
            let parisHasSome = try #require(details.stores.first { $0.store.code == "PAR01" }).offer.stock.onHand > 0
            #expect(listed(nearest).offered == (parisHasSome ? expected : Array(expected.dropFirst())), "the form offers the stores shown")
            let allLink = "/work/products/\(promotion)?t=abc&amp;stores=all"
            #expect(nearest.text.contains("<a href=\"\(publicBase)\(allLink)\">All 18 stores</a>"))
            #expect(nearest.text.contains("Chain C01<br><span class=\"small\">Closed now · opens Sunday 10:00</span></td>"), "shut on Monday")
            #expect(!nearest.text.contains("Chain C02<br>"), "no opening hours known: nothing said")

            let all = try await server.request(allLink.replacingOccurrences(of: "&amp;", with: "&"), headers: english)
            #expect(Set(listed(all).rows) == Set(details.stores.map(\.store.code)) && listed(all).rows.count == 18 && listed(all).rows.first == "PAR01")
            #expect(!listed(all).offered.contains("C05") && !listed(all).offered.contains("C03"), "nothing available: nothing to reserve")
            #expect(all.text.contains("<a href=\"\(publicBase)/work/products/\(promotion)?t=abc\">Nearest with stock</a>"))
            #expect(!all.text.contains("stores=all\""), "no link to the view it is")
            // Filtered by words of the name, code or address (any case, any accents): the associate's own store stays first.
            #expect(all.text.contains("<input type=\"hidden\" name=\"t\" value=\"abc\"><input name=\"filter\" value=\"\""))
            let chain = try await server.request("/work/products/\(promotion)?t=abc&stores=all&filter=chain+C0", headers: english)
            #expect(listed(chain).rows == ["PAR01"] + (1...9).map { "C0\($0)" }.sorted { $0 < $1 }, "\(listed(chain).rows)")
            #expect(chain.text.contains("name=\"filter\" value=\"chain C0\""))
            let lyon = try await server.request("/work/products/\(promotion)?stores=all&filter=PART-DIEU", headers: english)
            #expect(listed(lyon).rows == ["PAR01", "LYO02"])
            let french = try await server.request("/work/products/\(promotion)", headers: ["Cookie": session, "Accept-Language": "fr"])
            #expect(french.text.contains(">Les 18 magasins</a>"))
            let web = try #require(["in_stock": ("in stock", "en stock")][details.webOffer.availability.rawValue], "the sample sells it online")
            #expect(nearest.text.contains(" · \(web.0)</p>") && french.text.contains(" · \(web.1)</p>"), "the web shop's availability in the page's language")
        }
    }

    @Test("the queue: held → ready (the shopper's page and JSON say so) → collected; the pickup QR opens it; another store gets 403")
    func preparationQueue() async throws {
        try await withAssociates { server in
            let session = try #require(try await signIn(server, code: "LEA23", secret: "sa_lea").cookie)
            let english = ["Cookie": session, "Accept-Language": "en"]
            // A shopper's reservation from Léa's link, and another one.
            let body = Data(#"{"store": "PAR01", "quantity": 1, "name": "Ana", "contact": "ana@example.com"}"#.utf8)
            let credited = try await server.request(
                "/products/\(promotion)/reserve?a=LEA23", method: "POST", accept: "application/json", headers: ["Content-Type": "application/json"],
                body: body)
            let code = try #require(credited.json?["code"] as? String)
            let other = Data(#"{"store": "PAR01", "quantity": 1, "name": "Bob", "contact": "+33 6 12 34 56 78"}"#.utf8)
            let bob = try await server.request(
                "/products/\(promotion)/reserve", method: "POST", accept: "application/json", headers: ["Content-Type": "application/json"], body: other)
            #expect(bob.status == 201)
            let bobCode = try #require(bob.json?["code"] as? String)

            let queue = try await server.request("/work/queue", headers: english)
            #expect(queue.status == 200)
            #expect(queue.text.contains(code) && queue.text.contains("Ana") && queue.text.contains("ana@example.com") && queue.text.contains("Bob"))
            #expect(queue.text.contains("to prepare"))
            let mine = try await server.request("/work/queue?mine=1", headers: english)
            #expect(mine.text.contains("Ana") && !mine.text.contains("Bob"), "my shoppers: those credited to me")

            let token = try csrf(in: queue)
            #expect(try await post(server, "/work/queue/\(code)/ready", session: session, fields: "csrf=forged").status == 403)
            #expect(try await post(server, "/work/queue/\(code)/ready", session: session, fields: "csrf=\(token)").status == 303)
            #expect(try await server.json("/reservations/\(code)")["state"] as? String == "ready")
            let shopperPage = try await server.request("/reservations/\(code)", headers: ["Accept-Language": "en"])
            #expect(shopperPage.text.contains("Ready for pickup"))
            #expect(try await post(server, "/work/queue/\(code)/ready", session: session, fields: "csrf=\(token)").status == 409, "ready once")
            // Ready: prepared by Léa, and a message for the shopper the tablet's mail app sends; "Told" records when.
            let ready = try await server.request("/work/queue", headers: english)
            #expect(ready.text.contains("prepared by Léa"))
            let mailto = try #require(ready.text.firstRange(of: #/href="(mailto:[^"]+)"/#).map { String(ready.text[$0].dropFirst(6).dropLast()) })
            let decoded = try #require(mailto.replacingOccurrences(of: "&amp;", with: "&").removingPercentEncoding)
            #expect(decoded.hasPrefix("mailto:ana@example.com?subject=Your reservation \(code) is ready&body=Hello Ana, your reservation \(code) (1 × "))
            #expect(decoded.hasSuffix("is ready for pickup at Maison Exemple Paris Rivoli. Show this code at the desk: \(publicBase)/reservations/\(code)"))
            #expect(!ready.text.contains("shopper told") && ready.text.contains("shopper not told yet"))
            #expect(
                try await post(server, "/work/queue/\(bobCode)/told", session: session, fields: "csrf=\(token)").status == 409, "not ready: nothing to tell")
            #expect(try await post(server, "/work/queue/\(code)/told", session: session, fields: "csrf=\(token)").status == 303)
            let toldPage = try await server.request("/work/queue", headers: english)
            #expect(toldPage.text.contains("shopper told ") && toldPage.text.contains(" by Léa") && !toldPage.text.contains("shopper not told yet"))
            #expect(try await server.reference.reservation(code: code)?.toldAt == testNow)
            #expect(try await server.reference.reservation(code: code)?.toldBy == "LEA23")
            // A phone number gets an SMS: its digits, and the message.
            #expect(try await post(server, "/work/queue/\(bobCode)/ready", session: session, fields: "csrf=\(token)").status == 303)
            let french = try await server.request("/work/queue", headers: ["Cookie": session, "Accept-Language": "fr"])
            let sms = try #require(french.text.firstRange(of: #/href="(sms:[^"]+)"/#).map { String(french.text[$0].dropFirst(6).dropLast()) })
            #expect(sms.removingPercentEncoding?.hasPrefix("sms:+33612345678?body=Bonjour Bob, votre réservation \(bobCode) (1 × ") == true, "\(sms)")
            #expect(french.text.contains("préparée par Léa"))

            // The pickup code's QR opened on the tablet lands on the queue entry.
            let scanned = try await server.request("/reservations/\(code)", headers: english)
            #expect(scanned.status == 303 && scanned.header("Location")?.contains("/work/queue?code=\(code)") == true)

            let lyon = try #require(try await signIn(server, code: "MAX67", secret: "sa_max").cookie)
            let lyonQueue = try await server.request("/work/queue", headers: ["Cookie": lyon, "Accept-Language": "en"])
            #expect(!lyonQueue.text.contains("Ana"), "another store's queue shows none of this store's shoppers")
            let lyonToken = try csrf(in: lyonQueue)
            #expect(try await post(server, "/work/queue/\(code)/collect", session: lyon, fields: "csrf=\(lyonToken)").status == 403)
            #expect(try await server.request("/reservations/\(code)", headers: ["Cookie": lyon]).status == 403)

            #expect(try await post(server, "/work/queue/\(code)/collect", session: session, fields: "csrf=\(token)").status == 303)
            #expect(try await server.json("/reservations/\(code)")["state"] as? String == "collected")
            #expect(try await server.reference.reservation(code: code)?.closedBy == "LEA23", "handed over by Léa")
            #expect(try await server.request("/work/queue", headers: english).text.contains("by Léa"))
            // The shopper's page says what became of it, with no pickup code to show for nothing.
            let collected = try await server.request("/reservations/\(code)", headers: ["Accept-Language": "en"])
            #expect(collected.text.contains("Reservation collected") && !collected.text.contains("Reservation confirmed"))
            #expect(!collected.text.contains("data:image/png") && !collected.text.contains("Held until") && !collected.text.contains("To pay"))
        }
    }

    @Test("the queue shows the open reservations and those closed within a week; older ones are not read, and the API gives them all")
    func queueWindow() async throws {
        try await withAssociates { server in
            let gtin = try GTIN(promotion)
            func hold(_ name: String, at time: Date) async throws -> Reservation {
                let request = try HoldRequest(storeCode: "PAR01", gtin: gtin, quantity: "1", customerName: name, contact: "shopper@example.com")
                let outcome = try await server.reference.hold(request, at: time, until: time.addingTimeInterval(3600), key: nil)
                guard case .held(let reservation) = outcome else { throw HoldRefused(outcome: outcome) }
                return reservation
            }
            let day: TimeInterval = 24 * 3600
            let old = try await hold("Olga Old", at: testNow.addingTimeInterval(-9 * day))
            #expect(
                try await server.reference.change(reservation: old.code, store: "PAR01", .collect, by: nil, at: testNow.addingTimeInterval(-8 * day))
                    != .notFound)
            let recent = try await hold("Rita Recent", at: testNow.addingTimeInterval(-2 * day))
            #expect(
                try await server.reference.change(reservation: recent.code, store: "PAR01", .cancel, by: nil, at: testNow.addingTimeInterval(-day)) != .notFound
            )
            let lapsed = try await hold("Lena Lapsed", at: testNow.addingTimeInterval(-10 * day))
            _ = try await hold("Omar Open", at: testNow.addingTimeInterval(-60))

            let session = try #require(try await signIn(server, code: "LEA23", secret: "sa_lea").cookie)
            let queue = try await server.request("/work/queue", headers: ["Cookie": session, "Accept-Language": "en"])
            #expect(queue.status == 200)
            #expect(queue.text.contains("Omar Open") && queue.text.contains("Rita Recent"))
            #expect(!queue.text.contains("Olga Old") && !queue.text.contains("Lena Lapsed"), "closed over a week ago")

            let token = AccessToken.generate()
            try await server.reference.saveToken(
                hash: SecretHash.of(token), grant: TokenGrant(storeCode: "PAR01", scopes: [.reservations]), createdAt: testNow, expiresAt: nil)
            let all = try await server.request("/api/stores/PAR01/reservations", accept: "application/json", headers: ["Authorization": "Bearer \(token)"])
            let codes = (all.json?["reservations"] as? [[String: Any]])?.compactMap { $0["code"] as? String } ?? []
            #expect(Set([old.code, recent.code, lapsed.code]).isSubset(of: Set(codes)))
            let since = try await server.request(
                "/api/stores/PAR01/reservations?closed_since=\(Timestamp.format(testNow.addingTimeInterval(-7 * day)))", accept: "application/json",
                headers: ["Authorization": "Bearer \(token)"])
            let recentCodes = (since.json?["reservations"] as? [[String: Any]])?.compactMap { $0["code"] as? String } ?? []
            #expect(recentCodes.count == 2 && recentCodes.contains(recent.code) && !recentCodes.contains(old.code))
            let bad = try await server.request(
                "/api/stores/PAR01/reservations?closed_since=yesterday", accept: "application/json", headers: ["Authorization": "Bearer \(token)"])
            #expect(bad.status == 422 && bad.text.contains("closed_since"))
        }
    }

    @Test("reserving for a named shopper in another store: the same hold rules, credited to the associate, the shopper's QR shown")
    func reserveForShopper() async throws {
        try await withAssociates { server in
            let session = try #require(try await signIn(server, code: "LEA23", secret: "sa_lea").cookie)
            let view = try await server.request("/work/products/\(promotion)", headers: ["Cookie": session, "Accept-Language": "en"])
            let token = try csrf(in: view)
            #expect(view.text.contains("Reserve for a shopper") && view.text.contains("value=\"LYO02\""))
            let reply = try await post(
                server, "/work/products/\(promotion)/reserve", session: session,
                fields: "csrf=\(token)&token=t1&store=LYO02&quantity=2&name=Chlo%C3%A9&contact=%2B33+6+12+34+56+78")
            #expect(reply.status == 303)
            let location = try #require(reply.header("Location"))
            #expect(location.hasSuffix("?shopper=1"))
            let confirmation = try await server.request(String(location.dropFirst(publicBase.count)), headers: ["Cookie": session, "Accept-Language": "en"])
            #expect(confirmation.status == 200 && confirmation.text.contains("data:image/png;base64,"), "the pickup QR for the shopper's phone")
            let code = try #require(location.split(separator: "/").last?.split(separator: "?").first.map(String.init))
            let reservation = try #require(try await server.reference.reservation(code: code))
            #expect(reservation.storeCode == "LYO02" && reservation.quantity == 2 && reservation.associateCode == "LEA23")
            #expect(reservation.customerName == "Chloé" && reservation.contact == "+33 6 12 34 56 78")

            let tooMany = try await post(
                server, "/work/products/\(promotion)/reserve", session: session,
                fields: "csrf=\(token)&store=LYO02&quantity=999&name=X&contact=x%40example.com")
            #expect(tooMany.status == 400 || tooMany.status == 409, "never oversold: \(tooMany.status)")
            let forged = try await post(
                server, "/work/products/\(promotion)/reserve", session: session, fields: "csrf=forged&store=PAR01&quantity=1&name=X&contact=x%40example.com")
            #expect(forged.status == 403)
        }
    }

    @Test("at night the associate's own store says when it opens, and the other stores only where they open otherwise")
    func storesShutAtNight() async throws {
        // Monday 23:00 in Paris: PAR01 and LYO02 both open at 10:00 tomorrow, LIL04 and BDX03 too (Tuesday).
        let clock = TestClock(try time("2026-11-23T23:00:00+01:00"))
        try await withAssociates(configuration: TestServer.configuration(clock: clock)) { server in
            let session = try #require(try await signIn(server, code: "LEA23", secret: "sa_lea").cookie)
            let night = try await server.request("/work/products/\(promotion)", headers: ["Cookie": session, "Accept-Language": "en"])
            #expect(night.text.components(separatedBy: "Closed now · opens tomorrow at 10:00").count == 2, "once, on the associate's own store")
            // Tuesday 09:45: every sample store opens at 10:00 on a weekday (Lille at 09:30 on Saturdays only): said once.
            clock.advance(by: 10.75 * 3600)
            let morning = try await server.request("/work/products/\(promotion)", headers: ["Cookie": session, "Accept-Language": "en"])
            #expect(morning.text.components(separatedBy: "Closed now · opens at 10:00").count == 2)
        }
    }

    @Test("a help request nobody closed lapses after an hour: the shopper's page says so and stops refreshing, the work view drops it, taking it is refused")
    func helpRequestLapses() async throws {
        let clock = TestClock(testNow)
        try await withAssociates(configuration: TestServer.configuration(clock: clock)) { server in
            let asked = try await server.request(
                "/help", method: "POST", headers: ["Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "en"],
                body: Data("gtin=\(promotion)&s=PAR01&t=T9".utf8))
            let mine = String(try #require(asked.header("Location")).dropFirst(publicBase.count))
            let id = try #require(mine.split(separator: "/").last.map(String.init))
            let session = try #require(try await signIn(server, code: "LEA23", secret: "sa_lea").cookie)
            clock.advance(by: HelpRequest.lapsesAfter - 1)
            #expect(
                try await server.request("/work", headers: ["Cookie": session, "Accept-Language": "en"]).text.contains("Tag T9"), "open to the last second")
            clock.advance(by: 1)
            let page = try await server.request(mine, headers: ["Accept-Language": "en"])
            #expect(page.text.contains("Nobody could come in time") && !page.text.contains("http-equiv=\"refresh\""))
            let home = try await server.request("/work", headers: ["Cookie": session, "Accept-Language": "en"])
            #expect(!home.text.contains("Tag T9"))
            let taking = try await post(server, "/work/help/\(id)/take", session: session, fields: "csrf=\(try csrf(in: home))")
            #expect(taking.status == 409 && taking.text.contains("lapsed"))
        }
    }

    @Test("a help request from the shopper's page appears in the store's work view; taken ('Léa is coming'), then closed; another store gets 403")
    func helpRequests() async throws {
        try await withAssociates { server in
            let page = try await server.request("/products/\(promotion)?s=PAR01&t=T9", headers: ["Accept-Language": "en"])
            #expect(page.text.contains("Ask for help here"))
            let asked = try await server.request(
                "/help", method: "POST", headers: ["Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "en"],
                body: Data("gtin=\(promotion)&s=PAR01&t=T9".utf8))
            #expect(asked.status == 303)
            let mine = try #require(asked.header("Location"))
            let waiting = try await server.request(String(mine.dropFirst(publicBase.count)), headers: ["Accept-Language": "en"])
            #expect(waiting.text.contains("an associate is on the way") && waiting.text.contains("http-equiv=\"refresh\""))

            let session = try #require(try await signIn(server, code: "LEA23", secret: "sa_lea").cookie)
            let home = try await server.request("/work", headers: ["Cookie": session, "Accept-Language": "en"])
            #expect(home.text.contains("Help requests") && home.text.contains("Tag T9") && home.text.contains("Café moulu pur arabica Brésil 1 kg"))
            let id = try #require(mine.split(separator: "/").last.map(String.init))
            let token = try csrf(in: home)

            let lyon = try #require(try await signIn(server, code: "MAX67", secret: "sa_max").cookie)
            let lyonHome = try await server.request("/work", headers: ["Cookie": lyon, "Accept-Language": "en"])
            #expect(!lyonHome.text.contains("Tag T9"), "another store's work view does not list it")
            #expect(try await post(server, "/work/help/\(id)/take", session: lyon, fields: "csrf=\(try csrf(in: lyonHome))").status == 403)

            #expect(try await post(server, "/work/help/\(id)/take", session: session, fields: "csrf=forged").status == 403)
            #expect(try await post(server, "/work/help/\(id)/take", session: session, fields: "csrf=\(token)").status == 303)
            let myShoppers = try await server.request("/work/queue?mine=1", headers: ["Cookie": session, "Accept-Language": "en"])
            #expect(myShoppers.text.contains("Tag T9"), "my shoppers include the call for help I took")
            #expect(myShoppers.text.contains("Café moulu pur arabica Brésil 1 kg"), "named by its product, though no reservation names it")
            let coming = try await server.request(String(mine.dropFirst(publicBase.count)), headers: ["Accept-Language": "en"])
            #expect(coming.text.contains("Léa is coming") && coming.text.contains("http-equiv=\"refresh\""))
            #expect(try await post(server, "/work/help/\(id)/close", session: session, fields: "csrf=\(token)").status == 303)
            let closed = try await server.request(String(mine.dropFirst(publicBase.count)), headers: ["Accept-Language": "en"])
            #expect(closed.text.contains("Request closed") && !closed.text.contains("http-equiv=\"refresh\""), "no refresh once closed")
            #expect(!(try await server.request("/work", headers: ["Cookie": session, "Accept-Language": "en"])).text.contains("Tag T9"))

            // No store: the request is malformed (400); a store that does not exist is not found (404).
            let noStore = try await server.request(
                "/help", method: "POST", headers: ["Content-Type": "application/x-www-form-urlencoded"], body: Data("gtin=\(promotion)&s=".utf8))
            #expect(noStore.status == 400)
            let unknown = try await server.request(
                "/help", method: "POST", headers: ["Content-Type": "application/x-www-form-urlencoded"], body: Data("gtin=\(promotion)&s=NOPE".utf8))
            #expect(unknown.status == 404)
        }
    }

    @Test("help requests are rate limited per client, like reservations")
    func helpRateLimit() async throws {
        try await TestServer.with(configuration: TestServer.configuration(reservationsPerMinute: 2)) { server in
            var statuses: [Int] = []
            for _ in 0..<3 {
                statuses.append(
                    try await server.request(
                        "/help", method: "POST", headers: ["Content-Type": "application/x-www-form-urlencoded"],
                        body: Data("gtin=\(promotion)&s=PAR01".utf8)
                    ).status)
            }
            #expect(statuses == [303, 303, 429])
        }
    }
}

@Suite("The work view's operations in the JSON API, store-scoped, by token or associate session")
struct WorkAPITests {
    @Test("an associate's session reads the queue and help requests, marks ready, takes and closes; another store's gets 403")
    func sessionAPI() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let lea = Associate(code: "LEA23", storeCode: "PAR01", name: "Léa", languages: [])
        let max = Associate(code: "MAX67", storeCode: "LYO02", name: "Max", languages: [])
        #expect(
            try await reference.addAssociates([NewAssociate(lea, secretHash: SecretHash.of("sa_lea")), NewAssociate(max, secretHash: "x")], at: testNow)
                == .added)
        func session(_ code: String, _ hash: String) async throws -> String {
            let token = AccessToken.generate()
            let opened = NewSession(tokenHash: SecretHash.of(token), csrf: "c", createdAt: testNow, expiresAt: testNow.addingTimeInterval(3600))
            #expect(try await reference.openSession(opened, code: code, secretHash: hash) != nil)
            return "shelftag_session=\(token)"
        }
        let paris = try await session("LEA23", SecretHash.of("sa_lea"))
        let lyon = try await session("MAX67", "x")
        guard
            case .held(let reservation) = try await reference.hold(
                try HoldRequest(storeCode: "PAR01", gtin: try GTIN(promotion), quantity: "1", customerName: "Ana", contact: "ana@example.com"),
                at: testNow, until: testNow.addingTimeInterval(3600), key: nil)
        else {
            Issue.record("no hold")
            return
        }
        try await reference.openHelpRequest(HelpRequest(id: "help-1", storeCode: "PAR01", gtin: try GTIN(promotion), tagID: "T1", createdAt: testNow))
        try await TestServer.with(reference: reference) { server in
            let json = ["Content-Type": "application/json"]
            let queue = try await server.request("/api/stores/PAR01/reservations", accept: "application/json", headers: ["Cookie": paris])
            #expect(queue.status == 200 && (queue.json?["reservations"] as? [[String: Any]])?.first?["code"] as? String == reservation.code)
            #expect(try await server.request("/api/stores/PAR01/reservations", accept: "application/json", headers: ["Cookie": lyon]).status == 403)
            let ready = try await server.request(
                "/api/stores/PAR01/reservations/\(reservation.code)/ready", method: "POST", accept: "application/json",
                headers: json.merging(["Cookie": paris]) { $1 })
            #expect(ready.status == 200 && ready.json?["state"] as? String == "ready")
            let told = try await server.request(
                "/api/stores/PAR01/reservations/\(reservation.code)/told", method: "POST", accept: "application/json",
                headers: json.merging(["Cookie": paris]) { $1 })
            #expect(told.status == 200 && told.json?["state"] as? String == "ready")
            let staffView = try await server.request("/api/stores/PAR01/reservations", accept: "application/json", headers: ["Cookie": paris])
            let listed = try #require((staffView.json?["reservations"] as? [[String: Any]])?.first)
            #expect(listed["preparedBy"] as? String == "LEA23" && listed["toldAt"] as? String == Timestamp.format(testNow) && listed["closedBy"] == nil)
            #expect(listed["toldBy"] as? String == "LEA23")
            let shopperView = try await server.json("/reservations/\(reservation.code)")
            #expect(shopperView["preparedBy"] == nil && shopperView["toldAt"] == nil && shopperView["toldBy"] == nil, "who prepared it is for staff")

            let help = try await server.request("/api/stores/PAR01/help-requests", accept: "application/json", headers: ["Cookie": paris])
            #expect((help.json?["helpRequests"] as? [[String: Any]])?.first?["id"] as? String == "help-1")
            #expect(
                try await server.request(
                    "/api/stores/PAR01/help-requests/help-1/take", method: "POST", accept: "application/json", headers: json.merging(["Cookie": lyon]) { $1 }
                ).status == 403)
            let taken = try await server.request(
                "/api/stores/PAR01/help-requests/help-1/take", method: "POST", accept: "application/json", headers: json.merging(["Cookie": paris]) { $1 })
            #expect(taken.status == 200 && taken.json?["takenBy"] as? String == "LEA23" && taken.json?["state"] as? String == "taken")
            let closed = try await server.request(
                "/api/stores/PAR01/help-requests/help-1/close", method: "POST", accept: "application/json", headers: json.merging(["Cookie": paris]) { $1 })
            #expect(closed.json?["state"] as? String == "closed")
            // Held to the OpenAPI document.
            let validator = try SchemaValidator()
            for document in ((queue.json?["reservations"] as? [[String: Any]]) ?? []) + [listed] {
                #expect(validator.violations(of: document, against: validator.schema("Reservation")).isEmpty)
            }
            for document in [taken.json, closed.json].compactMap({ $0 }) {
                #expect(validator.violations(of: document, against: validator.schema("HelpRequest")).isEmpty)
            }
            #expect(try await server.request("/api/stores/PAR01/help-requests", accept: "application/json").status == 401)

            // Reserving for a shopper in another store, with a session: credited; the same key twice holds once.
            let body = Data(#"{"gtin": "\#(promotion)", "quantity": 1, "name": "Chloé", "contact": "chloe@example.com"}"#.utf8)
            let headers = json.merging(["Cookie": paris, "Idempotency-Key": "k-1"]) { $1 }
            let first = try await server.request("/api/stores/LYO02/reservations", method: "POST", accept: "application/json", headers: headers, body: body)
            let again = try await server.request("/api/stores/LYO02/reservations", method: "POST", accept: "application/json", headers: headers, body: body)
            #expect(first.status == 201 && first.json?["associate"] as? String == "LEA23" && first.json?["store"] as? String == "LYO02")
            #expect(again.json?["code"] as? String == first.json?["code"] as? String, "one key, one reservation")
            #expect(
                try await server.request("/api/stores/LYO02/reservations", method: "POST", accept: "application/json", headers: json, body: body).status
                    == 401)
        }
    }
}

/// A hold a test needed was refused.
private struct HoldRefused: Error {
    let outcome: HoldOutcome
}
