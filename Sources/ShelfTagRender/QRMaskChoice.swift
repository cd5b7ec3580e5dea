import CQRencode
import Foundation

/// libqrencode entry points that `qrencode.h` does not declare, looked up at run time. With them, ShelfTag encodes a
/// symbol with a given mask and chooses the mask itself: libqrencode's own choice scores each of the 8 masks module by
/// module, 67 µs of a 72 µs encode. A libqrencode that does not export them gets the public, slower path.
enum LibQREncodeInternals {
    typealias SplitString = @convention(c) (UnsafePointer<CChar>?, OpaquePointer?, QRencodeMode, Int32) -> Int32
    typealias EncodeMask = @convention(c) (OpaquePointer?, Int32) -> UnsafeMutablePointer<QRcode>?

    /// Splits a string into the input's mode segments (what `QRcode_encodeString` does first).
    static let splitString: SplitString? = symbol("Split_splitStringToQRinput")
    /// Encodes an input with a fixed mask, or libqrencode's choice for -1.
    static let encodeMask: EncodeMask? = symbol("QRcode_encodeMask")

    private static func symbol<Function>(_ name: String) -> Function? {
        guard let address = dlsym(dlopen(nil, RTLD_NOW), name) else { return nil }
        return unsafeBitCast(address, to: Function.self)
    }
}

/// Chooses a QR symbol's mask as libqrencode does (ISO/IEC 18004 §7.8.3 penalty rules, as libqrencode 4 scores them, ties
/// to the lower mask), working on 64-bit rows and columns rather than module by module: about 10 µs rather than 67.
struct QRMaskChoice {
    /// Rows and columns are single words: versions 1 to 11.
    static let widestSymbol = 64
    static let maskCount = 8

    let width: Int
    /// `maskCount × width` words: mask `k`'s row `y` at `k × width + y`, bit `x` set where the mask inverts.
    private let rowPatterns: [UInt64]
    /// The same by column: column `x`'s bit `y`.
    private let columnPatterns: [UInt64]
    /// Per error correction level and mask, the format information's dark modules: `(level × maskCount + k) × width + y`.
    private let formatRows: [UInt64]
    private let formatColumns: [UInt64]
    /// Bits of the modules format information occupies, which the choice rewrites for each mask.
    private let formatRowMask: [UInt64]
    private let formatColumnMask: [UInt64]

    /// The choice for one symbol width, built once per width and shared.
    static func forWidth(_ width: Int) -> QRMaskChoice? {
        guard (21...widestSymbol).contains(width) else { return nil }
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let cached = cache[width] { return cached }
        let choice = QRMaskChoice(width: width)
        cache[width] = choice
        return choice
    }

    nonisolated(unsafe) private static var cache: [Int: QRMaskChoice] = [:]
    private static let cacheLock = NSLock()

    private init(width: Int) {
        self.width = width
        var rowPatterns = [UInt64](repeating: 0, count: Self.maskCount * width)
        var columnPatterns = rowPatterns
        for mask in 0..<Self.maskCount {
            for y in 0..<width {
                for x in 0..<width where Self.inverts(mask: mask, x: x, y: y) {
                    rowPatterns[mask * width + y] |= 1 << UInt64(x)
                    columnPatterns[mask * width + x] |= 1 << UInt64(y)
                }
            }
        }
        self.rowPatterns = rowPatterns
        self.columnPatterns = columnPatterns
        let positions = Self.formatPositions(width: width)
        var formatRowMask = [UInt64](repeating: 0, count: width)
        var formatColumnMask = formatRowMask
        for (_, x, y) in positions {
            formatRowMask[y] |= 1 << UInt64(x)
            formatColumnMask[x] |= 1 << UInt64(y)
        }
        self.formatRowMask = formatRowMask
        self.formatColumnMask = formatColumnMask
        var formatRows = [UInt64](repeating: 0, count: ErrorCorrection.allCases.count * Self.maskCount * width)
        var formatColumns = formatRows
        for (levelIndex, level) in ErrorCorrection.allCases.enumerated() {
            for mask in 0..<Self.maskCount {
                let format = Self.formatInformation(level, mask: mask)
                let base = (levelIndex * Self.maskCount + mask) * width
                for (bit, x, y) in positions where format >> bit & 1 == 1 {
                    formatRows[base + y] |= 1 << UInt64(x)
                    formatColumns[base + x] |= 1 << UInt64(y)
                }
            }
        }
        self.formatRows = formatRows
        self.formatColumns = formatColumns
    }

