import Foundation
import ShelfTagDomain
import ShelfTagStorage
import ShelfTagTestSupport
import Testing

@testable import ShelfTagRender

@Suite("Tag wording")
struct TagWordingTests {
    @Test("the unit price is said as each language says it, per its base measure, legibly labelled")
    func unitPrices() throws {
        let wording = try tagWording()
        let euros = Money(minorUnits: 995, currency: try Currency(code: "EUR"))
        func said(_ base: String, _ locale: String) throws -> String {
            wording.unitPrice(UnitPrice(price: euros, per: try Measure(feedValue: base)), locale: locale)
        }
        #expect(try said("1kg", "fr-FR") == "Prix au kg : 9,95\u{A0}€")
        #expect(try said("1l", "fr-FR").hasPrefix("Prix au litre"))
        #expect(try said("100g", "fr-FR").hasPrefix("Prix aux 100 g"))
        #expect(try said("1kg", "de-DE") == "1 kg = 9,95\u{A0}€")
        #expect(try said("1l", "en-GB") == "Price per litre: €9.95")
        #expect(
            try said("75cl", "nl-NL") == "Eenheidsprijs: " + euros.formatted(locale: "nl-NL") + "/75 cL",
            "a base with no wording of its own: the general one, with the unit")
        #expect(try said("1kg", "pt-PT").hasPrefix("Price per kg: "), "no Portuguese file: English")
    }

    @Test("an electrical product's tag says its eco-participation where the scan label was; a grocery tag keeps the label")
    func ecoParticipationOnTheTag() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let shelf = try #require(try await reference.shelf(of: "LIL04"))
        let headset = try #require(shelf.items.first { $0.product.gtin.digits == "03760001039092" })
        let coffee = try #require(shelf.items.first { $0.product.ecoParticipation == nil })
        let wording = try tagWording()
        let standard = try template("standard")
        let drawer = try TagDrawer(dpi: 300, correction: .medium, templates: [standard])
        let cases = [
            (headset, "dont éco-participation : 0,50\u{A0}€", "Prix, stock et avis"), (coffee, "Prix, stock et avis →", "éco-participation"),
        ]
        for (item, expected, absent) in cases {
            let content = TagContent(item: item, label: item.label(at: Date()), baseURL: "https://s.example", wording: wording, printedOn: "06/12/2026")
            let texts = standard.elements.compactMap { placed -> String? in
                guard case .text(let text) = placed.element, placed.isDrawn(with: content.fields) else { return nil }
                return text.content.render(content.fields)
            }
            #expect(texts.contains(expected), "\(texts)")
            #expect(!texts.contains { $0.contains(absent) }, "\(texts)")
            _ = try drawer.draw(standard, content)
        }
    }
}
