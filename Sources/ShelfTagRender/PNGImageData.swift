import Foundation

/// A PNG's image data (RFC 2083 §2.3, §6): filtered rows in a zlib stream (RFC 1950) holding one deflate block
/// with codes made for the image (RFC 1951 §3.2.7).
///
/// zlib took 56% of the render (profile of 10,000 tags: deflate's run scan plus adler32 over every byte of
/// every row). A tag is flat ink on white and most rows repeat the one above, so this encoder works row by row:
/// a repeated row is found with one `memcmp`, filtered (Up) to zeros, and written as one back-reference with its
/// checksum in constant time. Other bytes go as runs (distance 1) or literals. The output is a standard stream any
/// PNG reader inflates.
enum PNGImageData {
    /// Compresses `height` rows of `rowBytes` bytes (packed pixels, top row first), each filtered with Up.
    static func encode(rows: UnsafeBufferPointer<UInt8>, rowBytes: Int, height: Int) -> [UInt8] {
        precondition(rowBytes > 0 && height > 0 && rows.count >= rowBytes * height, "rows hold the whole image")
        var tokens = Tokenizer(rowBytes: rowBytes, height: height)
        defer { tokens.deallocate() }
        tokens.tokenize(rows: rows.baseAddress!)
        let block = BlockCodes(tokens)
        // Exact size from the codes, plus zlib's header and checksum and the writer's 8-byte stores.
        let capacity = block.bitCount / 8 + 24
        return [UInt8](unsafeUninitializedCapacity: capacity) { output, count in
            var bits = BitWriter(output: output.baseAddress!)
            // zlib header: deflate, 32 KiB window, no dictionary; 0x7801 is a multiple of 31 as the check requires.
            bits.write(0x78, count: 8)
            bits.write(0x01, count: 8)
            block.write(tokens, into: &bits)
            let sum = tokens.checksum.value
            bits.alignAndAppend([UInt8(sum >> 24), UInt8(truncatingIfNeeded: sum >> 16), UInt8(truncatingIfNeeded: sum >> 8), UInt8(truncatingIfNeeded: sum)])
            // The capacity rests on `bitCount` being exact: debug builds (the tests) check it for every image.
            assert(bits.count == (16 + block.bitCount + 7) / 8 + 4, "the block's size was computed wrong")
            precondition(bits.count <= capacity)
            count = bits.count
        }
    }
}

/// Deflate's symbols for lengths and distances (RFC 1951 §3.2.5).
private enum Symbols {
    static let endOfBlock = 256
    static let literalLengthCount = 286
    static let distanceCount = 30
    static let longestMatch = 258
    static let window = 32768

    static let lengthBases = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtraBits = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBases = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
    ]

    /// The symbol (257...285), extra bits and their value for each length 0...258 (0...2 unused).
    static let lengths: [(symbol: Int, extraBits: Int, extra: Int)] = (0...longestMatch).map { length in
        guard length >= 3 else { return (0, 0, 0) }
        let index = lengthBases.lastIndex { $0 <= length }!
        return (257 + index, lengthExtraBits[index], length - lengthBases[index])
    }

    static func distance(_ distance: Int) -> (symbol: Int, extraBits: Int, extra: Int) {
        let symbol = distanceBases.lastIndex { $0 <= distance }!
        return (symbol, max(0, symbol / 2 - 1), distance - distanceBases[symbol])
    }
}

/// The image as deflate tokens, with how often each occurs and the checksum of what they stand for.
///
/// A token is what the writer looks up to get its bits: a literal byte (0...255), or a copy of `length` bytes
/// (3...258) as `256 + kind * 259 + length`, where the kind is 0 for the byte before (a run) and 1 for the filtered
/// row before.
private struct Tokenizer {
    typealias Token = UInt16
    static let kinds = 2
    static let count = 256 + kinds * (Symbols.longestMatch + 1)
    private static let upFilter: UInt8 = 2

    static func copy(length: Int, kind: Int) -> Token { Token(256 + kind * (Symbols.longestMatch + 1) + length) }

    let rowBytes: Int
    let height: Int
    /// Distances by kind: a run, then a whole row (filter byte included).
    let distances: [Int]
    let tokens: UnsafeMutablePointer<Token>
    private(set) var tokenCount = 0
    private(set) var checksum = Adler32()
    /// Uses of each literal/length symbol and each distance symbol, ready after `tokenize`.
    private(set) var literalLengthCounts: [Int] = []
    private(set) var distanceCounts: [Int] = []
    /// Uses of each token; plain memory rather than an array: the per-byte loop then has no uniqueness check.
    private let tokenUses: UnsafeMutablePointer<Int>
    private let filtered: UnsafeMutablePointer<UInt8>
    private let zeros: UnsafeMutablePointer<UInt8>