    /// The data mask conditions (ISO/IEC 18004 Table 10): where a data module is inverted.
    static func inverts(mask: Int, x: Int, y: Int) -> Bool {
        switch mask {
        case 0: (x + y) % 2 == 0
        case 1: y % 2 == 0
        case 2: x % 3 == 0
        case 3: (x + y) % 3 == 0
        case 4: (y / 2 + x / 3) % 2 == 0
        case 5: (x * y) % 2 + (x * y) % 3 == 0
        case 6: ((x * y) % 2 + (x * y) % 3) % 2 == 0
        default: ((x + y) % 2 + (x * y) % 3) % 2 == 0
        }
    }

    /// The 15-bit format information: level and mask, BCH(15,5) protected, XORed with 101010000010010 (§7.9).
    static func formatInformation(_ level: ErrorCorrection, mask: Int) -> Int {
        let levelBits =
            switch level {
            case .low: 1
            case .medium: 0
            case .quartile: 3
            case .high: 2
            }
        let data = levelBits << 3 | mask
        var remainder = data << 10
        for bit in stride(from: 14, through: 10, by: -1) where remainder >> bit & 1 == 1 { remainder ^= 0x537 << (bit - 10) }
        return (data << 10 | remainder) ^ 0x5412
    }

    /// Where each format information bit goes, both copies: bit 0 is the least significant (§7.9.1, Figure 25).
    static func formatPositions(width: Int) -> [(bit: Int, x: Int, y: Int)] {
        var positions: [(bit: Int, x: Int, y: Int)] = []
        for bit in 0..<8 {
            positions.append((bit, width - 1 - bit, 8))
            positions.append((bit, 8, bit < 6 ? bit : bit + 1))
        }
        for index in 0..<7 {
            positions.append((8 + index, 8, width - 7 + index))
            positions.append((8 + index, index == 0 ? 7 : 6 - index, 8))
        }
        return positions
    }

