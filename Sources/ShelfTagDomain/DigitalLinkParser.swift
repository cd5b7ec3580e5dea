import Foundation

/// Why a URI is not a valid GS1 Digital Link (URI Syntax 1.4+, strict mode).
public enum DigitalLinkError: Error, Equatable, CustomStringConvertible {
    case scheme
    case noPath
    case characterNotAllowed(String)
    case nullByte
    case badPercentEncoding
    case noPrimaryKey
    case unknownAI(String)
    case notAQualifier(ai: String, key: String)
    case qualifierOrder(String)
    case qualifierInQuery(String)
    case duplicateAI(String)
    case emptyValue(String)
    case invalidValue(ai: String, reason: String)
    case badCheckDigit(ai: String)

    public var description: String {
        switch self {
        case .scheme: "the scheme must be http or https, in lower or upper case"
        case .noPath: "there is no path after the host"
        case .characterNotAllowed(let character): "'\(character)' is not allowed in a URI (percent-encode it)"
        case .nullByte: "%00 is not allowed"
        case .badPercentEncoding: "a % must be followed by two hexadecimal digits"
        case .noPrimaryKey: "the path holds no GS1 primary key such as /01/{GTIN-14}"
        case .unknownAI(let ai): "\(ai) is not a GS1 Application Identifier"
        case .notAQualifier(let ai, let key): "AI \(ai) cannot qualify key \(key) in the path (data attributes go in the query)"
        case .qualifierOrder(let ai): "key qualifier \(ai) is out of order (01 takes 22, then 10, then 21; or 235)"
        case .qualifierInQuery(let ai): "key qualifier \(ai) belongs in the path, not the query"
        case .duplicateAI(let ai): "AI \(ai) appears twice"
        case .emptyValue(let ai): "AI \(ai) has an empty value"
        case .invalidValue(let ai, let reason): "AI \(ai): \(reason)"
        case .badCheckDigit(let ai): "AI \(ai): bad check digit"
        }
    }
}

/// A parsed Digital Link: primary key, key qualifiers in the path, data attributes and other keys in the query.
public struct ParsedDigitalLink: Sendable, Equatable {
    public struct Element: Sendable, Equatable {
        public let ai: String
        public let value: String
    }

    /// The path before the GS1 part (`/stem`), empty for none.
    public let stem: String
    public let primaryKey: Element
    public let qualifiers: [Element]
    public let attributes: [Element]
    /// Non-numeric query keys (`linkType`, `context`, ShelfTag's `s` and `t`), decoded, in order; a key without `=` has an empty value.
    public let extensions: [(key: String, value: String)]

    public static func == (lhs: ParsedDigitalLink, rhs: ParsedDigitalLink) -> Bool {
        lhs.stem == rhs.stem && lhs.primaryKey == rhs.primaryKey && lhs.qualifiers == rhs.qualifiers && lhs.attributes == rhs.attributes
            && lhs.extensions.map { "\($0.key)=\($0.value)" } == rhs.extensions.map { "\($0.key)=\($0.value)" }
    }

    /// The GTIN when the primary key is AI 01.
    public var gtin: GTIN? { primaryKey.ai == "01" ? try? GTIN(primaryKey.value) : nil }

    public func qualifier(_ ai: String) -> String? { qualifiers.first { $0.ai == ai }?.value }

    /// The first value of a non-GS1 query key.
    public func extensionValue(_ key: String) -> String? { extensions.first { $0.key == key }?.value }

    /// Parses a whole URI.
    /// - Throws: `DigitalLinkError` naming the first rule broken.
    public static func parse(uri: String) throws(DigitalLinkError) -> ParsedDigitalLink {
        var rest = Substring(uri)
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        guard let schemeEnd = rest.range(of: "://") else { throw .scheme }
        guard ["http", "https", "HTTP", "HTTPS"].contains(String(rest[..<schemeEnd.lowerBound])) else { throw .scheme }
        rest = rest[schemeEnd.upperBound...]
        guard let slash = rest.firstIndex(of: "/") else { throw .noPath }
        let afterHost = rest[slash...]
        let query = afterHost.firstIndex(of: "?")
        return try parse(path: String(afterHost[..<(query ?? afterHost.endIndex)]), query: query.map { String(afterHost[afterHost.index(after: $0)...]) })
    }

