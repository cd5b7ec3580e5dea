/// A tag's layout as vector marks, in device pixels at the drawer's resolution: filled rectangles and runs of glyphs.
/// Workers record tags in parallel; the one thread that writes the PDF replays them in order.
struct TagDrawing: TagSurface {
    /// Glyphs of one line, with the text they set (so a PDF reader can search and copy it).
    struct GlyphRun {
        let fontPath: String
        /// The em size, in pixels.
        let size: Double
        let text: Substring
        let glyphs: [UInt32]
        /// Each glyph's origin on the baseline, in pixels.
        let positions: [Double]
        let baseline: Int
    }

    struct Rectangle {
        let x: Int
        let y: Int
        let width: Int
        let height: Int
    }

    private(set) var rectangles: [Rectangle] = []
    private(set) var glyphRuns: [GlyphRun] = []

    mutating func fill(x: Int, y: Int, width: Int, height: Int) {
        guard width > 0, height > 0 else { return }
        rectangles.append(Rectangle(x: x, y: y, width: width, height: height))
    }

    mutating func qrCode(_ symbol: QRCode, payload: String, x: Int, y: Int, modulePixels: Int) {
        let origin = QRCode.quietZone * modulePixels
        for run in symbol.darkRuns {
            fill(x: x + origin + run.x * modulePixels, y: y + origin + run.y * modulePixels, width: run.length * modulePixels, height: modulePixels)
        }
    }

    mutating func bars(_ barcode: LinearBarcode, left: Int, top: Int, module: Int, barBottom: Int, guardBottom: Int) {
        for run in barcode.barRuns {
            fill(x: left + run.start * module, y: top, width: run.length * module, height: (run.extendsDown ? guardBottom : barBottom) - top)
        }
    }

    mutating func text(_ line: SetLine, typesetter: Typesetter) {
        let placed = typesetter.glyphs(line.text, font: line.font, x: line.x)
        glyphRuns.append(
            GlyphRun(
                fontPath: line.font.path, size: Double(line.font.size64) / 64, text: line.text, glyphs: placed.map(\.index),
                positions: placed.map { Double($0.x64) / 64 }, baseline: line.baseline))
    }
}
