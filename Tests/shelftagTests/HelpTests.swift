import Foundation
import ShelfTagTestSupport
import Testing

/// Every command's `--help`, pinned: a change to what users read shows in review as a change to
/// `Tests/shelftagTests/Help/`. `SHELFTAG_UPDATE_HELP=1` rewrites the files.
@Suite("--help of every command, pinned")
struct HelpTests {
    private static let folder = repository.appendingPathComponent("Tests/shelftagTests/Help")

    /// The subcommands a help text lists under SUBCOMMANDS.
    private static func subcommands(in help: String) -> [String] {
        guard let start = help.range(of: "SUBCOMMANDS:\n") else { return [] }
        // A subcommand's line starts with two spaces and its name; its description may wrap onto deeper lines.
        return help[start.upperBound...].split(separator: "\n").prefix { $0.hasPrefix("  ") }.compactMap { line in
            guard !line.hasPrefix("   "), !line.hasPrefix("  See "), let name = line.split(separator: " ").first.map(String.init) else { return nil }
            return name == "help" ? nil : name
        }
    }

    @Test("each command's help is the pinned one, and every command has one")
    func pinnedHelp() async throws {
        var queue: [[String]] = [[]]
        var seen: [String] = []
        let update = ProcessInfo.processInfo.environment["SHELFTAG_UPDATE_HELP"] == "1"
        while let path = queue.popLast() {
            let run = try await CommandLine.run(path + ["--help"], environment: ["SHELFTAG_BASE_URL": "", "COLUMNS": "100"])
            #expect(run.status == 0, "\(path): \(run.errors)")
            let name = (["shelftag"] + path).joined(separator: "-")
            seen.append(name)
            let file = Self.folder.appendingPathComponent("\(name).txt")
            if update {
                try FileManager.default.createDirectory(at: Self.folder, withIntermediateDirectories: true)
                try Data(run.output.utf8).write(to: file)
            }
            let pinned = try String(contentsOf: file, encoding: .utf8)
            #expect(run.output == pinned, "\(name) --help differs from Help/\(name).txt (SHELFTAG_UPDATE_HELP=1 rewrites it)")
            Self.checkReadable(run.output, name: name)
            queue += Self.subcommands(in: run.output).map { path + [$0] }
        }
        // Every pinned file is a command that exists, and the walk found the commands it must.
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).filter { $0.hasSuffix(".txt") }
        #expect(Set(files.map { String($0.dropLast(4)) }) == Set(seen))
        for command in ["shelftag-render", "shelftag-serve", "shelftag-token-revoke", "shelftag-associates-link", "shelftag-parity"] {
            #expect(seen.contains(command))
        }
    }

    /// What a reader trips on: one placeholder for two values in the usage line, a default said twice.
    private static func checkReadable(_ help: String, name: String) {
        if let usage = help.split(separator: "\n").first(where: { $0.hasPrefix("USAGE:") }) {
            let placeholders = usage.split(separator: " ").filter { $0.hasPrefix("<") || $0.hasPrefix("[<") }.map {
                $0.trimmingCharacters(in: CharacterSet(charactersIn: "[]."))
            }
            let repeated = Dictionary(grouping: placeholders, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
            #expect(repeated.isEmpty, "\(name): \(repeated) stands for two different values in '\(usage)'")
        }
        // An option's text runs from its line to the next option's: one "(default" in it at most.
        var options: [String] = []
        for line in help.split(separator: "\n") {
            if line.hasPrefix("  -") {
                options.append(String(line))
            } else if line.hasPrefix("   "), !options.isEmpty {
                options[options.count - 1] += " " + line
            }
        }
        for option in options where option.components(separatedBy: "(default").count > 2 {
            Issue.record("\(name): a default said twice: \(option)")
        }
    }
}
