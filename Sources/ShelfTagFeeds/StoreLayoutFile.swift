import Foundation
import ShelfTagDomain

/// Reads a store's layout CSV, `gtin,aisle[,position][,copies]`: where each product sits, for printing in walking
/// order. A product may have several rows, one per spot; the same spot twice is refused.
public enum StoreLayoutFile {
    /// The most tags one spot may ask for: more is a typing error, not a shelf.
    public static let maximumCopies = 99

    /// - Throws: `FeedError` when the file cannot be read; rethrows what `rejected` throws.
    public static func read(path: String, displayName: String, rejected: @escaping (RowError) throws -> Void) throws -> [GTIN: [ShelfSpot]] {
        var spots: [GTIN: [ShelfSpot]] = [:]
        try CommaSeparatedReader(path: path, displayName: displayName).read(
            required: ["gtin", "aisle"],
            row: { values, line in
                let fields = FieldParser(location: SourceLocation(file: displayName, line: line))
                do {
                    let gtin = try fields.gtin("gtin", try fields.required("gtin", values["gtin"]))
                    let aisle = try fields.required("aisle", values["aisle"], .line(40))
                    let position = try count("position", values["position"], in: 0...Int.max, fields: fields)
                    let copies = try count("copies", values["copies"], in: 1...maximumCopies, fields: fields) ?? 1
                    let spot = ShelfSpot(aisle: aisle, position: position, copies: copies)
                    if spots[gtin, default: []].contains(where: { $0.isSamePlace(as: spot) }) {
                        let place = "aisle \(aisle)" + (position.map { ", position \($0)" } ?? "")
                        throw fields.fail("gtin", .conflict("\(gtin.digits) is placed twice at \(place)"))
                    }
                    spots[gtin, default: []].append(spot)
                } catch let error as RowError {
                    try rejected(error)
                }
            }, rejected: rejected)
        return spots
    }

    /// An optional whole number within `range`; nil when the column is absent or empty.
    private static func count(_ field: String, _ text: String?, in range: ClosedRange<Int>, fields: FieldParser) throws -> Int? {
        guard let text, !text.isEmpty else { return nil }
        guard let value = Int(text) else { throw fields.fail(field, .notANumber(text)) }
        guard value >= 0 else { throw fields.fail(field, .negative(text)) }
        guard range.contains(value) else { throw fields.fail(field, .outOfRange(text, range: Double(range.lowerBound)...Double(range.upperBound))) }
        return value
    }
}
