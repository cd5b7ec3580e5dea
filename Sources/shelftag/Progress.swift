import Foundation

/// Whether progress can be drawn: standard error is a terminal and not CI.
var showsProgress: Bool {
    isatty(2) != 0 && ProcessInfo.processInfo.environment["CI"] == nil
}

/// A one-line progress bar on standard error, drawn at most every 1 %, with what it counts when a run has several
/// steps (`resolver [###   ] 1200/25000`).
final class ProgressBar: @unchecked Sendable {
    private let enabled: Bool
    private let lock = NSLock()
    private var shownPercent = -1
    private var shownLabel = ""

    init(enabled: Bool) { self.enabled = enabled }

    func update(done: Int, total: Int) { update(done: done, total: total, label: "") }

    func update(done: Int, total: Int, label: String) {
        guard enabled, total > 0 else { return }
        let percent = done * 100 / total
        lock.lock()
        defer { lock.unlock() }
        guard percent != shownPercent || label != shownLabel else { return }
        shownPercent = percent
        shownLabel = label
        let filled = percent * 30 / 100
        let bar = "[" + String(repeating: "#", count: filled) + String(repeating: " ", count: 30 - filled) + "] \(done)/\(total)"
        FileStream.standardError.write("\r\u{1B}[K" + (label.isEmpty ? "" : label + " ") + bar)
    }

    func finish() {
        if enabled && shownPercent >= 0 { FileStream.standardError.write("\r\u{1B}[K") }
    }
}
