import Foundation
import ShelfTagDomain
import Synchronization

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
        case .resolverAnswer:
            "resolver answers another price display (price, regular, prior or unit price, promotion end) or availability than the reference (P5)"
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
    /// The mismatches listed, sorted by rule, store, GTIN and shown value (the same data gives the same report): of
    /// each rule, the first `listLimit` in that order, or every one.
    public let mismatches: [Mismatch]
    /// Every mismatch found per rule, listed or not.
    public let counts: [ParityRule: Int]
    public let offersChecked: Int

    public init(at: Date, rules: [ParityRule], mismatches: [Mismatch], counts: [ParityRule: Int], offersChecked: Int) {
        self.at = at
        self.rules = rules
        self.mismatches = mismatches.sorted { Mismatch.order($0, $1) }
        self.counts = counts
        self.offersChecked = offersChecked
    }

    public var errors: Int { counts.filter { $0.key.severity == .error }.values.reduce(0, +) }
    public var warnings: Int { counts.filter { $0.key.severity == .warning }.values.reduce(0, +) }

    /// How many of a rule's mismatches the report does not list.
    public func unlisted(_ rule: ParityRule) -> Int { (counts[rule] ?? 0) - mismatches.count { $0.rule == rule } }

    /// Errors fail the run; warnings too with `strict`.
    public func fails(strict: Bool) -> Bool { errors > 0 || (strict && warnings > 0) }
}

extension Mismatch {
    /// The report's order: rule, store, GTIN, shown value.
    static func order(_ left: Mismatch, _ right: Mismatch) -> Bool {
        (ruleRank[left.rule]!, left.storeCode ?? "", left.gtin.digits, left.shown.value)
            < (ruleRank[right.rule]!, right.storeCode ?? "", right.gtin.digits, right.shown.value)
    }

    private static let ruleRank = Dictionary(uniqueKeysWithValues: ParityRule.allCases.enumerated().map { ($1, $0) })
}

/// The mismatches of a run as its rules find them, on several threads at once: every one counted, and of each rule
/// only the first `limit` in the report's order kept, so that memory stays flat however many there are (two million
/// offers all off their web price made a 909 MB report that took 13 GB and 5 minutes to write).
final class MismatchTally: Sendable {
    private let limit: Int?
    /// Per rule: the mismatches kept, every one counted, and once a trim has left `limit` of them, the last kept (a
    /// mismatch after it in the report's order cannot be listed).
    private let state = Mutex<(kept: [ParityRule: [Mismatch]], counts: [ParityRule: Int], last: [ParityRule: Mismatch])>(([:], [:], [:]))

    /// - Parameter limit: mismatches listed per rule (0: none, only counted); nil lists every one.
    init(limit: Int?) {
        self.limit = limit
    }

    func add(_ found: [Mismatch]) {
        guard !found.isEmpty else { return }
        state.withLock { state in
            for mismatch in found {
                let rule = mismatch.rule
                state.counts[rule, default: 0] += 1
                if limit == 0 { continue }
                if let last = state.last[rule], !Mismatch.order(mismatch, last) { continue }
                state.kept[rule, default: []].append(mismatch)
                // Trimmed in batches: a sort per limit's worth of additions.
                if let limit, state.kept[rule]!.count >= 2 * limit {
                    let kept = state.kept[rule]!.sorted(by: Mismatch.order).prefix(limit)
                    state.kept[rule] = Array(kept)
                    state.last[rule] = kept.last
                }
            }
        }
    }

    func report(at: Date, rules: [ParityRule], offersChecked: Int) -> ParityReport {
        state.withLock { state in
            let listed = state.kept.values.flatMap { kept in limit.map { Array(kept.sorted(by: Mismatch.order).prefix($0)) } ?? kept }
            return ParityReport(at: at, rules: rules, mismatches: listed, counts: state.counts, offersChecked: offersChecked)
        }
    }
}
