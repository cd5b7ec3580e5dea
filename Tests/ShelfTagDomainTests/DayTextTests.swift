import Foundation
import ShelfTagDomain
import Testing

@Suite("Dates as a store writes them")
struct DayTextTests {
    @Test("each locale, zone and style writes its own text, the first time and every time after")
    func localesZonesAndStyles() throws {
        // 19:00 UTC on 14 December: still the 14th in Paris, already the 15th in Tokyo.
        let end = try Timestamp.parse("2026-12-14T19:00:00Z").date
        let expected: [(String, String, DayText.Style, String)] = [
            ("fr-FR", "Europe/Paris", .long, "14 décembre 2026"), ("fr-FR", "Asia/Tokyo", .long, "15 décembre 2026"),
            ("en-GB", "Europe/London", .long, "14 December 2026"), ("fr-FR", "Europe/Paris", .short, "14/12/2026"),
            ("de-DE", "Europe/Berlin", .short, "14.12.2026"), ("fr-FR", "Nowhere/Unknown", .long, "14 décembre 2026"),
        ]
        for _ in 1...2 {
            for (locale, zone, style, text) in expected {
                #expect(DayText.format(end, locale: locale, timeZone: zone, style: style) == text, "\(locale) \(zone) \(style)")
            }
        }
        let nextDay = end.addingTimeInterval(86_400)
        #expect(DayText.format(nextDay, locale: "fr-FR", timeZone: "Europe/Paris", style: .long) == "15 décembre 2026")
    }
}
