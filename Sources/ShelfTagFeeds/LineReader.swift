import Foundation

/// Reads a file line by line through a fixed buffer, so a file of any size streams in constant memory. A line longer
/// than `maximumLineLength` (no feed row can be) is skipped to its end, not kept: `lastLineWasCut` says so.
final class LineReader {
    /// Generous for any row: Merchant Center's longest attribute is 5,000 characters.
    static let maximumLineLength = 4 << 20
    private let file: UnsafeMutablePointer<FILE>
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0
    private var end = 0
    private var atEOF = false
    /// The 1-based number of the line last returned.
    private(set) var lineNumber = 0
    /// Whether the line last returned was longer than `maximumLineLength`: its bytes are only its end.
    private(set) var lastLineWasCut = false

    /// - Throws: `FeedError.cannotOpen` when the file cannot be opened for reading.
    init(path: String, bufferSize: Int = 1 << 20) throws(FeedError) {
        guard let file = fopen(path, "rb") else {
            throw FeedError.cannotOpen(path, reason: String(cString: strerror(errno)))
        }
        self.file = file
        capacity = bufferSize
        buffer = .allocate(capacity: bufferSize)
    }

    deinit {
        fclose(file)
        buffer.deallocate()
    }

    /// Calls `body` with the next line's bytes (without `\n` or `\r\n`); false at the end of the file.
    /// The bytes are valid only during the call.
    func nextLine<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result? {
        lastLineWasCut = false
        while true {
            if let newline = memchr(buffer + start, 0x0A, end - start) {
                let index = buffer.distance(to: newline.assumingMemoryBound(to: UInt8.self))
                let lineStart = start
                start = index + 1
                return try emit(from: lineStart, to: index, body)
            }
            if atEOF {
                guard start < end || lastLineWasCut else { return nil }
                let lineStart = start
                start = end
                return try emit(from: lineStart, to: end, body)
            }
            if start == 0 && end == capacity {
                if capacity < Self.maximumLineLength {
                    // A line longer than the buffer: grow it.
                    let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
                    bigger.update(from: buffer, count: end)
                    buffer.deallocate()
                    buffer = bigger
                    capacity *= 2
                } else {
                    lastLineWasCut = true
                    end = 0
                }
            }
            refill()
        }
    }

    private func emit<Result>(from lineStart: Int, to lineEnd: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        lineNumber += 1
        var last = lineEnd
        if last > lineStart, buffer[last - 1] == 0x0D { last -= 1 }
        return try body(UnsafeBufferPointer(start: buffer + lineStart, count: last - lineStart))
    }

    private func refill() {
        if start > 0 {
            memmove(buffer, buffer + start, end - start)
            end -= start
            start = 0
        }
        let count = fread(buffer + end, 1, capacity - end, file)
        end += count
        if count == 0 { atEOF = true }
    }
}

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
        guard let header = reader.nextLine({ String(validating: $0, as: UTF8.self) }) else { throw FeedError.empty(displayName) }
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
        while true {
            var values = [String?](repeating: nil, count: columns.count)
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
                    guard let text = String(validating: field, as: UTF8.self) else {
                        failure = RowError(location: location, field: columns[slot], problem: .invalidUTF8)
                        return true
                    }
                    values[slot] = text.utf8.first == 0x20 || text.utf8.last == 0x20 ? text.trimmingCharacters(in: .whitespaces) : text
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
