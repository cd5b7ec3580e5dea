import CQRencode
import Foundation
import Testing

@testable import ShelfTagRender

/// `QRCode` chooses masks itself (see `QRMaskChoice`): its symbols must be libqrencode's own, module for module.
@Suite("Choosing QR masks")
struct QRMaskChoiceTests {
    /// Deterministic payloads of every kind libqrencode splits into modes: URLs, digits, upper-case text, bytes, UTF-8.
    private static func payloads(count: Int, seed: UInt64) -> [String] {
        var state = seed
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33) % bound
        }
        let alphabets = [
            "0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 $%*+-./:", "abcdefghijklmnopqrstuvwxyz?&=/.-_0123456789",
            "éàçüœ€ 日本",
        ].map(Array.init)
        return (0..<count).map { index in
            if index % 4 == 0 {
                let gtin = (0..<13).map { _ in String(next(10)) }.joined()
                return "https://s\(String(repeating: "x", count: next(40))).example/01/0\(gtin)?s=ST\(next(100))&t=\(String(next(1 << 30), radix: 36))"
            }
            let length = 1 + next(index % 3 == 0 ? 300 : 80)
            return String(
                (0..<length).map { _ in
                    let alphabet = alphabets[next(alphabets.count)]
                    return alphabet[next(alphabet.count)]
                })
        }
    }

    /// What libqrencode draws when it chooses the mask itself.
    private static func libqrencodeSymbol(_ payload: String, _ correction: ErrorCorrection) throws -> (version: Int, modules: [Bool]) {
        let symbol = try #require(QRcode_encodeString(payload, 0, correction.level, QR_MODE_8, 1))
        defer { QRcode_free(symbol) }
        let width = Int(symbol.pointee.width)
        return (Int(symbol.pointee.version), UnsafeBufferPointer(start: symbol.pointee.data, count: width * width).map { $0 & 1 == 1 })
    }

    @Test("this libqrencode exports the fixed-mask encoder, so the comparisons below test ShelfTag's choice")
    func internalsArePresent() async {
        #expect(LibQREncodeInternals.splitString != nil)
        #expect(LibQREncodeInternals.encodeMask != nil)
    }

    /// A symbol's modules, row by row, as the words `QRMaskChoice` scores.
    private static func lines(_ modules: [Bool]) -> (rows: [UInt64], columns: [UInt64], width: Int) {
        let width = Int(Double(modules.count).squareRoot())
        var rows = [UInt64](repeating: 0, count: width)
        var columns = rows
        for y in 0..<width {
            for x in 0..<width where modules[y * width + x] {
                rows[y] |= 1 << UInt64(x)
                columns[x] |= 1 << UInt64(y)
            }
        }
        return (rows, columns, width)
    }

    private static func lookalikeMargin(_ modules: [Bool]) -> LookalikeMargin {
        let (rows, columns, width) = lines(modules)
        return QRMaskChoice.lookalikeMargin(rows: rows, columns: columns, width: width, below: nil)
    }

    private static func penalty(_ modules: [Bool]) -> Int {
        let (rows, columns, width) = lines(modules)
        return QRMaskChoice.penalty(rows: rows, columns: columns, width: width)
    }

    /// libqrencode's symbol for `payload` with each of the 8 masks, or nil beyond version 11.
    private static func libqrencodeSymbols(_ payload: String, _ correction: ErrorCorrection) throws -> [[Bool]]? {
        let encodeMask = try #require(LibQREncodeInternals.encodeMask)
        let splitString = try #require(LibQREncodeInternals.splitString)
        let input = try #require(QRinput_new2(0, correction.level))
        defer { QRinput_free(input) }
        #expect(splitString(payload, input, QR_MODE_8, 1) == 0)
        var symbols: [[Bool]] = []
        for mask in 0..<QRMaskChoice.maskCount {
            let symbol = try #require(encodeMask(input, Int32(mask)))
            defer { QRcode_free(symbol) }
            let width = Int(symbol.pointee.width)
            guard width <= QRMaskChoice.widestSymbol else { return nil }
            symbols.append(UnsafeBufferPointer(start: symbol.pointee.data, count: width * width).map { $0 & 1 == 1 })
        }
        return symbols
    }

    @Test(
        "up to version 11, the symbol is libqrencode's with the mask whose nearest finder look-alike is farthest, ties to the lowest penalty; beyond, libqrencode's own",
        arguments: ErrorCorrection.allCases)
    func sameSymbols(correction: ErrorCorrection) async throws {
        var versions = Set<Int>()
        var notTheStandardsChoice = 0
        for payload in Self.payloads(count: 400, seed: UInt64(correction.rawValue.utf8.first!)) {
            let own = try Self.libqrencodeSymbol(payload, correction)
            let symbol = try QRCode(payload, correction: correction)
            #expect(symbol.version == own.version, "\(payload)")
            versions.insert(symbol.version)
            guard let masked = try Self.libqrencodeSymbols(payload, correction) else {
                #expect(symbol.modules == own.modules, "\(payload)")
                continue
            }
            let margins = masked.map(Self.lookalikeMargin)
            let widest = try #require(margins.max())
            let expected = try #require(
                (0..<QRMaskChoice.maskCount).filter { margins[$0] == widest }.min { Self.penalty(masked[$0]) < Self.penalty(masked[$1]) })
            #expect(symbol.modules == masked[expected], "\(payload)")
            if symbol.modules != own.modules { notTheStandardsChoice += 1 }
        }
        // Versions 1 to 11 are chosen here; wider ones go to libqrencode's own choice.
        #expect(versions.contains(1) && versions.contains(11) && versions.contains { $0 > 11 }, "\(versions.sorted())")
        #expect(notTheStandardsChoice > 0, "every symbol kept libqrencode's mask")
    }

    @Test("scored by the penalty alone, the choice is libqrencode's, so ties go where the standard's rules send them")
    func penaltyIsLibqrencodes() async throws {
        for payload in Self.payloads(count: 200, seed: 11) {
            guard let masked = try Self.libqrencodeSymbols(payload, .medium) else { continue }
            let own = try Self.libqrencodeSymbol(payload, .medium)
            let lowest = try #require((0..<QRMaskChoice.maskCount).min { Self.penalty(masked[$0]) < Self.penalty(masked[$1]) })
            #expect(masked[lowest] == own.modules, "\(payload)")
        }
    }

    @Test("a finder look-alike's margin: 0 for a 1:1:3:1:1 cross in the data area, more the further it strays, none for one cut short or at a finder")
    func lookalikes() {
        let width = 25
        func margin(_ darkAt: (Int, Int) -> Bool) -> Double {
            Self.lookalikeMargin((0..<width * width).map { darkAt($0 % width, $0 / width) }).value
        }
        // A finder's rings, 7 modules across, with its centre at (cx, cy).
        func finder(at cx: Int, _ cy: Int) -> (Int, Int) -> Bool {
            { x, y in
                let ring = max(abs(x - cx), abs(y - cy))
                return ring == 3 || ring <= 1
            }
        }
        #expect(margin(finder(at: 12, 12)) == 0)
        #expect(margin(finder(at: 3, 3)) == .infinity, "the top-left finder is a real one")
        #expect(margin { _, _ in false } == .infinity)
        #expect(margin { x, y in finder(at: 12, 12)(x, y) && y != 15 } == .infinity, "its bottom ring cut: 1:1:3:1 down")
        #expect(
            margin { x, y in finder(at: 12, 12)(x, y) && !(x == 12 && y == 9) } == 0, "one module off its top ring: the columns beside it still read 1:1:3:1:1")
        // A 2 × 2 centre in single rings, 6 modules across: 1:1:2:1:1 both ways. Across, the shares differ from
        // 1/7 by 1/42 four times and from 3/7 by 2/21; down from a module's middle, 0.5 and 1.5 of 6 against 3/14.
        let small: (Int, Int) -> Bool = { x, y in
            let ring = max(abs(2 * x - 23), abs(2 * y - 23))
            return ring == 5 || ring <= 1
        }
        let across = 4.0 / 42 + 2.0 / 21
        let down = abs(0.5 / 6 - 3.0 / 14) + abs(1.5 / 6 - 3.0 / 14) + 4.0 / 42
        #expect(abs(margin(small) - (across + down)) < 1e-12, "\(margin(small))")
    }

    @Test("every one of the 8 masks wins for some payload")
    func everyMaskChosen() async throws {
        let encodeMask = try #require(LibQREncodeInternals.encodeMask)
        let splitString = try #require(LibQREncodeInternals.splitString)
        var chosen = Set<Int>()
        for payload in Self.payloads(count: 200, seed: 7) {
            let input = try #require(QRinput_new2(0, QR_ECLEVEL_M))
            defer { QRinput_free(input) }
            #expect(splitString(payload, input, QR_MODE_8, 1) == 0)
            let symbol = try #require(encodeMask(input, 0))
            defer { QRcode_free(symbol) }
            guard let choice = QRMaskChoice.forWidth(Int(symbol.pointee.width)) else { continue }
            chosen.insert(choice.bestMask(modules: symbol.pointee.data, level: .medium).mask)
        }
        #expect(chosen == Set(0..<8))
    }

    @Test("format information is libqrencode's for every level and mask")
    func formatInformation() async throws {
        typealias FormatInfo = @convention(c) (Int32, QRecLevel) -> UInt32
        let address = try #require(dlsym(dlopen(nil, RTLD_NOW), "QRspec_getFormatInfo"))
        let libqrencodeFormat = unsafeBitCast(address, to: FormatInfo.self)
        for correction in ErrorCorrection.allCases {
            for mask in 0..<QRMaskChoice.maskCount {
                #expect(QRMaskChoice.formatInformation(correction, mask: mask) == Int(libqrencodeFormat(Int32(mask), correction.level)))
            }
        }
        // ISO/IEC 18004 Table C.1: level M, mask 0 is the XOR pattern itself; level L, mask 0.
        #expect(QRMaskChoice.formatInformation(.medium, mask: 0) == 0b1010100_00010010)
        #expect(QRMaskChoice.formatInformation(.low, mask: 0) == 0b1110111_11000100)
    }
}
