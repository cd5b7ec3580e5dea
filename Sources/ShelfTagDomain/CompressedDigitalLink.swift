import Foundation

/// Why a compressed Digital Link path cannot be read.
public enum CompressedDigitalLinkError: Error, Equatable, CustomStringConvertible {
    case notBase64URL
    case truncated
    case unknownAI(String)
    case unsupportedAI(String)
    case unknownOptimisation(String)
    case badEncoding(Int)

    public var description: String {
        switch self {
        case .notBase64URL: "a compressed Digital Link is one path segment of URL-safe base64 (A-Z, a-z, 0-9, - and _)"
        case .truncated: "the compressed data ends inside a value"
        case .unknownAI(let prefix): "the compressed data names an AI starting \(prefix), which GS1 has not defined"
        case .unsupportedAI(let ai): "the compressed data holds AI \(ai), which this resolver does not decompress"
        case .unknownOptimisation(let code): "the compressed data uses sequence code \(code), which GS1 has not defined"
        case .badEncoding(let code): "the compressed data uses character encoding \(code), which GS1 has not defined"
        }
    }
}

/// GS1 Digital Link compression (GS1 Digital Link: Compression, as GS1's toolkit writes it): a path of URL-safe
/// base64 holding AIs and their values as bits. Decompressed, it is the same URI as its uncompressed form.
public enum CompressedDigitalLink {
    /// The elements a compressed path holds, in order (GS1 AIs, then any other key=value pairs it carries).
    /// - Throws: `CompressedDigitalLinkError`.
    public static func elements(_ segment: Substring) throws(CompressedDigitalLinkError) -> [(key: String, value: String)] {
        var bits = try BitReader(base64URL: segment)
        var elements: [(key: String, value: String)] = []
        while bits.remaining > 8 {
            let high = Int(try bits.read(4))
            let low = Int(try bits.read(4))
            if high <= 9 && low <= 9 {
                let prefix = "\(high)\(low)"
                guard let length = aiLengths[prefix] else { throw .unknownAI(prefix) }
                var ai = prefix
                for _ in 2..<length {
                    let digit = Int(try bits.read(4))
                    guard digit <= 9 else { throw .unknownAI(ai) }
                    ai += String(digit)
                }
                elements.append((ai, try value(of: ai, from: &bits)))
            } else if let sequence = sequences[hexDigits[high] + hexDigits[low]] {
                for ai in sequence { elements.append((ai, try value(of: ai, from: &bits))) }
            } else if high == 0xF {
                // Another key=value pair: a 7-bit key length whose first 4 bits are `low`.
                let keyLength = low << 3 | Int(try bits.read(3))
                let key = try characters(keyLength, encoding: 3, from: &bits)
                let encoding = Int(try bits.read(3))
                let count = Int(try bits.read(7))
                elements.append((key, try characters(count, encoding: encoding, from: &bits)))
            } else {
                throw .unknownOptimisation(hexDigits[high] + hexDigits[low])
            }
        }
        return elements
    }

    /// Whether a path could be a compressed Digital Link: one segment of URL-safe base64 of 8 characters or more (a
    /// GTIN alone takes 10).
    public static func isCandidate(path: Substring) -> Bool {
        // By byte: counting Characters (grapheme breaking) was a percent of every resolve.
        let segment = path.utf8.drop { $0 == UInt8(ascii: "/") }
        return segment.count >= 8 && segment.allSatisfy { base64URLValue(Unicode.Scalar($0)) != nil }
    }

    /// The uncompressed path and query (`/01/…/10/…?17=…&s=…`), key qualifiers in the path in their order, the rest
    /// in the query, each percent-encoded.
    public static func uncompressedPathAndQuery(_ elements: [(key: String, value: String)]) -> (path: String, query: String) {
        var path = ""
        var query: [String] = []
        if let primary = elements.first(where: { $0.key == "01" }) { path = "/01/" + DigitalLink.percentEncoded(primary.value) }
        for ai in ["22", "10", "21", "235"] {
            if let qualifier = elements.first(where: { $0.key == ai }) { path += "/\(ai)/" + DigitalLink.percentEncoded(qualifier.value) }
        }
        for element in elements where !["01", "22", "10", "21", "235"].contains(element.key) {
            query.append(DigitalLink.percentEncoded(element.key) + "=" + DigitalLink.percentEncoded(element.value))
        }
        return (path, query.joined(separator: "&"))
    }

    // MARK: Values

    private static func value(of ai: String, from bits: inout BitReader) throws(CompressedDigitalLinkError) -> String {
        guard let parts = formats[ai] else { throw .unsupportedAI(ai) }
        var text = ""
        for part in parts {
            switch part {
            case .digits(let length):
                text += try number(digits: length, from: &bits)
            case .upToDigits(let maximum):
                let count = Int(try bits.read(lengthBits(maximum)))
                text += try number(digits: count, from: &bits)
            case .upToCharacters(let maximum):
                let encoding = Int(try bits.read(3))
                let count = Int(try bits.read(lengthBits(maximum)))
                text += try characters(count, encoding: encoding, from: &bits)
            }
        }
        return text
    }

    /// `count` decimal digits as one binary number, zero-padded.
    private static func number(digits count: Int, from bits: inout BitReader) throws(CompressedDigitalLinkError) -> String {
        guard count > 0 else { return "" }
        let value = try bits.readNumber(valueBits(count))
        let text = String(value)
        return String(repeating: "0", count: max(0, count - text.count)) + text
    }

