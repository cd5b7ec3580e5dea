/// A Global Trade Item Number, always held in its normalised 14-digit form.
///
/// GTIN-8, -12 and -13 are left-padded with zeros; the check digit does not change.
public struct GTIN: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The 14 ASCII digits.
    public let digits: String

    /// Parses a GTIN-8, -12, -13 or -14 and verifies its check digit.
    /// - Throws: `GTINError` for an empty value, a non-digit, a wrong length or a bad check digit.
    public init(_ text: String) throws(GTINError) {
        // Read in place as one buffer: every request and imported row parses one. (withUTF8 is mutating: it would make
        // a bridged string contiguous first.)
        var contiguous = text
        digits = try contiguous.withUTF8 { Self.normalized($0, of: text) }.get()
    }

    /// The 14 digits that `text`, whose UTF-8 is `bytes`, stands for, or why it is no GTIN.
    private static func normalized(_ bytes: UnsafeBufferPointer<UInt8>, of text: String) -> Result<String, GTINError> {
        let count = bytes.count
        guard count > 0 else { return .failure(.empty) }
        // Only ASCII digits count: Character.isNumber would accept Arabic-Indic and fullwidth digits.
        for byte in bytes where byte &- UInt8(ascii: "0") > 9 { return .failure(.notADigit(text)) }
        guard count == 8 || count == 12 || count == 13 || count == 14 else { return .failure(.wrongLength(count)) }
        let expected = checkDigit(forBody: bytes[..<(count - 1)].lazy.map { $0 &- UInt8(ascii: "0") })
        let found = bytes[count - 1] &- UInt8(ascii: "0")
        guard expected == found else { return .failure(.badCheckDigit(expected: Int(expected), found: Int(found))) }
        guard count < 14 else { return .success(text) }
        // Padded in place: a 14-byte string is stored inline, so this allocates nothing.
        return .success(
            String(unsafeUninitializedCapacity: 14) { padded in
                let zeros = 14 - count
                padded[..<zeros].update(repeating: UInt8(ascii: "0"))
                _ = padded[zeros...].initialize(fromContentsOf: bytes)
                return 14
            })
    }

    /// The mod-10 check digit of `body` (weights 3,1,3,… from the right). Bidirectional, so that it reads `body`
    /// backwards in place (a GTIN's digits as its text holds them) rather than through a reversed copy.
    public static func checkDigit<Body: BidirectionalCollection>(forBody body: Body) -> UInt8 where Body.Element == UInt8 {
        var sum = 0
        for (offset, digit) in body.reversed().enumerated() {
            sum += Int(digit) * (offset % 2 == 0 ? 3 : 1)
        }
        return UInt8((10 - sum % 10) % 10)
    }

    public var description: String { digits }

    public static func < (lhs: GTIN, rhs: GTIN) -> Bool { lhs.digits < rhs.digits }

    /// The linear barcode a retail GTIN is printed with, derived from its leading zeros.
    public var symbology: Symbology {
        if digits.hasPrefix("000000") { return .ean8 }
        if digits.hasPrefix("00") { return .upcA }
        if digits.hasPrefix("0") { return .ean13 }
        return .none
    }

    /// The digits the symbology encodes (8, 12 or 13 of them), or all 14 when there is none.
    public var symbolDigits: String {
        switch symbology {
        case .ean8: String(digits.suffix(8))
        case .upcA: String(digits.suffix(12))
        case .ean13: String(digits.suffix(13))
        case .none: digits
        }
    }

    /// Point-of-sale barcodes for retail GTINs.
    public enum Symbology: String, Sendable {
        case ean13, ean8, upcA
        /// A GTIN-14 (logistic unit) has no point-of-sale symbology.
        case none
    }
}

/// Why a text is not a GTIN.
public enum GTINError: Error, Equatable, CustomStringConvertible {
    case empty
    case notADigit(String)
    case wrongLength(Int)
    case badCheckDigit(expected: Int, found: Int)

    public var description: String {
        switch self {
        case .empty: "GTIN is empty"
        case .notADigit(let text): "'\(text)' is not a GTIN: only digits 0-9 are allowed"
        case .wrongLength(let count): "a GTIN has 8, 12, 13 or 14 digits, not \(count)"
        case .badCheckDigit(let expected, let found): "bad check digit \(found), expected \(expected)"
        }
    }
}