    /// The mask with the lowest penalty for a symbol libqrencode encoded with mask 0, and the symbol with that mask
    /// and its format information: row `y`'s bit `x` set for a dark module.
    /// - Parameter modules: `width × width` libqrencode module bytes: bit 0 dark, bit 7 a function module.
    func bestMask(modules: UnsafePointer<UInt8>, level: ErrorCorrection) -> (mask: Int, rows: [UInt64]) {
        var bestRows = [UInt64](repeating: 0, count: width)
        let mask = withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 6 * width) { words in
            let w = width
            let unmaskedRows = words.baseAddress!
            let dataRows = unmaskedRows + w
            let unmaskedColumns = dataRows + w
            let dataColumns = unmaskedColumns + w
            let rows = dataColumns + w
            let columns = rows + w
            for index in 0..<(4 * w) { words[index] = 0 }
            // The modules as libqrencode wrote them (mask 0 applied), then mask 0 undone on the data modules with its
            // own pattern; the format information is left out, it is written per mask.
            for y in 0..<w {
                var dark: UInt64 = 0
                var data: UInt64 = 0
                for x in 0..<w {
                    let module = modules[y * w + x]
                    let isData = UInt64(~module >> 7 & 1)
                    dark |= UInt64(module & 1) << UInt64(x)
                    data |= isData << UInt64(x)
                    unmaskedColumns[x] |= UInt64(module & 1) << UInt64(y)
                    dataColumns[x] |= isData << UInt64(y)
                }
                unmaskedRows[y] = (dark ^ (rowPatterns[y] & data)) & ~formatRowMask[y]
                dataRows[y] = data
            }
            for x in 0..<w { unmaskedColumns[x] = (unmaskedColumns[x] ^ (columnPatterns[x] & dataColumns[x])) & ~formatColumnMask[x] }

            let levelIndex = ErrorCorrection.allCases.firstIndex(of: level)!
            var best = 0
            rowPatterns.withUnsafeBufferPointer { rowPatterns in
                columnPatterns.withUnsafeBufferPointer { columnPatterns in
                    formatRows.withUnsafeBufferPointer { formatRows in
                        formatColumns.withUnsafeBufferPointer { formatColumns in
                            func apply(_ mask: Int) {
                                let pattern = mask * w
                                let format = (levelIndex * Self.maskCount + mask) * w
                                for line in 0..<w {
                                    rows[line] = unmaskedRows[line] ^ (rowPatterns[pattern + line] & dataRows[line]) | formatRows[format + line]
                                    columns[line] =
                                        unmaskedColumns[line] ^ (columnPatterns[pattern + line] & dataColumns[line]) | formatColumns[format + line]
                                }
                            }
                            var lowest = Int.max
                            for mask in 0..<Self.maskCount {
                                apply(mask)
                                let penalty = Self.penalty(rows: rows, columns: columns, width: w, limit: lowest)
                                if penalty < lowest {
                                    lowest = penalty
                                    best = mask
                                }
                            }
                            apply(best)
                            // The standard's choice, unless it draws a fourth finder: then the lowest penalty among the
                            // masks that draw none (about one symbol in ten).
                            guard Self.hasFalseFinder(rows: rows, columns: columns, width: w) else { return }
                            var chosen: (mask: Int, penalty: Int)?
                            for mask in 0..<Self.maskCount where mask != best {
                                apply(mask)
                                guard !Self.hasFalseFinder(rows: rows, columns: columns, width: w) else { continue }
                                let penalty = Self.penalty(rows: rows, columns: columns, width: w, limit: chosen?.penalty ?? .max)
                                if penalty < chosen?.penalty ?? .max { chosen = (mask, penalty) }
                            }
                            if let chosen { best = chosen.mask }
                            apply(best)
                        }
                    }
                }
            }
            for line in 0..<w { bestRows[line] = rows[line] }
            return best
        }
        return (mask, bestRows)
    }

    /// Whether a data module outside the three finder patterns is the centre of a dark-light run of about 1:1:3:1:1
    /// both across and down: what OpenCV's QR detector takes for a finder pattern. One such point among the real ones
    /// and its clustering of finder candidates fails on every frame of that tag (found with simulated phone frames).
    /// Its tolerance: the five runs' shares of their sum, against 1/7, 1/7, 3/7, 1/7, 1/7, differ by less than 0.2 in
    /// all; down, from the module's middle, against 3/14, 1/7, 1/7 each way.
    static func hasFalseFinder(rows: UnsafePointer<UInt64>, columns: UnsafePointer<UInt64>, width: Int) -> Bool {
        let finderEnd = 8
        for y in 0..<width {
            let row = rows[y]
            var x = 0
            while x < width {
                guard row >> UInt64(x) & 1 == 1 else {
                    x += 1
                    continue
                }
                let centre = run(row, from: x, width: width, dark: true)
                defer { x += centre }
                guard let across = FinderRuns(row, start: x, length: centre, width: width), across.acrossDeviation < 0.2 else { continue }
                for column in x..<(x + centre) {
                    let inFinder =
                        (column < finderEnd || column >= width - finderEnd) && y < finderEnd || column < finderEnd && y >= width - finderEnd
                    if !inFinder && crossesDown(columns[column], at: y, width: width) { return true }
                }
            }
        }
        return false
    }

    /// Whether the column reads about 1:1:3:1:1 through the middle of module `y` of its dark run.
    private static func crossesDown(_ column: UInt64, at y: Int, width: Int) -> Bool {
        let above = runBack(column, to: y, dark: true)
        let start = y - above + 1
        let length = above + run(column, from: y, width: width, dark: true) - 1
        guard let runs = FinderRuns(column, start: start, length: length, width: width) else { return false }
        return runs.downDeviation(splitAt: Double(y - start) + 0.5) < 0.2
    }

    /// Runs in a line (bit `i` dark for module `i`, light beyond the edges) from `start`, of bits alike.
    fileprivate static func run(_ line: UInt64, from start: Int, width: Int, dark: Bool) -> Int {
        let bits = (dark ? line : ~line) >> UInt64(start)
        return min((~bits).trailingZeroBitCount, width - start)
    }

    /// The same, towards bit 0, `end` included.
    fileprivate static func runBack(_ line: UInt64, to end: Int, dark: Bool) -> Int {
        let bits = (dark ? line : ~line) << UInt64(63 - end)
        return min((~bits).leadingZeroBitCount, end + 1)
    }

    /// libqrencode's score for a masked symbol: N1 and N3 over every row and column, N2 over 2×2 blocks, N4 for the
    /// share of dark modules. Stops once the score reaches `limit`, returning what it has summed: every term adds, so
    /// the symbol cannot score lower (a mask that cannot win is left part-scored: about a sixth less scoring).
    static func penalty(rows: UnsafePointer<UInt64>, columns: UnsafePointer<UInt64>, width: Int, limit: Int = .max) -> Int {
        let insideBetweenNeighbours = UInt64.max >> UInt64(64 - width + 1)
        // N4 first: the bound then holds from the first line.
        var dark = 0
        for line in 0..<width { dark += rows[line].nonzeroBitCount }
        let modules = width * width
        let darkPercent = (200 * dark + modules) / modules / 2
        var penalty = abs(darkPercent - 50) / 5 * 10
        penalty += lineScore(rows[0], width: width) + lineScore(columns[0], width: width)
        for line in 1..<width {
            if penalty >= limit { return penalty }
            let above = rows[line - 1]
            let row = rows[line]
            penalty += lineScore(row, width: width) + lineScore(columns[line], width: width)
            let allDark = above & row & (above >> 1) & (row >> 1)
            let allLight = ~(above | row | (above >> 1) | (row >> 1))
            penalty += 3 * ((allDark | allLight) & insideBetweenNeighbours).nonzeroBitCount
        }
        return penalty
    }

    /// N1 (runs of 5 or more alike) and N3 (a 1:1:3:1:1 dark-light pattern with 4 light on a side, the edge counting as
    /// light) for one line of `width` modules, bit `i` dark for module `i`.
    static func lineScore(_ line: UInt64, width: Int) -> Int {
        let dark = line
        let light = ~line  // beyond the edge: light
        // N1: a run of L ≥ 5 scores 3 + (L − 5): its (L − 4) windows of 5 alike, plus 2 at its start.
        let alike = ~(line ^ (line >> 1)) & (UInt64.max >> UInt64(64 - width + 1))
        let fiveAlike = alike & (alike >> 1) & (alike >> 2) & (alike >> 3)
        var score = fiveAlike.nonzeroBitCount + 2 * (fiveAlike & ~(fiveAlike << 1)).nonzeroBitCount
        // N3, at each scale: runs of exactly f, f, 3f, f, f modules from x. Scale 1, the one most lines reach, is
        // written out with constant shifts: a quarter less time than through the general loop.
        let darkCentre = dark & dark >> 1 & dark >> 2
        if darkCentre == 0 { return score }
        let finder = dark & light >> 1 & darkCentre >> 2 & light >> 5 & dark >> 6
        let exact = finder & lightBefore(light, 1) & down(light, 7, fill: .max)
        if exact != 0 {
            let before = lightBefore(light, 4)
            let after = down(run(light, 4, fill: .max), 7, fill: .max)
            score += 40 * (exact & (before | after)).nonzeroBitCount
        }
        var scale = 2
        while 7 * scale <= width {
            let darkCentre = run(dark, 3 * scale, fill: 0)
            if darkCentre == 0 { break }
            let darkEnd = run(dark, scale, fill: 0)
            let lightGap = run(light, scale, fill: .max)
            let finder =
                darkEnd & down(lightGap, scale, fill: 0) & down(darkCentre, 2 * scale, fill: 0) & down(lightGap, 5 * scale, fill: 0)
                & down(darkEnd, 6 * scale, fill: 0)
            let exact = finder & lightBefore(light, 1) & down(light, 7 * scale, fill: .max)
            if exact != 0 {
                let before = lightBefore(light, 4 * scale)
                let after = down(run(light, 4 * scale, fill: .max), 7 * scale, fill: .max)
                score += 40 * (exact & (before | after)).nonzeroBitCount
            }
            scale += 1
        }
        return score
    }

    /// Bits `x` where bits `x ..< x + count` of `bits` are all set; bits past 63 read as `fill`.
    private static func run(_ bits: UInt64, _ count: Int, fill: UInt64) -> UInt64 {
        var result = bits
        var covered = 1
        while covered < count {
            let step = min(covered, count - covered)
            result &= down(result, step, fill: fill)
            covered += step
        }
        return result
    }

    /// Bits `x` where bits `x − count ..< x` of `bits` are all set, bits below 0 reading as set.
    private static func lightBefore(_ bits: UInt64, _ count: Int) -> UInt64 {
        var result = up(bits, 1)
        var covered = 1
        while covered < count {
            let step = min(covered, count - covered)
            result &= up(result, step)
            covered += step
        }
        return result
    }

    /// Bit `x` of the result is bit `x + shift`; bits past 63 read as `fill`.
    @inline(__always) private static func down(_ bits: UInt64, _ shift: Int, fill: UInt64) -> UInt64 {
        shift >= 64 ? fill : bits >> UInt64(shift) | fill & ~(UInt64.max >> UInt64(shift))
    }

    /// Bit `x` of the result is bit `x − shift`, set below 0.
    @inline(__always) private static func up(_ bits: UInt64, _ shift: Int) -> UInt64 {
        shift >= 64 ? .max : bits << UInt64(shift) | (1 << UInt64(shift) - 1)
    }
}