    init(rowBytes: Int, height: Int) {
        self.rowBytes = rowBytes
        self.height = height
        // Rows wider than the window are never copied whole (see `tokenize`); the clamp keeps their code valid.
        distances = [1, min(rowBytes + 1, Symbols.window)]
        // At most one token per byte of the filtered stream.
        tokens = .allocate(capacity: (rowBytes + 1) * height)
        tokenUses = .allocate(capacity: Self.count)
        tokenUses.initialize(repeating: 0, count: Self.count)
        filtered = .allocate(capacity: rowBytes)
        zeros = .allocate(capacity: rowBytes)
        zeros.initialize(repeating: 0, count: rowBytes)
    }

    func deallocate() {
        tokens.deallocate()
        filtered.deallocate()
        zeros.deallocate()
        tokenUses.deallocate()
    }

    mutating func tokenize(rows: UnsafePointer<UInt8>) {
        // A whole-row copy needs the row before inside deflate's window, and at least deflate's shortest copy.
        let copiesRows = (3...Symbols.window).contains(rowBytes + 1)
        var previousRowWasZero = false
        for y in 0..<height {
            let row = rows + y * rowBytes
            if y > 0 && memcmp(row, row - rowBytes, rowBytes) == 0 {
                if previousRowWasZero && copiesRows {
                    // The same filter byte and zeros as the row before: one copy of it.
                    var sink = sink()
                    sink.appendCopy(length: rowBytes + 1, kind: 1)
                    tokenCount = sink.count
                    checksum.add(Self.upFilter)
                    checksum.add(0, repeated: rowBytes)
                    checksum.reduce()
                } else {
                    appendRow(zeros)
                }
                previousRowWasZero = true
            } else {
                // Up with the row above; the first row has zeros above it, so it stays as it is.
                if y > 0 {
                    let above = row - rowBytes
                    for x in 0..<rowBytes { filtered[x] = row[x] &- above[x] }
                    appendRow(filtered)
                } else {
                    appendRow(row)
                }
                previousRowWasZero = false
            }
        }
        literalLengthCounts = (0..<256).map { tokenUses[$0] } + Array(repeating: 0, count: Symbols.literalLengthCount - 256)
        literalLengthCounts[Symbols.endOfBlock] = 1
        distanceCounts = Array(repeating: 0, count: Symbols.distanceCount)
        for kind in 0..<Self.kinds {
            let distanceSymbol = Symbols.distance(distances[kind]).symbol
            for length in 3...Symbols.longestMatch {
                let uses = tokenUses[Int(Self.copy(length: length, kind: kind))]
                literalLengthCounts[Symbols.lengths[length].symbol] += uses
                distanceCounts[distanceSymbol] += uses
            }
        }
    }

    /// The filter byte, then the row's bytes as runs of the byte before them or literals.
    private mutating func appendRow(_ bytes: UnsafePointer<UInt8>) {
        // Local copies: the compiler keeps them in registers through the per-byte loop.
        var checksum = self.checksum
        var sink = sink()
        var last = Self.upFilter
        sink.append(Token(last))
        checksum.add(last)
        var x = 0
        while x < rowBytes {
            let byte = bytes[x]
            // Most bytes of a busy row differ from the one before: no run to look for.
            let run = byte == last ? Self.runLength(of: last, at: bytes + x, limit: rowBytes - x) : 0
            if run >= 3 {
                sink.appendCopy(length: run, kind: 0)
                checksum.add(last, repeated: run)
                x &+= run
            } else {
                sink.append(Token(byte))
                checksum.add(byte)
                last = byte
                x &+= 1
            }
        }
        checksum.reduce()
        self.checksum = checksum
        tokenCount = sink.count
    }

    private func sink() -> TokenSink { TokenSink(tokens: tokens, uses: tokenUses, count: tokenCount) }

    /// Where tokens go, counted. A value the per-byte loop holds in registers: through `self` the compiler would
    /// reload the count after every store to the tokens.
    private struct TokenSink {
        let tokens: UnsafeMutablePointer<Token>
        let uses: UnsafeMutablePointer<Int>
        var count: Int

