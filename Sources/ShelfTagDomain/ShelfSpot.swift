import Foundation

/// Where a product sits in a store, from the store's layout file: an aisle (`A2`, `12`, `Frais`) and an optional
/// position along it. A reprint run walks the store in this order.
public struct ShelfSpot: Hashable, Sendable, Comparable {
    public let aisle: String
    public let position: Int?

    public init(aisle: String, position: Int?) {
        self.aisle = aisle
        self.position = position
    }

    /// Aisles in the order people count them (`A2` before `A10`), then by position, a spot without one last.
    public static func < (lhs: ShelfSpot, rhs: ShelfSpot) -> Bool {
        let aisles = lhs.aisle.compare(rhs.aisle, options: [.numeric, .caseInsensitive])
        if aisles != .orderedSame { return aisles == .orderedAscending }
        return (lhs.position ?? .max) < (rhs.position ?? .max)
    }
}
