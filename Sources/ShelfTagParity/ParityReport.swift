import Foundation
import ShelfTagDomain

/// Whether a broken rule fails the run.
public enum Severity: String, Sendable, Codable {
    case error, warning
}

/// The parity rules, each with a stable id used in every report format (sources: `../shared/formats/README.md`, 3.4).
public enum ParityRule: String, CaseIterable, Sendable, Codable {
    case storeWebPrice = "store-web-price"
    case staleTag = "stale-tag"
    case tagPriorPrice = "tag-prior-price"
    case tagUnitPrice = "tag-unit-price"
    case resolverAnswer = "resolver-answer"
    case webPagePrice = "web-page-price"
    case storeAvailability = "store-availability"
    case smallDiscount = "small-discount"

    public var severity: Severity { self == .smallDiscount ? .warning : .error }

    public var title: String {
        switch self {
        case .storeWebPrice: "store price differs from the web price (P5)"
        case .staleTag: "printed tag no longer shows the current price: reprint with render --stale (P12)"
        case .tagPriorPrice: "promotion tag's prior price is not the lowest price of the 30 days before it began (P9)"
        case .tagUnitPrice: "tag's unit price does not match its price and the pack size (P8)"
        case .resolverAnswer: "resolver answers another price, unit price or availability than the reference (P5)"
        case .webPagePrice: "web product page's JSON-LD price differs from the web feed (P4)"
        case .storeAvailability: "store availability or pickup offer contradicts the stock (P6, P7)"
        case .smallDiscount: "sale discount of 5 % or less, or 90 % or more: no sale annotation (P3)"
        }
    }
}

/// One broken rule for one product (in one store).
public struct Mismatch: Sendable, Equatable {
    public let rule: ParityRule
    public let storeCode: String?
    public let gtin: GTIN
    public let name: String
    /// What one side shows and what the other side shows, named: `("store", "6.39 EUR")`, `("web", "5.39 EUR")`.
    public let shown: (label: String, value: String)
    public let expected: (label: String, value: String)
    /// The signed difference, when both sides are amounts of one currency.
    public let difference: String?

    public init(rule: ParityRule, storeCode: String?, gtin: GTIN, name: String, shown: (String, String), expected: (String, String), difference: String? = nil)
    {
        self.rule = rule
        self.storeCode = storeCode
        self.gtin = gtin
        self.name = name
        self.shown = shown
        self.expected = expected
        self.difference = difference
    }

    public static func == (lhs: Mismatch, rhs: Mismatch) -> Bool {
        lhs.rule == rhs.rule && lhs.storeCode == rhs.storeCode && lhs.gtin == rhs.gtin && lhs.shown == rhs.shown && lhs.expected == rhs.expected
    }

    /// `+1.00 EUR`: shown minus expected.
    static func difference(_ shown: Money, _ expected: Money) -> String? {
        guard shown.currency == expected.currency else { return nil }
        let delta = Money(minorUnits: abs(shown.minorUnits - expected.minorUnits), currency: shown.currency)
        return (shown.minorUnits >= expected.minorUnits ? "+" : "-") + delta.feedValue
    }
}

/// What a parity run found.
public struct ParityReport: Sendable {
    public let at: Date
    public let rules: [ParityRule]
    /// Sorted by rule, store and GTIN: the same data gives the same report.
    public let mismatches: [Mismatch]
    public let offersChecked: Int

    public init(at: Date, rules: [ParityRule], mismatches: [Mismatch], offersChecked: Int) {
        self.at = at
        self.rules = rules
        let order = Dictionary(uniqueKeysWithValues: ParityRule.allCases.enumerated().map { ($1, $0) })
        self.mismatches = mismatches.sorted {
            (order[$0.rule]!, $0.storeCode ?? "", $0.gtin.digits, $0.shown.value) < (order[$1.rule]!, $1.storeCode ?? "", $1.gtin.digits, $1.shown.value)
        }
        self.offersChecked = offersChecked
    }

    public var errors: Int { mismatches.filter { $0.rule.severity == .error }.count }
    public var warnings: Int { mismatches.filter { $0.rule.severity == .warning }.count }

    /// Errors fail the run; warnings too with `strict`.
    public func fails(strict: Bool) -> Bool { errors > 0 || (strict && warnings > 0) }
}
