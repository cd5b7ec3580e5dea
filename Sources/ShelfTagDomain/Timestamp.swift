import Foundation

/// Parses the ISO 8601 forms the feeds use, without a DateFormatter (fast and locale-free).
///
/// Accepted: `YYYY-MM-DD`, `YYYY-MM-DDThh:mm`, `…:ss`, with an optional zone `Z`, `±hh`, `±hhmm` or `±hh:mm`.
/// With no zone, UTC is assumed (Merchant Center's rule).
public enum Timestamp {
    /// A parsed time and whether the text carried a time of day.
    public struct Parsed: Equatable, Sendable {
        public let date: Date
        public let hasTime: Bool
    }

    /// Parses one ISO 8601 date or date-time.
    /// - Throws: `TimestampError.malformed` for anything else.
    public static func parse(_ text: String) throws(TimestampError) -> Parsed {
        var scanner = Scanner(bytes: Array(text.utf8))
        guard let year = scanner.number(digits: 4), scanner.skip("-"),
            let month = scanner.number(digits: 2), scanner.skip("-"),
            let day = scanner.number(digits: 2),
            (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
        else { throw TimestampError.malformed(text) }
        var seconds = daysFromCivil(year: year, month: month, day: day) * 86_400
        var hasTime = false
        if scanner.skip("T") || scanner.skip(" ") {
            guard let hour = scanner.number(digits: 2), scanner.skip(":"), let minute = scanner.number(digits: 2),
                hour < 24, minute < 60
            else { throw TimestampError.malformed(text) }
            seconds += hour * 3600 + minute * 60
            if scanner.skip(":") {
                guard let second = scanner.number(digits: 2), second < 61 else { throw TimestampError.malformed(text) }
                seconds += second
                if scanner.skip(".") { guard scanner.skipDigits() else { throw TimestampError.malformed(text) } }
            }
            hasTime = true
            if scanner.skip("Z") || scanner.skip("z") {
            } else if let sign = scanner.sign() {
                guard let hours = scanner.number(digits: 2) else { throw TimestampError.malformed(text) }
                var minutes = 0
                if scanner.atEnd {
                } else {
                    _ = scanner.skip(":")
                    guard let parsed = scanner.number(digits: 2) else { throw TimestampError.malformed(text) }
                    minutes = parsed
                }
                guard hours <= 14, minutes < 60 else { throw TimestampError.malformed(text) }
                seconds -= sign * (hours * 3600 + minutes * 60)
            }
        }
        guard scanner.atEnd else { throw TimestampError.malformed(text) }
        return Parsed(date: Date(timeIntervalSince1970: TimeInterval(seconds)), hasTime: hasTime)
    }

    /// Formats a time as `YYYY-MM-DDThh:mm:ssZ`.
    public static func format(_ date: Date) -> String {
        let total = Int(date.timeIntervalSince1970.rounded(.down))
        let days = total >= 0 ? total / 86_400 : (total - 86_399) / 86_400
        let secondsOfDay = total - days * 86_400
        let (year, month, day) = civilFromDays(days)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(secondsOfDay / 3600)):\(two(secondsOfDay / 60 % 60)):\(two(secondsOfDay % 60))Z"
    }

    /// Formats the calendar date, `YYYY-MM-DD`, in UTC.
    public static func formatDay(_ date: Date) -> String { String(format(date).prefix(10)) }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's days-from-civil algorithm: proleptic Gregorian, day 0 = 1970-01-01.
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        init(bytes: [UInt8]) { self.bytes = bytes }
        var atEnd: Bool { index == bytes.count }

        mutating func number(digits: Int) -> Int? {
            guard index + digits <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<index + digits] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            index += digits
            return value
        }

        mutating func skip(_ character: Unicode.Scalar) -> Bool {
            guard index < bytes.count, bytes[index] == UInt8(ascii: character) else { return false }
            index += 1
            return true
        }

        mutating func skipDigits() -> Bool {
            let start = index
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 { index += 1 }
            return index > start
        }

        mutating func sign() -> Int? {
            if skip("+") { return 1 }
            if skip("-") { return -1 }
            return nil
        }
    }
}

/// Why a text is not an ISO 8601 time.
public enum TimestampError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case emptyRange(String)

    public var description: String {
        switch self {
        case .malformed(let text): "'\(text)' is not an ISO 8601 date or date-time"
        case .emptyRange(let text): "'\(text)' ends before it starts"
        }
    }
}
