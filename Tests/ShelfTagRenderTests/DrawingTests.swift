import Foundation
import ShelfTagDomain
import ShelfTagTestSupport
import Testing

@testable import ShelfTagRender

@Suite("Drawing a tag")
struct DrawingTests {
    /// Pixel-for-pixel references, one per shipped template. `SHELFTAG_UPDATE_REFERENCES=1 swift test` rewrites them after an intended change.
    @Test(arguments: ["standard", "promotion", "small"])
    func matchesItsReferenceImage(name: String) async throws {
        let tagTemplate = try template(name)
        let drawer = try TagDrawer(dpi: 300, correction: .medium, templates: [tagTemplate])
        let (raster, _) = try drawer.draw(tagTemplate, try fixedContent())
        try compareWithReference(raster, name: name)
    }

    @Test func sheetMatchesItsReferenceImage() async throws {
        let tagTemplate = try template("small")
        let layout = try SheetLayout(contentsOf: templates.sheetLayoutURL("a4"))
        let drawer = try TagDrawer(dpi: 203, correction: .medium, templates: [tagTemplate])
        let tags = try (0..<7).map { _ in try drawer.draw(tagTemplate, try fixedContent()).0 }
        try compareWithReference(SheetComposer(layout: layout, template: tagTemplate, drawer: drawer).compose(tags), name: "a4-small-203dpi")
    }

    private func compareWithReference(_ raster: Raster, name: String) throws {
        let url = repository.appendingPathComponent("Tests/ShelfTagRenderTests/References/\(name).png")
        if ProcessInfo.processInfo.environment["SHELFTAG_UPDATE_REFERENCES"] == "1" {
            try PNGEncoder.encode(raster, dpi: 300, format: .grey).write(to: url)
        }
        let reference = try #require(decodeGreyPNG(try Data(contentsOf: url)), "\(name).png is missing or unreadable")
        #expect(reference.width == raster.width && reference.height == raster.height)
        let differing = zip(reference.pixels, raster.pixels).filter { $0 != $1 }.count
        #expect(differing == 0, "\(differing) pixels differ from References/\(name).png")
    }

