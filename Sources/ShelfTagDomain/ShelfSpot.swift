import Foundation

/// Where a product sits in a store, from the store's layout file: an aisle (`A2`, `12`, `Frais`), an optional
/// position along it, and how many of its tags hang there. A reprint run walks the store in this order; a product
/// may sit at several spots (its shelf and a promotion's end cap), each getting its own tags.
public struct ShelfSpot: Hashable, Sendable, Comparable {
    public let aisle: String
    public let position: Int?
    /// Tags at this spot: a long facing, or both sides of a gondola, takes more than one.
    public let copies: Int

    public init(aisle: String, position: Int?, copies: Int = 1) {
        self.aisle = aisle
        self.position = position
        self.copies = copies
    }

    /// Whether `other` is the same place in the store, as the walk counts places (`a2` is `A2`).
    public func isSamePlace(as other: ShelfSpot) -> Bool { !(self < other) && !(other < self) }

    /// Aisles in the order people count them (`A2` before `A10`), then by position, a spot without one last.
    public static func < (lhs: ShelfSpot, rhs: ShelfSpot) -> Bool {
        let aisles = lhs.aisle.compare(rhs.aisle, options: [.numeric, .caseInsensitive])
        if aisles != .orderedSame { return aisles == .orderedAscending }
        return (lhs.position ?? .max) < (rhs.position ?? .max)
    }
}
