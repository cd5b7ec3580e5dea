import Foundation
import Testing

@testable import ShelfTagDomain

@Suite("Text rules: what any text field may hold")
struct TextRuleTests {
    @Test("a shopper's name with a line break, a NUL or a bidi override is refused, naming the field; a normal one passes")
    func reservationNames() throws {
        let gtin = try GTIN("03760001001983")
        func name(_ text: String) -> String? {
            do {
                _ = try HoldRequest(storeCode: "PAR01", gtin: gtin, quantity: "1", customerName: text, contact: "lea@example.com")
                return nil
            } catch {
                return error.description
            }
        }
        #expect(name("Léa Martin-Dubois") == nil)
        #expect(name("Léa\r\nFORGED 99 held") == "name: holds the control character U+000D, which is not allowed")
        #expect(name("Caf\u{0}e") == "name: holds the control character U+0000, which is not allowed")
        #expect(name("Léa \u{202E}ecnarF") == "name: holds the control character U+202E, which is not allowed")
        #expect(name("L" + String(repeating: "\u{301}", count: 500)) == "name: longer than 100 characters")
    }

    @Test("line breaks only where a field has paragraphs; tabs pass; NFC counts an accented letter once")
    func lines() throws {
        #expect(throws: TextProblem.forbiddenCharacter(0x0A)) { try TextRule.line(10).check("a\nb") }
        try TextRule.paragraphs(10).check("a\nb\tc")
        try TextRule.line(3).check("e\u{301}e\u{301}e\u{301}")
        #expect(throws: TextProblem.tooLong(max: 2)) { try TextRule.line(2).check("e\u{301}e\u{301}e\u{301}") }
    }

    @Test("ASCII text (checked by byte) and other text (by scalar) fail alike: the first of a forbidden character or the limit")
    func firstProblemWins() throws {
        for first in ["a", "é"] {
            #expect(throws: TextProblem.forbiddenCharacter(0x01)) { try TextRule.line(3).check(first + "b\u{1}cd") }
            #expect(throws: TextProblem.tooLong(max: 3)) { try TextRule.line(3).check(first + "bcd\u{1}") }
            #expect(throws: TextProblem.forbiddenCharacter(0x7F)) { try TextRule.line(3).check(first + "b\u{7F}") }
            #expect(throws: TextProblem.forbiddenCharacter(0x0A)) { try TextRule.line(9).check(first + "\n") }
            try TextRule.paragraphs(3).check(first + "\n\t")
            try TextRule.line(3).check(first + "bc")
        }
    }

    @Test("the byte check of what a page may show agrees with the scalar rule, over every scalar to U+2FFF and beyond")
    func displayableByBytes() {
        var scalars = (0...0x2FFF).compactMap(Unicode.Scalar.init)
        scalars += ["\u{FEFF}", "\u{1F600}", "\u{10FFFF}"]
        for scalar in scalars {
            let forbidden = TextRule.isForbidden(scalar, allowsLineBreaks: true)
            #expect(TextRule.isDisplayable("a" + String(scalar) + "b") == !forbidden, "U+\(String(scalar.value, radix: 16))")
            #expect(TextRule.isDisplayable(String(scalar)) == !forbidden, "U+\(String(scalar.value, radix: 16)) alone")
        }
        #expect(TextRule.displayable("Paris \u{202E}ilovir\u{202C}\r") == "Paris ilovir")
    }
}
