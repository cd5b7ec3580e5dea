import ShelfTagDomain
import Testing

@testable import ShelfTagServer

@Suite("Page text escaping")
struct PageEscapingTests {
    @Test("the byte check finds exactly the characters HTML escapes or a page drops, over every scalar to U+2FFF and beyond")
    func byteCheckMatchesTheRules() {
        let escapedByHTML: Set<Unicode.Scalar> = ["&", "<", ">", "\"", "'"]
        var scalars = (0...0x2FFF).compactMap(Unicode.Scalar.init)
        scalars += ["\u{FEFF}", "\u{1F600}", "\u{10FFFF}"]
        for scalar in scalars {
            let text = "a" + String(scalar) + "b"
            let changes = TextRule.displayable(text) != text || escapedByHTML.contains(scalar)
            #expect(ShopperHTML.needsEscaping(text) == changes, "U+\(String(scalar.value, radix: 16))")
            #expect(ShopperHTML.needsEscaping(String(scalar)) == changes, "U+\(String(scalar.value, radix: 16)) alone")
        }
    }

    @Test("what escaping makes of a value")
    func escaping() {
        let html = ShopperHTML()
        #expect(html.escapeText("Confiture \u{202E}05,1 \u{07}<b>") == "Confiture 05,1 &lt;b&gt;")
        #expect(html.escapeText("L'été à 0,79\u{202F}€ & \"plus\"") == "L&#39;été à 0,79\u{202F}€ &amp; &quot;plus&quot;")
        #expect(html.escapeText("Brie de Meaux\nAOP\t45 %") == "Brie de Meaux\nAOP\t45 %")
        #expect(html.escapeText("") == "")
    }
}
