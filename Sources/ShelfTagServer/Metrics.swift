import Foundation

/// Counters and a latency histogram, written in the Prometheus text format at `/metrics`.
final class Metrics: @unchecked Sendable {
    private let lock = NSLock()
    private struct RequestKey: Hashable {
        let route: String
        let method: String
        let status: Int
    }

    private var requests: [RequestKey: Int] = [:]
    private var errors: [String: Int] = [:]
    private var scans: [String: Int] = [:]
    private var scansWrittenTotal = 0
    private var scanWriteFailures = 0
    /// Upper bounds in seconds.
    static let buckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]
    private var latencyCounts = [Int](repeating: 0, count: buckets.count + 1)
    private var latencySum = 0.0

    func request(route: String, method: String, status: Int, seconds: Double) {
        lock.lock()
        defer { lock.unlock() }
        requests[RequestKey(route: route, method: method, status: status), default: 0] += 1
        if status >= 400 { errors["status=\"\(status)\"", default: 0] += 1 }
        let bucket = Self.buckets.firstIndex { seconds <= $0 } ?? Self.buckets.count
        latencyCounts[bucket] += 1
        latencySum += seconds
    }

    func scan(format: String, stale: Bool) {
        lock.lock()
        scans["format=\"\(format)\",stale=\"\(stale)\"", default: 0] += 1
        lock.unlock()
    }

    func scansWritten(_ count: Int) {
        lock.lock()
        scansWrittenTotal += count
        lock.unlock()
    }

    func scanWriteFailed(_ count: Int) {
        lock.lock()
        scanWriteFailures += count
        lock.unlock()
    }

    /// The metrics; `databaseRoundTrips` is the storage's count of queries sent to a database server, `answers` the
    /// answer cache's counts.
    func text(databaseRoundTrips: Int, answers: AnswerCache.Counts) -> String {
        lock.lock()
        defer { lock.unlock() }
        var lines: [String] = []
        lines += [
            "# HELP shelftag_database_round_trips_total Queries sent to a database server (0 on SQLite).",
            "# TYPE shelftag_database_round_trips_total counter", "shelftag_database_round_trips_total \(databaseRoundTrips)",
            "# HELP shelftag_answers_total Product answers served from the cache, and computed from the database.",
            "# TYPE shelftag_answers_total counter", "shelftag_answers_total{source=\"cache\"} \(answers.cached)",
            "shelftag_answers_total{source=\"database\"} \(answers.computed)",
        ]
        func family(_ name: String, _ type: String, _ help: String, _ values: [String: Int]) {
            lines += ["# HELP \(name) \(help)", "# TYPE \(name) \(type)"]
            lines += values.keys.sorted().map { "\(name){\($0)} \(values[$0]!)" }
        }
        let requestLabels = Dictionary(
            uniqueKeysWithValues: requests.map { ("route=\"\($0.key.route)\",method=\"\($0.key.method)\",status=\"\($0.key.status)\"", $0.value) })
        family("shelftag_http_requests_total", "counter", "HTTP requests answered.", requestLabels)
        family("shelftag_http_errors_total", "counter", "HTTP answers with a 4xx or 5xx status.", errors)
        family("shelftag_scans_total", "counter", "Tag URIs resolved.", scans)
        lines += ["# HELP shelftag_scans_written_total Scans written to the database.", "# TYPE shelftag_scans_written_total counter"]
        lines.append("shelftag_scans_written_total \(scansWrittenTotal)")
        lines += ["# HELP shelftag_scans_lost_total Scans that could not be written.", "# TYPE shelftag_scans_lost_total counter"]
        lines.append("shelftag_scans_lost_total \(scanWriteFailures)")
        lines += ["# HELP shelftag_http_request_duration_seconds Time to answer a request.", "# TYPE shelftag_http_request_duration_seconds histogram"]
        var cumulative = 0
        for (index, bound) in Self.buckets.enumerated() {
            cumulative += latencyCounts[index]
            lines.append("shelftag_http_request_duration_seconds_bucket{le=\"\(bound)\"} \(cumulative)")
        }
        cumulative += latencyCounts[Self.buckets.count]
        lines.append("shelftag_http_request_duration_seconds_bucket{le=\"+Inf\"} \(cumulative)")
        lines.append("shelftag_http_request_duration_seconds_sum \(latencySum)")
        lines.append("shelftag_http_request_duration_seconds_count \(cumulative)")
        return lines.joined(separator: "\n") + "\n"
    }
}
