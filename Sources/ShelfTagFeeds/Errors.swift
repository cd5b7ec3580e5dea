import ShelfTagDomain

/// A place in an input file.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { "\(file):\(line)" }
}

/// What is wrong with one field of a row.
public enum FieldProblem: Error, Sendable, CustomStringConvertible {
    case missing
    case invalidUTF8
    case columnCount(expected: Int, found: Int)
    case gtin(GTINError)
    case money(MoneyError)
    case pricing(PricingError)
    case timestamp(TimestampError)
    case measure(MeasureError)
    case openingHours(OpeningHoursError)
    case notInList(String, allowed: [String])
    case notANumber(String)
    case negative(String)
    case outOfRange(String, range: ClosedRange<Double>)
    case unknownTimeZone(String)
    /// Not a printer address of the kinds named; the text is kept out of the message, which might repeat a password.
    case notAPrinter(allowed: String)
    case printerCredentials
    case unknownStore(String)
    case unknownProduct(String)
    case tooLong(max: Int)
    case lineTooLong(maximumBytes: Int)
    case text(TextProblem)
    case unterminatedQuote
    case textAfterClosingQuote
    case conflict(String)
    /// A rule of the domain, said in its words.
    case invalid(String)

    public var description: String {
        switch self {
        case .missing: "missing value"
        case .invalidUTF8: "invalid UTF-8"
        case .columnCount(let expected, let found): "wrong column count: expected \(expected), found \(found)"
        case .gtin(let error): error.description
        case .money(let error): error.description
        case .pricing(let error): error.description
        case .timestamp(let error): error.description
        case .measure(let error): error.description
        case .openingHours(let error): error.description
        case .notInList(let value, let allowed): "'\(value)' is not one of: \(allowed.joined(separator: ", "))"
        case .notANumber(let value): "'\(value)' is not a number"
        case .negative(let value): "'\(value)' must not be negative"
        case .outOfRange(let value, let range): "'\(value)' is outside \(Self.bound(range.lowerBound))...\(Self.bound(range.upperBound))"
        case .unknownTimeZone(let value): "'\(value)' is not an IANA time zone"
        case .notAPrinter(let allowed): "not a printer address: \(allowed)"
        case .printerCredentials:
            "a printer address with a user or password is not stored in the reference (a printer that asks for one is not supported yet)"
        case .unknownStore(let code): "unknown store '\(code)' (import the stores file first or with it)"
        case .unknownProduct(let id): "no product with id or GTIN '\(id)' (import the product feed first or with it)"
        case .tooLong(let max): "longer than \(max) characters"
        case .lineTooLong(let maximum): "the row is longer than \(maximum) bytes, more than any row can hold; it was skipped unread"
        case .text(let problem): problem.description
        case .unterminatedQuote: "a quoted field is never closed"
        case .textAfterClosingQuote: "text follows a closing quote (write \"\"Name\"\" inside a quoted field, or quote the whole field)"
        case .conflict(let reason): reason
        case .invalid(let reason): reason
        }
    }

    /// A range's bound as people write it: `99`, not `99.0`.
    private static func bound(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

/// A rejected row: `FILE:LINE: FIELD: reason`.
public struct RowError: Error, Sendable, CustomStringConvertible {
    public let location: SourceLocation
    public let field: String
    public let problem: FieldProblem

    public init(location: SourceLocation, field: String, problem: FieldProblem) {
        self.location = location
        self.field = field
        self.problem = problem
    }

    public var description: String { "\(location): \(field): \(problem)" }
}

/// A file that cannot be read at all.
public enum FeedError: Error, Sendable, CustomStringConvertible {
    case cannotOpen(String, reason: String)
    case empty(String)
    case unknownKind(String)
    case missingColumn(SourceLocation, column: String)
    case duplicateColumn(SourceLocation, column: String)
    case malformedXML(SourceLocation, reason: String)
    case invalidUTF8Header(SourceLocation)
    case carriageReturnLines(SourceLocation)
    case malformedHeader(SourceLocation, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let file, let reason): "\(file): cannot open: \(reason)"
        case .empty(let file): "\(file): the file is empty"
        case .unknownKind(let file):
            "\(file):1: unknown kind: not a stores CSV, Merchant Center product feed (TSV or RSS), local inventory TSV or product reviews XML; pass --kind to say which"
        case .missingColumn(let location, let column): "\(location): header: required column '\(column)' is missing"
        case .duplicateColumn(let location, let column): "\(location): header: column '\(column)' appears twice"
        case .malformedXML(let location, let reason): "\(location): malformed XML: \(reason)"
        case .invalidUTF8Header(let location): "\(location): header: invalid UTF-8"
        case .carriageReturnLines(let location):
            "\(location): lines end with a carriage return alone (old Mac format): save the file with LF or CRLF line endings"
        case .malformedHeader(let location, let reason): "\(location): header: \(reason)"
        }
    }
}