    /// `count` characters in encoding 0 (digits), 1 (lower-case hex), 2 (upper-case hex), 3 (URL-safe base64) or 4 (ASCII).
    private static func characters(_ count: Int, encoding: Int, from bits: inout BitReader) throws(CompressedDigitalLinkError) -> String {
        switch encoding {
        case 0: return try number(digits: count, from: &bits)
        case 1, 2:
            var text = ""
            for _ in 0..<count { text += hexDigits[Int(try bits.read(4))] }
            return encoding == 1 ? text.lowercased() : text
        case 3:
            var text = ""
            for _ in 0..<count { text.unicodeScalars.append(base64URLAlphabet[Int(try bits.read(6))]) }
            return text
        case 4:
            var text = ""
            for _ in 0..<count { text.unicodeScalars.append(Unicode.Scalar(UInt8(try bits.read(7)))) }
            return text
        default: throw .badEncoding(encoding)
        }
    }

    /// Bits for a number of `digits` decimal digits: ⌈digits × log2 10⌉.
    static func valueBits(_ digits: Int) -> Int { Int((Double(digits) * 3.321928094887362 + 0.01).rounded(.up)) }

    /// Bits for a length up to `maximum`.
    static func lengthBits(_ maximum: Int) -> Int { Int((Foundation.log2(Double(maximum)) + 0.01).rounded(.up)) }

    // MARK: Tables (GS1's)

    private enum Part {
        case digits(Int)
        case upToDigits(Int)
        case upToCharacters(Int)
    }

    /// The number of digits of an AI, by its first two.
    private static let aiLengths: [String: Int] = {
        var lengths: [String: Int] = [:]
        for prefix in ["00", "01", "02", "10", "11", "12", "13", "15", "16", "17", "20", "21", "22", "30", "37"] { lengths[prefix] = 2 }
        for prefix in 90...99 { lengths[String(prefix)] = 2 }
        for prefix in ["23", "24", "25", "40", "41", "42", "71"] { lengths[prefix] = 3 }
        for prefix in ["31", "32", "33", "34", "35", "36", "39", "43", "70", "72", "80", "81", "82"] { lengths[prefix] = 4 }
        return lengths
    }()

    /// How each AI's value is written, for the AIs a GTIN's Digital Link carries: the key, its qualifiers, dates,
    /// weights, counts, prices and company-internal data.
    private static let formats: [String: [Part]] = {
        var formats: [String: [Part]] = [
            "01": [.digits(14)], "02": [.digits(14)], "10": [.upToCharacters(20)], "21": [.upToCharacters(20)], "22": [.upToCharacters(20)],
            "235": [.upToCharacters(28)], "20": [.digits(2)], "30": [.upToDigits(8)], "37": [.upToDigits(8)], "7003": [.digits(10)],
            "90": [.upToCharacters(30)],
        ]
        for date in ["11", "12", "13", "15", "16", "17"] { formats[date] = [.digits(6)] }
        for measure in 3100...3105 { formats[String(measure)] = [.digits(6)] }
        for measure in 3200...3205 { formats[String(measure)] = [.digits(6)] }
        for price in 3920...3929 { formats[String(price)] = [.upToDigits(15)] }
        for companyInternal in 91...99 { formats[String(companyInternal)] = [.upToCharacters(90)] }
        return formats
    }()

    /// Sequences of AIs one code stands for (those made of AIs in `formats`).
    private static let sequences: [String: [String]] = {
        var sequences: [String: [String]] = [
            "0A": ["01", "22"], "0B": ["01", "10"], "0C": ["01", "21"], "0D": ["01", "17"], "0E": ["01", "7003"], "0F": ["01", "30"],
            "1A": ["01", "10", "21", "17"], "1B": ["01", "15"], "1C": ["01", "11"], "1D": ["01", "16"], "1E": ["01", "91"], "1F": ["01", "10", "15"],
        ]
        for (index, code) in ["2A", "2B", "2C", "2D", "2E", "2F"].enumerated() { sequences[code] = ["01", String(3100 + index)] }
        for (index, code) in ["3A", "3B", "3C", "3D", "3E", "3F"].enumerated() { sequences[code] = ["01", String(3200 + index)] }
        for index in 0...9 { sequences["A\(index)"] = ["01", String(3920 + index)] }
        return sequences
    }()

    private static let hexDigits = "0123456789ABCDEF".map(String.init)
    static let base64URLAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".unicodeScalars)

    static func base64URLValue(_ scalar: Unicode.Scalar) -> UInt8? {
        switch scalar {
        case "A"..."Z": UInt8(scalar.value - 65)
        case "a"..."z": UInt8(scalar.value - 97 + 26)
        case "0"..."9": UInt8(scalar.value - 48 + 52)
        case "-": 62
        case "_": 63
        default: nil
        }
    }
}

/// Bits of a URL-safe base64 text, most significant first.
private struct BitReader {
    private var bits: [Bool] = []
    private var position = 0

    init(base64URL text: Substring) throws(CompressedDigitalLinkError) {
        for scalar in text.unicodeScalars {
            guard let value = CompressedDigitalLink.base64URLValue(scalar) else { throw .notBase64URL }
            for shift in stride(from: 5, through: 0, by: -1) { bits.append(value >> UInt8(shift) & 1 == 1) }
        }
    }

    var remaining: Int { bits.count - position }

    mutating func read(_ count: Int) throws(CompressedDigitalLinkError) -> UInt64 {
        guard count <= remaining, count <= 64 else { throw .truncated }
        var value: UInt64 = 0
        for bit in bits[position..<(position + count)] { value = value << 1 | (bit ? 1 : 0) }
        position += count
        return value
    }

    /// A number of up to 64 bits (a value of more digits than that is not a GS1 value).
    mutating func readNumber(_ count: Int) throws(CompressedDigitalLinkError) -> UInt64 { try read(count) }
}
