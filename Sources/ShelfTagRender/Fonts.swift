import CFontconfig
import CFreeType
import Foundation

/// Font weights a template may ask fontconfig for.
public enum FontWeight: String, Sendable, Codable, CaseIterable {
    case regular, bold

    var fontconfigWeight: Int32 { self == .bold ? 200 : 80 }  // FC_WEIGHT_BOLD, FC_WEIGHT_REGULAR
}

/// Why a font cannot be used.
public enum FontError: Error, Equatable, CustomStringConvertible {
    case notInstalled(family: String, weight: FontWeight)
    case unreadable(path: String, freeTypeError: Int32)

    public var description: String {
        switch self {
        case .notInstalled(let family, let weight): "font '\(family)' (\(weight.rawValue)) is not installed (fontconfig has no such family)"
        case .unreadable(let path, let code): "FreeType cannot read \(path) (error \(code))"
        }
    }
}

/// Finds font files by family and weight through fontconfig.
enum FontLocator {
    private static let lock = NSLock()

    /// The file fontconfig picks for the family; fontconfig substitutes freely, so another family is an error.
    static func file(family: String, weight: FontWeight) throws(FontError) -> String {
        lock.lock()
        defer { lock.unlock() }
        guard let pattern = FcPatternCreate() else { throw .notInstalled(family: family, weight: weight) }
        defer { FcPatternDestroy(pattern) }
        FcPatternAddString(pattern, FC_FAMILY, family)
        FcPatternAddInteger(pattern, FC_WEIGHT, weight.fontconfigWeight)
        FcConfigSubstitute(nil, pattern, FcMatchPattern)
        FcDefaultSubstitute(pattern)
        var result = FcResultNoMatch
        guard let match = FcFontMatch(nil, pattern, &result) else { throw .notInstalled(family: family, weight: weight) }
        defer { FcPatternDestroy(match) }
        var matchedFamily: UnsafeMutablePointer<FcChar8>?
        var file: UnsafeMutablePointer<FcChar8>?
        guard FcPatternGetString(match, FC_FAMILY, 0, &matchedFamily) == FcResultMatch, let matchedFamily,
            FcPatternGetString(match, FC_FILE, 0, &file) == FcResultMatch, let file,
            String(cString: matchedFamily).caseInsensitiveCompare(family) == .orderedSame
        else { throw .notInstalled(family: family, weight: weight) }
        return String(cString: file)
    }
}

/// A font file at one pixel size: what a text element draws with. Sizes are in 1/64 pixel.
struct FontSpec: Hashable, Sendable {
    let path: String
    let size64: Int
}

/// Rasterises and measures text with FreeType, caching glyphs. One per thread: FreeType faces are not shareable.
final class Typesetter {
    /// A rendered glyph: plain values, its coverage bitmap kept in its font's `bitmaps` (copying a glyph retains
    /// nothing).
    struct Glyph {
        let index: UInt32
        /// Where its `pitch × rows` coverage bytes start in the font's `bitmaps`.
        let bitmapStart: Int
        let width: Int
        /// Bytes per stored row: `width` rounded up to 16, the padding without coverage. Whole 16-byte rows darken
        /// the raster in whole vector steps, not mostly in the 4-byte tail of the loop (a third of drawing text).
        let pitch: Int
        let rows: Int
        let left: Int
        let top: Int
        let advance64: Int
    }

    struct LineMetrics {
        let ascender64: Int
        let descender64: Int
        let height64: Int
    }

    /// One face at one size, with its glyphs: looked up once per text run, so glyph lookups hash no strings.
    private final class SizedFont {
        let spec: FontSpec
        let metrics: LineMetrics
        let hasKerning: Bool
        var ascii = [Glyph?](repeating: nil, count: 128)
        var others: [UInt32: Glyph] = [:]
        /// Every glyph's coverage bytes, one after the other.
        var bitmaps: [UInt8] = []
        var kerning: [UInt64: Int] = [:]
        /// Kerning of ASCII pairs, by scalars (`left << 7 | right`), `Int16.min` until looked up: indexing a table
        /// rather than hashing each pair of each measured line (hashing was 2.5% of a render).
        var asciiKerning: [Int16] = []