/// Converts a field's text, turning domain errors into a located row error.
struct FieldParser {
    let location: SourceLocation

    func fail(_ field: String, _ problem: FieldProblem) -> RowError {
        RowError(location: location, field: field, problem: problem)
    }

    func required(_ field: String, _ value: String?) throws(RowError) -> String {
        guard let value, !value.isEmpty else { throw fail(field, .missing) }
        return value
    }

    /// A required text field held to `rule`.
    func required(_ field: String, _ value: String?, _ rule: TextRule) throws(RowError) -> String {
        try text(field, required(field, value), rule)
    }

    /// An optional text field held to `rule` ("" when absent).
    func optional(_ field: String, _ value: String?, _ rule: TextRule) throws(RowError) -> String {
        try text(field, value ?? "", rule)
    }

    func text(_ field: String, _ value: String, _ rule: TextRule) throws(RowError) -> String {
        do { try rule.check(value) } catch { throw fail(field, .text(error)) }
        return value
    }

    func gtin(_ field: String, _ value: String) throws(RowError) -> GTIN {
        do { return try GTIN(value) } catch {
            // Merchant Center accepts spaces and dashes in a GTIN and ignores them: looked for only when the value
            // as it stands is no GTIN, which a space or dash makes it.
            guard value.utf8.contains(where: { $0 == 0x20 || $0 == 0x2D }) else { throw fail(field, .gtin(error)) }
            do { return try GTIN(value.filter { $0 != " " && $0 != "-" }) } catch { throw fail(field, .gtin(error)) }
        }
    }

    func money(_ field: String, _ value: String) throws(RowError) -> Money {
        do { return try Money(feedValue: value) } catch { throw fail(field, .money(error)) }
    }

    func saleWindow(_ field: String, _ value: String) throws(RowError) -> SaleWindow {
        do { return try SaleWindow(feedValue: value) } catch { throw fail(field, .timestamp(error)) }
    }

    func timestamp(_ field: String, _ value: String) throws(RowError) -> Timestamp.Parsed {
        do { return try Timestamp.parse(value) } catch { throw fail(field, .timestamp(error)) }
    }

    func measure(_ field: String, _ value: String) throws(RowError) -> Measure {
        do { return try Measure(feedValue: value) } catch { throw fail(field, .measure(error)) }
    }

    func choice<Choice: RawRepresentable & CaseIterable>(_ field: String, _ value: String, as _: Choice.Type) throws(RowError) -> Choice
    where Choice.RawValue == String {
        if let exact = Choice(rawValue: value) { return exact }
        // Merchant Center writes list values in lower case with spaces or underscores; fold both.
        let folded = Self.fold(value)
        for candidate in Choice.allCases where Self.fold(candidate.rawValue) == folded {
            return candidate
        }
        throw fail(field, .notInList(value, allowed: Choice.allCases.map(\.rawValue)))
    }

    private static func fold(_ text: String) -> String {
        String(decoding: text.utf8.map { $0 == UInt8(ascii: "_") ? UInt8(ascii: " ") : ($0 >= 65 && $0 <= 90 ? $0 + 32 : $0) }, as: UTF8.self)
    }

    func pricing(priceField: String, price: Money, saleField: String, sale: String?, windowField: String, window: String?) throws(RowError) -> Pricing {
        let salePrice = try sale.flatMap { $0.isEmpty ? nil : $0 }.map { (text: String) throws(RowError) -> Money in try money(saleField, text) }
        let saleWindow = try window.flatMap { $0.isEmpty ? nil : $0 }.map { (text: String) throws(RowError) -> SaleWindow in
            try self.saleWindow(windowField, text)
        }
        do {
            return try Pricing(price: price, salePrice: salePrice, saleWindow: saleWindow)
        } catch {
            throw fail(error == .windowWithoutSalePrice ? windowField : saleField, .pricing(error))
        }
    }
}
