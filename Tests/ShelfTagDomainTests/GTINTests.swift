import Testing

@testable import ShelfTagDomain

@Suite("GTIN")
struct GTINTests {
    @Test(
        "every length normalises to 14 digits with its check digit kept",
        arguments: [
            ("96385074", "00000096385074", GTIN.Symbology.ean8),
            ("614141123452", "00614141123452", .upcA),
            ("3760148290011", "03760148290011", .ean13),
            ("09520123456788", "09520123456788", .ean13),
            ("10614141123459", "10614141123459", .none),
        ])
    func normalises(input: String, digits: String, symbology: GTIN.Symbology) throws {
        let gtin = try GTIN(input)
        #expect(gtin.digits == digits)
        #expect(gtin.symbology == symbology)
        #expect(try GTIN(gtin.symbolDigits) == gtin)
    }

    @Test func checkDigitOfTheGS1Example() {
        #expect(GTIN.checkDigit(forBody: "0950600013435".utf8.map { $0 - 48 }) == 2)
    }

    @Test func rejectsWithAReason() {
        #expect(throws: GTINError.badCheckDigit(expected: 1, found: 2)) { try GTIN("3760148290012") }
        #expect(throws: GTINError.wrongLength(11)) { try GTIN("37601482900") }
        #expect(throws: GTINError.notADigit("376014829001A")) { try GTIN("376014829001A") }
        #expect(throws: GTINError.empty) { try GTIN("") }
        // Fullwidth and Arabic-Indic digits are numbers to Swift but not GTIN digits.
        #expect(throws: GTINError.notADigit("３７６０１４８２９００１１")) { try GTIN("３７６０１４８２９００１１") }
        #expect(throws: GTINError.notADigit("٣٧٦٠١٤٨٢٩٠٠١١")) { try GTIN("٣٧٦٠١٤٨٢٩٠٠١١") }
    }

    @Test("random digit strings of every length: accepted exactly when their last digit is the check digit of the others")
    func acceptsExactlyTheValidOnes() {
        var generator = SystemRandomNumberGenerator()
        var accepted = 0
        for _ in 0..<5_000 {
            let count = [7, 8, 11, 12, 13, 14, 15].randomElement(using: &generator)!
            let digits = (0..<count).map { _ in UInt8.random(in: 0...9, using: &generator) }
            let text = String(decoding: digits.map { $0 + 48 }, as: UTF8.self)
            let valid = [8, 12, 13, 14].contains(count) && GTIN.checkDigit(forBody: digits.dropLast()) == digits.last
            #expect(((try? GTIN(text)) != nil) == valid, "\(text)")
            if valid {
                accepted += 1
                #expect((try? GTIN(text))?.digits == String(repeating: "0", count: 14 - count) + text)
            }
        }
        #expect(accepted > 200)
    }
}