    @Test("a long name wraps on two lines and ends with an ellipsis")
    func longNameWrapsAndEllipsises() async throws {
        let standard = try template("standard")
        guard case .text(let nameBox) = try #require(standard.elements.first { $0.name == "name" }).element else {
            Issue.record("the standard template's name is not a text box")
            return
        }
        let drawer = try TagDrawer(dpi: 300, correction: .medium, templates: [standard])
        let long = String(repeating: "Confiture extra de fraises de Plougastel ", count: 4)
        let layout = drawer.layoutText(nameBox, long)
        #expect(layout.lines.count == 2)
        #expect(layout.truncated)
        #expect(layout.lines[1].hasSuffix("…"))
        #expect(layout.fitsWidth)
        let short = drawer.layoutText(nameBox, "Sel fin")
        #expect(short.lines == ["Sel fin"] && !short.truncated)
        // Widths measured as lines are set are those of the lines as drawn, the ellipsised one included.
        for set in [layout, short] {
            #expect(set.widths64 == set.lines.map { drawer.typesetter.width64(Substring($0), font: set.font) })
        }
    }

    @Test("text measured a piece at a time, each kerned against the last, has the width of the whole")
    func widthsAddUp() async throws {
        let standard = try template("standard")
        let drawer = try TagDrawer(dpi: 300, correction: .medium, templates: [standard])
        for placed in standard.elements {
            guard case .text(let box) = placed.element else { continue }
            let font = FontSpec(path: box.fontPath, size64: Int(box.size * 300 / 72 * 64))
            // The font kerns: the pieces' kerning is what is checked.
            #expect(drawer.typesetter.width64("AV", font: font) < drawer.typesetter.width64("A", font: font) + drawer.typesetter.width64("V", font: font))
            for text in ["AVANT-GARDE Tour Wagon", "Crème fraîche épaisse d'Isigny AOP", "Yaourt « To Vanilla » 4 × 125 g"] {
                let whole = drawer.typesetter.width64(Substring(text), font: font)
                for cut in [1, 5, text.count / 2, text.count - 1] {
                    let head = text.prefix(cut)
                    let (headWidth, last) = drawer.typesetter.width64(Substring(head), font: font, after: Typesetter.noGlyph)
                    let (tailWidth, _) = drawer.typesetter.width64(Substring(text.dropFirst(cut)), font: font, after: last)
                    #expect(headWidth + tailWidth == whole, "'\(text)' cut at \(cut), \(placed.name)")
                }
            }
        }
    }

    @Test("a quantity keeps its unit on the same line")
    func quantityKeepsItsUnit() async throws {
        #expect(TagDrawer.unbreakableWords("Café moulu Pérou 1 kg") == ["Café", "moulu", "Pérou", "1 kg"])
        #expect(TagDrawer.unbreakableWords("Jus 75 cl — format 0,5 l n°22") == ["Jus", "75 cl", "—", "format", "0,5 l", "n°22"])
        #expect(TagDrawer.unbreakableWords("Carte 256 Go 12") == ["Carte", "256 Go", "12"])
        let standard = try template("standard")
        guard case .text(let nameBox) = try #require(standard.elements.first { $0.name == "name" }).element else {
            Issue.record("the standard template's name is not a text box")
            return
        }
        let drawer = try TagDrawer(dpi: 300, correction: .medium, templates: [standard])
        // On the A4 sheet this name used to end its first line with "1" and put "kg" alone on the second.
        let layout = drawer.layoutText(nameBox, "Café moulu pur arabica Pérou 1 kg")
        #expect(layout.lines.count == 2)
        #expect(layout.lines.last?.hasSuffix("1 kg") == true, "\(layout.lines)")
    }

    @Test("a price too wide for its box shrinks instead of overflowing")
    func priceShrinksToFit() async throws {
        let standard = try template("standard")
        guard case .text(let priceBox) = try #require(standard.elements.first { $0.name == "price" }).element else {
            Issue.record("the standard template's price is not a text box")
            return
        }
        let drawer = try TagDrawer(dpi: 300, correction: .medium, templates: [standard])
        let nominal = Int(priceBox.size * 300 / 72 * 64)
        let short = drawer.layoutText(priceBox, "1 €")
        #expect(short.font.size64 == nominal)
        let wide = drawer.layoutText(priceBox, "1 234,99 €")
        #expect(wide.font.size64 < nominal && wide.font.size64 >= Int(Double(nominal) * TextElement.minimumScale))
        #expect(!wide.truncated && wide.fitsWidth && wide.lines == ["1 234,99 €"])
        #expect(wide.widths64 == [drawer.typesetter.width64("1 234,99 €", font: wide.font)])
    }

    @Test("accented names have real glyphs, not missing-glyph boxes")
    func accentsHaveGlyphs() async throws {
        let standard = try template("standard")
        guard case .text(let nameBox) = try #require(standard.elements.first { $0.name == "name" }).element else { return }
        let drawer = try TagDrawer(dpi: 300, correction: .medium, templates: [standard])
        #expect(drawer.hasGlyphs(for: "Crème brûlée, pâté, œufs, Ça, €, ÉÀÇ", fontPath: nameBox.fontPath))
        #expect(!drawer.hasGlyphs(for: "\u{10FFFD}", fontPath: nameBox.fontPath))
    }

    @Test("a 25-character base keeps the QR code at version 4 or lower, modules at least 0.5 mm on the standard tag")
    func qrCodeVersionAndModuleSize() async throws {
        let base = "https://shelftag.shop.fr/"  // 25 characters
        #expect(base.count == 25)
        let standard = try template("standard")
        for dpi in RenderSettings.supportedResolutions {
            let drawer = try TagDrawer(dpi: dpi, correction: .medium, templates: [standard])
            let (_, placement) = try drawer.draw(standard, try fixedContent(base: String(base.dropLast())))
            let qr = try #require(placement)
            #expect(qr.version <= 4)
            #expect(Double(qr.modulePixels) * 25.4 / Double(dpi) >= 0.5, "\(dpi) dpi: \(qr.modulePixels) px modules")
        }
    }

    @Test("a QR symbol is drawn module for module at every module size, its quiet zone white, nothing around it touched")
    func qrDrawnModuleForModule() async throws {
        let symbol = try QRCode("https://s.shelftag.example/01/03760001001983?s=PAR01&t=k3v9x2qa", correction: .medium)
        let margin = 3
        for modulePixels in 1...12 {
            let side = symbol.sizeWithQuietZone * modulePixels
            var raster = Raster(width: side + 2 * margin, height: side + 2 * margin)
            raster.fill(x: 0, y: 0, width: raster.width, height: raster.height, level: 128)
            symbol.draw(on: &raster, x: margin, y: margin, modulePixels: modulePixels)
            var wrong = 0
            for y in 0..<raster.height {
                for x in 0..<raster.width {
                    let (column, row) = ((x - margin) / modulePixels - QRCode.quietZone, (y - margin) / modulePixels - QRCode.quietZone)
                    let inside = (margin..<(margin + side)).contains(x) && (margin..<(margin + side)).contains(y)
                    let isModule = (0..<symbol.size).contains(column) && (0..<symbol.size).contains(row)
                    let expected: UInt8 = !inside ? 128 : isModule && symbol[column, row] ? 0 : 255
                    if raster[x, y] != expected { wrong += 1 }
                }
            }
            #expect(wrong == 0, "\(wrong) wrong pixels at \(modulePixels) pixels a module")
        }
    }

    @Test("EAN-13 modules follow GS1's tables")
    func ean13Pattern() async throws {
        let barcode = try #require(LinearBarcode(gtin: try GTIN("4006381333931")))
        #expect(barcode.modules.count == 95)
        let bits = barcode.modules.map { $0 ? "1" : "0" }.joined()
        // Start guard, then 0 (odd) as "0001101": digits 2-7 of 4006381333931 use parity OEOOEE for a leading 4.
        #expect(bits.hasPrefix("101" + "0001101" + "0100111"))
        #expect(bits.hasSuffix("1100110" + "101"))
        #expect(LinearBarcode(gtin: try GTIN("10614141000415")) == nil)
        #expect(try #require(LinearBarcode(gtin: try GTIN("96385074"))).modules.count == 67)
    }
}

