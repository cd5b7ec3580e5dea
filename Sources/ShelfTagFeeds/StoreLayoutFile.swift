import Foundation
import ShelfTagDomain

/// Reads a store's layout CSV, `gtin,aisle[,position]`: where each product sits, for printing in walking order.
public enum StoreLayoutFile {
    /// - Throws: `FeedError` when the file cannot be read; rethrows what `rejected` throws.
    public static func read(path: String, displayName: String, rejected: @escaping (RowError) throws -> Void) throws -> [GTIN: ShelfSpot] {
        var spots: [GTIN: ShelfSpot] = [:]
        try CommaSeparatedReader(path: path, displayName: displayName).read(
            required: ["gtin", "aisle"],
            row: { values, line in
                let fields = FieldParser(location: SourceLocation(file: displayName, line: line))
                do {
                    let gtin = try fields.gtin("gtin", try fields.required("gtin", values["gtin"]))
                    let aisle = try fields.required("aisle", values["aisle"], .line(40))
                    var position: Int?
                    if let text = values["position"], !text.isEmpty {
                        guard let value = Int(text), value >= 0 else { throw fields.fail("position", .notANumber(text)) }
                        position = value
                    }
                    guard spots[gtin] == nil else { throw fields.fail("gtin", .conflict("\(gtin.digits) is placed twice")) }
                    spots[gtin] = ShelfSpot(aisle: aisle, position: position)
                } catch let error as RowError {
                    try rejected(error)
                }
            }, rejected: rejected)
        return spots
    }
}
