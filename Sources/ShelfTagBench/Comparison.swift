import Foundation

/// A path measured beside its baseline in turn, run after run of the same bench: each run's ratio, then the ratios'
/// median and spread, which on a shared machine say more than any one run.
struct Comparison {
    let name: String
    /// Whether a larger figure is better (rows or requests per second: the target is a least ratio) or worse (seconds:
    /// the target is a greatest ratio).
    let higherIsBetter: Bool
    private(set) var ratios: [Double] = []

    init(_ name: String, higherIsBetter: Bool) {
        self.name = name
        self.higherIsBetter = higherIsBetter
    }

    /// Records one run's figures and returns their ratio, ours over the baseline's.
    @discardableResult
    mutating func add(ours: Double, baseline: Double) -> Double {
        ratios.append(ours / baseline)
        return ours / baseline
    }

    /// `ratio     import / sqlite3 .import: median 0.71 (0.68–0.74) over 3 runs; target ≥ 1.50: not met`; without a
    /// target, `…; reported`.
    func summary(target: Double?) -> String {
        let sorted = ratios.sorted()
        guard let low = sorted.first, let high = sorted.last else { return "ratio     \(name): no run" }
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        let spread = String(format: "ratio     %@: median %.2f (%.2f–%.2f) over %d runs", name, median, low, high, ratios.count)
        guard let target else { return spread + "; reported" }
        let met = higherIsBetter ? median >= target : median <= target
        return spread + String(format: "; target %@ %.2f: %@", higherIsBetter ? "≥" : "≤", target, met ? "met" : "not met")
    }
}
