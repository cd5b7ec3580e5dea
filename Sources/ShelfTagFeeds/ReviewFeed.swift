import Foundation
import ShelfTagDomain

/// One review of the product reviews feed, before it is matched to a product.
public struct ReviewFeedRow: Sendable {
    public let id: String
    /// Normalised to the 1 to 5 scale.
    public let rating: Double
    public let author: String
    public let isAnonymous: Bool
    public let publishedAt: Date
    public let title: String
    public let content: String
    /// Product keys in matching order: GTINs first (the most reliable), then SKUs (feed ids).
    public let gtins: [GTIN]
    public let skus: [String]

    /// The review, once matched to a product.
    public func review(of gtin: GTIN) -> Review {
        Review(id: id, gtin: gtin, rating: rating, author: author, isAnonymous: isAnonymous, publishedAt: publishedAt, title: title, content: content)
    }
}

/// Reads the Google product reviews feed (XML schema 2.4), one `<review>` at a time.
public enum ReviewFeed {
    /// - Throws: `FeedError` when the file cannot be read or is not well-formed XML; rethrows what the callbacks throw.
    public static func read(
        path: String, displayName: String, row: @escaping (ReviewFeedRow, Int) throws -> Void, rejected: @escaping (RowError) throws -> Void
    ) throws {
        try XMLRecordReader(path: path, displayName: displayName, recordName: "review").read { node, line in
            do {
                try row(try parse(node, location: SourceLocation(file: displayName, line: line)), line)
            } catch let error as RowError {
                try rejected(error)
            }
        }
    }

    static func parse(_ review: XMLNode, location: SourceLocation) throws(RowError) -> ReviewFeedRow {
        let fields = FieldParser(location: location)
        let id = try fields.required("review_id", review["review_id"]?.trimmedText, .identifier)
        let published = try fields.timestamp("review_timestamp", fields.required("review_timestamp", review["review_timestamp"]?.trimmedText))
        guard let overall = review["ratings", "overall"] else { throw fields.fail("ratings/overall", .missing) }
        let rating = try normalisedRating(overall, fields: fields)
        let name = review["reviewer", "name"]
        let gtins = try review.all("products", "product", "product_ids", "gtins", "gtin").map { (node: XMLNode) throws(RowError) -> GTIN in
            try fields.gtin("gtin", node.trimmedText)
        }
        let skus = review.all("products", "product", "product_ids", "skus", "sku").map(\.trimmedText).filter { !$0.isEmpty }
        guard !gtins.isEmpty || !skus.isEmpty else { throw fields.fail("products/product/product_ids", .missing) }
        return ReviewFeedRow(
            id: id, rating: rating, author: try fields.optional("reviewer/name", name?.trimmedText, .line(100)),
            isAnonymous: name?.attributes["is_anonymous"] == "true", publishedAt: published.date,
            title: try fields.optional("title", review["title"]?.trimmedText, .line(200)),
            content: try fields.required("content", review["content"]?.trimmedText, .paragraphs(10_000)), gtins: gtins, skus: skus)
    }

    /// Maps `<overall min=… max=…>` onto 1 to 5 (Merchant API reviews allow any range; 1 to 5 by default).
    private static func normalisedRating(_ overall: XMLNode, fields: FieldParser) throws(RowError) -> Double {
        let field = "ratings/overall"
        func number(_ text: String?, default fallback: Double) throws(RowError) -> Double {
            guard let text, !text.isEmpty else { return fallback }
            guard let value = Double(text), value.isFinite else { throw fields.fail(field, .notANumber(text)) }
            return value
        }
        let minimum = try number(overall.attributes["min"], default: 1)
        let maximum = try number(overall.attributes["max"], default: 5)
        let value = try number(try fields.required(field, overall.trimmedText), default: 0)
        guard maximum > minimum, (minimum...maximum).contains(value) else {
            throw fields.fail(field, .outOfRange(overall.trimmedText, range: minimum...max(minimum, maximum)))
        }
        return 1 + 4 * (value - minimum) / (maximum - minimum)
    }
}
