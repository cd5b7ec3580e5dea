import Foundation
import ShelfTagDomain
import ShelfTagStorage
import ShelfTagTestSupport
import Testing

/// Times are Paris wall-clock times (UTC+1 in November); 2026-11-23 is a Monday.
@Suite("The store page says where the store is and whether it is open")
struct StoreOpeningTests {
    @Test("open until closing, then closed with the next opening, the cached page retired at closing; address and a map link; the JSON says so too")
    func openingAndClosing() async throws {
        let clock = TestClock(try time("2026-11-23T19:59:58+01:00"))
        try await TestServer.with(configuration: TestServer.configuration(clock: clock)) { server in
            let path = "/products/\(promotion)?s=PAR01"
            let open = try await server.request(path, headers: ["Accept-Language": "en"])
            #expect(open.text.contains("<p class=\"small\">Open until 20:00</p>"))
            #expect(
                open.text.contains(
                    "120 rue de Rivoli, 75001 Paris · <a href=\"https://www.openstreetmap.org/?mlat=48.8606&amp;mlon=2.3412#map=17/48.8606/2.3412\">Map</a>"))
            let french = try await server.request(path, headers: ["Accept-Language": "fr"])
            #expect(french.text.contains("Ouvert jusqu’à 20:00") || french.text.contains("Ouvert jusqu&#39;à 20:00"), "\(french.text.count)")
            let answer = try await server.request("/products/\(promotion)?s=PAR01", accept: "application/json")
            let store = try #require(answer.json?["store"] as? [String: Any])
            #expect(store["open"] as? Bool == true && store["openingHours"] as? String == "Mo-Sa 10:00-20:00; Su 11:00-19:00")

            // Three seconds later the doors are shut: the cached page (kept 5 to 10 s otherwise) does not outlive the closing.
            clock.advance(by: 3)
            let closed = try await server.request(path, headers: ["Accept-Language": "en"])
            #expect(closed.text.contains("Closed now · opens tomorrow at 10:00"), "\(closed.text)")
            let closedAnswer = try await server.request("/products/\(promotion)?s=PAR01", accept: "application/json")
            #expect((closedAnswer.json?["store"] as? [String: Any])?["open"] as? Bool == false)
        }
    }

    @Test(
        "closed on Saturday night with Sunday shut: the next opening's weekday, tomorrow once past midnight; a store without opening hours says nothing of them"
    )
    func nextOpeningDays() async throws {
        // LYO02 opens Mo-Sa 10:00-20:00; PAR01 also on Sunday 11:00-19:00.
        let clock = TestClock(try time("2026-11-28T23:59:58+01:00"))
        try await TestServer.with(configuration: TestServer.configuration(clock: clock)) { server in
            let lyon = try await server.request("/products/\(promotion)?s=LYO02", headers: ["Accept-Language": "en"])
            #expect(lyon.text.contains("Closed now · opens Monday 10:00"), "\(lyon.text)")
            let paris = try await server.request("/products/\(promotion)?s=PAR01", headers: ["Accept-Language": "en"])
            #expect(paris.text.contains("Closed now · opens tomorrow at 11:00"))
            // Past midnight, Monday is tomorrow and Sunday today: neither the cached pages nor the notes outlive the day.
            clock.advance(by: 3)
            let lyonSunday = try await server.request("/products/\(promotion)?s=LYO02", headers: ["Accept-Language": "en"])
            #expect(lyonSunday.text.contains("Closed now · opens tomorrow at 10:00"))
            let parisSunday = try await server.request("/products/\(promotion)?s=PAR01", headers: ["Accept-Language": "en"])
            #expect(parisSunday.text.contains("Closed now · opens at 11:00"))
            let store = try #require(try await server.reference.store(code: "PAR01"))
            try await server.reference.write { writer in
                try writer.save(
                    Store(
                        code: store.code, name: store.name, address: store.address, latitude: store.latitude, longitude: store.longitude,
                        timeZone: store.timeZone, locale: store.locale, maxReservation: store.maxReservation))
            }
            let unknown = try await server.request("/products/\(promotion)?s=PAR01", headers: ["Accept-Language": "en"])
            #expect(!unknown.text.contains("Closed now") && !unknown.text.contains("Open until"))
        }
    }

    @Test("a store nearby that is shut says when it opens; once it opens, the page drops the note")
    func nearbyStoreClosed() async throws {
        let clock = TestClock(try time("2026-11-23T11:59:58+01:00"))
        try await TestServer.with(configuration: TestServer.configuration(clock: clock)) { server in
            let gtin = try GTIN(promotion)
            let paris = try #require(try await server.reference.details(of: gtin)?.stores.first { $0.store.code == "PAR01" })
            try await server.reference.write { writer in
                try writer.save(
                    Store(
                        code: "PAR02", name: "Maison Exemple Paris Bastille", address: "2 place de la Bastille, 75011 Paris", latitude: 48.8532,
                        longitude: 2.3691, timeZone: "Europe/Paris", locale: "fr-FR", openingHours: try OpeningHours("Mo-Fr 12:00-14:00")))
                try writer.save(
                    StoreOffer(
                        storeCode: "PAR02", gtin: gtin, pricing: paris.offer.pricing, availability: StoreAvailability(quantity: 9), pickupMethod: nil,
                        pickupSLA: nil, stock: Stock(onHand: 9)), recordedAt: clock.now)
            }
            let shut = try await server.request("/products/\(promotion)?s=PAR01", headers: ["Accept-Language": "en"])
            #expect(shut.text.contains("Maison Exemple Paris Bastille</a>"), "PAR02 is nearby")
            #expect(shut.text.contains("<br><span class=\"small\">Closed now · opens at 12:00</span></li>"))
            clock.advance(by: 3)
            let open = try await server.request("/products/\(promotion)?s=PAR01", headers: ["Accept-Language": "en"])
            #expect(open.text.contains("Maison Exemple Paris Bastille</a>") && !open.text.contains("opens at 12:00"))
        }
    }
}
