import Foundation
import Testing

@testable import ShelfTagDomain

@Suite("What to offer next")
struct NextStepTests {
    let paris = Store(code: "PAR01", name: "Paris", address: "", latitude: 48.86, longitude: 2.34, timeZone: "Europe/Paris", locale: "fr-FR")
    let lille = Store(code: "LIL04", name: "Lille", address: "", latitude: 50.63, longitude: 3.06, timeZone: "Europe/Paris", locale: "fr-FR")
    let lyon = Store(code: "LYO02", name: "Lyon", address: "", latitude: 45.76, longitude: 4.86, timeZone: "Europe/Paris", locale: "fr-FR")

    func offer(_ method: PickupMethod?, sla: PickupSLA? = .sameDay, onHand: Int = 4) throws -> StoreOffer {
        StoreOffer(
            storeCode: "PAR01", gtin: try GTIN("3760001001983"), pricing: nil, availability: StoreAvailability(quantity: onHand), pickupMethod: method,
            pickupSLA: sla, stock: Stock(onHand: onHand))
    }

    func web(_ availability: WebAvailability) throws -> WebOffer {
        WebOffer(
            gtin: try GTIN("3760001001983"), pricing: try Pricing(price: Money(minorUnits: 100, currency: .euro)), availability: availability,
            link: "https://shop/p")
    }

    @Test func inStockHere() async throws {
        #expect(
            NextStep.choose(here: try offer(.reserve), availableHere: 4, web: try web(.inStock), nearby: []) == [
                .reserveHere(sla: .sameDay), .deliver(link: "https://shop/p"),
            ])
        #expect(NextStep.choose(here: try offer(nil), availableHere: 4, web: try web(.outOfStock), nearby: []) == [.reserveHere(sla: .sameDay)])
        #expect(
            NextStep.choose(here: try offer(.buy), availableHere: 4, web: try web(.outOfStock), nearby: []) == [
                .buyOnlinePickUpHere(link: "https://shop/p", sla: .sameDay)
            ])
        #expect(NextStep.choose(here: try offer(.notSupported), availableHere: 4, web: try web(.outOfStock), nearby: []).isEmpty)
    }

    @Test func outOfStockHereWebHasIt() async throws {
        #expect(
            NextStep.choose(here: try offer(.reserve, onHand: 0), availableHere: 0, web: try web(.inStock), nearby: []) == [.deliver(link: "https://shop/p")])
        #expect(
            NextStep.choose(here: try offer(.shipToStore, sla: .multiWeek, onHand: 0), availableHere: 0, web: try web(.backorder), nearby: [])
                == [.deliver(link: "https://shop/p"), .shipToStore(link: "https://shop/p", sla: .multiWeek)])
        // Held stock counts as gone: on hand 4 but all 4 reserved.
        #expect(NextStep.choose(here: try offer(.reserve), availableHere: 0, web: try web(.inStock), nearby: []) == [.deliver(link: "https://shop/p")])
    }

    @Test func outEverywhereShowsNearbyStoresNearestFirst() async throws {
        let nearby = [
            NearbyStock(store: lyon, available: 2, distanceKilometres: 393), NearbyStock(store: lille, available: 5, distanceKilometres: 204),
            NearbyStock(store: lille, available: 0, distanceKilometres: 1),
        ]
        let steps = NextStep.choose(here: try offer(.reserve, onHand: 0), availableHere: 0, web: try web(.outOfStock), nearby: nearby)
        #expect(steps == [.visitNearby(nearby[1]), .visitNearby(nearby[0])])
        #expect(NextStep.choose(here: try offer(.reserve, onHand: 0), availableHere: 0, web: try web(.outOfStock), nearby: []).isEmpty)
    }

    @Test("hold requests name the field at fault")
    func holdRequestValidation() async throws {
        let gtin = try GTIN("3760001001983")
        #expect(throws: HoldRequestError.field("quantity", "must be a whole number from 1")) {
            try HoldRequest(storeCode: "PAR01", gtin: gtin, quantity: "0", customerName: "Léa", contact: "lea@example.com")
        }
        #expect(throws: HoldRequestError.self) { try HoldRequest(storeCode: "PAR01", gtin: gtin, quantity: "1", customerName: " ", contact: "lea@example.com") }
        #expect(throws: HoldRequestError.self) { try HoldRequest(storeCode: "PAR01", gtin: gtin, quantity: "1", customerName: "Léa", contact: "lea@") }
        #expect(throws: HoldRequestError.self) { try HoldRequest(storeCode: "PAR01", gtin: gtin, quantity: "1", customerName: "Léa", contact: "12") }
        #expect(throws: HoldRequestError.self) { try HoldRequest(storeCode: nil, gtin: gtin, quantity: "1", customerName: "Léa", contact: "lea@example.com") }
        let ok = try HoldRequest(storeCode: "PAR01", gtin: gtin, quantity: " 2 ", customerName: " Léa M. ", contact: "+33 6 12 34 56 78")
        #expect(ok.quantity == 2 && ok.customerName == "Léa M.")
    }
}
