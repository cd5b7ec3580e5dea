import Foundation
import ShelfTagDomain
import ShelfTagStorage
import ShelfTagTestSupport
import Testing

@Suite("The walk over every store offer")
struct OfferWalkTests {
    @Test("read in GTIN ranges at once, it gives what one walk gives, in the same order, with current and stale tags read back whole")
    func rangesReadAlike() async throws {
        let sqlite = try SQLiteProductReference(path: try await sampleDatabase())
        let shelf = try #require(try await sqlite.shelf(of: "PAR01"))
        let printedAt = try time("2026-11-21T06:00Z")
        // Every third tag printed a cent dearer than the shelf: stale, so its whole ledger row is read back.
        let printed = shelf.items.prefix(30).enumerated().map { index, item in
            let due = item.label(at: now)
            let price = index % 3 == 0 ? Money(minorUnits: due.price.minorUnits + 1, currency: due.price.currency) : due.price
            let label = ShelfLabel(
                storeCode: due.storeCode, gtin: due.gtin, price: price, regularPrice: due.regularPrice, priorPrice: due.priorPrice,
                unitPrice: due.unitPrice, promotionEnd: due.promotionEnd)
            return PrintedTag(label: label, template: "standard", printedAt: printedAt)
        }
        try await sqlite.recordPrints(printed)

        let whole = try await sqlite.inspectOffers(stores: nil, at: now, parts: 1) { $0 }
        let inRanges = try await sqlite.inspectOffers(stores: nil, at: now, parts: 3) { $0 }
        #expect(whole.offers > 700)
        #expect(inRanges.offers == whole.offers)
        #expect(inRanges.findings.map { "\($0)" } == whole.findings.map { "\($0)" })
        #expect(Set(inRanges.findings.map(\.gtin)).count > 150)

        let tagged = whole.findings.filter { $0.lastPrint != nil }
        #expect(tagged.map { $0.lastPrint! } == printed)
        #expect(tagged.filter { $0.lastPrint?.label.tagID != $0.label.tagID }.count == 10)

        let oneStore = try await sqlite.inspectOffers(stores: ["LYO02"], at: now, parts: 2) { $0.storeCode }
        #expect(oneStore.offers == whole.findings.filter { $0.storeCode == "LYO02" }.count)
        #expect(Set(oneStore.findings) == ["LYO02"])
    }
}
