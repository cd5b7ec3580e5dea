import Foundation

/// The input formats ShelfTag reads, in the order they must be applied.
public enum FeedKind: String, CaseIterable, Sendable, Comparable {
    /// Stores CSV: `code,name,address,latitude,longitude,timezone[,locale]`.
    case stores
    /// Merchant Center primary product feed, TSV or RSS 2.0 XML.
    case products
    /// Merchant Center local inventory feed, TSV.
    case inventory
    /// Google product reviews feed, XML (schema 2.4).
    case reviews

    /// Dependency order: stores, products, inventory, reviews.
    public static func < (lhs: FeedKind, rhs: FeedKind) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// Tells the kind from the first line (delimited files) or the root element (XML).
    /// - Throws: `FeedError.cannotOpen`, `.empty` or `.unknownKind`.
    public static func detect(path: String, displayName: String) throws(FeedError) -> FeedKind {
        let reader = try LineReader(path: path, bufferSize: 64 * 1024)
        guard let first = reader.nextLine({ String(decoding: $0, as: UTF8.self) }) else { throw FeedError.empty(displayName) }
        let line = first.hasPrefix("\u{FEFF}") ? String(first.dropFirst()) : first
        if line.trimmingCharacters(in: .whitespaces).hasPrefix("<") {
            return try detectXML(reader: reader, firstLine: line, displayName: displayName)
        }
        if line.contains("\t") {
            let columns = Set(line.split(separator: "\t").map { TabSeparatedReader.foldColumnName(String($0)) })
            if columns.contains("store_code") && columns.contains("id") { return .inventory }
            if columns.contains("id") && (columns.contains("price") || columns.contains("title")) { return .products }
        } else {
            let columns = Set(line.split(separator: ",").map { TabSeparatedReader.foldColumnName(String($0)) })
            if columns.contains("code") && columns.contains("latitude") { return .stores }
        }
        throw FeedError.unknownKind(displayName)
    }

    private static func detectXML(reader: LineReader, firstLine: String, displayName: String) throws(FeedError) -> FeedKind {
        // Skip the declaration, comments and doctype up to the root element's name.
        var text = firstLine
        for _ in 0..<200 {
            if let root = rootElementName(in: text) {
                switch root {
                case "rss", "channel": return .products
                case "feed": return .reviews
                default: throw FeedError.unknownKind(displayName)
                }
            }
            guard let next = reader.nextLine({ String(decoding: $0, as: UTF8.self) }) else { break }
            text += "\n" + next
        }
        throw FeedError.unknownKind(displayName)
    }

    private static func rootElementName(in text: String) -> String? {
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "<") {
            let after = rest[rest.index(after: open)...]
            if after.hasPrefix("?") || after.hasPrefix("!") {
                let terminator = after.hasPrefix("!--") ? "-->" : ">"
                guard let close = after.range(of: terminator) else { return nil }
                rest = after[close.upperBound...]
                continue
            }
            let name = after.prefix { !" \t\r\n/>".contains($0) }
            guard name.count < after.count else { return nil }
            return String(name.split(separator: ":").last ?? name)
        }
        return nil
    }
}
