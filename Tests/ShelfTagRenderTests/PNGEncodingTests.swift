import Foundation
import ShelfTagTestSupport
import Testing

@testable import ShelfTagRender

/// The PNG writer compresses image data itself (see `PNGImageData`): every shape of raster must come back from
/// libpng's reader pixel for pixel, checksum checked.
@Suite("Encoding PNG")
struct PNGEncodingTests {
    /// Deterministic noise: literals of every value, 8- and 9-bit codes alike.
    private static func noise(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
    }

    private static func raster(width: Int, height: Int, pixels: [UInt8]) -> Raster {
        var raster = Raster(width: width, height: height)
        raster.pixels = pixels
        return raster
    }

    /// Rasters that take each path of the encoder: repeated rows (one copy of the row before), runs shorter and
    /// longer than 258, literals, rows too narrow for a copy and rows too wide for deflate's 32 KiB window.
    static let shapes: [(name: String, raster: Raster)] = {
        var tag = Raster(width: 709, height: 472)
        tag.fill(x: 40, y: 30, width: 300, height: 200, level: 0)
        tag.fill(x: 100, y: 260, width: 3, height: 150, level: 90)
        tag.pixels.replaceSubrange(300 * 709..<300 * 709 + 700, with: noise(count: 700, seed: 1))
        var stripes = Raster(width: 600, height: 40)
        for y in 0..<40 where y % 3 == 0 { stripes.fill(x: 0, y: y, width: 600, height: 1, level: UInt8(y * 6)) }
        return [
            ("drawn tag with a noisy row", tag),
            ("noise", raster(width: 257, height: 33, pixels: noise(count: 257 * 33, seed: 7))),
            ("one pixel", Raster(width: 1, height: 1)),
            ("one column", raster(width: 1, height: 50, pixels: noise(count: 50, seed: 3))),
            ("two columns, repeated", Raster(width: 2, height: 9)),
            ("rows of 258 and 259", raster(width: 259, height: 4, pixels: [UInt8](repeating: 7, count: 259 * 4))),
            ("stripes", stripes),
            ("wider than the window", raster(width: 40_000, height: 3, pixels: [UInt8](repeating: 255, count: 80_000) + noise(count: 40_000, seed: 5))),
        ]
    }()

    @Test("8-bit grey comes back pixel for pixel", arguments: shapes.indices)
    func greyRoundTrips(index: Int) async throws {
        let (name, raster) = Self.shapes[index]
        let decoded = try #require(decodeGreyPNG(try PNGEncoder.encode(raster, dpi: 300, format: .grey)), "\(name): libpng rejected it")
        #expect(decoded.width == raster.width && decoded.height == raster.height, "\(name)")
        #expect(Self.differing(decoded.pixels, raster.pixels) == 0, "\(name)")
    }

    @Test("1-bit comes back as the thresholded raster", arguments: shapes.indices)
    func bilevelRoundTrips(index: Int) async throws {
        let (name, raster) = Self.shapes[index]
        let decoded = try #require(decodeGreyPNG(try PNGEncoder.encode(raster, dpi: 203, format: .bilevel)), "\(name): libpng rejected it")
        #expect(Self.differing(decoded.pixels, raster.thresholded().pixels) == 0, "\(name)")
        #expect(PNGHeader(try PNGEncoder.encode(raster, dpi: 203, format: .bilevel))?.bitDepth == 1)
    }

    @Test("the reader checks the stream's Adler-32, so the round trips above check ours")
    func corruptedChecksumIsRejected() async throws {
        let (_, raster) = Self.shapes[0]
        var bytes = [UInt8](try PNGEncoder.encode(raster, dpi: 300, format: .grey))
        let data = try #require(pngChunks(bytes)?.first { $0.type == "IDAT" }?.data)
        // The checksum is the last four bytes of the zlib stream; the chunk's CRC is made valid again so that only
        // the checksum is wrong.
        bytes[data.upperBound - 1] ^= 0x01
        let crc = Self.crc32(bytes[data.lowerBound - 4..<data.upperBound])
        bytes.replaceSubrange(data.upperBound..<data.upperBound + 4, with: withUnsafeBytes(of: crc.bigEndian, Array.init))
        let accepted = decodeGreyPNG(Data(bytes)) != nil
        #expect(!accepted, "libpng read a stream whose checksum is wrong")
    }

