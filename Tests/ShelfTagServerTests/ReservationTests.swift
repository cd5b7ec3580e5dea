import Foundation
import ShelfTagDomain
import ShelfTagSecrets
import ShelfTagStorage
import ShelfTagTestSupport
import Testing

/// Sets a product's stock in a store, as the store-update API or a feed would.
func setStock(_ reference: any ProductReference, store: String, gtin: String, onHand: Int) async throws {
    try await reference.write { writer in
        let offer = try writer.offer(store: store, gtin: try GTIN(gtin))!
        try writer.save(
            StoreOffer(
                storeCode: store, gtin: offer.gtin, pricing: offer.pricing, availability: StoreAvailability(quantity: onHand), pickupMethod: .reserve,
                pickupSLA: offer.pickupSLA, stock: Stock(onHand: onHand)), recordedAt: testNow)
    }
}

func reserveBody(quantity: Int = 1, name: String = "Léa M.", contact: String = "lea@example.com", store: String = "PAR01") -> Data {
    Data(#"{"store": "\#(store)", "quantity": \#(quantity), "name": "\#(name)", "contact": "\#(contact)"}"#.utf8)
}

@Suite("Reservations")
struct ReservationTests {
    let path = "/products/\(promotion)/reserve"

    @Test("200 concurrent reservations against a stock of 10: exactly 10 succeed, 190 are refused clearly")
    func noOverselling() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        try await setStock(reference, store: "PAR01", gtin: promotion, onHand: 10)
        try await TestServer.with(reference: reference) { server in
            let statuses = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let reply = try await server.request(
                            path, method: "POST", headers: ["Content-Type": "application/json"], body: reserveBody(name: "Client \(index)"))
                        return (reply.status, reply.text)
                    }
                }
                return try await group.reduce(into: [(Int, String)]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0.0 == 201 }.count == 10)
            let refused = statuses.filter { $0.0 == 409 }
            #expect(refused.count == 190)
            #expect(refused.allSatisfy { $0.1.contains("None left to reserve in store PAR01") })
            let document = try await server.json("/01/\(promotion)?s=PAR01")
            #expect(((document["store"] as? [String: Any])?["stock"] as? [String: Any])?["available"] as? Int == 0)
        }
        let held = try await reference.reservations(store: "PAR01", closedSince: nil).filter { $0.isActive(at: testNow) }.map(\.quantity).reduce(0, +)
        #expect(held == 10)
    }

    @Test("Idempotency-Key: a retry returns the first answer, another body is a 422, a retry while the first runs a 409")
    func idempotency() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        try await TestServer.with(reference: reference) { server in
            let headers = ["Content-Type": "application/json", "Idempotency-Key": "retry-1"]
            let first = try await server.request(path, method: "POST", headers: headers, body: reserveBody(quantity: 2))
            let retry = try await server.request(path, method: "POST", headers: headers, body: reserveBody(quantity: 2))
            #expect(first.status == 201 && retry.status == 201)
            #expect(first.json?["code"] as? String == retry.json?["code"] as? String)
            #expect(try await reference.reservations(store: "PAR01", closedSince: nil).count == 1)
            let other = try await server.request(path, method: "POST", headers: headers, body: reserveBody(quantity: 3))
            #expect(other.status == 422)

            // A first request still running: its key is claimed, its outcome not yet written.
            let sameRequest = try HoldRequest(storeCode: "PAR01", gtin: try GTIN(promotion), quantity: "1", customerName: "Léa M.", contact: "lea@example.com")
            _ = try await reference.claim(key: "running-1", fingerprint: SecretHash.of(sameRequest.requestText), at: testNow, abandonedAfter: 60)
            let running = try await server.request(
                path, method: "POST", headers: ["Content-Type": "application/json", "Idempotency-Key": "running-1"], body: reserveBody())
            #expect(running.status == 409 && (running.json?["detail"] as? String)?.contains("still being processed") == true)

            // The form carries its key as a hidden token.
            let form = Data("s=PAR01&quantity=1&name=L%C3%A9a+M.&contact=lea%40example.com&token=form-1".utf8)
            let page = try await server.request(path, method: "POST", headers: ["Content-Type": "application/x-www-form-urlencoded"], body: form)
            let again = try await server.request(path, method: "POST", headers: ["Content-Type": "application/x-www-form-urlencoded"], body: form)
            #expect(page.status == 201 && again.status == 201 && page.header("Location") == again.header("Location"))
            #expect(page.text.contains("Réservation confirmée") && page.text.contains("data:image/png;base64,"))
        }
    }

    @Test("the form: a phone keyboard for the phone, an e-mail keyboard for the e-mail, either one enough, what is kept and why, a way back")
    func reservationForm() async throws {
        try await TestServer.with { server in
            let form = try await server.request("\(path)?s=PAR01", accept: "text/html").text
            for expected in [
                "type=\"tel\" inputmode=\"tel\" autocomplete=\"tel\"", "type=\"email\" inputmode=\"email\"", "placeholder=\"06 12 34 56 78\"",
                "L&#39;un ou l&#39;autre suffit.", "Le magasin garde votre nom et votre contact avec la réservation",
                "<a href=\"\(publicBase)/products/\(promotion)?s=PAR01\">← Retour au produit</a>",
            ] {
                #expect(form.contains(expected), "the form lacks \(expected)")
            }
            let headers = ["Content-Type": "application/x-www-form-urlencoded"]
            let byPhone = try await server.request(
                path, method: "POST", headers: headers, body: Data("s=PAR01&quantity=1&name=Ana&phone=06+12+34+56+78&email=&token=f1".utf8))
            #expect(byPhone.status == 201, "\(byPhone.text)")
            let byEmail = try await server.request(
                path, method: "POST", headers: headers, body: Data("s=PAR01&quantity=1&name=Bo&phone=&email=bo%40example.com&token=f2".utf8))
            #expect(byEmail.status == 201, "\(byEmail.text)")
            // Eight digits are no French phone number: refused, the field named.
            let short = try await server.request(
                path, method: "POST", headers: ["Content-Type": "application/json"], body: reserveBody(contact: "0612 3456"))
            #expect(short.status == 400 && (short.json?["detail"] as? String)?.contains("not a French phone number") == true, "\(short.text)")
            let neither = try await server.request(
                path, method: "POST", headers: headers, body: Data("s=PAR01&quantity=1&name=Cy&phone=&email=&token=f3".utf8))
            #expect(neither.status == 400)
            let contacts = try await server.reference.reservations(store: "PAR01", closedSince: nil).map(\.contact)
            #expect(contacts.contains("06 12 34 56 78") && contacts.contains("bo@example.com"))
        }
    }

    @Test("a mistake in the form: the form again, in the page's language, what was typed kept, the field marked, what to do next")
    func formRedisplay() async throws {
        try await TestServer.with { server in
            let headers = ["Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"]
            let typo = try await server.request(
                path, method: "POST", headers: headers, body: Data("s=PAR01&quantity=2&name=L%C3%A9a&phone=&email=lea%40gmail&token=t9".utf8))
            #expect(typo.status == 400)
            let page = typo.text
            #expect(page.contains("<html lang=\"fr\">"))
            #expect(page.contains("Indiquez un téléphone (06 12 34 56 78) ou un e-mail (nom@exemple.fr) où vous joindre."), "\(page)")
            #expect(page.contains("value=\"Léa\"") && page.contains("value=\"lea@gmail\"") && page.contains("<option selected>2</option>"))
            #expect(page.contains("aria-invalid=\"true\"") && !page.contains("Bad request"))
            // A French number of eight digits, refused once the store is known: the form again too.
            let short = try await server.request(
                path, method: "POST", headers: headers, body: Data("s=PAR01&quantity=1&name=Ana&phone=0612+3456&email=&token=t10".utf8))
            #expect(short.status == 400 && short.text.contains("value=\"0612 3456\"") && short.text.contains("où vous joindre"))
            // An English phone reads it in English.
            var english = headers
            english["Accept-Language"] = "en"
            let typoEnglish = try await server.request(
                path, method: "POST", headers: english, body: Data("s=PAR01&quantity=1&name=&phone=&email=&token=t11".utf8))
            #expect(typoEnglish.status == 400 && typoEnglish.text.contains("Give your name"), "\(typoEnglish.text)")
            #expect(try await server.reference.reservations(store: "PAR01", closedSince: nil).isEmpty, "nothing was held")
        }
    }

    @Test("nothing left to reserve here: the form offers the stores within the nearby radius that have it, not a dead end")
    func reserveElsewhere() async throws {
        // Out of stock in Paris; in stock in stores 200 to 500 km away.
        let outInParis = "/products/03760001000634/reserve?s=PAR01"
        try await TestServer.with(configuration: ResolverTests.franceWide) { server in
            let form = try await server.request(outInParis, accept: "text/html").text
            #expect(form.contains("Plus rien à réserver") && form.contains("À réserver dans un magasin proche :"))
            #expect(form.contains("<a href=\"\(publicBase)/products/03760001000634/reserve?s=LIL04\">"), "\(form)")
            #expect(!form.contains("?s=PAR01\">Maison"), "not the store that has none")
        }
        try await TestServer.with { server in
            // Within the default 50 km, no store has it: no list to offer.
            let form = try await server.request(outInParis, accept: "text/html").text
            #expect(form.contains("Plus rien à réserver") && !form.contains("magasin proche"))
        }
    }

    @Test("the confirmation: pickup code, a QR code that decodes to it, store, price and the end of the hold")
    func confirmation() async throws {
        try await TestServer.with { server in
            let reply = try await server.request(path, method: "POST", headers: ["Content-Type": "application/json"], body: reserveBody(quantity: 2))
            let document = try #require(reply.json)
            let code = try #require(document["code"] as? String)
            #expect(code.count == 6)
            #expect((document["total"] as? [String: String])?["amount"] == "23.30")
            #expect(document["expiresAt"] as? String == "2026-11-25T10:00:00Z")
            let qr = try await server.request("/reservations/\(code)/qr.png")
            #expect(qr.status == 200 && qr.header("Content-Type") == "image/png")
            let file = try newDirectory().appendingPathComponent("qr.png")
            try qr.body.write(to: file)
            #expect(try await zbarSymbols(in: [file.path])[file.path] == ["QR-Code:\(publicBase)/reservations/\(code)"])
            let page = try await server.request("/reservations/\(code)", accept: "text/html").text
            #expect(page.contains(code) && page.contains("23,30\u{A0}€") && page.contains("Maison Exemple Paris Rivoli"))
        }
    }

    @Test("a hold never ends while the store is shut (opening_hours): the confirmation gives its weekday, day and time, and a way to cancel")
    func openingHoursAndCancel() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        try await setStock(reference, store: "PAR01", gtin: promotion, onHand: 3)
        // Saturday 28 November, 19:30 in Paris; Paris Rivoli closes at 20:00 and opens on Sunday 11:00-19:00.
        let clock = TestClock(try time("2026-11-28T18:30Z"))
        var configuration = TestServer.configuration(clock: clock)
        configuration.holdDuration = 3600
        let path = self.path
        try await TestServer.with(reference: reference, configuration: configuration) { server in
            let held = try #require(
                try await server.request(path, method: "POST", headers: ["Content-Type": "application/json"], body: reserveBody(quantity: 2)).json)
            let code = try #require(held["code"] as? String)
            #expect(held["expiresAt"] as? String == "2026-11-29T18:00:00Z", "an hour from 19:30 is after closing: to Sunday's close, 19:00")
            let french = try await server.request("/reservations/\(code)", accept: "text/html").text
            #expect(french.contains("Gardé jusqu&#39;au dimanche 29 novembre 2026"), "\(french)")
            #expect(french.contains("19:00"))
            #expect(french.contains("action=\"\(publicBase)/reservations/\(code)/cancel\"") && french.contains("Annuler cette réservation"))
            let english = try await server.request("/reservations/\(code)", accept: "text/html", headers: ["Accept-Language": "en"]).text
            #expect(english.contains("Held until Sunday 29 November 2026 at 19:00"), "the en-FR way: \(english)")
            #expect(
                english.contains(
                    "<a href=\"https://www.openstreetmap.org/?mlat=48.8606&amp;mlon=2.3412#map=17/48.8606/2.3412\">Map</a><br>Open until 20:00</p>"))

            // The shopper cancels: back to the page, which now says so; again changes nothing and says the same.
            for _ in 0..<2 {
                let cancel = try await server.request("/reservations/\(code)/cancel", method: "POST", accept: "text/html")
                #expect(cancel.status == 303 && cancel.header("Location") == "\(publicBase)/reservations/\(code)?shopper=1")
                let page = try await server.request("/reservations/\(code)?shopper=1", accept: "text/html").text
                #expect(page.contains("Réservation annulée") && !page.contains("/cancel\"") && !page.contains("data:image/png"))
                #expect(!page.contains("Ouvert jusqu"), "no opening hours for a reservation that holds nothing")
                #expect(!page.contains("nil"), "no advisor: nothing said, not Swift's nil")
            }
            let json = try await server.request("/reservations/\(code)/cancel", method: "POST", accept: "application/json")
            #expect(json.status == 200 && json.json?["state"] as? String == "cancelled")
            let document = try await server.json("/01/\(promotion)?s=PAR01")
            #expect(((document["store"] as? [String: Any])?["stock"] as? [String: Any])?["available"] as? Int == 3, "the units are back")
            #expect(try await server.request("/reservations/ZZZZZZ/cancel", method: "POST", accept: "application/json").status == 404)
        }
    }

    @Test("a shopper cannot cancel what was collected: JSON says 409, the page says it was collected")
    func cancelCollected() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        try await setStock(reference, store: "PAR01", gtin: promotion, onHand: 3)
        let path = self.path
        try await TestServer.with(reference: reference) { server in
            let code = try #require(
                try await server.request(path, method: "POST", headers: ["Content-Type": "application/json"], body: reserveBody()).json?["code"] as? String)
            guard case .done = try await reference.change(reservation: code, store: "PAR01", .collect, by: nil, at: testNow) else {
                Issue.record("not collected")
                return
            }
            let json = try await server.request("/reservations/\(code)/cancel", method: "POST", accept: "application/json")
            #expect(json.status == 409)
            #expect(try await server.request("/reservations/\(code)/cancel", method: "POST", accept: "text/html").status == 303)
            #expect(try await server.request("/reservations/\(code)?shopper=1", accept: "text/html").text.contains("Réservation retirée"))
        }
    }

    @Test("a hold lapses after its time and the stock returns, with no job")
    func expiry() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        try await setStock(reference, store: "PAR01", gtin: promotion, onHand: 1)
        let clock = TestClock(testNow)
        var configuration = TestServer.configuration(clock: clock)
        configuration.holdDuration = 3600
        let path = self.path
        try await TestServer.with(reference: reference, configuration: configuration) { server in
            func reserve() async throws -> Int {
                try await server.request(path, method: "POST", headers: ["Content-Type": "application/json"], body: reserveBody()).status
            }
            let first = try await reserve()
            let whileHeld = try await reserve()
            clock.advance(by: 3601)
            let afterExpiry = try await reserve()
            #expect(first == 201 && whileHeld == 409 && afterExpiry == 201)
        }
        #expect(try await reference.reservations(store: "PAR01", closedSince: nil).map { $0.state(at: clock.now) }.sorted() == ["expired", "held"])
    }

    @Test("staff: collect takes the quantity off stock, cancel releases it, a token of another store sees nothing")
    func staffAndScoping() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        try await setStock(reference, store: "PAR01", gtin: promotion, onHand: 5)
        let paris = AccessToken.generate()
        let lyon = AccessToken.generate()
        try await reference.saveToken(
            hash: SecretHash.of(paris), grant: TokenGrant(storeCode: "PAR01", scopes: [.reservations]), createdAt: testNow, expiresAt: nil)
        try await reference.saveToken(
            hash: SecretHash.of(lyon), grant: TokenGrant(storeCode: "LYO02", scopes: [.reservations]), createdAt: testNow, expiresAt: nil)
        try await TestServer.with(reference: reference) { server in
            let first = try #require(
                try await server.request(path, method: "POST", headers: ["Content-Type": "application/json"], body: reserveBody(quantity: 2)).json?["code"]
                    as? String)
            let second = try #require(
                try await server.request(path, method: "POST", headers: ["Content-Type": "application/json"], body: reserveBody(quantity: 1)).json?["code"]
                    as? String)
            func staff(_ path: String, _ token: String, method: String = "POST") async throws -> TestServer.Reply {
                try await server.request(path, method: method, accept: "application/json", headers: ["Authorization": "Bearer \(token)"])
            }
            #expect(try await staff("/api/stores/PAR01/reservations", lyon, method: "GET").status == 403)
            #expect(try await staff("/api/stores/PAR01/reservations/\(first)/collect", lyon).status == 403)
            #expect(try await staff("/api/stores/LYO02/reservations/\(first)/collect", lyon).status == 404)
            let list = try await staff("/api/stores/PAR01/reservations", paris, method: "GET")
            #expect((list.json?["reservations"] as? [[String: Any]])?.count == 2)

            #expect(try await staff("/api/stores/PAR01/reservations/\(first)/collect", paris).status == 200)
            #expect(try await staff("/api/stores/PAR01/reservations/\(first)/collect", paris).status == 409)
            #expect(try await staff("/api/stores/PAR01/reservations/\(second)/cancel", paris).status == 200)
            let cancelled = try await server.request("/reservations/\(second)")
            #expect(cancelled.text.contains("Réservation annulée") && cancelled.text.contains("réservez à nouveau"))
            #expect(!cancelled.text.contains("Réservation confirmée") && !cancelled.text.contains("data:image/png"), "no pickup code for a cancelled hold")
            let document = try await server.json("/01/\(promotion)?s=PAR01")
            // 5 on hand, 2 collected (gone from the shelf), 1 cancelled (back): 3 available.
            #expect(((document["store"] as? [String: Any])?["stock"] as? [String: Any])?["available"] as? Int == 3)
        }
    }

    @Test("bad requests get 400 with the field named, over the store's limit 409; over the per-client limit, 429")
    func validationAndRateLimit() async throws {
        try await TestServer.with(configuration: TestServer.configuration(reservationsPerMinute: 5)) { server in
            // Over the store's limit (5) is its rule, not the request's form: 409, the field named all the same.
            let cases: [(Data, String, Int)] = [
                (reserveBody(quantity: 0), "quantity", 400), (reserveBody(quantity: 6), "quantity", 409), (reserveBody(name: ""), "name", 400),
                (reserveBody(contact: "not-a-contact"), "contact", 400),
            ]
            for (body, field, status) in cases {
                let reply = try await server.request(path, method: "POST", headers: ["Content-Type": "application/json"], body: body)
                #expect(reply.status == status, "\(field): \(reply.text)")
                #expect(reply.json?["field"] as? String == field)
            }
            // Four refused requests and this one make five: the limit; the next is one too many.
            let fifth = try await server.request(path, method: "POST", headers: ["Content-Type": "application/json"], body: reserveBody())
            #expect(fifth.status == 201)
            let limited = try await server.request(path, method: "POST", headers: ["Content-Type": "application/json"], body: reserveBody())
            #expect(limited.status == 429)
            #expect(limited.header("Retry-After") != nil)
        }
    }
}