    /// Parses a request's raw (still percent-encoded) path and query, as a resolver receives them.
    /// - Throws: `DigitalLinkError` naming the first rule broken.
    public static func parse(path rawPath: String, query: String?) throws(DigitalLinkError) -> ParsedDigitalLink {
        try checkCharacters(rawPath)
        if let query { try checkCharacters(query) }
        // Split by byte: the characters are ASCII by now, and splitting by Character (grapheme breaking) was most of
        // a resolve's parsing. A resolver tolerates one trailing slash.
        var path = rawPath
        if path.utf8.count > 1 && path.utf8.last == UInt8(ascii: "/") { path.removeLast() }
        let segments = path.split(byte: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst().map(String.init)
        // The rightmost primary key with only (AI, value) pairs after it starts the GS1 part.
        var start: Int?
        var index = segments.count - 2
        while index >= 0 {
            if AITable.primaryKeys[segments[index]] != nil {
                start = index
                break
            }
            index -= 2
        }
        guard let start else { throw .noPrimaryKey }
        let key = segments[start]
        let keyValue = try decode(segments[start + 1], inQuery: false)
        try AITable.validate(ai: key, value: keyValue)
        var qualifiers: [Element] = []
        var seen: Set<String> = [key]
        let sequences = AITable.primaryKeys[key]!
        for pair in stride(from: start + 2, to: segments.count, by: 2) {
            let ai = segments[pair]
            guard AITable.isKnown(ai) else { throw .unknownAI(ai) }
            guard sequences.contains(where: { $0.contains(ai) }) else { throw .notAQualifier(ai: ai, key: key) }
            guard seen.insert(ai).inserted else { throw .duplicateAI(ai) }
            let value = try decode(segments[pair + 1], inQuery: false)
            try AITable.validate(ai: ai, value: value)
            qualifiers.append(Element(ai: ai, value: value))
        }
        // The qualifiers must follow one of the key's sequences, in its order.
        let used = qualifiers.map(\.ai)
        let matching = sequences.filter { sequence in
            var position = sequence.startIndex
            for ai in used {
                guard let found = sequence[position...].firstIndex(of: ai) else { return false }
                position = sequence.index(after: found)
            }
            return true
        }
        if !used.isEmpty && matching.isEmpty { throw .qualifierOrder(used.last!) }
        let possibleQualifiers = (used.isEmpty ? sequences : matching).joined()
        var attributes: [Element] = []
        var extensions: [(key: String, value: String)] = []
        for item in (query ?? "").split(byte: UInt8(ascii: "&")) {
            let equals = item.utf8.firstIndex(of: UInt8(ascii: "=")) ?? item.endIndex
            let name = try decode(String(item[..<equals]), inQuery: true)
            let value = equals == item.endIndex ? "" : try decode(String(item[item.index(after: equals)...]), inQuery: true)
            guard !name.isEmpty, name.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                extensions.append((name, value))
                continue
            }
            guard AITable.isKnown(name) else { throw .unknownAI(name) }
            guard !possibleQualifiers.contains(name) else { throw .qualifierInQuery(name) }
            guard seen.insert(name).inserted else { throw .duplicateAI(name) }
            try AITable.validate(ai: name, value: value)
            attributes.append(Element(ai: name, value: value))
        }
        return ParsedDigitalLink(
            stem: segments[..<start].map { "/" + $0 }.joined(), primaryKey: Element(ai: key, value: keyValue), qualifiers: qualifiers,
            attributes: attributes, extensions: extensions)
    }

    /// ASCII bytes allowed raw in a URI: unreserved, reserved and `%` (RFC 3986).
    private static let uriBytes: [Bool] = (0..<128).map { byte in
        let scalar = Unicode.Scalar(UInt8(byte))
        return ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
            || "-._~:/?#[]@!$&'()*+,;=%".unicodeScalars.contains(scalar)
    }

    /// Raw characters must be unreserved, reserved or `%` (RFC 3986).
    private static func checkCharacters(_ text: String) throws(DigitalLinkError) {
        for byte in text.utf8 where byte >= 128 || !uriBytes[Int(byte)] {
            // Name the whole character, not one byte of it.
            let scalar = text.unicodeScalars.first { $0.value >= 128 || !uriBytes[Int($0.value)] }!
            throw .characterNotAllowed(String(scalar))
        }
    }