        init(spec: FontSpec, metrics: LineMetrics, hasKerning: Bool) {
            self.spec = spec
            self.metrics = metrics
            self.hasKerning = hasKerning
        }
    }

    private var library: FT_Library?
    private var faces: [String: FT_Face] = [:]
    private var faceSizes: [String: Int] = [:]
    private var sizedFonts: [FontSpec: SizedFont] = [:]

    init() {
        // FT_Init_FreeType fails only when out of memory.
        precondition(FT_Init_FreeType(&library) == 0, "FreeType could not start")
    }

    deinit {
        for face in faces.values { FT_Done_Face(face) }
        FT_Done_FreeType(library)
    }

    /// Opens a font file now, so that a bad one is reported before rendering starts.
    /// - Throws: `FontError.unreadable`.
    func load(path: String) throws(FontError) {
        _ = try face(path)
    }

    private func face(_ path: String) throws(FontError) -> FT_Face {
        if let face = faces[path] { return face }
        var face: FT_Face?
        let status = FT_New_Face(library, path, 0, &face)
        guard status == 0, let face else { throw .unreadable(path: path, freeTypeError: status) }
        faces[path] = face
        return face
    }

    /// The face set to the font's size; faces are loaded by `load(path:)` before use.
    private func sizedFace(_ font: FontSpec) -> FT_Face {
        let face = try! face(font.path)
        if faceSizes[font.path] != font.size64 {
            FT_Set_Char_Size(face, 0, FT_F26Dot6(font.size64), 72, 72)
            faceSizes[font.path] = font.size64
        }
        return face
    }

    /// The font asked for last: text runs ask for the same one many times in a row, and hashing its path costs more.
    private var lastSized: SizedFont?

    private func sized(_ font: FontSpec) -> SizedFont {
        if let last = lastSized, last.spec == font { return last }
        let found = cachedOrNew(font)
        lastSized = found
        return found
    }

    private func cachedOrNew(_ font: FontSpec) -> SizedFont {
        if let sized = sizedFonts[font] { return sized }
        let face = sizedFace(font)
        let size = face.pointee.size.pointee.metrics
        let sized = SizedFont(
            spec: font, metrics: LineMetrics(ascender64: Int(size.ascender), descender64: Int(-size.descender), height64: Int(size.height)),
            hasKerning: shelftag_ft_has_kerning(face) != 0)
        sizedFonts[font] = sized
        return sized
    }

    func metrics(_ font: FontSpec) -> LineMetrics { sized(font).metrics }

    func glyph(_ scalar: Unicode.Scalar, font: FontSpec) -> Glyph { glyph(scalar.value, in: sized(font)) }

    private func glyph(_ scalar: UInt32, in font: SizedFont) -> Glyph {
        if scalar < 128, let glyph = font.ascii[Int(scalar)] { return glyph }
        if scalar >= 128, let glyph = font.others[scalar] { return glyph }
        let face = sizedFace(font.spec)
        let index = FT_Get_Char_Index(face, FT_ULong(scalar))
        var glyph = Glyph(index: index, bitmapStart: font.bitmaps.count, width: 0, pitch: 0, rows: 0, left: 0, top: 0, advance64: 0)
        if FT_Load_Glyph(face, index, shelftag_ft_load_render()) == 0, let slot = face.pointee.glyph {
            let bitmap = slot.pointee.bitmap
            let width = Int(bitmap.width)
            let pitch = (width + 15) & ~15
            let rows = Int(bitmap.rows)
            for row in 0..<rows {
                if let buffer = bitmap.buffer {
                    font.bitmaps.append(contentsOf: UnsafeBufferPointer(start: buffer + row * Int(bitmap.pitch), count: width))
                } else {
                    font.bitmaps.append(contentsOf: repeatElement(0, count: width))
                }
                font.bitmaps.append(contentsOf: repeatElement(0, count: pitch - width))
            }
            glyph = Glyph(
                index: index, bitmapStart: glyph.bitmapStart, width: width, pitch: pitch, rows: rows, left: Int(slot.pointee.bitmap_left),
                top: Int(slot.pointee.bitmap_top), advance64: Int(slot.pointee.advance.x))
        }
        if scalar < 128 { font.ascii[Int(scalar)] = glyph } else { font.others[scalar] = glyph }
        return glyph
    }