        @inline(__always) mutating func append(_ token: Token) {
            tokens[count] = token
            count &+= 1
            uses[Int(token)] &+= 1
        }

        /// Splits a copy into pieces of at most 258 bytes, none shorter than 3.
        @inline(__always) mutating func appendCopy(length: Int, kind: Int) {
            var left = length
            while left > 0 {
                var piece = min(left, Symbols.longestMatch)
                if (1...2).contains(left - piece) { piece = left - 3 }
                append(Tokenizer.copy(length: piece, kind: kind))
                left -= piece
            }
        }
    }

    /// How many bytes from `start` equal `value`: 32 at a time through the long runs of white, then 8 at a time.
    @inline(__always) private static func runLength(of value: UInt8, at start: UnsafePointer<UInt8>, limit: Int) -> Int {
        let raw = UnsafeRawPointer(start)
        let pattern = UInt64(value) &* 0x0101_0101_0101_0101
        var count = 0
        while count &+ 32 <= limit {
            var differences: UInt64 = 0
            for word in 0..<4 { differences |= raw.loadUnaligned(fromByteOffset: count &+ word &* 8, as: UInt64.self) ^ pattern }
            if differences != 0 { break }
            count &+= 32
        }
        while count &+ 8 <= limit {
            let difference = raw.loadUnaligned(fromByteOffset: count, as: UInt64.self).littleEndian ^ pattern
            if difference != 0 { return count &+ difference.trailingZeroBitCount / 8 }
            count &+= 8
        }
        while count < limit && start[count] == value { count &+= 1 }
        return count
    }
}

/// One final deflate block with Huffman codes built from the tokens' symbol counts (RFC 1951 §3.2.7).
private struct BlockCodes {
    /// Order in which the code-length code's lengths are sent.
    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    private let literalLengths: HuffmanCode
    private let distances: HuffmanCode
    private let codeLengths: HuffmanCode
    /// The literal/length and distance code lengths as code-length symbols: (symbol, extra bits, extra value).
    private let lengthSymbols: [(symbol: Int, extraBits: Int, extra: Int)]
    private let literalLengthCount: Int
    private let distanceCount: Int
    private let codeLengthCount: Int
    /// Everything this block writes, in bits.
    let bitCount: Int

    init(_ tokens: Tokenizer) {
        var distanceCounts = tokens.distanceCounts
        // A code of one symbol is incomplete, which inflaters refuse for literals/lengths and some for distances:
        // every code gets at least two symbols (an unused one costs nothing).
        for symbol in 0..<2 where distanceCounts.filter({ $0 > 0 }).count < 2 && distanceCounts[symbol] == 0 { distanceCounts[symbol] = 1 }
        literalLengths = HuffmanCode(counts: tokens.literalLengthCounts, longest: 15)
        distances = HuffmanCode(counts: distanceCounts, longest: 15)
        literalLengthCount = max(257, (literalLengths.lengths.lastIndex { $0 > 0 } ?? 0) + 1)
        distanceCount = max(1, (distances.lengths.lastIndex { $0 > 0 } ?? 0) + 1)
        lengthSymbols = Self.runLengthEncoded(Array(literalLengths.lengths[..<literalLengthCount]) + Array(distances.lengths[..<distanceCount]))
        var codeLengthCounts = [Int](repeating: 0, count: 19)
        for entry in lengthSymbols { codeLengthCounts[entry.symbol] += 1 }
        for symbol in 0..<2 where codeLengthCounts.filter({ $0 > 0 }).count < 2 && codeLengthCounts[symbol] == 0 { codeLengthCounts[symbol] = 1 }
        let codeLengths = HuffmanCode(counts: codeLengthCounts, longest: 7)
        self.codeLengths = codeLengths
        codeLengthCount = max(4, (Self.codeLengthOrder.lastIndex { codeLengths.lengths[$0] > 0 } ?? 0) + 1)

        var bits = 3 + 5 + 5 + 4 + 3 * codeLengthCount
        for entry in lengthSymbols { bits += Int(codeLengths.lengths[entry.symbol]) + entry.extraBits }
        for (symbol, count) in tokens.literalLengthCounts.enumerated() where count > 0 {
            let extraBits = symbol > Symbols.endOfBlock ? Symbols.lengthExtraBits[symbol - 257] : 0
            bits += count * (Int(literalLengths.lengths[symbol]) + extraBits)
        }
        for (symbol, count) in tokens.distanceCounts.enumerated() where count > 0 {
            bits += count * (Int(distances.lengths[symbol]) + max(0, symbol / 2 - 1))
        }
        bitCount = bits
    }

