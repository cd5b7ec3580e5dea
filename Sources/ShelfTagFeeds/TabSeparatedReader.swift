import Foundation

/// Reads a tab-separated file whose first line names the columns.
struct TabSeparatedReader {
    let path: String
    let displayName: String

    /// Column names folded the way Merchant Center allows: case-insensitive, `_` and space alike.
    static func foldColumnName(_ name: String) -> String {
        name.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: " ", with: "_")
    }

    /// Reads the header, maps the wanted columns, then calls `row` with each line's values
    /// (in the order of `columns`, nil when the file has no such column).
    /// - Throws: `FeedError` for an unreadable file or header; rethrows what `row` throws.
    func read(columns: [String], required: Set<String>, row: (_ values: [String?], _ line: Int) throws -> Void, rejected: (RowError) throws -> Void) throws {
        let reader = try LineReader(path: path)
        guard let header = reader.nextLine({ UTF8Text.string($0) }) else { throw FeedError.empty(displayName) }
        let headerLocation = SourceLocation(file: displayName, line: 1)
        if reader.lastLineWasCut { throw FeedError.malformedHeader(headerLocation, reason: "longer than \(LineReader.maximumLineLength) bytes") }
        guard var header else { throw FeedError.invalidUTF8Header(headerLocation) }
        if header.hasPrefix("\u{FEFF}") { header.removeFirst() }
        let names = header.split(separator: "\t", omittingEmptySubsequences: false).map { Self.foldColumnName(String($0)) }
        var indexOf: [String: Int] = [:]
        for (index, name) in names.enumerated() {
            guard indexOf[name] == nil else { throw FeedError.duplicateColumn(headerLocation, column: name) }
            indexOf[name] = index
        }
        for column in columns where required.contains(column) && indexOf[column] == nil {
            throw FeedError.missingColumn(headerLocation, column: column)
        }
        let wanted = columns.map { indexOf[$0] }
        var fieldStarts = [Int](repeating: 0, count: names.count + 1)
        // One array for every row: each row sets every slot of a column the file has, and `row` gets a copy only
        // if it keeps the values.
        var values = [String?](repeating: nil, count: columns.count)
        while true {
            var failure: RowError?
            let skip: Bool? = reader.nextLine { bytes in
                let location = SourceLocation(file: displayName, line: reader.lineNumber)
                guard !reader.lastLineWasCut else {
                    failure = RowError(location: location, field: "row", problem: .lineTooLong(maximumBytes: LineReader.maximumLineLength))
                    return true
                }
                guard !bytes.isEmpty else { return true }  // blank lines carry no item
                // Split on tabs once; count must match the header.
                var count = 0
                fieldStarts[0] = 0
                for index in bytes.indices where bytes[index] == 0x09 {
                    count += 1
                    if count >= names.count { break }
                    fieldStarts[count] = index + 1
                }
                guard count == names.count - 1 else {
                    let found = bytes.reduce(1) { $0 + ($1 == 0x09 ? 1 : 0) }
                    failure = RowError(location: location, field: "row", problem: .columnCount(expected: names.count, found: found))
                    return true
                }
                fieldStarts[names.count] = bytes.count + 1
                for (slot, column) in wanted.enumerated() {
                    guard let column else { continue }
                    let field = UnsafeBufferPointer(rebasing: bytes[fieldStarts[column]..<fieldStarts[column + 1] - 1])
                    guard let text = UTF8Text.string(field) else {
                        failure = RowError(location: location, field: columns[slot], problem: .invalidUTF8)
                        return true
                    }
                    values[slot] = field.first == 0x20 || field.last == 0x20 ? text.trimmingCharacters(in: .whitespaces) : text
                }
                return false
            }
            guard let skip else { return }
            if let failure {
                try rejected(failure)
            } else if !skip {
                try row(values, reader.lineNumber)
            }
        }
    }
}
