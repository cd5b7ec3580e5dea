import Foundation

/// Which channel a price belongs to: the web shop or one store.
public enum PriceChannel: Hashable, Sendable, CustomStringConvertible {
    case web
    case store(String)

    public var description: String {
        switch self {
        case .web: "web"
        case .store(let code): code
        }
    }
}

/// One recorded price change: `pricing` applies from `recordedAt` until the next change.
public struct PriceChange: Hashable, Sendable {
    public let recordedAt: Date
    public let pricing: Pricing

    public init(recordedAt: Date, pricing: Pricing) {
        self.recordedAt = recordedAt
        self.pricing = pricing
    }
}

/// The dated prices of one product in one channel, oldest first.
public struct PriceHistory: Sendable {
    public let changes: [PriceChange]

    /// Sorts `changes` by time.
    public init(changes: [PriceChange]) {
        self.changes = changes.sorted { $0.recordedAt < $1.recordedAt }
    }

    /// The window Omnibus looks back over: 30 days before a reduction (Directive 98/6/EC, Art. 6a(2)).
    public static let omnibusLookBack: TimeInterval = 30 * 86_400

    /// The pricing in force at `time`, if any was recorded by then.
    public func pricing(at time: Date) -> Pricing? {
        changes.last { $0.recordedAt <= time }?.pricing
    }

    /// The price a shopper paid at `time`, if known.
    public func effectivePrice(at time: Date) -> Money? { pricing(at: time)?.effectivePrice(at: time) }

    /// When the reduction shown at `time` began: its sale window's start, or else the change that
    /// introduced the sale price. Nil when no reduction is shown at `time`.
    public func reductionStart(at time: Date) -> Date? {
        guard let current = pricing(at: time), current.isOnSale(at: time), let salePrice = current.salePrice else {
            return nil
        }
        if let window = current.saleWindow { return window.start }
        var start = changes.last { $0.recordedAt <= time }!.recordedAt
        for change in changes.reversed() where change.recordedAt < start {
            guard change.pricing.salePrice == salePrice, change.pricing.saleWindow == nil else { break }
            start = change.recordedAt
        }
        return start
    }

    /// The lowest price shoppers paid in `[from, to)`, over the part of it that the history covers.
    public func lowestPrice(from: Date, to: Date) -> Money? {
        // The effective price only changes at a recorded change or at a sale window's edge.
        var instants: Set<Date> = [from]
        for change in changes {
            instants.insert(change.recordedAt)
            if let window = change.pricing.saleWindow {
                instants.insert(window.start)
                instants.insert(window.end)
            }
        }
        return instants.filter { $0 >= from && $0 < to }.compactMap { effectivePrice(at: $0) }.min()
    }

    /// The Omnibus prior price of the reduction shown at `time`: the lowest price of the 30 days
    /// before it began. Nil when no reduction is shown or nothing was recorded in those days.
    public func omnibusPriorPrice(at time: Date) -> Money? {
        guard let start = reductionStart(at: time) else { return nil }
        return lowestPrice(from: start.addingTimeInterval(-Self.omnibusLookBack), to: start)
    }
}
