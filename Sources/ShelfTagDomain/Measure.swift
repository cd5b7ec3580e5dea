import Foundation

/// A quantity with a unit, as Merchant Center's `unit_pricing_measure` writes it (`750g`, `75 cl`).
public struct Measure: Hashable, Sendable, CustomStringConvertible {
    public let value: Decimal
    public let unit: MeasureUnit

    /// The feed form, `750g`.
    public let feedValue: String
    /// `value` as `significand ÷ 10^scale` without trailing zeros, when it fits: unit prices in integer arithmetic.
    let exact: ExactDecimal?

    public init(value: Decimal, unit: MeasureUnit) {
        self.init(value: value, unit: unit, feedValue: "\(value)\(unit.rawValue)", exact: ExactDecimal(value))
    }

    private init(value: Decimal, unit: MeasureUnit, feedValue: String, exact: ExactDecimal?) {
        self.value = value
        self.unit = unit
        self.feedValue = feedValue
        self.exact = exact
    }

    /// Parses `750g`, `750 g`, `0.75kg` (a plain decimal number, then a Merchant Center unit).
    /// - Throws: `MeasureError` for a missing or non-positive number or an unknown unit.
    public init(feedValue text: String) throws(MeasureError) {
        // Hand-written: this runs once per feed row, and Decimal(string:) is slow.
        var significand: UInt64 = 0
        var fractionDigits = -1
        var digitCount = 0
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex, utf8[index] == 0x20 { index = utf8.index(after: index) }
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: ".") {
                guard fractionDigits < 0 else { throw MeasureError.malformed(text) }
                fractionDigits = 0
            } else if byte >= 48 && byte <= 57 {
                guard digitCount < 18 else { throw MeasureError.malformed(text) }
                significand = significand * 10 + UInt64(byte - 48)
                digitCount += 1
                if fractionDigits >= 0 { fractionDigits += 1 }
            } else {
                break
            }
            index = utf8.index(after: index)
        }
        guard digitCount > 0 else { throw MeasureError.malformed(text) }
        guard significand > 0 else { throw MeasureError.notPositive(text) }
        guard let unit = MeasureUnit(named: utf8[index...]) else { throw MeasureError.unknownUnit(text) }
        // The canonical text, built from the digits (Decimal's description is slow).
        let exponent = max(fractionDigits, 0)
        var digits = String(significand)
        if exponent > 0 {
            if digits.count <= exponent { digits = String(repeating: "0", count: exponent - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -exponent))
            while digits.last == "0" { digits.removeLast() }
            if digits.last == "." { digits.removeLast() }
        }
        self.init(
            value: Decimal(sign: .plus, exponent: -exponent, significand: Decimal(significand)), unit: unit, feedValue: digits + unit.rawValue,
            exact: ExactDecimal(significand: significand, scale: exponent))
    }

    /// The value in the dimension's reference unit (g, ml, cm, m², item).
    public var referenceValue: Decimal { value * unit.referenceFactor }

    /// `750 g`, `1 kg`.
    public var description: String { "\(value) \(unit.symbol)" }
}

/// A non-negative decimal as `significand ÷ 10^scale`, trailing zeros removed so that equal values are equal.
struct ExactDecimal: Hashable, Sendable {
    let significand: UInt64
    let scale: Int

    init(significand: UInt64, scale: Int) {
        var significand = significand
        var scale = scale
        while scale > 0, significand % 10 == 0, significand > 0 {
            significand /= 10
            scale -= 1
        }
        self.significand = significand
        self.scale = scale
    }

    /// Nil for a negative value or one whose digits do not fit.
    init?(_ value: Decimal) {
        guard value >= 0, value.exponent <= 0, value.exponent >= -18 else { return nil }
        let significand = NSDecimalNumber(decimal: value.significand)
        guard significand.compare(NSDecimalNumber(value: UInt64.max)) == .orderedAscending else { return nil }
        self.init(significand: significand.uint64Value, scale: -value.exponent)
    }
}

/// Units that Merchant Center allows for unit pricing.
public enum MeasureUnit: String, Sendable, CaseIterable {
    case mg, g, kg, oz, lb
    case ml, cl, l, cbm, floz, pt, qt, gal
    case cm, m
    case inch = "in"
    case ft, yd
    case sqm, sqft
    case ct, sheet, item

    public enum Dimension: Sendable { case weight, volume, length, area, count }

    /// The unit `name` spells in any case, spaces around it ignored.
    init?(named name: Substring.UTF8View) {
        var name = name
        while name.first == UInt8(ascii: " ") { name.removeFirst() }
        while name.last == UInt8(ascii: " ") { name.removeLast() }
        // Found without building a string: every row with unit pricing names two units.
        guard let key = Self.asciiKey(name) else {
            self.init(rawValue: String(Substring(name)).lowercased())
            return
        }
        guard let unit = Self.byASCIIKey[key] else { return nil }
        self = unit
    }

    /// The name's bytes, upper-case letters lowered, packed into one number; nil unless at most 8 printable ASCII
    /// bytes (a zero byte would pack like none).
    private static func asciiKey<Name: Collection<UInt8>>(_ name: Name) -> UInt64? {
        var key: UInt64 = 0
        var count = 0
        for byte in name {
            guard byte > 0x20, byte < 0x7F, count < 8 else { return nil }
            key = key << 8 | UInt64(byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte)
            count += 1
        }
        return key
    }

    private static let byASCIIKey = Dictionary(uniqueKeysWithValues: allCases.map { (asciiKey($0.rawValue.utf8)!, $0) })

