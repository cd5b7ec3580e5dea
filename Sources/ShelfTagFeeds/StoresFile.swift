import Foundation
import ShelfTagDomain

/// Reads the stores CSV: `code,name,address,latitude,longitude,timezone[,locale][,max_reservation]
/// [,opening_hours][,label_printer][,office_printer]` (opening hours in schema.org syntax, `Mo-Sa 09:00-19:00;
/// Su 10:00-13:00`; printers as `render --printer` takes them).
public enum StoresFile {
    /// Locale used when the file has no `locale` column or leaves it empty.
    public static let defaultLocale = "en-US"

    /// - Throws: `FeedError` when the file cannot be read; rethrows what the callbacks throw.
    public static func read(path: String, displayName: String, row: @escaping (Store, Int) throws -> Void, rejected: @escaping (RowError) throws -> Void) throws
    {
        try CommaSeparatedReader(path: path, displayName: displayName).read(
            required: ["code", "name", "address", "latitude", "longitude", "timezone"],
            row: { values, line in
                do { try row(try parse(values, location: SourceLocation(file: displayName, line: line)), line) } catch let error as RowError {
                    try rejected(error)
                }
            }, rejected: rejected)
    }

    static func parse(_ values: [String: String], location: SourceLocation) throws(RowError) -> Store {
        let fields = FieldParser(location: location)
        func coordinate(_ field: String, within range: ClosedRange<Double>) throws(RowError) -> Double {
            let text = try fields.required(field, values[field])
            guard let value = Double(text), value.isFinite else { throw fields.fail(field, .notANumber(text)) }
            guard range.contains(value) else { throw fields.fail(field, .outOfRange(text, range: range)) }
            return value
        }
        let code = try fields.required("code", values["code"], .identifier)
        let timeZone = try fields.required("timezone", values["timezone"])
        guard TimeZone(identifier: timeZone) != nil, timeZone.contains("/") || timeZone == "UTC" else {
            throw fields.fail("timezone", .unknownTimeZone(timeZone))
        }
        let locale = values["locale"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultLocale
        var maxReservation = 5
        if let text = values["max_reservation"], !text.isEmpty {
            guard let value = Int(text), (1...1000).contains(value) else { throw fields.fail("max_reservation", .outOfRange(text, range: 1...1000)) }
            maxReservation = value
        }
        var openingHours: OpeningHours?
        if let text = values["opening_hours"], !text.isEmpty {
            do { openingHours = try OpeningHours(text) } catch { throw fields.fail("opening_hours", .openingHours(error)) }
        }
        return Store(
            code: code, name: try fields.required("name", values["name"], .line(100)), address: try fields.required("address", values["address"], .line(300)),
            latitude: try coordinate("latitude", within: -90...90), longitude: try coordinate("longitude", within: -180...180),
            timeZone: timeZone, locale: locale, maxReservation: maxReservation, openingHours: openingHours,
            labelPrinter: try printer("label_printer", values["label_printer"], schemes: ["tcp", "ipp", "ipps"], fields: fields),
            officePrinter: try printer("office_printer", values["office_printer"], schemes: ["ipp", "ipps"], fields: fields))
    }

    /// A printer address in one of `schemes`, with a host and no user or password; nil when the column is absent or
    /// empty. Its form only: `render` reaches the printer.
    private static func printer(_ field: String, _ value: String?, schemes: [String], fields: FieldParser) throws(RowError) -> String? {
        guard let text = value?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        let allowed = schemes.map { $0 == "tcp" ? "tcp://HOST[:9100]" : "\($0)://HOST[:631]/PATH" }.joined(separator: " or ")
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), schemes.contains(scheme), let host = url.host, !host.isEmpty
        else { throw fields.fail(field, .notAPrinter(allowed: allowed)) }
        guard url.user == nil, url.password == nil else { throw fields.fail(field, .printerCredentials) }
        return text
    }
}
