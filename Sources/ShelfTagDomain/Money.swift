import Foundation

/// An ISO 4217 currency with its number of decimal places.
public struct Currency: Hashable, Sendable, CustomStringConvertible {
    /// The three-letter code, such as `EUR`.
    public let code: String
    /// Decimal places of the minor unit (2 for EUR, 0 for JPY, 3 for KWD).
    public let minorUnitDigits: Int

    /// Looks up a current ISO 4217 code.
    /// - Throws: `MoneyError.unknownCurrency` for any other text.
    public init(code: String) throws(MoneyError) {
        guard let digits = Currency.minorUnitDigitsByCode[code] else { throw MoneyError.unknownCurrency(code) }
        self.code = code
        self.minorUnitDigits = digits
    }

    public var description: String { code }

    public static let euro = try! Currency(code: "EUR")

    /// Current ISO 4217 codes (from ICU) and their minor units (ISO 4217's table: 2 unless listed).
    private static let minorUnitDigitsByCode: [String: Int] = {
        let exceptions: [String: Int] = [
            "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0,
            "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
            "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
            "CLF": 4, "UYW": 4,
        ]
        var table: [String: Int] = [:]
        for code in Locale.commonISOCurrencyCodes where code.count == 3 {
            table[code] = exceptions[code] ?? 2
        }
        return table
    }()
}

/// An amount of money in integer minor units (cents), never floating point.
public struct Money: Hashable, Sendable, CustomStringConvertible {
    public let minorUnits: Int64
    public let currency: Currency

    public init(minorUnits: Int64, currency: Currency) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    /// Parses a feed price such as `15.00 EUR` (amount, one space, ISO 4217 code).
    /// - Throws: `MoneyError` when malformed, negative, zero, over-precise or in an unknown currency.
    public init(feedValue text: String) throws(MoneyError) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, parts[1].utf8.count == 3, parts[1].utf8.allSatisfy({ $0 >= 65 && $0 <= 90 }) else {
            throw MoneyError.malformed(text)
        }
        let currency = try Currency(code: String(parts[1]))
        self = try Money(amount: parts[0], currency: currency, original: text)
    }

    /// Parses a plain decimal amount (`3.49`) in a known currency.
    /// - Throws: `MoneyError` when malformed, negative, zero or over-precise.
    public init<Text: StringProtocol>(amount: Text, currency: Currency, original: String? = nil) throws(MoneyError) {
        let original = original ?? String(amount)
        var units: Int64 = 0
        var fractionDigits = -1
        var first = true
        for byte in amount.utf8 {
            if first && byte == UInt8(ascii: "-") { throw MoneyError.negative(original) }
            first = false
            if byte == UInt8(ascii: ".") {
                guard fractionDigits < 0 else { throw MoneyError.malformed(original) }
                fractionDigits = 0
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { throw MoneyError.malformed(original) }
            if fractionDigits >= 0 { fractionDigits += 1 }
            let (product, overflow) = units.multipliedReportingOverflow(by: 10)
            guard !overflow, product <= Int64.max / 100_000 else { throw MoneyError.malformed(original) }
            units = product + Int64(byte - UInt8(ascii: "0"))
        }
        guard !amount.isEmpty, fractionDigits != 0, amount.utf8.first != UInt8(ascii: ".") else {
            throw MoneyError.malformed(original)
        }
        let digits = max(fractionDigits, 0)
        guard digits <= currency.minorUnitDigits else {
            throw MoneyError.tooPrecise(original, currency: currency.code, places: currency.minorUnitDigits)
        }
        for _ in digits..<currency.minorUnitDigits { units *= 10 }
        guard units > 0 else { throw MoneyError.notPositive(original) }
        self.init(minorUnits: units, currency: currency)
    }

    /// The canonical decimal string with `.` and every minor digit (`6.95`), as feeds and JSON-LD write it.
    public var decimalString: String {
        let digits = currency.minorUnitDigits
        // Written right to left into a small buffer: no intermediate strings (parity formats millions of these).
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { buffer in
            var index = buffer.count
            func put(_ byte: UInt8) {
                index -= 1
                buffer[index] = byte
            }
            var magnitude = minorUnits.magnitude
            var written = 0
            repeat {
                if digits > 0 && written == digits { put(UInt8(ascii: ".")) }
                put(UInt8(ascii: "0") + UInt8(magnitude % 10))
                magnitude /= 10
                written += 1
            } while magnitude > 0 || written <= digits
            if minorUnits < 0 { put(UInt8(ascii: "-")) }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[index...]), as: UTF8.self)
        }
    }

    /// The feed form, `15.00 EUR`.
    public var feedValue: String { decimalString + " " + currency.code }

    public var description: String { feedValue }

    /// The exact decimal value.
    public var decimalValue: Decimal {
        Decimal(sign: minorUnits < 0 ? .minus : .plus, exponent: -currency.minorUnitDigits, significand: Decimal(minorUnits.magnitude))
    }

    /// Formats for a locale: fr-FR gives `3,49 €` (no-break space), en-US `$3.49`.
    public func formatted(locale: String) -> String {
        MoneyFormatter.shared.format(self, locale: locale)
    }
}

extension Money: Comparable {
    /// Orders amounts of one currency; amounts of different currencies order by code first.
    public static func < (lhs: Money, rhs: Money) -> Bool {
        if lhs.currency != rhs.currency { return lhs.currency.code < rhs.currency.code }
        return lhs.minorUnits < rhs.minorUnits
    }
}

/// Why a text is not an amount of money.
public enum MoneyError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case negative(String)
    case notPositive(String)
    case unknownCurrency(String)
    case tooPrecise(String, currency: String, places: Int)

    public var description: String {
        switch self {
        case .malformed(let text): "'\(text)' is not a price like '15.00 EUR'"
        case .negative(let text): "'\(text)' is negative"
        case .notPositive(let text): "'\(text)' must be greater than zero"
        case .unknownCurrency(let code): "unknown ISO 4217 currency '\(code)'"
        case .tooPrecise(let text, let currency, let places): "'\(text)' has more than \(places) decimal places for \(currency)"
        }
    }
}

/// Formats money through ICU, one cached formatter per locale and currency.
final class MoneyFormatter: @unchecked Sendable {
    static let shared = MoneyFormatter()
    // NumberFormatter is not thread-safe; the lock guards both the cache and the formatting.
    private let lock = NSLock()
    private var formatters: [String: NumberFormatter] = [:]

    func format(_ money: Money, locale: String) -> String {
        lock.lock()
        defer { lock.unlock() }
        let key = locale + "/" + money.currency.code
        let formatter: NumberFormatter
        if let cached = formatters[key] {
            formatter = cached
        } else {
            formatter = NumberFormatter()
            formatter.locale = Locale(identifier: locale)
            formatter.numberStyle = .currency
            formatter.currencyCode = money.currency.code
            formatter.minimumFractionDigits = money.currency.minorUnitDigits
            formatter.maximumFractionDigits = money.currency.minorUnitDigits
            formatters[key] = formatter
        }
        return formatter.string(from: money.decimalValue as NSDecimalNumber) ?? money.feedValue
    }
}