    /// The kerning between two glyphs, given with the scalars they were looked up by.
    private func kerning64(_ left: (scalar: UInt32, index: UInt32), _ right: (scalar: UInt32, index: UInt32), in font: SizedFont) -> Int {
        guard font.hasKerning else { return 0 }
        guard left.scalar < 128 && right.scalar < 128 else { return kerning64(left.index, right.index, in: font) }
        if font.asciiKerning.isEmpty { font.asciiKerning = [Int16](repeating: .min, count: 128 * 128) }
        let slot = Int(left.scalar) << 7 | Int(right.scalar)
        let known = font.asciiKerning[slot]
        if known != .min { return Int(known) }
        let kerning = kerning64(left.index, right.index, in: font)
        if let small = Int16(exactly: kerning), small != .min { font.asciiKerning[slot] = small }
        return kerning
    }

    private func kerning64(_ left: UInt32, _ right: UInt32, in font: SizedFont) -> Int {
        let key = UInt64(left) << 32 | UInt64(right)
        if let known = font.kerning[key] { return known }
        var delta = FT_Vector()
        FT_Get_Kerning(sizedFace(font.spec), left, right, FT_KERNING_DEFAULT.rawValue, &delta)
        font.kerning[key] = Int(delta.x)
        return Int(delta.x)
    }

    /// The glyph text ends with, which what follows it is kerned against.
    typealias LastGlyph = (scalar: UInt32, index: UInt32)
    /// Before any text: nothing to kern against.
    static let noGlyph: LastGlyph = (0, 0)

    /// The advance width of `text`, in 1/64 pixel.
    func width64(_ text: Substring, font: FontSpec) -> Int { width64(text, font: font, after: Self.noGlyph).width }

    /// The advance width of `text` set after `previous`, kerned against it, and the glyph it ends with: the widths of
    /// consecutive pieces add up to the width of the whole, so a line can be measured a word at a time.
    func width64(_ text: Substring, font: FontSpec, after previous: LastGlyph) -> (width: Int, last: LastGlyph) {
        let sized = sized(font)
        var width = 0
        var previous = previous
        for scalar in text.unicodeScalars {
            let glyph = glyph(scalar.value, in: sized)
            if previous.index != 0 { width += kerning64(previous, (scalar.value, glyph.index), in: sized) }
            width += glyph.advance64
            previous = (scalar.value, glyph.index)
        }
        return (width, previous)
    }

    /// The glyphs that set `text` from pen position `x` (pixels): each scalar's glyph index and where its origin falls,
    /// in 1/64 pixel, kerned as `draw` sets them.
    func glyphs(_ text: Substring, font: FontSpec, x: Int) -> [(index: UInt32, x64: Int)] {
        let sized = sized(font)
        var pen = x * 64
        var previous: LastGlyph = Self.noGlyph
        var placed: [(index: UInt32, x64: Int)] = []
        placed.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            let glyph = glyph(scalar.value, in: sized)
            if previous.index != 0 { pen += kerning64(previous, (scalar.value, glyph.index), in: sized) }
            placed.append((glyph.index, pen))
            pen += glyph.advance64
            previous = (scalar.value, glyph.index)
        }
        return placed
    }

    /// Draws `text` with its baseline starting at `x, baseline` (pixels).
    func draw(_ text: Substring, font: FontSpec, x: Int, baseline: Int, on raster: inout Raster) {
        let sized = sized(font)
        var pen = x * 64
        var previous: (scalar: UInt32, index: UInt32) = (0, 0)
        for scalar in text.unicodeScalars {
            let glyph = glyph(scalar.value, in: sized)
            if previous.index != 0 { pen += kerning64(previous, (scalar.value, glyph.index), in: sized) }
            if glyph.width > 0 {
                sized.bitmaps.withUnsafeBufferPointer { bitmaps in
                    raster.darken(
                        mask: UnsafeBufferPointer(rebasing: bitmaps[glyph.bitmapStart..<(glyph.bitmapStart + glyph.pitch * glyph.rows)]),
                        maskWidth: glyph.pitch, maskHeight: glyph.rows, pitch: glyph.pitch, x: (pen + 32) / 64 + glyph.left, y: baseline - glyph.top)
                }
            }
            pen += glyph.advance64
            previous = (scalar.value, glyph.index)
        }
    }
}
