import Testing

@testable import ShelfTagDomain

@Suite("Phone numbers in a store's country")
struct PhoneNumberTests {
    private func hold(_ contact: String) throws -> HoldRequest {
        try HoldRequest(storeCode: "PAR01", gtin: try GTIN("3760001001983"), quantity: "1", customerName: "Léa", contact: contact)
    }

    @Test("France: ten digits from 0, or +33 and nine; an eight-digit number is refused with what to write")
    func french() throws {
        for good in [
            "06 12 34 56 78", "06.12.34.56.78", "+33 6 12 34 56 78", "0033 6 12 34 56 78", "+33 (0)6 12 34 56 78", "+32 470 12 34 56", "lea@example.com",
        ] {
            #expect(throws: Never.self, "\(good)") { try hold(good).checkPhone(storeLocale: "fr-FR") }
        }
        for bad in ["0612 3456", "6 12 34 56 78", "+33 06 12 34 56 78", "+33 6 12 34 56"] {
            #expect(throws: HoldRequestError.self, "\(bad)") { try hold(bad).checkPhone(storeLocale: "fr-FR") }
        }
        // Elsewhere the general rule stands: eight digits are a number in Denmark.
        #expect(throws: Never.self) { try hold("1234 5678").checkPhone(storeLocale: "da-DK") }
    }
}
