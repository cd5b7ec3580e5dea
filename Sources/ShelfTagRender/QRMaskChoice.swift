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

/// Chooses a QR symbol's mask: the one whose data area looks least like a finder pattern to OpenCV's detector, ties
/// to the lowest penalty as libqrencode scores masks (ISO/IEC 18004 §7.8.3 rules, as libqrencode 4 scores them, ties to
/// the lower mask). Works on 64-bit rows and columns rather than module by module.
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

    /// The chosen mask for a symbol libqrencode encoded with mask 0, and the symbol with that mask and its format
    /// information: row `y`'s bit `x` set for a dark module.
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
                            // The mask whose nearest finder look-alike is farthest from a finder, ties to the lowest
                            // penalty of the standard's rules. Over the 772 sample tags and 40 simulated frames each,
                            // OpenCV missed 1.05 % of frames, against 1.9 % with the standard's choice where it drew
                            // no exact look-alike; taking a lower penalty within 0.05 of the widest margin missed 1.1 %
                            // (20 frames each), within 0.1, 1.2 %.
                            var margins: [LookalikeMargin] = []
                            margins.reserveCapacity(Self.maskCount)
                            for mask in 0..<Self.maskCount {
                                apply(mask)
                                margins.append(Self.lookalikeMargin(rows: rows, columns: columns, width: w, below: margins.max()))
                            }
                            let widest = margins.max()!
                            var lowest = Int.max
                            for mask in 0..<Self.maskCount where margins[mask] == widest {
                                apply(mask)
                                let penalty = Self.penalty(rows: rows, columns: columns, width: w, limit: lowest)
                                if penalty < lowest {
                                    lowest = penalty
                                    best = mask
                                }
                            }
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

    /// How far the data area's nearest look-alike of a finder pattern is from one: over the data modules that sit in
    /// a dark run with a light and a dark run on each side both across and down, the least sum of the two lines'
    /// deviations from 1:1:3:1:1 (each the summed differences of the runs' shares from 1/7, 1/7, 3/7, 1/7, 1/7; down
    /// from the module's middle, against 3/14, 1/7, 1/7 each way). OpenCV's QR detector takes a point whose runs
    /// deviate by less than 0.2 across and by less than a bound it widens step by step down for a finder's centre;
    /// one such point among the real ones can break its clustering of the three (found with simulated phone frames),
    /// and under blur and tilt the nearer a look-alike, the likelier. `.none` when there is none.
    /// - Parameter floor: stops once the margin is below it (the mask is out of the running).
    static func lookalikeMargin(
        rows: UnsafePointer<UInt64>, columns: UnsafePointer<UInt64>, width: Int, below floor: LookalikeMargin?
    ) -> LookalikeMargin {
        let finderEnd = 8
        let finderColumns = UInt64.max >> UInt64(64 - finderEnd)
        let topFinders = finderColumns | finderColumns << UInt64(width - finderEnd)
        var margin = LookalikeMargin.none
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: width + 1) { runs in
            for y in 0..<width {
                let finders = y < finderEnd ? topFinders : y >= width - finderEnd ? finderColumns : 0
                // Runs alternate light, dark, light…; the first may be empty. A dark run at odd index `i` has runs on
                // both sides when `i ≥ 3` and `i + 2 < count`.
                let count = runLengths(rows[y], width: width, into: runs.baseAddress!)
                var start = runs[0] &+ runs[1] &+ runs[2]
                var index = 3
                while index &+ 2 < count {
                    defer {
                        start &+= runs[index] &+ runs[index &+ 1]
                        index &+= 2
                    }
                    let length = runs[index]
                    let total = runs[index &- 2] &+ runs[index &- 1] &+ length &+ runs[index &+ 1] &+ runs[index &+ 2]
                    let across = LookalikeMargin(
                        numerator: gap(runs[index &- 2], total) &+ gap(runs[index &- 1], total) &+ gap(length, total, share: 3)
                            &+ gap(runs[index &+ 1], total) &+ gap(runs[index &+ 2], total),
                        denominator: 7 &* total)
                    guard across < margin else { continue }
                    var candidates = (UInt64.max >> UInt64(truncatingIfNeeded: 64 &- length)) << UInt64(truncatingIfNeeded: start) & ~finders
                    while candidates != 0 {
                        let x = candidates.trailingZeroBitCount
                        candidates &= candidates - 1
                        if let down = downDeviation(columns[x], at: y, width: width) { margin = min(margin, across + down) }
                    }
                    if let floor, margin < floor { return margin }
                }
            }
            return margin
        }
    }

    /// `|7 × run − share × total|`: a run's difference from `share` sevenths of the total, in 7ths of the total.
    /// Runs are at most 64 modules: wrapping arithmetic cannot wrap, and skips the overflow checks.
    @inline(__always) private static func gap(_ run: Int, _ total: Int, share: Int = 1) -> Int {
        magnitude(7 &* run &- share &* total)
    }

    @inline(__always) private static func magnitude(_ value: Int) -> Int { value < 0 ? 0 &- value : value }

    /// The lengths of a line's runs from bit 0, light first (possibly empty), then alternating; returns their count.
    private static func runLengths(_ line: UInt64, width: Int, into runs: UnsafeMutablePointer<Int>) -> Int {
        let inside = UInt64.max >> UInt64(64 - width)
        // Bit x set where module x differs from module x − 1 (module −1 light), and at the end.
        var edges = (line ^ line << 1) & inside | 1 << UInt64(width)
        var count = 0
        var previous = 0
        if line & 1 == 1 {
            runs[0] = 0
            count = 1
            edges &= edges - 1
            previous = 0
        }
        while edges != 0 {
            let edge = edges.trailingZeroBitCount
            edges &= edges - 1
            runs[count] = edge &- previous
            count &+= 1
            previous = edge
        }
        return count
    }

    /// How far the column reads from 1:1:3:1:1 through the middle of module `y` of its dark run; nil when there is no
    /// dark run beyond the light one on either side.
    private static func downDeviation(_ column: UInt64, at y: Int, width: Int) -> LookalikeMargin? {
        let above = runBack(column, to: y, dark: true)
        let start = y &- above &+ 1
        let end = y &+ run(column, from: y, width: width, dark: true)
        let length = end &- start
        guard start > 0, end < width else { return nil }
        let lightBefore = runBack(column, to: start &- 1, dark: false)
        let lightAfter = run(column, from: end, width: width, dark: false)
        guard lightBefore < start, end &+ lightAfter < width else { return nil }
        let darkBefore = runBack(column, to: start &- 1 &- lightBefore, dark: true)
        let darkAfter = run(column, from: end &+ lightAfter, width: width, dark: true)
        let total = darkBefore &+ lightBefore &+ length &+ lightAfter &+ darkAfter
        // The centre split at the module's middle, `into + 0.5` modules from its start; in 14ths of the total.
        let into = y &- start
        return LookalikeMargin(
            numerator: magnitude(14 &* into &+ 7 &- 3 &* total) &+ magnitude(14 &* (length &- into) &- 7 &- 3 &* total)
                &+ 2 &* (gap(lightBefore, total) &+ gap(darkBefore, total) &+ gap(lightAfter, total) &+ gap(darkAfter, total)),
            denominator: 14 &* total)
    }

    /// Runs in a line (bit `i` dark for module `i`, light beyond the edges) from `start`, of bits alike.
    fileprivate static func run(_ line: UInt64, from start: Int, width: Int, dark: Bool) -> Int {
        let bits = (dark ? line : ~line) >> UInt64(truncatingIfNeeded: start)
        return min((~bits).trailingZeroBitCount, width &- start)
    }

    /// The same, towards bit 0, `end` included.
    fileprivate static func runBack(_ line: UInt64, to end: Int, dark: Bool) -> Int {
        let bits = (dark ? line : ~line) << UInt64(truncatingIfNeeded: 63 &- end)
        return min((~bits).leadingZeroBitCount, end &+ 1)
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

/// How far a finder look-alike is from a finder pattern, as a fraction of integers: equal distances compare equal, so
/// ties between masks go to the penalty rather than to rounding.
struct LookalikeMargin: Comparable {
    let numerator: Int
    /// Zero for no look-alike at all: farther than any.
    let denominator: Int

    static let none = LookalikeMargin(numerator: 1, denominator: 0)

    var value: Double { Double(numerator) / Double(denominator) }

    // A sum of an across and a down deviation of runs of at most 64 modules: numerators below 2^21, denominators
    // below 2^19, so the products here cannot overflow.
    static func < (left: Self, right: Self) -> Bool { left.numerator &* right.denominator < right.numerator &* left.denominator }
    static func == (left: Self, right: Self) -> Bool { left.numerator &* right.denominator == right.numerator &* left.denominator }

    static func + (left: Self, right: Self) -> Self {
        Self(
            numerator: left.numerator &* right.denominator &+ right.numerator &* left.denominator,
            denominator: left.denominator &* right.denominator)
    }
}
