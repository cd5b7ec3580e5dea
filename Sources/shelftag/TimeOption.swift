import ArgumentParser
import Foundation
import ShelfTagDomain

/// The date an option's ISO 8601 date or time names (nil when the option is not given): called by a command's
/// `validate()`, so that a bad value stops it before it starts, and by its `run()`.
/// - Throws: `ValidationError` naming the option and the forms it takes.
func timeOption(_ text: String?, name: String) throws -> Date? {
    guard let text else { return nil }
    do { return try Timestamp.parse(text).date } catch {
        throw ValidationError("--\(name): '\(text)' is not an ISO 8601 time or date, such as 2026-10-01T08:00Z or 2026-10-01")
    }
}
