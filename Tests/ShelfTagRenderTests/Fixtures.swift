import Foundation
import ShelfTagDomain
import ShelfTagTestSupport

@testable import ShelfTagRender

/// A fixed promotion with a unit price, an accented two-line name and an Omnibus prior price.
func fixedItem(title: String = "Crème fraîche épaisse d'Isigny AOP — pot de 20 cl", gtin: String = "3760001001983") throws -> (ShelfItem, ShelfLabel) {
    let euro = Currency.euro
    let store = Store(
        code: "PAR01", name: "Paris République", address: "1 place de la République", latitude: 48.867, longitude: 2.363,
        timeZone: "Europe/Paris", locale: "fr-FR")
    let product = Product(
        gtin: try GTIN(gtin), itemID: "CF-20", title: title, description: "", brand: "Laiterie d'Isigny", imageLink: "", productType: "Crèmerie",
        unitPricing: try UnitPricing(measure: Measure(feedValue: "20cl"), base: Measure(feedValue: "1l")))
    let regular = try Pricing(price: Money(minorUnits: 249, currency: euro))
    let sale = try Pricing(
        price: Money(minorUnits: 249, currency: euro), salePrice: Money(minorUnits: 199, currency: euro),
        saleWindow: SaleWindow(start: time("2026-11-16T08:00+01:00"), end: time("2026-12-14T20:00+01:00")))
    let history = PriceHistory(changes: [
        PriceChange(recordedAt: try time("2026-10-01T06:00Z"), pricing: try Pricing(price: Money(minorUnits: 239, currency: euro))),
        PriceChange(recordedAt: try time("2026-10-25T06:00Z"), pricing: regular),
        PriceChange(recordedAt: try time("2026-11-10T06:00Z"), pricing: sale),
    ])
    let offer = StoreOffer(
        storeCode: "PAR01", gtin: product.gtin, pricing: sale, availability: .inStock, pickupMethod: .reserve, pickupSLA: .sameDay,
        stock: Stock(onHand: 12))
    let item = ShelfItem(
        product: product, webOffer: WebOffer(gtin: product.gtin, pricing: sale, availability: .inStock, link: "https://shop.example/cf"),
        webHistory: history, listing: StoreListing(store: store, offer: offer, history: history))
    return (item, item.label(at: try time("2026-11-23T10:00Z")))
}

func fixedContent(title: String? = nil, gtin: String = "3760001001983", base: String = "https://s.shelftag.example") throws -> TagContent {
    let (item, label) = try title.map { try fixedItem(title: $0, gtin: gtin) } ?? fixedItem(gtin: gtin)
    return TagContent(item: item, label: label, baseURL: base, wording: try tagWording(), printedOn: "23/11/2026")
}

/// A template file written to a temporary folder.