    @Test("Huffman codes stay within deflate's 15 bits and are complete, even for Fibonacci counts")
    func huffmanCodesAreBoundedAndComplete() async {
        // Fibonacci counts give the deepest tree: 29 symbols would need 28 bits unbounded.
        var fibonacci = [1, 1]
        while fibonacci.count < 29 { fibonacci.append(fibonacci[fibonacci.count - 1] + fibonacci[fibonacci.count - 2]) }
        for counts in [fibonacci, [5, 5, 5, 5], [0, 3, 0, 9, 1]] {
            let code = HuffmanCode(counts: counts, longest: 15)
            let lengths = code.lengths.map(Int.init)
            #expect(lengths.max()! <= 15, "\(counts)")
            #expect(zip(counts, lengths).allSatisfy { ($0 == 0) == ($1 == 0) }, "every used symbol has a code, no unused one does")
            // Kraft: a complete prefix code's lengths sum to exactly 1.
            let kraft = lengths.filter { $0 > 0 }.reduce(0.0) { $0 + pow(2.0, -Double($1)) }
            #expect(kraft == 1.0, "\(counts)")
        }
        #expect(HuffmanCode(counts: [5, 5, 5, 5], longest: 15).lengths == [2, 2, 2, 2])
    }

    @Test("Huffman code lengths are those of the textbook construction, ties to the lower symbol, for any counts")
    func huffmanLengthsMatchTheTextbook() async {
        /// Sort by (count, symbol), then merge the two lightest (a leaf before a tree of equal weight) until one tree is left.
        func textbookLengths(_ counts: [Int]) -> [UInt8] {
            let leaves = counts.indices.filter { counts[$0] > 0 }.sorted { (counts[$0], $0) < (counts[$1], $1) }
            var lengths = [UInt8](repeating: 0, count: counts.count)
            guard leaves.count > 1 else {
                for leaf in leaves { lengths[leaf] = 1 }
                return lengths
            }
            var trees: [(weight: Int, symbols: [Int])] = []
            var leafIndex = 0
            var treeIndex = 0
            while leaves.count - leafIndex + trees.count - treeIndex > 1 {
                var merged: (weight: Int, symbols: [Int]) = (0, [])
                for _ in 0..<2 {
                    if leafIndex < leaves.count && (treeIndex == trees.count || counts[leaves[leafIndex]] <= trees[treeIndex].weight) {
                        merged = (merged.weight + counts[leaves[leafIndex]], merged.symbols + [leaves[leafIndex]])
                        leafIndex += 1
                    } else {
                        merged = (merged.weight + trees[treeIndex].weight, merged.symbols + trees[treeIndex].symbols)
                        treeIndex += 1
                    }
                }
                for symbol in merged.symbols { lengths[symbol] += 1 }
                trees.append(merged)
            }
            return lengths
        }
        var generator = SystemRandomNumberGenerator()
        for trial in 0..<300 {
            let symbolCount = [2, 19, 30, 286][trial % 4]
            // Small ranges make many ties; large ones need several radix passes.
            let largest = [3, 300, 70_000, 20_000_000][trial / 4 % 4]
            let counts = (0..<symbolCount).map { _ in Int.random(in: 0...3, using: &generator) == 0 ? 0 : Int.random(in: 1...largest, using: &generator) }
            let expected = textbookLengths(counts)
            guard expected.allSatisfy({ $0 <= 15 }) else { continue }
            #expect(HuffmanCode(counts: counts, longest: 15).lengths == expected, "\(counts)")
        }
    }

    @Test("same raster, same bytes")
    func deterministic() async throws {
        let (_, raster) = Self.shapes[0]
        #expect(try PNGEncoder.encode(raster, dpi: 300, format: .grey) == PNGEncoder.encode(raster, dpi: 300, format: .grey))
    }

    /// How many pixels differ (the arrays themselves are too long for a test report).
    private static func differing(_ decoded: [UInt8], _ expected: [UInt8]) -> Int {
        decoded.count == expected.count ? zip(decoded, expected).filter { $0 != $1 }.count : max(decoded.count, expected.count)
    }

    /// CRC-32 as PNG chunks use it (ISO 3309), over the chunk type and data.
    private static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        }
        return ~crc
    }
}
