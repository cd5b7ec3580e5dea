import Foundation

/// A store's weekly opening hours in schema.org's `openingHours` syntax: `Mo-Fr 09:00-19:00; Sa 10:00-18:00`
/// (entries separated by `;`, days as `Mo Tu We Th Fr Sa Su`, ranges `Mo-Fr` and lists `Mo,We`; a closing time at
/// or before the opening runs past midnight). A day no entry names is closed.
public struct OpeningHours: Hashable, Sendable, CustomStringConvertible {
    /// One opening: on `weekday` (1 = Monday … 7 = Sunday) from `opens` for `minutes`, in minutes after midnight.
    struct Interval: Hashable, Sendable {
        let weekday: Int
        let opens: Int
        let minutes: Int
    }

    static let dayCodes = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]

    let intervals: [Interval]
    /// The text as given, trimmed: what is stored and shown back.
    public let description: String

    /// - Throws: `OpeningHoursError` naming the entry at fault.
    public init(_ text: String) throws(OpeningHoursError) {
        var intervals: [Interval] = []
        let entries = text.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !entries.isEmpty else { throw .empty }
        for entry in entries {
            let parts = entry.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2 else { throw .malformed(entry, reason: "write days then hours, like 'Mo-Fr 09:00-19:00'") }
            let days = try Self.days(parts[0], entry: entry)
            for hours in parts[1].split(separator: ",") {
                let (opens, closes) = try Self.hours(hours, entry: entry)
                let minutes = closes > opens ? closes - opens : closes + 24 * 60 - opens
                for day in days { intervals.append(Interval(weekday: day, opens: opens, minutes: minutes)) }
            }
        }
        self.intervals = intervals.sorted { ($0.weekday, $0.opens) < ($1.weekday, $1.opens) }
        description = entries.joined(separator: "; ")
    }

    /// When a hold ending at `end` can last: `end` itself while the store is open then; otherwise the closing time of
    /// the store's next opening, so the shopper is never held to a time the doors are shut.
    public func pickupDeadline(holding end: Date, timeZone: String) -> Date {
        let periods = openings(around: end, timeZone: timeZone)
        if periods.contains(where: { $0.start <= end && end <= $0.end }) { return end }
        return periods.filter { $0.start > end }.map(\.end).min() ?? end
    }

    /// Whether the store is open at `date`, and until when, or when it opens next (nil: no opening within a week).
    /// Openings that meet or overlap (`Mo 18:00-24:00; Tu 00:00-02:00`) count as one.
    public func status(at date: Date, timeZone: String) -> OpeningStatus {
        var merged: [(start: Date, end: Date)] = []
        for period in openings(around: date, timeZone: timeZone).sorted(by: { $0.start < $1.start }) {
            if let last = merged.last, period.start <= last.end {
                merged[merged.count - 1].end = max(last.end, period.end)
            } else {
                merged.append(period)
            }
        }
        if let current = merged.first(where: { $0.start <= date && date < $0.end }) { return .open(until: current.end) }
        return .closed(opensAt: merged.first { $0.start > date }?.start)
    }

    /// Every opening from the day before `date` to eight days after, as absolute times in the store's zone.
    private func openings(around date: Date, timeZone: String) -> [(start: Date, end: Date)] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")!
        let today = calendar.startOfDay(for: date)
        var periods: [(start: Date, end: Date)] = []
        for offset in -1...8 {
            guard let day = calendar.date(byAdding: .day, value: offset, to: today) else { continue }
            // Calendar: 1 = Sunday … 7 = Saturday; ours: 1 = Monday … 7 = Sunday.
            let weekday = (calendar.component(.weekday, from: day) + 5) % 7 + 1
            for interval in intervals where interval.weekday == weekday {
                guard let start = calendar.date(byAdding: .minute, value: interval.opens, to: day) else { continue }
                periods.append((start, start.addingTimeInterval(TimeInterval(interval.minutes * 60))))
            }
        }
        return periods
    }

    private static func days(_ text: Substring, entry: String) throws(OpeningHoursError) -> [Int] {
        var days: [Int] = []
        for item in text.split(separator: ",") {
            let ends = item.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
            guard (1...2).contains(ends.count) else { throw .malformed(entry, reason: "'\(item)' is not a day or a range of days") }
            var indices: [Int] = []
            for end in ends {
                guard let index = dayCodes.firstIndex(of: end) else {
                    throw .malformed(entry, reason: "'\(end)' is not a day (\(dayCodes.joined(separator: " ")))")
                }
                indices.append(index + 1)
            }
            if indices.count == 1 {
                days.append(indices[0])
            } else {
                // Sa-Mo wraps round the week.
                var day = indices[0]
                while true {
                    days.append(day)
                    if day == indices[1] { break }
                    day = day % 7 + 1
                }
            }
        }
        return days
    }

    private static func hours(_ text: Substring, entry: String) throws(OpeningHoursError) -> (Int, Int) {
        let ends = text.split(separator: "-", omittingEmptySubsequences: false)
        guard ends.count == 2, let opens = minutes(ends[0]), let closes = minutes(ends[1]) else {
            throw .malformed(entry, reason: "'\(text)' is not hours like 09:00-19:00")
        }
        guard opens != closes else { throw .malformed(entry, reason: "'\(text)' opens and closes at once") }
        return (opens, closes)
    }

    /// `09:30` → 570; `24:00` is midnight at the end of the day.
    private static func minutes(_ text: Substring) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]),
            (0...24).contains(hour), (0..<60).contains(minute), hour < 24 || minute == 0
        else { return nil }
        return hour * 60 + minute
    }
}

/// Whether a store is open at a given moment.
public enum OpeningStatus: Hashable, Sendable {
    case open(until: Date)
    /// Closed; nil when no opening comes within a week.
    case closed(opensAt: Date?)

    /// When the status next changes: the closing or the opening.
    public var nextChange: Date? {
        switch self {
        case .open(let until): until
        case .closed(let opensAt): opensAt
        }
    }
}

/// Why a text is not opening hours.
public enum OpeningHoursError: Error, Equatable, CustomStringConvertible {
    case empty
    case malformed(String, reason: String)

    public var description: String {
        switch self {
        case .empty: "no opening hours: write them like 'Mo-Sa 09:00-19:00', or leave the column empty"
        case .malformed(let entry, let reason): "'\(entry)': \(reason)"
        }
    }
}
