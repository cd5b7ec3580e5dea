import Foundation
import ShelfTagDomain
import Testing

@Suite("Opening hours")
struct OpeningHoursTests {
    /// A Paris wall-clock time as a moment (`2026-12-05 19:30` is a Saturday).
    private func paris(_ text: String) throws -> Date {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "Europe/Paris")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return try #require(formatter.date(from: text))
    }

    @Test("a hold ending while the store is open keeps its end; one ending while it is shut lasts to the close of the next opening")
    func deadlines() throws {
        let hours = try OpeningHours("Mo-Sa 10:00-20:00; Su 11:00-13:00")
        #expect(hours.pickupDeadline(holding: try paris("2026-12-05 19:30"), timeZone: "Europe/Paris") == (try paris("2026-12-05 19:30")))
        #expect(hours.pickupDeadline(holding: try paris("2026-12-05 20:00"), timeZone: "Europe/Paris") == (try paris("2026-12-05 20:00")), "at closing")
        // Saturday 23:00 → Sunday's short opening, to its close.
        #expect(hours.pickupDeadline(holding: try paris("2026-12-05 23:00"), timeZone: "Europe/Paris") == (try paris("2026-12-06 13:00")))
        // Sunday 15:00 → Monday's close.
        #expect(hours.pickupDeadline(holding: try paris("2026-12-06 15:00"), timeZone: "Europe/Paris") == (try paris("2026-12-07 20:00")))
        // Monday before opening → Monday's close.
        #expect(hours.pickupDeadline(holding: try paris("2026-12-07 08:00"), timeZone: "Europe/Paris") == (try paris("2026-12-07 20:00")))
    }

    @Test("open now and until when, or when it opens next; openings that meet count as one; none within a week")
    func status() throws {
        let zone = "Europe/Paris"
        let hours = try OpeningHours("Mo-Sa 10:00-20:00; Su 11:00-13:00")
        #expect(hours.status(at: try paris("2026-12-05 19:30"), timeZone: zone) == .open(until: try paris("2026-12-05 20:00")))
        #expect(hours.status(at: try paris("2026-12-05 20:00"), timeZone: zone) == .closed(opensAt: try paris("2026-12-06 11:00")), "shut at closing")
        #expect(hours.status(at: try paris("2026-12-06 15:00"), timeZone: zone) == .closed(opensAt: try paris("2026-12-07 10:00")))
        #expect(hours.status(at: try paris("2026-12-07 08:00"), timeZone: zone) == .closed(opensAt: try paris("2026-12-07 10:00")))
        #expect(hours.status(at: try paris("2026-12-07 10:00"), timeZone: zone).nextChange == (try paris("2026-12-07 20:00")), "open at opening")
        let lunch = try OpeningHours("Mo 09:00-12:00,14:00-18:00")
        #expect(lunch.status(at: try paris("2026-12-07 12:30"), timeZone: zone) == .closed(opensAt: try paris("2026-12-07 14:00")))
        let night = try OpeningHours("Fr 18:00-24:00; Sa 00:00-02:00")
        #expect(night.status(at: try paris("2026-12-04 23:00"), timeZone: zone) == .open(until: try paris("2026-12-05 02:00")), "through midnight")
        #expect(try OpeningHours("Mo-Su 00:00-24:00").status(at: try paris("2026-12-07 03:00"), timeZone: zone).nextChange != nil)
        #expect(OpeningStatus.closed(opensAt: nil).nextChange == nil)
    }

    @Test("lists, ranges round the week, several hours a day, closing after midnight, and across a daylight-saving change")
    func forms() throws {
        let split = try OpeningHours("Mo,We,Fr 09:00-12:00,14:00-18:00")
        #expect(split.pickupDeadline(holding: try paris("2026-12-07 13:00"), timeZone: "Europe/Paris") == (try paris("2026-12-07 18:00")), "lunch")
        #expect(split.pickupDeadline(holding: try paris("2026-12-08 13:00"), timeZone: "Europe/Paris") == (try paris("2026-12-09 12:00")), "Tuesday shut")
        let weekend = try OpeningHours("Sa-Mo 18:00-02:00")
        #expect(weekend.pickupDeadline(holding: try paris("2026-12-08 01:00"), timeZone: "Europe/Paris") == (try paris("2026-12-08 01:00")), "Monday night")
        #expect(weekend.pickupDeadline(holding: try paris("2026-12-08 03:00"), timeZone: "Europe/Paris") == (try paris("2026-12-13 02:00")))
        // 29 March 2026: Paris moves to summer time at 02:00; the Monday opening is still 10:00 local.
        let weekdays = try OpeningHours("Mo-Fr 10:00-19:00")
        #expect(weekdays.pickupDeadline(holding: try paris("2026-03-29 12:00"), timeZone: "Europe/Paris") == (try paris("2026-03-30 19:00")))
        #expect(weekdays.description == "Mo-Fr 10:00-19:00")
        #expect(try OpeningHours(" Mo-Su 00:00-24:00 ; ").description == "Mo-Su 00:00-24:00")
    }

    @Test("what is not opening hours is refused with the entry and the reason")
    func refusals() {
        let cases: [(String, OpeningHoursError)] = [
            ("", .empty), (" ; ", .empty),
            ("Mo-Sx 09:00-19:00", .malformed("Mo-Sx 09:00-19:00", reason: "'Sx' is not a day (Mo Tu We Th Fr Sa Su)")),
            ("Mo-Fr 9:00-19:00", .malformed("Mo-Fr 9:00-19:00", reason: "'9:00-19:00' is not hours like 09:00-19:00")),
            ("Mo-Fr 09:00-25:00", .malformed("Mo-Fr 09:00-25:00", reason: "'09:00-25:00' is not hours like 09:00-19:00")),
            ("Mo-Fr 09:00-09:00", .malformed("Mo-Fr 09:00-09:00", reason: "'09:00-09:00' opens and closes at once")),
            ("09:00-19:00", .malformed("09:00-19:00", reason: "write days then hours, like 'Mo-Fr 09:00-19:00'")),
            ("Mo-We-Fr 09:00-19:00", .malformed("Mo-We-Fr 09:00-19:00", reason: "'Mo-We-Fr' is not a day or a range of days")),
        ]
        for (text, expected) in cases {
            #expect(throws: expected, "\(text)") { try OpeningHours(text) }
        }
    }
}
