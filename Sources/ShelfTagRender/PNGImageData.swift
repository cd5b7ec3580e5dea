import Foundation

/// A PNG's image data (RFC 2083 §2.3, §6): filtered rows in a zlib stream (RFC 1950) holding one
/// fixed-Huffman deflate block (RFC 1951 §3.2.6).
///
/// zlib took 56% of the render (profile of 10,000 tags: deflate's run scan plus adler32 over every byte of
/// every row). A tag is flat ink on white and most rows repeat the one above, so this encoder works row by row:
/// a repeated row is found with one `memcmp`, filtered (Up) to zeros, and written as one back-reference with its
/// checksum in constant time. Other bytes go as runs (distance 1) or literals. The output is a standard stream any
/// PNG reader inflates; it is larger than zlib's best (fixed codes) and several times faster to make.
enum PNGImageData {
    /// Compresses `height` rows of `rowBytes` bytes (packed pixels, top row first), each filtered with Up.
    static func encode(rows: UnsafeBufferPointer<UInt8>, rowBytes: Int, height: Int) -> [UInt8] {
        precondition(rowBytes > 0 && height > 0 && rows.count >= rowBytes * height, "rows hold the whole image")
        let streamBytes = (rowBytes + 1) * height
        // Worst case: every byte a 9-bit literal, plus header, block end, checksum and the 4-byte store overrun.
        let capacity = streamBytes + streamBytes / 8 + 32
        return [UInt8](unsafeUninitializedCapacity: capacity) { output, count in
            var encoder = RowEncoder(output: output.baseAddress!, rowBytes: rowBytes)
            encoder.encode(rows: rows.baseAddress!, height: height)
            count = encoder.finish()
        }
    }
}

/// Deflate's fixed codes (RFC 1951 §3.2.6), bit-reversed because Huffman codes go most significant bit first
/// into an otherwise least-significant-first stream.
private enum FixedCodes {
    /// A code ready to write: its bits in the low 32, how many above. Packed so that the hot loop reads one word.
    typealias Code = UInt64

    static func code(_ bits: UInt32, count: Int) -> Code { Code(bits) | Code(count) << 32 }

    /// Literal/length symbols 0...287.
    static let literals: [Code] = (0..<288).map { symbol in
        switch symbol {
        case 0...143: code(reversed(0x30 + UInt32(symbol), bits: 8), count: 8)
        case 144...255: code(reversed(0x190 + UInt32(symbol - 144), bits: 9), count: 9)
        case 256...279: code(reversed(UInt32(symbol - 256), bits: 7), count: 7)
        default: code(reversed(0xC0 + UInt32(symbol - 280), bits: 8), count: 8)
        }
    }

    private static let lengthBases = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtraBits = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    private static let distanceBases = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
    ]

    /// The longest back-reference deflate can express.
    static let longestMatch = 258
    static let window = 32768

    /// The bits of a back-reference of `length` (3...258) at `distance` (1...32768), for every length: one table per distance.
    static func matches(distance: Int) -> [Code] {
        precondition((1...window).contains(distance))
        let distanceCode = distanceBases.lastIndex { $0 <= distance }!
        let distanceExtraBits = max(0, distanceCode / 2 - 1)
        let distancePart = reversed(UInt32(distanceCode), bits: 5) | UInt32(distance - distanceBases[distanceCode]) << 5
        return (0...longestMatch).map { length in
            guard length >= 3 else { return 0 }
            let index = lengthBases.lastIndex { $0 <= length }!
            let symbol = literals[257 + index]
            let symbolBits = Int(symbol >> 32)
            var bits = UInt32(truncatingIfNeeded: symbol) | UInt32(length - lengthBases[index]) << UInt32(symbolBits)
            var count = symbolBits + lengthExtraBits[index]
            bits |= distancePart << UInt32(count)
            count += 5 + distanceExtraBits
            return code(bits, count: count)
        }
    }

    private static func reversed(_ code: UInt32, bits: Int) -> UInt32 {
        (0..<bits).reduce(0) { result, bit in result | (code >> UInt32(bit) & 1) << UInt32(bits - 1 - bit) }
    }
}

/// Writes bits least significant first into a buffer sized by the caller. Wrapping arithmetic throughout: the
/// counts are bounded by construction and this is the innermost loop.
private struct BitWriter {
    let output: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var pending: UInt64 = 0
    private var pendingBits: UInt64 = 0

    init(output: UnsafeMutablePointer<UInt8>) { self.output = output }

    /// At most 32 bits, so pending bits (< 32 before) never overflow 64.
    @inline(__always) mutating func write(_ code: FixedCodes.Code) {
        pending |= (code & 0xFFFF_FFFF) &<< pendingBits
        pendingBits &+= code &>> 32
        if pendingBits >= 32 {
            UnsafeMutableRawPointer(output + count).storeBytes(of: UInt32(truncatingIfNeeded: pending).littleEndian, as: UInt32.self)
            count &+= 4
            pending &>>= 32
            pendingBits &-= 32
        }
    }

