import Foundation
import ShelfTagDomain

/// What one tag shows: the label, the URI its QR code carries and the fields its text templates read.
public struct TagContent: Sendable {
    public let label: ShelfLabel
    public let uri: String
    /// Mustache fields: a missing key is an empty value and a false section.
    public let fields: [String: String]

    public init(label: ShelfLabel, uri: String, fields: [String: String]) {
        self.label = label
        self.uri = uri
        self.fields = fields
    }
}

/// How the QR code came out on one tag.
public struct QRPlacement: Sendable, Equatable {
    public let version: Int
    public let modulePixels: Int
}

/// Why one tag could not be drawn.
public enum TagDrawingError: Error, Equatable, CustomStringConvertible {
    case qrCode(QRCodeError)
    case qrDoesNotFit(element: String, version: Int)
    case barcodeDoesNotFit(element: String)

    public var description: String {
        switch self {
        case .qrCode(let error): error.description
        case .qrDoesNotFit(let element, let version): "element '\(element)': a version \(version) QR code does not fit its frame at this resolution"
        case .barcodeDoesNotFit(let element): "element '\(element)': the barcode does not fit its frame at this resolution"
        }
    }
}

/// Draws tags from a template at one resolution. Holds FreeType state: one per thread.
public final class TagDrawer {
    public let dpi: Int
    public let correction: ErrorCorrection
    let typesetter = Typesetter()

    /// - Throws: `FontError` when a font a template names cannot be read.
    public init(dpi: Int, correction: ErrorCorrection, templates: [TagTemplate]) throws(FontError) {
        self.dpi = dpi
        self.correction = correction
        for template in templates {
            for placed in template.elements {
                switch placed.element {
                case .text(let text): try typesetter.load(path: text.fontPath)
                case .barcode(_, let path): try typesetter.load(path: path)
                default: break
                }
            }
        }
    }

    /// Pixels for a length in millimetres at this resolution.
    public func pixels(_ millimetres: Double) -> Int { Int((millimetres * Double(dpi) / 25.4).rounded()) }

    /// Draws one tag on a raster of its size.
    /// - Throws: `TagDrawingError` when the QR code or barcode cannot be drawn in its frame.
    public func draw(_ template: TagTemplate, _ content: TagContent) throws(TagDrawingError) -> (Raster, QRPlacement?) {
        var raster = Raster(width: pixels(template.width), height: pixels(template.height))
        let placement = try draw(template, content, on: &raster)
        return (raster, placement)
    }

    /// Lays one tag out and draws it on `surface`, its top-left corner at `origin` (pixels).
    /// - Throws: `TagDrawingError` when the QR code or barcode cannot be drawn in its frame.
    func draw<Surface: TagSurface>(
        _ template: TagTemplate, _ content: TagContent, on surface: inout Surface, origin: (x: Int, y: Int) = (0, 0)
    ) throws(TagDrawingError) -> QRPlacement? {
        var placement: QRPlacement?
        for placed in template.elements {
            guard placed.isDrawn(with: content.fields) else { continue }
            switch placed.element {
            case .text(let text):
                drawText(text, text.content.render(content.fields), origin: origin, on: &surface)
            case .qrCode(let frame):
                placement = try drawQRCode(content.uri, in: rect(frame, origin), element: placed.name, on: &surface)
            case .barcode(let frame, let digitsFont):
                guard let barcode = LinearBarcode(gtin: content.label.gtin) else { continue }
                try drawBarcode(barcode, in: rect(frame, origin), digitsFont: digitsFont, element: placed.name, on: &surface)
            case .box(let frame, let thickness):
                let (x, y, width, height) = rect(frame, origin)
                if let thickness {
                    let line = max(1, pixels(thickness))
                    surface.fill(x: x, y: y, width: width, height: line)
                    surface.fill(x: x, y: y + height - line, width: width, height: line)
                    surface.fill(x: x, y: y, width: line, height: height)
                    surface.fill(x: x + width - line, y: y, width: line, height: height)
                } else {
                    surface.fill(x: x, y: y, width: max(1, width), height: max(1, height))
                }
            }
        }
        return placement
    }

    private func rect(_ frame: Frame, _ origin: (x: Int, y: Int) = (0, 0)) -> (x: Int, y: Int, width: Int, height: Int) {
        let x = pixels(frame.x)
        let y = pixels(frame.y)
        return (origin.x + x, origin.y + y, pixels(frame.x + frame.width) - x, pixels(frame.y + frame.height) - y)
    }

    // MARK: QR code

    private func drawQRCode<Surface: TagSurface>(
        _ uri: String, in box: (x: Int, y: Int, width: Int, height: Int), element: String, on surface: inout Surface
    ) throws(TagDrawingError) -> QRPlacement {
        let symbol: QRCode
        do { symbol = try QRCode(uri, correction: correction) } catch { throw .qrCode(error) }
        let (x, y, width, height) = box
        // Whole device pixels per module: no resampling, every module the same size.
        let modulePixels = min(width, height) / symbol.sizeWithQuietZone
        guard modulePixels >= 1 else { throw .qrDoesNotFit(element: element, version: symbol.version) }
        let side = modulePixels * symbol.sizeWithQuietZone
        surface.qrCode(symbol, payload: uri, x: x + (width - side) / 2, y: y + (height - side) / 2, modulePixels: modulePixels)
        return QRPlacement(version: symbol.version, modulePixels: modulePixels)
    }

