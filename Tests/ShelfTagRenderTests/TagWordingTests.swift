import Foundation
import ShelfTagDomain
import ShelfTagRender
import ShelfTagTestSupport
import Testing

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
}