    func write(_ tokens: Tokenizer, into bits: inout BitWriter) {
        // BFINAL 1, BTYPE 10 (dynamic codes), then the counts of each code's lengths.
        bits.write(0b101, count: 3)
        bits.write(UInt32(literalLengthCount - 257), count: 5)
        bits.write(UInt32(distanceCount - 1), count: 5)
        bits.write(UInt32(codeLengthCount - 4), count: 4)
        for symbol in Self.codeLengthOrder.prefix(codeLengthCount) { bits.write(UInt32(codeLengths.lengths[symbol]), count: 3) }
        for entry in lengthSymbols {
            bits.write(codeLengths.codes[entry.symbol])
            bits.write(UInt32(entry.extra), count: entry.extraBits)
        }
        // Every token's bits, a copy's being its length's code and extra bits then its distance's (up to 48).
        var tokenCodes = [HuffmanCode.Packed](repeating: 0, count: Tokenizer.count)
        for byte in 0..<256 { tokenCodes[byte] = literalLengths.codes[byte] }
        for kind in 0..<Tokenizer.kinds {
            let distance = Symbols.distance(tokens.distances[kind])
            let distanceCode = HuffmanCode.append(UInt64(distance.extra), count: distance.extraBits, to: distances.codes[distance.symbol])
            for length in 3...Symbols.longestMatch {
                let (symbol, extraBits, extra) = Symbols.lengths[length]
                let lengthCode = HuffmanCode.append(UInt64(extra), count: extraBits, to: literalLengths.codes[symbol])
                tokenCodes[Int(Tokenizer.copy(length: length, kind: kind))] = HuffmanCode.append(distanceCode, to: lengthCode)
            }
        }
        // A local writer: through `inout` alone the compiler reloads its state after every store to the output.
        var writer = bits
        defer { bits = writer }
        tokenCodes.withUnsafeBufferPointer { tokenCodes in
            for index in 0..<tokens.tokenCount { writer.write(tokenCodes[Int(tokens.tokens[index])]) }
        }
        writer.write(literalLengths.codes[Symbols.endOfBlock])
    }

    /// Code lengths as symbols 0...15 and the repeats 16 (previous length 3–6 times), 17 (zero 3–10 times) and
    /// 18 (zero 11–138 times).
    private static func runLengthEncoded(_ lengths: [UInt8]) -> [(symbol: Int, extraBits: Int, extra: Int)] {
        var symbols: [(symbol: Int, extraBits: Int, extra: Int)] = []
        symbols.reserveCapacity(lengths.count)
        var index = 0
        while index < lengths.count {
            let length = Int(lengths[index])
            var run = 1
            while index + run < lengths.count && lengths[index + run] == lengths[index] { run += 1 }
            index += run
            if length == 0 {
                while run >= 11 {
                    let piece = min(run, 138)
                    symbols.append((18, 7, piece - 11))
                    run -= piece
                }
                if run >= 3 {
                    symbols.append((17, 3, run - 3))
                    run = 0
                }
            } else {
                symbols.append((length, 0, 0))
                run -= 1
                while run >= 3 {
                    let piece = min(run, 6)
                    symbols.append((16, 2, piece - 3))
                    run -= piece
                }
            }
            for _ in 0..<run { symbols.append((length, 0, 0)) }
        }
        return symbols
    }
}

/// A canonical Huffman code (RFC 1951 §3.2.2) of bounded length for the given symbol counts.
struct HuffmanCode {
    /// A code ready to write: its bits (least significant first) in the low 56, how many in the top 8.
    typealias Packed = UInt64
    static let longestPacked: UInt64 = 56
    /// The bits of a packed code, below its count.
    static let packedBits: UInt64 = (1 << longestPacked) - 1

    /// The one place a code is packed: `count` bits of `bits`, least significant first.
    @inline(__always) static func packed(_ bits: UInt64, count: Int) -> Packed { bits | Packed(count) << longestPacked }

    let lengths: [UInt8]
    let codes: [Packed]

