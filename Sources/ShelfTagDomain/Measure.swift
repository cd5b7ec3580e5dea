import Foundation

/// A quantity with a unit, as Merchant Center's `unit_pricing_measure` writes it (`750g`, `75 cl`).
public struct Measure: Hashable, Sendable, CustomStringConvertible {
    public let value: Decimal
    public let unit: MeasureUnit

    /// The feed form, `750g`.
    public let feedValue: String

    public init(value: Decimal, unit: MeasureUnit) {
        self.init(value: value, unit: unit, feedValue: "\(value)\(unit.rawValue)")
    }

    private init(value: Decimal, unit: MeasureUnit, feedValue: String) {
        self.value = value
        self.unit = unit
        self.feedValue = feedValue
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
        var unitText = Substring(text.utf8[index...])
        while unitText.first == " " { unitText.removeFirst() }
        while unitText.last == " " { unitText.removeLast() }
        guard let unit = MeasureUnit(rawValue: unitText.lowercased()) else { throw MeasureError.unknownUnit(text) }
        // The canonical text, built from the digits (Decimal's description is slow).
        let exponent = max(fractionDigits, 0)
        var digits = String(significand)
        if exponent > 0 {
            if digits.count <= exponent { digits = String(repeating: "0", count: exponent - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -exponent))
            while digits.last == "0" { digits.removeLast() }
            if digits.last == "." { digits.removeLast() }
        }
        self.init(value: Decimal(sign: .plus, exponent: -exponent, significand: Decimal(significand)), unit: unit, feedValue: digits + unit.rawValue)
    }

    /// The value in the dimension's reference unit (g, ml, cm, m², item).
    public var referenceValue: Decimal { value * unit.referenceFactor }

    /// `750 g`, `1 kg`.
    public var description: String { "\(value) \(unit.symbol)" }
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

    public var dimension: Dimension {
        switch self {
        case .mg, .g, .kg, .oz, .lb: .weight
        case .ml, .cl, .l, .cbm, .floz, .pt, .qt, .gal: .volume
        case .cm, .m, .inch, .ft, .yd: .length
        case .sqm, .sqft: .area
        case .ct, .sheet, .item: .count
        }
    }

    /// Size in the dimension's reference unit (g, ml, cm, m², item); imperial factors are exact by definition.
    var referenceFactor: Decimal {
        switch self {
        case .mg: Decimal(string: "0.001")!
        case .g, .ml, .cm, .sqm, .ct, .sheet, .item: 1
        case .kg, .l: 1000
        case .oz: Decimal(string: "28.349523125")!
        case .lb: Decimal(string: "453.59237")!
        case .cl: 10
        case .cbm: 1_000_000
        case .floz: Decimal(string: "29.5735295625")!
        case .pt: Decimal(string: "473.176473")!
        case .qt: Decimal(string: "946.352946")!
        case .gal: Decimal(string: "3785.411784")!
        case .m: 100
        case .inch: Decimal(string: "2.54")!
        case .ft: Decimal(string: "30.48")!
        case .yd: Decimal(string: "91.44")!
        case .sqft: Decimal(string: "0.09290304")!
        }
    }

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
        var exact = Decimal(price.minorUnits) * base.referenceValue / measure.referenceValue
        var rounded = Decimal()
        NSDecimalRound(&rounded, &exact, 0, .plain)
        self.price = Money(minorUnits: NSDecimalNumber(decimal: rounded).int64Value, currency: price.currency)
        self.base = base
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