    /// Percent-decodes (either hex case); `+` is a space in the query and literal in the path.
    private static func decode(_ text: String, inQuery: Bool) throws(DigitalLinkError) -> String {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { throw .badPercentEncoding }
                let decoded = high << 4 | low
                guard decoded != 0 else { throw .nullByte }
                bytes.append(decoded)
            } else if byte == UInt8(ascii: "+") && inQuery {
                bytes.append(UInt8(ascii: " "))
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// The GS1 Application Identifiers a Digital Link may carry, with their value formats (GS1 General Specifications, 3.2).
enum AITable {
    enum Format {
        /// Exactly `length` digits, the last a GS1 check digit when `check`.
        case digits(length: Int, check: Bool)
        case digitsUpTo(Int)
        /// GS1's 82-character set, up to `maximum`.
        case characters(maximum: Int)
        /// A fixed-length numeric part with a check digit, then an optional tail.
        case digitsThen(length: Int, tail: Tail)

        enum Tail {
            case characters(Int)
            case digits(Int)
        }
    }

    /// Primary keys and their key-qualifier sequences (GS1 Digital Link URI Syntax, table of key qualifiers).
    static let primaryKeys: [String: [[String]]] = [
        "01": [["22", "10", "21"], ["235"]], "00": [], "253": [], "255": [], "401": [], "402": [], "414": [["254"], ["7040"]], "417": [["7040"]],
        "8003": [], "8004": [["7040"]], "8006": [["22", "10", "21"]], "8010": [["8011"]], "8013": [], "8017": [["8019"]], "8018": [["8019"]],
    ]

    private static let formats: [String: Format] = {
        var table: [String: Format] = [
            "00": .digits(length: 18, check: true), "01": .digits(length: 14, check: true), "02": .digits(length: 14, check: true),
            "10": .characters(maximum: 20), "20": .digits(length: 2, check: false), "21": .characters(maximum: 20), "22": .characters(maximum: 20),
            "235": .characters(maximum: 28), "240": .characters(maximum: 30), "241": .characters(maximum: 30), "242": .digitsUpTo(6),
            "243": .characters(maximum: 20), "250": .characters(maximum: 30), "251": .characters(maximum: 30),
            "253": .digitsThen(length: 13, tail: .characters(17)), "254": .characters(maximum: 20), "255": .digitsThen(length: 13, tail: .digits(12)),
            "30": .digitsUpTo(8), "37": .digitsUpTo(8), "400": .characters(maximum: 30), "401": .characters(maximum: 30),
            "402": .digits(length: 17, check: true), "403": .characters(maximum: 30), "420": .characters(maximum: 20), "421": .characters(maximum: 12),
            "422": .digits(length: 3, check: false), "423": .digitsUpTo(15), "424": .digits(length: 3, check: false), "425": .digitsUpTo(15),
            "426": .digits(length: 3, check: false), "427": .characters(maximum: 3), "7001": .digits(length: 13, check: false),
            "7002": .characters(maximum: 30), "7003": .digits(length: 10, check: false), "7004": .digitsUpTo(4), "7005": .characters(maximum: 12),
            "7006": .digits(length: 6, check: false), "7007": .digitsUpTo(12), "7008": .characters(maximum: 3), "7009": .characters(maximum: 10),
            "7010": .characters(maximum: 2), "7011": .characters(maximum: 10), "7020": .characters(maximum: 20), "7021": .characters(maximum: 20),
            "7022": .characters(maximum: 20), "7023": .characters(maximum: 30), "7040": .characters(maximum: 4), "7240": .characters(maximum: 20),
            "8001": .digits(length: 14, check: false), "8002": .characters(maximum: 20), "8003": .digitsThen(length: 14, tail: .characters(16)),
            "8004": .characters(maximum: 30), "8005": .digits(length: 6, check: false), "8006": .digits(length: 18, check: false),
            "8007": .characters(maximum: 34), "8008": .digitsUpTo(12), "8009": .characters(maximum: 50), "8010": .characters(maximum: 30),
            "8011": .digitsUpTo(12), "8012": .characters(maximum: 20), "8013": .characters(maximum: 25), "8017": .digits(length: 18, check: true),
            "8018": .digits(length: 18, check: true), "8019": .digitsUpTo(10), "8020": .characters(maximum: 25), "8026": .digits(length: 18, check: false),
            "8110": .characters(maximum: 70), "8111": .digits(length: 4, check: false), "8112": .characters(maximum: 70),
            "8200": .characters(maximum: 70), "90": .characters(maximum: 30), "4321": .digits(length: 1, check: false),
            "4322": .digits(length: 1, check: false), "4323": .digits(length: 1, check: false), "4324": .digits(length: 10, check: false),
            "4325": .digits(length: 10, check: false), "4326": .digits(length: 6, check: false),
        ]
        for ai in ["11", "12", "13", "15", "16", "17", "7006"] { table[ai] = .digits(length: 6, check: false) }
        for ai in 410...417 { table[String(ai)] = .digits(length: 13, check: true) }
        for ai in 91...99 { table[String(ai)] = .characters(maximum: 90) }
        for ai in 4300...4320 { table[String(ai)] = .characters(maximum: 70) }
        for ai in 7030...7039 { table[String(ai)] = .characters(maximum: 30) }
        for ai in 7041...7042 { table[String(ai)] = .characters(maximum: 4) }
        for ai in 710...723 { table[String(ai)] = .characters(maximum: 30) }
        // Measures: 310n–369n are six digits with n decimal places; 390n–395n amounts.
        for prefix in 310...369 { for decimals in 0...9 { table["\(prefix)\(decimals)"] = .digits(length: 6, check: false) } }
        for prefix in 390...395 { for decimals in 0...9 { table["\(prefix)\(decimals)"] = .digitsUpTo(15) } }
        return table
    }()

    static func isKnown(_ ai: String) -> Bool { formats[ai] != nil }

    /// GS1's 82-character set (AI encodable character set 82).
    private static let characterSet82 = Set("!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz".utf8)

    static func validate(ai: String, value: String) throws(DigitalLinkError) {
        guard let format = formats[ai] else { throw .unknownAI(ai) }
        guard !value.isEmpty else { throw .emptyValue(ai) }
        let bytes = Array(value.utf8)
        func allDigits(_ part: ArraySlice<UInt8>) -> Bool { part.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        func checkDigitHolds(_ digits: ArraySlice<UInt8>) -> Bool {
            let values = digits.map { $0 - 0x30 }
            return GTIN.checkDigit(forBody: values.dropLast()) == values.last
        }
        switch format {
        case .digits(let length, let check):
            guard bytes.count == length, allDigits(bytes[...]) else { throw .invalidValue(ai: ai, reason: "must be \(length) digits") }
            if check && !checkDigitHolds(bytes[...]) { throw .badCheckDigit(ai: ai) }
        case .digitsUpTo(let maximum):
            guard bytes.count <= maximum, allDigits(bytes[...]) else { throw .invalidValue(ai: ai, reason: "must be 1 to \(maximum) digits") }
        case .characters(let maximum):
            guard bytes.count <= maximum else { throw .invalidValue(ai: ai, reason: "longer than \(maximum) characters") }
            guard bytes.allSatisfy(characterSet82.contains) else { throw .invalidValue(ai: ai, reason: "holds a character outside GS1's set of 82") }
        case .digitsThen(let length, let tail):
            guard bytes.count >= length, allDigits(bytes[..<length]) else { throw .invalidValue(ai: ai, reason: "must start with \(length) digits") }
            guard checkDigitHolds(bytes[..<length]) else { throw .badCheckDigit(ai: ai) }
            let rest = bytes[length...]
            switch tail {
            case .characters(let maximum):
                guard rest.count <= maximum, rest.allSatisfy(characterSet82.contains) else {
                    throw .invalidValue(
                        ai: ai, reason: "the part after \(length) digits is longer than \(maximum) characters or holds a character outside GS1's set")
                }
            case .digits(let maximum):
                guard rest.count <= maximum, allDigits(rest) else {
                    throw .invalidValue(ai: ai, reason: "the part after \(length) digits must be up to \(maximum) digits")
                }
            }
        }
    }
}