    // MARK: Linear barcode

    private func drawBarcode<Surface: TagSurface>(
        _ barcode: LinearBarcode, in box: (x: Int, y: Int, width: Int, height: Int), digitsFont: String, element: String, on surface: inout Surface
    ) throws(TagDrawingError) {
        let (x, y, width, height) = box
        let module = width / barcode.widthInModules
        let font = FontSpec(path: digitsFont, size64: module * 9 * 64)
        let digitHeight = typesetter.glyph("0", font: font).top
        let digitBand = digitHeight + module
        guard module >= 1, height > digitBand + 10 * module else { throw .barcodeDoesNotFit(element: element) }
        let left = x + (width - module * barcode.widthInModules) / 2 + barcode.quietZone.left * module
        let barBottom = y + height - digitBand
        surface.bars(barcode, left: left, top: y, module: module, barBottom: barBottom, guardBottom: barBottom + digitBand / 2)
        // Human-readable digits: each centred in its 7-module symbol character, outer ones in the quiet zones.
        let baseline = y + height
        func digit(_ value: UInt8, centredAt centre: Int) {
            let text = Substring(String(value))
            let advance = typesetter.width64(text, font: font) / 64
            surface.text(
                SetLine(
                    text: text, font: font, x: centre - advance / 2, baseline: baseline, width: advance, boxLeft: centre - 7 * module / 2,
                    boxWidth: 7 * module, align: .center), typesetter: typesetter)
        }
        let digits = barcode.digits
        switch barcode.symbology {
        case .ean13:
            digit(digits[0], centredAt: left - 4 * module)
            for index in 1...6 { digit(digits[index], centredAt: left + (3 + 7 * (index - 1)) * module + 7 * module / 2) }
            for index in 7...12 { digit(digits[index], centredAt: left + (50 + 7 * (index - 7)) * module + 7 * module / 2) }
        case .upcA:
            digit(digits[0], centredAt: left - 5 * module)
            for index in 1...5 { digit(digits[index], centredAt: left + (10 + 7 * (index - 1)) * module + 7 * module / 2) }
            for index in 6...10 { digit(digits[index], centredAt: left + (50 + 7 * (index - 6)) * module + 7 * module / 2) }
            digit(digits[11], centredAt: left + (95 + 5) * module)
        default:
            for index in 0...3 { digit(digits[index], centredAt: left + (3 + 7 * index) * module + 7 * module / 2) }
            for index in 4...7 { digit(digits[index], centredAt: left + (36 + 7 * (index - 4)) * module + 7 * module / 2) }
        }
    }

    // MARK: Text

    private struct SetLines {
        var lines: [Substring]
        /// Each line's advance width, in 1/64 pixel.
        var widths64: [Int]
        var truncated: Bool
    }

    /// How a text box's content is set: its lines, after shrinking and truncation, and the size used.
    struct TextLayout {
        let lines: [String]
        /// Each line's advance width, in 1/64 pixel.
        let widths64: [Int]
        let font: FontSpec
        /// Whether the text had to be cut short with an ellipsis.
        let truncated: Bool
        /// Whether each line fits the box's width.
        let fitsWidth: Bool
    }

    /// Sets text in a box: wraps at words, shrinks (when allowed) until it fits, else ends the last line with "…".
    func layoutText(_ element: TextElement, _ text: String) -> TextLayout {
        let text = Self.trimmed(Substring(text))
        let (_, _, width, height) = rect(element.frame)
        var scale = 1.0
        var font: FontSpec
        var set: SetLines
        repeat {
            font = FontSpec(path: element.fontPath, size64: Int(element.size * Double(dpi) / 72 * 64 * scale))
            let lineHeight = typesetter.metrics(font).height64
            let linesThatFit = max(1, min(element.maxLines, height * 64 / max(1, lineHeight)))
            set = lines(text, font: font, width64: width * 64, maxLines: linesThatFit, wrap: element.wrap)
            scale -= 0.05
        } while set.truncated && element.shrinkToFit && scale >= TextElement.minimumScale - 0.001
        let truncated = set.truncated
        if truncated, let last = set.lines.popLast() {
            let shortened = Substring(ellipsised(last, font: font, width64: width * 64))
            set.lines.append(shortened)
            set.widths64[set.widths64.count - 1] = typesetter.width64(shortened, font: font)
        }
        let fitsWidth = set.widths64.allSatisfy { $0 <= width * 64 }
        return TextLayout(lines: set.lines.map(String.init), widths64: set.widths64, font: font, truncated: truncated, fitsWidth: fitsWidth)
    }