/// The five runs of a line around a dark run: dark, light, the dark run, light, dark.
private struct FinderRuns {
    let darkBefore: Double
    let lightBefore: Double
    let centre: Double
    let lightAfter: Double
    let darkAfter: Double

    /// Nil when a light run reaches the edge: the quiet zone follows, and no outer dark run is near.
    init?(_ line: UInt64, start: Int, length: Int, width: Int) {
        guard start > 0, start + length < width else { return nil }
        let lightBefore = QRMaskChoice.runBack(line, to: start - 1, dark: false)
        let lightAfter = QRMaskChoice.run(line, from: start + length, width: width, dark: false)
        guard lightBefore < start, start + length + lightAfter < width else { return nil }
        darkBefore = Double(QRMaskChoice.runBack(line, to: start - 1 - lightBefore, dark: true))
        self.lightBefore = Double(lightBefore)
        centre = Double(length)
        self.lightAfter = Double(lightAfter)
        darkAfter = Double(QRMaskChoice.run(line, from: start + length + lightAfter, width: width, dark: true))
    }

    /// The summed differences of the runs' shares from 1:1:3:1:1.
    var acrossDeviation: Double {
        let total = darkBefore + lightBefore + centre + lightAfter + darkAfter
        return abs(darkBefore / total - 1 / 7) + abs(lightBefore / total - 1 / 7) + abs(centre / total - 3 / 7) + abs(lightAfter / total - 1 / 7)
            + abs(darkAfter / total - 1 / 7)
    }

    /// The same read from a point `split` modules into the centre run, each way: half the centre, light, dark.
    func downDeviation(splitAt split: Double) -> Double {
        let total = darkBefore + lightBefore + centre + lightAfter + darkAfter
        return abs(split / total - 3 / 14) + abs(lightBefore / total - 1 / 7) + abs(darkBefore / total - 1 / 7)
            + abs((centre - split) / total - 3 / 14) + abs(lightAfter / total - 1 / 7) + abs(darkAfter / total - 1 / 7)
    }
}
