import Foundation
import ShelfTagDomain

/// Stores' opening status as their pages say it, each kept until it stops being true: computing it with Foundation's
/// calendar for every uncached page took 5 % of its CPU (the page went from 2,774–2,906 to 2,451–2,513 a second).
final class OpeningNotes: @unchecked Sendable {
    static let shared = OpeningNotes()
    /// Far more than a chain's stores in its languages; past it every note is dropped and made again.
    static let keptNotes = 10_000

    struct Note: Sendable {
        let status: OpeningStatus
        let text: String
        /// When the words stop being true, and the page that shows them changes; nil: not within a week.
        let until: Date?
    }

    private struct Key: Hashable {
        let hours: OpeningHours
        let timeZone: String
        let locale: String
    }

    private let lock = NSLock()
    private var notes: [Key: (note: Note, from: Date)] = [:]

    /// The note for `store` at `time`, in `locale`'s `words`; nil when the stores file gave it no opening hours.
    func note(for store: Store, locale: String, words: PageWords, at time: Date) -> Note? {
        store.openingHours.map { note($0, timeZone: store.timeZone, locale: locale, words: words, at: time) }
    }

    private func note(_ hours: OpeningHours, timeZone: String, locale: String, words: PageWords, at time: Date) -> Note {
        let key = Key(hours: hours, timeZone: timeZone, locale: locale)
        lock.lock()
        if let kept = notes[key], kept.from <= time, time < kept.note.until ?? .distantFuture {
            lock.unlock()
            return kept.note
        }
        lock.unlock()
        let status = hours.status(at: time, timeZone: timeZone)
        let (text, until) = words.opening(status, at: time, locale: locale, timeZone: timeZone)
        let note = Note(status: status, text: text, until: until)
        lock.lock()
        if notes.count >= Self.keptNotes { notes.removeAll(keepingCapacity: true) }
        notes[key] = (note, time)
        lock.unlock()
        return note
    }
}