    private func drawText<Surface: TagSurface>(_ element: TextElement, _ text: String, origin: (x: Int, y: Int), on surface: inout Surface) {
        let layout = layoutText(element, text)
        guard !layout.lines.isEmpty, layout.lines != [""] else { return }
        let (x, y, width, height) = rect(element.frame, origin)
        let font = layout.font
        let metrics = typesetter.metrics(font)
        let block = (layout.lines.count - 1) * metrics.height64 + metrics.ascender64 + metrics.descender64
        var baseline64: Int
        switch element.verticalAlign {
        case .top: baseline64 = y * 64 + metrics.ascender64
        case .middle: baseline64 = y * 64 + (height * 64 - block) / 2 + metrics.ascender64
        case .bottom: baseline64 = (y + height) * 64 - metrics.descender64 - (layout.lines.count - 1) * metrics.height64
        }
        for (line, width64) in zip(layout.lines, layout.widths64) {
            let lineWidth = width64 / 64
            let left: Int
            switch element.align {
            case .left: left = x
            case .center: left = x + (width - lineWidth) / 2
            case .right: left = x + width - lineWidth
            }
            let baseline = (baseline64 + 32) / 64
            surface.text(
                SetLine(
                    text: Substring(line), font: font, x: left, baseline: baseline, width: lineWidth, boxLeft: x, boxWidth: width,
                    align: element.align), typesetter: typesetter)
            if element.strikethrough {
                let thickness = max(1, font.size64 / 64 / 14)
                surface.fill(x: left, y: baseline - metrics.ascender64 / 64 * 3 / 8, width: lineWidth, height: thickness)
            }
            baseline64 += metrics.height64
        }
    }

    /// Whether the font has a real glyph (not the missing-glyph box) for every character of `text`.
    func hasGlyphs(for text: String, fontPath: String) -> Bool {
        let font = FontSpec(path: fontPath, size64: 12 * 64)
        return text.unicodeScalars.allSatisfy { $0 == " " || typesetter.glyph($0, font: font).index != 0 }
    }

    /// Greedy word wrap into at most `maxLines`; `truncated` when text was left over or a line overflows. A line is
    /// measured a word at a time as it is set (measuring each candidate line whole took 4% of a render).
    private func lines(_ text: Substring, font: FontSpec, width64: Int, maxLines: Int, wrap: Bool) -> SetLines {
        var lines: [Substring] = []
        var widths: [Int] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            guard wrap else {
                lines.append(paragraph)
                widths.append(typesetter.width64(paragraph, font: font))
                continue
            }
            var line: Substring = ""
            var lineWidth = 0
            var lineEnd = Typesetter.noGlyph
            for word in Self.unbreakableWords(paragraph) {
                if !line.isEmpty {
                    // The line with the word: the line's width, plus the spaces and word after it.
                    let (added, end) = typesetter.width64(paragraph[line.endIndex..<word.endIndex], font: font, after: lineEnd)
                    if lineWidth + added <= width64 {
                        line = paragraph[line.startIndex..<word.endIndex]
                        lineWidth += added
                        lineEnd = end
                        continue
                    }
                    lines.append(line)
                    widths.append(lineWidth)
                }
                line = word
                (lineWidth, lineEnd) = typesetter.width64(word, font: font, after: Typesetter.noGlyph)
            }
            lines.append(line)
            widths.append(lineWidth)
        }
        let truncated = lines.count > maxLines || widths.prefix(maxLines).contains { $0 > width64 }
        return SetLines(lines: Array(lines.prefix(maxLines)), widths64: Array(widths.prefix(maxLines)), truncated: truncated)
    }

    /// Words to wrap, a number joined to the word after it: a quantity keeps its unit ("1 kg", "75 cl", "35 W"), as
    /// the no-break space of French typography would.
    static func unbreakableWords(_ paragraph: Substring) -> [Substring] {
        var words: [Substring] = []
        var joinNext = false
        for word in paragraph.split(separator: " ") {
            if joinNext, let last = words.last {
                words[words.count - 1] = paragraph[last.startIndex..<word.endIndex]
            } else {
                words.append(word)
            }
            joinNext = word.first?.isNumber == true && word.allSatisfy { $0.isNumber || $0 == "," || $0 == "." }
        }
        return words
    }

    /// `text` without white space at either end. (Foundation's `trimmingCharacters` bridges to `NSString`: 2% of
    /// a render.)
    static func trimmed(_ text: Substring) -> Substring {
        guard let first = text.firstIndex(where: { !$0.isWhitespace }), let last = text.lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return text[first...last]
    }

    /// The longest start of `line` that fits with "…" after it, cut at a word when one fits.
    private func ellipsised(_ line: Substring, font: FontSpec, width64: Int) -> String {
        var end = line.endIndex
        while end > line.startIndex {
            let head = String(Self.trimmed(line[..<end])) + "…"
            if typesetter.width64(Substring(head), font: font) <= width64 { return head }
            end = line.index(before: end)
        }
        return "…"
    }
}
