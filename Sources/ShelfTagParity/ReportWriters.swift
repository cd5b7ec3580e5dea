import Foundation
import ShelfTagDomain

/// The report formats: text for people, JSON for tools, JUnit XML for CI servers.
public enum ReportFormat: String, Sendable, CaseIterable {
    case text, json, junit

    /// The whole report, deterministic: the same data gives the same bytes.
    public func render(_ report: ParityReport) -> String {
        switch self {
        case .text: Self.text(report)
        case .json: Self.json(report)
        case .junit: Self.junit(report)
        }
    }

    private static func line(_ mismatch: Mismatch) -> String {
        var text =
            "    \(mismatch.gtin.digits)  \(mismatch.name)  \(mismatch.shown.label) \(mismatch.shown.value)  \(mismatch.expected.label) \(mismatch.expected.value)"
        if let difference = mismatch.difference { text += "  (\(difference))" }
        return text
    }

    private static func text(_ report: ParityReport) -> String {
        var lines: [String] = []
        for rule in report.rules {
            let count = report.counts[rule] ?? 0
            guard count > 0 else { continue }
            lines.append("\(rule.rawValue) (\(rule.severity.rawValue)): \(rule.title): \(count)")
            var store: String?? = .none
            for mismatch in report.mismatches where mismatch.rule == rule {
                if store != .some(mismatch.storeCode) {
                    store = .some(mismatch.storeCode)
                    lines.append("  \(mismatch.storeCode ?? "web")")
                }
                lines.append(line(mismatch))
            }
            let unlisted = report.unlisted(rule)
            if unlisted > 0 { lines.append("  … and \(unlisted) more, not listed (--max-listed)") }
            lines.append("")
        }
        lines.append(
            "parity: \(report.errors) errors, \(report.warnings) warnings; \(report.rules.count) rules over \(report.offersChecked) store offers at \(Timestamp.format(report.at))"
        )
        return lines.joined(separator: "\n") + "\n"
    }

    private static func document(_ mismatch: Mismatch) -> [String: Any] {
        var object: [String: Any] = [
            "rule": mismatch.rule.rawValue, "severity": mismatch.rule.severity.rawValue, "gtin": mismatch.gtin.digits, "name": mismatch.name,
            "shown": ["side": mismatch.shown.label, "value": mismatch.shown.value],
            "expected": ["side": mismatch.expected.label, "value": mismatch.expected.value],
        ]
        if let store = mismatch.storeCode { object["store"] = store }
        if let difference = mismatch.difference { object["difference"] = difference }
        return object
    }

    private static func json(_ report: ParityReport) -> String {
        let object: [String: Any] = [
            "at": Timestamp.format(report.at), "offersChecked": report.offersChecked,
            "rules": report.rules.map { rule in
                [
                    "id": rule.rawValue, "severity": rule.severity.rawValue, "title": rule.title, "count": report.counts[rule] ?? 0,
                    "unlisted": report.unlisted(rule), "mismatches": report.mismatches.filter { $0.rule == rule }.map(document),
                ]
                    as [String: Any]
            },
            "summary": ["errors": report.errors, "warnings": report.warnings],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    private static func junit(_ report: ParityReport) -> String {
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        let listed = Dictionary(grouping: report.mismatches, by: \.rule)
        // A test case per mismatch listed, and one for those a limit left out.
        func cases(_ rule: ParityRule) -> Int { (listed[rule]?.count ?? 0) + (report.unlisted(rule) > 0 ? 1 : 0) }
        let failures = report.rules.filter { $0.severity == .error }.map(cases).reduce(0, +)
        xml += "<testsuites name=\"shelftag parity\" tests=\"\(report.rules.count)\" failures=\"\(failures)\" timestamp=\"\(Timestamp.format(report.at))\">\n"
        for rule in report.rules {
            let found = listed[rule] ?? []
            let unlisted = report.unlisted(rule)
            let count = cases(rule)
            xml +=
                "  <testsuite name=\"\(escape(rule.rawValue))\" tests=\"\(max(1, count))\" failures=\"\(rule.severity == .error ? count : 0)\" errors=\"0\" skipped=\"0\">\n"
            if count == 0 {
                xml += "    <testcase classname=\"\(escape(rule.rawValue))\" name=\"\(escape(rule.title))\"/>\n"
            }
            for mismatch in found {
                let name = "\(mismatch.storeCode ?? "web") \(mismatch.gtin.digits) \(mismatch.name)"
                let message =
                    "\(mismatch.shown.label) \(mismatch.shown.value), \(mismatch.expected.label) \(mismatch.expected.value)"
                    + (mismatch.difference.map { " (\($0))" } ?? "")
                xml += "    <testcase classname=\"\(escape(rule.rawValue))\" name=\"\(escape(name))\">\n"
                // Warnings are reported without failing: JUnit has no warning state, system-out carries them.
                if rule.severity == .error {
                    xml += "      <failure type=\"\(escape(rule.rawValue))\" message=\"\(escape(message))\">\(escape(rule.title))</failure>\n"
                } else {
                    xml += "      <system-out>warning: \(escape(message))</system-out>\n"
                }
                xml += "    </testcase>\n"
            }
            if unlisted > 0 {
                let message = "\(unlisted) more mismatches, not listed (--max-listed); \(report.counts[rule] ?? 0) in all"
                xml += "    <testcase classname=\"\(escape(rule.rawValue))\" name=\"\(escape("\(unlisted) more"))\">\n"
                if rule.severity == .error {
                    xml += "      <failure type=\"\(escape(rule.rawValue))\" message=\"\(escape(message))\">\(escape(rule.title))</failure>\n"
                } else {
                    xml += "      <system-out>warning: \(escape(message))</system-out>\n"
                }
                xml += "    </testcase>\n"
            }
            xml += "  </testsuite>\n"
        }
        return xml + "</testsuites>\n"
    }

    private static func escape(_ text: String) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            // XML 1.0 forbids most control characters.
            case _ where scalar.value < 0x20 && scalar != "\n" && scalar != "\t": escaped += "?"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}