    /// Appends whole bytes after padding the last partial byte with zeros.
    mutating func alignAndAppend(_ bytes: [UInt8]) {
        while pendingBits > 0 {
            output[count] = UInt8(truncatingIfNeeded: pending)
            count += 1
            pending >>= 8
            pendingBits = pendingBits > 8 ? pendingBits - 8 : 0
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
    mutating func add(_ value: UInt8, repeated count: Int) {
        let n = UInt64(count)
        high += n * low + UInt64(value) * n * (n + 1) / 2
        low += n * UInt64(value)
        reduce()
    }

    /// Called at least once per row: a row of literals (≤ 32,768 bytes) cannot overflow 64 bits.
    mutating func reduce() {
        low %= Self.modulus
        high %= Self.modulus
    }

    var value: UInt32 { UInt32(high % Self.modulus) << 16 | UInt32(low % Self.modulus) }
}

/// Code tables are copied to plain memory: the per-byte loop then reads them with no lazy-global check,
/// bounds check or reference count.
private struct RowEncoder {
    private static let upFilter: UInt8 = 2
    private static let runCodes = FixedCodes.matches(distance: 1)

    private var bits: BitWriter
    private var checksum = Adler32()
    private let rowBytes: Int
    private let literals: UnsafeMutablePointer<FixedCodes.Code>
    /// Copies of the byte before (distance 1), by length.
    private let runs: UnsafeMutablePointer<FixedCodes.Code>
    /// Copies of the filtered row before (filter byte included), by length; nil when a row is wider than
    /// deflate's window or shorter than its shortest copy.
    private let wholeRows: UnsafeMutablePointer<FixedCodes.Code>?
    private let filtered: UnsafeMutablePointer<UInt8>
    private let zeros: UnsafeMutablePointer<UInt8>

    init(output: UnsafeMutablePointer<UInt8>, rowBytes: Int) {
        bits = BitWriter(output: output)
        self.rowBytes = rowBytes
        literals = Self.copy(FixedCodes.literals)
        runs = Self.copy(Self.runCodes)
        wholeRows = (3...FixedCodes.window).contains(rowBytes + 1) ? Self.copy(FixedCodes.matches(distance: rowBytes + 1)) : nil
        filtered = .allocate(capacity: rowBytes)
        zeros = .allocate(capacity: rowBytes)
        zeros.initialize(repeating: 0, count: rowBytes)
    }

    private static func copy(_ codes: [FixedCodes.Code]) -> UnsafeMutablePointer<FixedCodes.Code> {
        let table = UnsafeMutablePointer<FixedCodes.Code>.allocate(capacity: codes.count)
        table.initialize(from: codes, count: codes.count)
        return table
    }

    mutating func encode(rows: UnsafePointer<UInt8>, height: Int) {
        // zlib header: deflate, 32 KiB window, no dictionary; 0x7801 is a multiple of 31 as the check requires.
        bits.write(FixedCodes.code(0x78, count: 8))
        bits.write(FixedCodes.code(0x01, count: 8))
        // One final block with fixed codes: BFINAL 1, BTYPE 01.
        bits.write(FixedCodes.code(0b011, count: 3))
        var previousRowWasZero = false
        for y in 0..<height {
            let row = rows + y * rowBytes
            if y > 0 && memcmp(row, row - rowBytes, rowBytes) == 0 {
                if previousRowWasZero, let wholeRows {
                    // The same filter byte and zeros as the row before: one copy of it.
                    Self.emitMatch(length: rowBytes + 1, codes: wholeRows, into: &bits)
                    checksum.add(Self.upFilter)
                    checksum.add(0, repeated: rowBytes)
                } else {
                    emitRow(zeros)
                }
                previousRowWasZero = true
            } else {
                // Up with the row above; the first row has zeros above it, so it stays as it is.
                if y > 0 {
                    let above = row - rowBytes
                    for x in 0..<rowBytes { filtered[x] = row[x] &- above[x] }
                    emitRow(filtered)
                } else {
                    emitRow(row)
                }
                previousRowWasZero = false
            }
        }
    }

    /// Ends the block and the stream; returns the number of bytes written.
    mutating func finish() -> Int {
        bits.write(literals[256])
        let sum = checksum.value
        bits.alignAndAppend([UInt8(sum >> 24), UInt8(truncatingIfNeeded: sum >> 16), UInt8(truncatingIfNeeded: sum >> 8), UInt8(truncatingIfNeeded: sum)])
        for table in [literals, runs, wholeRows].compactMap({ $0 }) { table.deallocate() }
        filtered.deallocate()
        zeros.deallocate()
        return bits.count
    }

    /// The filter byte, then the row's bytes as runs of the byte before them or literals.
    private mutating func emitRow(_ bytes: UnsafePointer<UInt8>) {
        // Local copies: the compiler keeps them in registers through the per-byte loop.
        var bits = self.bits
        var checksum = self.checksum
        var last = Self.upFilter
        bits.write(literals[Int(last)])
        checksum.add(last)
        var x = 0
        while x < rowBytes {
            let byte = bytes[x]
            // Most bytes of a busy row differ from the one before: no run to look for.
            let run = byte == last ? Self.runLength(of: last, at: bytes + x, limit: rowBytes - x) : 0
            if run >= 3 {
                Self.emitMatch(length: run, codes: runs, into: &bits)
                checksum.add(last, repeated: run)
                x &+= run
            } else {
                bits.write(literals[Int(byte)])
                checksum.add(byte)
                last = byte
                x &+= 1
            }
        }
        checksum.reduce()
        self.bits = bits
        self.checksum = checksum
    }

    /// Splits a copy into back-references of at most 258 bytes, none shorter than 3.
    @inline(__always) private static func emitMatch(length: Int, codes: UnsafeMutablePointer<FixedCodes.Code>, into bits: inout BitWriter) {
        var left = length
        while left > 0 {
            var piece = min(left, FixedCodes.longestMatch)
            if (1...2).contains(left - piece) { piece = left - 3 }
            bits.write(codes[piece])
            left -= piece
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
