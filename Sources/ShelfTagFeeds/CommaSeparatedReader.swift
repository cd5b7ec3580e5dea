import Foundation

/// Reads an RFC 4180 comma-separated file (quoted fields may hold commas, quotes and newlines).
struct CommaSeparatedReader {
    let path: String
    let displayName: String

    /// Calls `row` with each record's fields keyed by folded column name, and the line it starts on.
    /// - Throws: `FeedError` for an unreadable file or header; rethrows what the callbacks throw.
    func read(required: [String], row: (_ fields: [String: String], _ line: Int) throws -> Void, rejected: (RowError) throws -> Void) throws {
        let reader = try LineReader(path: path)
        var header: [String]?
        var pending: [String] = []
        var pendingField = ""
        var inQuotes = false
        /// A quoted field just closed: only a comma or the end of the record may follow.
        var quoteClosed = false
        /// The record's first text after a closing quote (`"Name"junk`), rejected once the record is read.
        var strayText = false
        var recordLine = 0
        /// The record's bytes so far: a quote never closed must not gather the rest of the file.
        var recordBytes = 0
        while let text = reader.nextLine({ UTF8Text.string($0) }) {
            if !inQuotes { recordBytes = 0 }
            recordBytes += (text?.utf8.count ?? 0) + 1
            if reader.lastLineWasCut || recordBytes > LineReader.maximumLineLength {
                let location = SourceLocation(file: displayName, line: inQuotes ? recordLine : reader.lineNumber)
                if header == nil { throw FeedError.malformedHeader(location, reason: "longer than \(LineReader.maximumLineLength) bytes") }
                try rejected(RowError(location: location, field: "row", problem: .lineTooLong(maximumBytes: LineReader.maximumLineLength)))
                (pending, pendingField, inQuotes, quoteClosed, strayText) = ([], "", false, false, false)
                continue
            }
            guard let text else {
                let location = SourceLocation(file: displayName, line: reader.lineNumber)
                if header == nil { throw FeedError.invalidUTF8Header(location) }
                try rejected(RowError(location: location, field: "row", problem: .invalidUTF8))
                continue
            }
            if !inQuotes {
                recordLine = reader.lineNumber
                guard !text.isEmpty else { continue }
            } else {
                pendingField.append("\n")
            }
            var line = Substring(text)
            if header == nil, line.hasPrefix("\u{FEFF}") { line.removeFirst() }
            // The line reader splits on LF and drops a CR before it: a CR left inside is an old Mac line ending.
            if header == nil, line.contains("\r") {
                throw FeedError.carriageReturnLines(SourceLocation(file: displayName, line: reader.lineNumber))
            }
            var index = line.startIndex
            while index < line.endIndex {
                let character = line[index]
                index = line.index(after: index)
                if inQuotes {
                    if character == "\"" {
                        if index < line.endIndex, line[index] == "\"" {
                            pendingField.append("\"")
                            index = line.index(after: index)
                        } else {
                            inQuotes = false
                            quoteClosed = true
                        }
                    } else {
                        pendingField.append(character)
                    }
                } else if character == "," {
                    pending.append(pendingField)
                    pendingField = ""
                    quoteClosed = false
                } else if quoteClosed {
                    if character != " " && character != "\t" { strayText = true }
                } else if character == "\"" && pendingField.isEmpty {
                    inQuotes = true
                } else {
                    pendingField.append(character)
                }
            }
            if inQuotes { continue }
            pending.append(pendingField)
            pendingField = ""
            quoteClosed = false
            let fields = pending.map { $0.trimmingCharacters(in: .whitespaces) }
            pending = []
            let location = SourceLocation(file: displayName, line: recordLine)
            if strayText {
                strayText = false
                if header == nil { throw FeedError.malformedHeader(location, reason: FieldProblem.textAfterClosingQuote.description) }
                try rejected(RowError(location: location, field: "row", problem: .textAfterClosingQuote))
                continue
            }
            guard let names = header else {
                let names = fields.map(TabSeparatedReader.foldColumnName)
                for column in required where !names.contains(column) {
                    throw FeedError.missingColumn(location, column: column)
                }
                var seen = Set<String>()
                if let duplicate = names.first(where: { !seen.insert($0).inserted }) {
                    throw FeedError.duplicateColumn(location, column: duplicate)
                }
                header = names
                continue
            }
            guard fields.count == names.count else {
                try rejected(RowError(location: location, field: "row", problem: .columnCount(expected: names.count, found: fields.count)))
                continue
            }
            try row(Dictionary(uniqueKeysWithValues: zip(names, fields)), recordLine)
        }
        if header == nil { throw FeedError.empty(displayName) }
        if inQuotes {
            try rejected(RowError(location: SourceLocation(file: displayName, line: recordLine), field: "row", problem: .unterminatedQuote))
        }
    }
}
