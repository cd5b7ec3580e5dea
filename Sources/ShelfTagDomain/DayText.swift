import Foundation

/// Dates as a store writes them, in its locale and time zone: `14/12/2026` (short), `14 décembre 2026` (long),
/// `lundi 14 décembre 2026 à 19:00` (a moment: the weekday, the day and the time), `14 déc., 19:00` (a recent
/// moment, for a queue), `19:00` (a time today) or `lundi 19:00` (a time this week).
public enum DayText {
    public enum Style: Sendable {
        case short, long, moment, recent, time, weekdayTime
    }

    /// - Parameters:
    ///   - timeZone: an IANA zone; an unknown one means UTC.
    public static func format(_ date: Date, locale: String, timeZone: String, style: Style) -> String {
        Cache.shared.format(date, locale: locale, timeZone: timeZone, style: style)
    }

    /// DateFormatter is costly to make and not thread-safe: made once per locale, zone and style, used under a lock.
    /// What it wrote is kept too (at most `keptTexts`): pages write their reviews' dates and tags their promotion's end
    /// again and again, and a formatter took a few microseconds each time (3 % of an uncached store page's CPU).
    private final class Cache: @unchecked Sendable {
        static let shared = Cache()
        static let keptTexts = 10_000

        private struct Key: Hashable {
            let locale: String
            let timeZone: String
            let style: Style
        }

        private struct Written: Hashable {
            let key: Key
            let date: Date
        }

        private let lock = NSLock()
        private var formatters: [Key: DateFormatter] = [:]
        private var texts: [Written: String] = [:]

        func format(_ date: Date, locale: String, timeZone: String, style: Style) -> String {
            let key = Key(locale: locale, timeZone: timeZone, style: style)
            lock.lock()
            defer { lock.unlock() }
            if let text = texts[Written(key: key, date: date)] { return text }
            let text = formatter(for: key).string(from: date)
            if texts.count >= Self.keptTexts { texts.removeAll(keepingCapacity: true) }
            texts[Written(key: key, date: date)] = text
            return text
        }

        private func formatter(for key: Key) -> DateFormatter {
            if let formatter = formatters[key] { return formatter }
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: key.locale)
            formatter.timeZone = TimeZone(identifier: key.timeZone) ?? TimeZone(identifier: "UTC")
            switch key.style {
            case .short: formatter.setLocalizedDateFormatFromTemplate("ddMMyyyy")
            case .long: formatter.dateStyle = .long
            case .moment:
                formatter.dateStyle = .full
                formatter.timeStyle = .short
            case .recent: formatter.setLocalizedDateFormatFromTemplate("dMMMjjmm")
            case .time: formatter.setLocalizedDateFormatFromTemplate("jjmm")
            case .weekdayTime: formatter.setLocalizedDateFormatFromTemplate("EEEEjjmm")
            }
            formatters[key] = formatter
            return formatter
        }
    }
}

/// Numbers written as a locale writes them (`204,2` in `fr-FR` and `en-FR`, `204.2` in `en-US`): the same separators
/// as the money beside them. NumberFormatter is costly to make and not thread-safe: made once per locale and number of
/// decimals, never changed after (on Linux, setting a property of a formatter makes ICU build it again: a tenth of an
/// uncached store page's CPU), and used under a lock.
public enum NumberText {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var formatters: [FormatterKey: NumberFormatter] = [:]

    private struct FormatterKey: Hashable {
        let locale: String
        let fractionDigits: Int
    }

    /// `value` with one decimal, or none when it is whole.
    public static func decimal(_ value: Double, locale: String) -> String {
        // Rounded here: Foundation on Linux does not always honour maximumFractionDigits.
        let rounded = (value * 10).rounded() / 10
        let key = FormatterKey(locale: locale, fractionDigits: rounded == rounded.rounded() ? 0 : 1)
        lock.lock()
        defer { lock.unlock() }
        let formatter = formatters[key] ?? make(key)
        formatters[key] = formatter
        return formatter.string(from: NSNumber(value: rounded)) ?? String(rounded)
    }

    private static func make(_ key: FormatterKey) -> NumberFormatter {
        let formatter = NumberFormatter()
        formatter.locale = Locale(identifier: key.locale)
        formatter.numberStyle = .decimal
        formatter.usesGroupingSeparator = false
        formatter.minimumFractionDigits = key.fractionDigits
        formatter.maximumFractionDigits = key.fractionDigits
        return formatter
    }
}