    public var dimension: Dimension {
        switch self {
        case .mg, .g, .kg, .oz, .lb: .weight
        case .ml, .cl, .l, .cbm, .floz, .pt, .qt, .gal: .volume
        case .cm, .m, .inch, .ft, .yd: .length
        case .sqm, .sqft: .area
        case .ct, .sheet, .item: .count
        }
    }

    /// Size in the dimension's reference unit (g, ml, cm, m², item) as a fraction; imperial factors are exact by definition.
    var referenceFraction: (numerator: UInt64, denominator: UInt64) {
        switch self {
        case .mg: (1, 1000)
        case .g, .ml, .cm, .sqm, .ct, .sheet, .item: (1, 1)
        case .kg, .l: (1000, 1)
        case .oz: (28_349_523_125, 1_000_000_000)
        case .lb: (45_359_237, 100_000)
        case .cl: (10, 1)
        case .cbm: (1_000_000, 1)
        case .floz: (295_735_295_625, 10_000_000_000)
        case .pt: (473_176_473, 1_000_000)
        case .qt: (946_352_946, 1_000_000)
        case .gal: (3_785_411_784, 1_000_000)
        case .m: (100, 1)
        case .inch: (254, 100)
        case .ft: (3048, 100)
        case .yd: (9144, 100)
        case .sqft: (9_290_304, 100_000_000)
        }
    }

    var referenceFactor: Decimal { Decimal(referenceFraction.numerator) / Decimal(referenceFraction.denominator) }

    /// The symbol shown to people: `kg`, `L`, `m²`.
    public var symbol: String {
        switch self {
        case .l: "L"
        case .cl: "cL"
        case .ml: "mL"
        case .sqm: "m²"
        case .sqft: "sq ft"
        case .cbm: "m³"
        case .floz: "fl oz"
        case .ct, .item: "item"
        default: rawValue
        }
    }
}

/// Why a text is not a measure.
public enum MeasureError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case notPositive(String)
    case unknownUnit(String)
    case mismatchedDimensions(measure: String, base: String)

    public var description: String {
        switch self {
        case .malformed(let text): "'\(text)' is not a measure like '750g'"
        case .notPositive(let text): "'\(text)' must be greater than zero"
        case .unknownUnit(let text): "'\(text)' has a unit Merchant Center does not allow"
        case .mismatchedDimensions(let measure, let base): "measure '\(measure)' and base '\(base)' are not the same kind of unit"
        }
    }
}

/// A price per base quantity: 3.32 EUR per 1 kg.
public struct UnitPrice: Hashable, Sendable {
    public let price: Money
    public let base: Measure

    /// The unit price of `price` for a pack of `measure`, per `base`.
    ///
    /// Rounding rule: the exact quotient `price × base ÷ measure` is rounded half up to the
    /// currency's minor unit (6.95 EUR for 400 g per 1 kg = 17.375 → 17.38 EUR/kg).
    /// - Throws: `MeasureError.mismatchedDimensions` when the two are not the same kind of unit.
    public init(price: Money, measure: Measure, base: Measure) throws(MeasureError) {
        guard measure.unit.dimension == base.unit.dimension else {
            throw MeasureError.mismatchedDimensions(measure: measure.feedValue, base: base.feedValue)
        }
        self.price = Money(
            minorUnits: Self.integerQuotient(price.minorUnits, measure: measure, base: base)
                ?? Self.decimalQuotient(price.minorUnits, measure: measure, base: base),
            currency: price.currency)
        self.base = base
    }

    /// `minorUnits × base ÷ measure` rounded half up in 64-bit integers; nil when a factor overflows (then Decimal does it).
    private static func integerQuotient(_ minorUnits: Int64, measure: Measure, base: Measure) -> Int64? {
        guard minorUnits >= 0, let measureValue = measure.exact, let baseValue = base.exact, measureValue.significand > 0 else { return nil }
        func product(_ factors: UInt64...) -> UInt64? {
            var result: UInt64 = 1
            for factor in factors {
                let (next, overflow) = result.multipliedReportingOverflow(by: factor)
                if overflow { return nil }
                result = next
            }
            return result
        }
        func power(_ exponent: Int) -> UInt64? { exponent <= 19 ? (0..<exponent).reduce(1) { value, _ in value * 10 } : nil }
        let measureFactor = measure.unit.referenceFraction
        let baseFactor = base.unit.referenceFraction
        guard let measureScale = power(measureValue.scale), let baseScale = power(baseValue.scale),
            let numerator = product(UInt64(minorUnits), baseValue.significand, baseFactor.numerator, measureScale, measureFactor.denominator),
            let denominator = product(baseScale, baseFactor.denominator, measureValue.significand, measureFactor.numerator),
            let twice = product(numerator, 2), let twiceDenominator = product(denominator, 2)
        else { return nil }
        let (rounding, overflow) = twice.addingReportingOverflow(denominator)
        guard !overflow else { return nil }
        let quotient = rounding / twiceDenominator
        return quotient <= UInt64(Int64.max) ? Int64(quotient) : nil
    }

    private static func decimalQuotient(_ minorUnits: Int64, measure: Measure, base: Measure) -> Int64 {
        var exact = Decimal(minorUnits) * base.referenceValue / measure.referenceValue
        var rounded = Decimal()
        NSDecimalRound(&rounded, &exact, 0, .plain)
        return NSDecimalNumber(decimal: rounded).int64Value
    }

    /// A unit price already computed (read back from storage).
    public init(price: Money, per base: Measure) {
        self.price = price
        self.base = base
    }

    /// `kg` for a base of 1 kg, `100 g` otherwise.
    public var baseLabel: String { base.value == 1 ? base.unit.symbol : "\(base.value) \(base.unit.symbol)" }

    /// `3,32 €/kg` in the given locale.
    public func formatted(locale: String) -> String { price.formatted(locale: locale) + "/" + baseLabel }
}