@Suite("Templates are checked before anything is drawn")
struct TemplateCheckTests {
    static let valid = """
        { "name": "t", "size": { "width": 50, "height": 30 }, "elements": [
          { "name": "title", "type": "text", "frame": { "x": 1, "y": 1, "width": 40, "height": 8 }, "text": "{{name}}", "font": { "size": 8 } } ] }
        """

    @Test("a lone-field text reads the field directly and says what Mustache says; other texts go through Mustache")
    func loneFieldText() async throws {
        let fields = try fixedContent().fields
        var loneFields = 0
        for name in ["standard", "promotion", "small"] {
            for placed in try template(name).elements {
                guard case .text(let text) = placed.element else { continue }
                if text.content.loneField != nil { loneFields += 1 }
                #expect(text.content.render(fields) == text.content.renderedByMustache(fields), "\(name) '\(placed.name)'")
                #expect(text.content.render([:]) == text.content.renderedByMustache([:]), "\(name) '\(placed.name)' without fields")
            }
        }
        #expect(loneFields >= 6)
        let withAmpersand = ["name": "Fish & Chips <b>"]
        for (source, lone) in [("{{name}}", "name"), ("{{ name }}", "name"), ("{{name}} ", nil), ("{{a.b}}", nil), ("{{{name}}}", nil), ("x{{name}}", nil)] {
            let content = try TextContent(source: source)
            #expect(content.loneField == lone, "\(source)")
            #expect(content.render(withAmpersand) == content.renderedByMustache(withAmpersand), "\(source)")
        }
    }

    @Test func validTemplateLoads() async throws {
        let loaded = try TagTemplate(contentsOf: try templateFile(Self.valid))
        #expect(loaded.name == "t" && loaded.elements.count == 1)
    }

    @Test(
        arguments: [
            ("{ \"name\": ", nil, "not valid JSON"),
            (valid.replacingOccurrences(of: "\"x\": 1,", with: "\"x\": 20,"), "#1 'title'", "lies outside the 50.0 × 30.0 mm tag"),
            (valid.replacingOccurrences(of: "\"size\": 8", with: "\"family\": \"No Such Font\", \"size\": 8"), "#1 'title'", "font 'No Such Font'"),
            (valid.replacingOccurrences(of: "\"type\": \"text\"", with: "\"type\": \"txt\""), "#1 'title'", "unknown type 'txt'"),
            (valid.replacingOccurrences(of: "{{name}}", with: "{{#name}}"), "#1 'title'", "not a valid Mustache template"),
            (valid.replacingOccurrences(of: "\"text\":", with: "\"txet\": \"\", \"text\":"), "#1 'title'", "unknown key 'txet'"),
            (valid.replacingOccurrences(of: "\"width\": 50", with: "\"width\": -5"), nil, "'size.width' must be greater than zero"),
        ] as [(String, String?, String)])
    func badTemplateIsRejected(json: String, element: String?, reason: String) throws {
        let url = try templateFile(json)
        #expect {
            try TagTemplate(contentsOf: url)
        } throws: { error in
            guard let error = error as? TemplateError else { return false }
            return error.file == url.path && error.element == element && error.reason.contains(reason)
        }
    }
}
