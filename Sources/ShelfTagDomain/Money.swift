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
        // Two words, an amount and a currency code, with any spaces around them.
        let space = UInt8(ascii: " ")
        let utf8 = text.utf8
        guard let amount = text.nextPiece(splitBy: space, from: text.startIndex), let code = text.nextPiece(splitBy: space, from: amount.upperBound),
            text.nextPiece(splitBy: space, from: code.upperBound) == nil, utf8[code].count == 3, utf8[code].allSatisfy({ $0 >= 65 && $0 <= 90 })
        else { throw MoneyError.malformed(text) }
        let currency = try Currency(code: String(Substring(utf8[code])))
        self = try Money(amount: Substring(utf8[amount]), currency: currency, original: text)
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

/// Formats money as ICU does for a locale, without ICU on the way: each locale and currency's pattern is learned from a
/// `NumberFormatter` once and checked against it on amounts of every length. The render formats some 30,000 prices
/// before it starts drawing (21 ms through ICU, 7 ms now) and the resolver several per request, and ICU's formatting
/// ran under one lock (`NumberFormatter` is not thread-safe). A pattern the check refuses (another digit set, an
/// unusual grouping) keeps ICU.
final class MoneyFormatter: @unchecked Sendable {
    static let shared = MoneyFormatter()

    private struct Key: Hashable {
        let locale: String
        let currency: Currency
    }

    private enum Format {
        case pattern(CurrencyPattern)
        case icu(NumberFormatter)
    }

    // Guards the cache, and ICU's formatting for the locales that keep it.
    private let lock = NSLock()
    private var formats: [Key: Format] = [:]

    func format(_ money: Money, locale: String) -> String {
        lock.lock()
        defer { lock.unlock() }
        let key = Key(locale: locale, currency: money.currency)
        switch format(for: key) {
        case .pattern(let pattern) where money.minorUnits >= 0: return pattern.format(money.minorUnits)
        case .pattern: return Self.icuFormatter(key).string(from: money.decimalValue as NSDecimalNumber) ?? money.feedValue
        case .icu(let formatter): return formatter.string(from: money.decimalValue as NSDecimalNumber) ?? money.feedValue
        }
    }

    /// Whether amounts in this locale and currency are formatted without ICU (for tests).
    func usesPattern(locale: String, currency: Currency) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if case .pattern = format(for: Key(locale: locale, currency: currency)) { return true }
        return false
    }

    /// The cached format, learned on first use; the caller holds the lock.
    private func format(for key: Key) -> Format {
        if let known = formats[key] { return known }
        let formatter = Self.icuFormatter(key)
        let format = CurrencyPattern.learn(from: formatter, fractionDigits: key.currency.minorUnitDigits).map(Format.pattern) ?? .icu(formatter)
        formats[key] = format
        return format
    }

    private static func icuFormatter(_ key: Key) -> NumberFormatter {
        let formatter = NumberFormatter()
        formatter.locale = Locale(identifier: key.locale)
        formatter.numberStyle = .currency
        formatter.currencyCode = key.currency.code
        formatter.minimumFractionDigits = key.currency.minorUnitDigits
        formatter.maximumFractionDigits = key.currency.minorUnitDigits
        return formatter
    }
}

/// A currency format as ICU applies it to a non-negative amount: prefix, ASCII digits grouped from the right, the
/// decimal separator and every minor digit, suffix.
struct CurrencyPattern: Sendable, Equatable {
    let prefix: String
    let suffix: String
    let groupingSeparator: String
    let decimalSeparator: String
    let groupingSize: Int
    /// Digits the integer part needs beyond one group before it is grouped: 2 in Spanish or Polish (`1234,50`,
    /// `12 345,00`), else 1.
    let minimumGroupingDigits: Int
    let fractionDigits: Int

    /// The pattern `formatter` follows, when one of the two grouping rules reproduces its output exactly on amounts of
    /// 1 to 13 digits; nil otherwise.
    static func learn(from formatter: NumberFormatter, fractionDigits: Int) -> CurrencyPattern? {
        guard formatter.usesGroupingSeparator, formatter.secondaryGroupingSize <= 0 || formatter.secondaryGroupingSize == formatter.groupingSize,
            formatter.groupingSize > 0, let prefix = formatter.positivePrefix, let suffix = formatter.positiveSuffix,
            let grouping = formatter.currencyGroupingSeparator, let decimal = formatter.currencyDecimalSeparator
        else { return nil }
        let probes: [Int64] = (0...12).flatMap { digits -> [Int64] in
            let power = (0..<digits).reduce(Int64(1)) { value, _ in value * 10 }
            return [power, power * 9 + power / 3, power * 10 - 1]
        }
        for minimumGroupingDigits in 1...2 {
            let pattern = CurrencyPattern(
                prefix: prefix, suffix: suffix, groupingSeparator: grouping, decimalSeparator: decimal, groupingSize: formatter.groupingSize,
                minimumGroupingDigits: minimumGroupingDigits, fractionDigits: fractionDigits)
            let agrees = probes.allSatisfy { minorUnits in
                let exact = Decimal(sign: .plus, exponent: -fractionDigits, significand: Decimal(minorUnits))
                return formatter.string(from: exact as NSDecimalNumber) == pattern.format(minorUnits)
            }
            if agrees { return pattern }
        }
        return nil
    }

    func format(_ minorUnits: Int64) -> String {
        precondition(minorUnits >= 0, "patterns format non-negative amounts")
        var divisor: Int64 = 1
        for _ in 0..<fractionDigits { divisor *= 10 }
        let integer = Array(String(minorUnits / divisor).utf8)
        var text = prefix
        if integer.count >= groupingSize + minimumGroupingDigits {
            var start = 0
            var end = (integer.count - 1) % groupingSize + 1
            while start < integer.count {
                if start > 0 { text += groupingSeparator }
                text += String(decoding: integer[start..<end], as: UTF8.self)
                start = end
                end += groupingSize
            }
        } else {
            text += String(decoding: integer, as: UTF8.self)
        }
        if fractionDigits > 0 {
            let fraction = String(minorUnits % divisor)
            text += decimalSeparator + String(repeating: "0", count: fractionDigits - fraction.utf8.count) + fraction
        }
        return text + suffix
    }
}