    init(counts: [Int], longest: Int) {
        var weights = counts
        var lengths = Self.lengths(weights)
        // Too deep for deflate (rare: it needs skewed counts): flatten the counts and build again.
        while lengths.contains(where: { Int($0) > longest }) {
            weights = weights.map { $0 == 0 ? 0 : max(1, $0 / 2) }
            lengths = Self.lengths(weights)
        }
        self.lengths = lengths
        // The first code of each length (RFC 1951 §3.2.2), then codes in symbol order within a length.
        codes = withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 2 * (longest + 1)) { buffer in
            let next = buffer.baseAddress!
            let lengthCounts = next + longest + 1
            buffer.initialize(repeating: 0)
            for length in lengths { lengthCounts[Int(length)] &+= 1 }
            lengthCounts[0] = 0
            var code: UInt32 = 0
            for bits in 1...longest {
                code = (code + lengthCounts[bits - 1]) << 1
                next[bits] = code
            }
            return [Packed](unsafeUninitializedCapacity: lengths.count) { codes, initialized in
                for (symbol, length) in lengths.enumerated() {
                    guard length > 0 else {
                        codes[symbol] = 0
                        continue
                    }
                    let code = next[Int(length)]
                    next[Int(length)] = code &+ 1
                    // Huffman codes go most significant bit first into a least-significant-first stream.
                    codes[symbol] = Self.packed(UInt64(Self.reversed(code) >> (32 - UInt32(length))), count: Int(length))
                }
                initialized = lengths.count
            }
        }
    }

    /// `value`'s 32 bits in reverse order, without a loop.
    @inline(__always) private static func reversed(_ value: UInt32) -> UInt32 {
        var bits = value
        bits = (bits >> 1 & 0x5555_5555) | (bits & 0x5555_5555) << 1
        bits = (bits >> 2 & 0x3333_3333) | (bits & 0x3333_3333) << 2
        bits = (bits >> 4 & 0x0F0F_0F0F) | (bits & 0x0F0F_0F0F) << 4
        return bits.byteSwapped
    }

    static func append(_ extra: UInt64, count: Int, to code: Packed) -> Packed {
        append(packed(extra, count: count), to: code)
    }

    /// Two codes as one, `first`'s bits first.
    static func append(_ second: Packed, to first: Packed) -> Packed {
        let firstCount = first >> longestPacked
        let total = firstCount + (second >> longestPacked)
        precondition(total <= longestPacked, "a packed code holds 56 bits")
        return packed((first & packedBits) | (second & packedBits) << firstCount, count: Int(total))
    }

    /// Unbounded Huffman code lengths: the two lightest trees merge until one is left (ties by symbol order, so the
    /// same counts always give the same code).
    private static func lengths(_ counts: [Int]) -> [UInt8] {
        let symbolCount = counts.count
        var lengths = [UInt8](repeating: 0, count: symbolCount)
        // Three lists of up to n + 1 (leaves, their sorting spare, leaf weights), n tree weights, 2n parents, 256 digits.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 6 * symbolCount + 259) { buffer in
            // Leaves (used symbols) sorted by count, ties in symbol order; trees in the order they are made, so by
            // nondecreasing weight; each list ends with an infinite weight, so picking the lighter never runs off.
            var leaves = buffer.baseAddress!
            var spare = leaves + symbolCount + 1
            let leafWeights = spare + symbolCount + 1
            let treeWeights = leafWeights + symbolCount + 1
            let parents = treeWeights + symbolCount
            let starts = parents + 2 * symbolCount
            var leafCount = 0
            var largest = 0
            for (symbol, count) in counts.enumerated() where count > 0 {
                leaves[leafCount] = symbol
                leafCount += 1
                largest = max(largest, count)
            }
            guard leafCount > 1 else {
                for leaf in 0..<leafCount { lengths[leaves[leaf]] = 1 }
                return
            }
            // A byte of the count at a time from the least significant: stable, so ties stay in symbol order, and no
            // comparisons to mispredict (comparison sorting took 4 µs of a 20 µs render, mostly in branch misses).
            var shift = 0
            while largest >> shift > 0 {
                for digit in 0..<256 { starts[digit] = 0 }
                for index in 0..<leafCount { starts[counts[leaves[index]] >> shift & 0xFF] &+= 1 }
                var position = 0
                for digit in 0..<256 {
                    let count = starts[digit]
                    starts[digit] = position
                    position &+= count
                }
                for index in 0..<leafCount {
                    let symbol = leaves[index]
                    let digit = counts[symbol] >> shift & 0xFF
                    spare[starts[digit]] = symbol
                    starts[digit] &+= 1
                }
                swap(&leaves, &spare)
                shift += 8
            }
            for index in 0..<leafCount { leafWeights[index] = counts[leaves[index]] }
            leafWeights[leafCount] = .max
            let treeCount = leafCount - 1
            for tree in 0...treeCount { treeWeights[tree] = .max }
            // Nodes are numbered leaves first, then trees: `parents` by node.
            var nextLeaf = 0
            var nextTree = 0
            for tree in 0..<treeCount {
                var weight = 0
                for _ in 0..<2 {
                    // Ties to the leaf; a tree not made yet weighs infinitely.
                    let takesLeaf = leafWeights[nextLeaf] <= treeWeights[nextTree]
                    let node = takesLeaf ? nextLeaf : leafCount + nextTree
                    weight &+= takesLeaf ? leafWeights[nextLeaf] : treeWeights[nextTree]
                    parents[node] = leafCount + tree
                    nextLeaf &+= takesLeaf ? 1 : 0
                    nextTree &+= takesLeaf ? 0 : 1
                }
                treeWeights[tree] = weight
            }
            // Depths from the root (the last node) down, in `treeWeights` then `leafWeights`: a parent comes after its children.
            let root = leafCount + treeCount - 1
            let depths = treeWeights
            depths[treeCount - 1] = 0
            for node in stride(from: root - 1, through: leafCount, by: -1) { depths[node - leafCount] = depths[parents[node] - leafCount] + 1 }
            // Deeper than 255 only for absurd counts; it is over deflate's limit either way and gets flattened.
            for leaf in 0..<leafCount { lengths[leaves[leaf]] = UInt8(min(depths[parents[leaf] - leafCount] + 1, 255)) }
        }
        return lengths
    }
}

/// Writes bits least significant first into a buffer sized by the caller, with 8 bytes to spare. No branch per
/// code: each write stores 8 bytes and keeps fewer than 8 bits back; wrapping arithmetic throughout, as the counts
/// are bounded by construction and this is the innermost loop.
private struct BitWriter {
    let output: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var pending: UInt64 = 0
    private var pendingBits: UInt64 = 0

    init(output: UnsafeMutablePointer<UInt8>) { self.output = output }

    /// At most 56 bits, so with fewer than 8 pending they fit in 64.
    @inline(__always) mutating func write(_ code: HuffmanCode.Packed) {
        pending |= (code & HuffmanCode.packedBits) &<< pendingBits
        pendingBits &+= code &>> HuffmanCode.longestPacked
        UnsafeMutableRawPointer(output + count).storeBytes(of: pending.littleEndian, as: UInt64.self)
        let whole = pendingBits &>> 3
        count &+= Int(whole)
        // Shifting by 64 would be undefined: all 8 bytes gone means nothing left.
        pending = whole == 8 ? 0 : pending &>> (whole &* 8)
        pendingBits &= 7
    }

    mutating func write(_ value: UInt32, count: Int) { write(HuffmanCode.packed(UInt64(value), count: count)) }

    /// Appends whole bytes after padding the last partial byte with zeros.
    mutating func alignAndAppend(_ bytes: [UInt8]) {
        if pendingBits > 0 {
            output[count] = UInt8(truncatingIfNeeded: pending)
            count += 1
            pending = 0
            pendingBits = 0
        }
        for byte in bytes {
            output[count] = byte
            count += 1
        }
    }
}

/// Adler-32 (RFC 1950 §8.2), with runs added in constant time.
private struct Adler32 {
    private static let modulus: UInt64 = 65521
    private var low: UInt64 = 1
    private var high: UInt64 = 0

    @inline(__always) mutating func add(_ byte: UInt8) {
        low &+= UInt64(byte)
        high &+= low
    }

    /// `count` bytes of `value`: each adds `value` to low, and high gains every intermediate low.
    @inline(__always) mutating func add(_ value: UInt8, repeated count: Int) {
        let n = UInt64(count)
        high &+= n &* low &+ UInt64(value) &* (n &* (n &+ 1) / 2)
        low &+= n &* UInt64(value)
    }

    /// Called at least once per row: between calls, 64 bits hold the sums of a row of a million bytes.
    mutating func reduce() {
        low %= Self.modulus
        high %= Self.modulus
    }

    var value: UInt32 { UInt32(high % Self.modulus) << 16 | UInt32(low % Self.modulus) }
}
