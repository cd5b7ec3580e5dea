import Foundation
import ShelfTagDomain
import Testing

@Suite("Message catalog")
struct MessageCatalogTests {
    /// A messages folder holding `files` (name → JSON text).
    private func folder(_ files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shelftag-messages-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, text) in files { try Data(text.utf8).write(to: directory.appendingPathComponent(name)) }
        return directory
    }

    @Test("a language falls back to English for a key it lacks or whose placeholders differ, and says so once, at load")
    func fallbacks() throws {
        let catalog = try MessageCatalog.load(
            from: folder([
                "en.json": #"{"a.hello": "Hello {name}", "a.bye": "Bye", "a.held": "Held {hours} h"}"#,
                "de.json": #"{"a.hello": "Hallo {name}", "a.held": "{stunden} Std.", "a.extra": "?"}"#,
            ]))
        #expect(catalog.languages == ["en", "de"])
        #expect(catalog.text("a.hello", language: "de") == "Hallo {name}")
        #expect(catalog.text("a.bye", language: "de") == "Bye", "missing: English")
        #expect(catalog.text("a.held", language: "de") == "Held {hours} h", "wrong placeholder: English")
        #expect(catalog.text("a.extra", language: "de") == nil, "a key English lacks is not a message")
        let problems = catalog.problems.map(\.description)
        #expect(problems.count == 3)
        #expect(problems.contains { $0.hasSuffix("de.json: 1 key(s) missing, English used: a.bye") })
        #expect(problems.contains { $0.hasSuffix("de.json: a.held: placeholders {stunden} instead of {hours}, English used") })
        #expect(problems.contains { $0.hasSuffix("de.json: 1 key(s) English does not have, ignored: a.extra") })
        #expect(catalog.language(of: "de-AT") == "de")
        #expect(catalog.language(of: "pt-BR") == "en", "no Portuguese file: English")
    }

    @Test("placeholders are filled by name, in whatever order a language puts them")
    func placeholders() {
        #expect(MessageTemplate.placeholders(in: "{now} after {shown}, {now}") == ["now", "now", "shown"])
        #expect(MessageTemplate.placeholders(in: "no { placeholder } here {}") == [])
        #expect(MessageTemplate.fill("{b} then {a}", ["a": "1", "b": "2"]) == "2 then 1")
        #expect(MessageTemplate.fill("{a} {unknown} { {a", ["a": "1"]) == "1 {unknown} { {a", "what is not a known placeholder stays")
    }

    @Test("a reader collects the keys English lacks, for start-up to refuse, and every key it read")
    func reader() throws {
        let catalog = try MessageCatalog.load(from: folder(["en.json": #"{"t.a": "A", "t.b": "B", "u.c": "C"}"#]))
        let read = MessageReader(catalog: catalog, language: "en")
        #expect(read("u.c") == "C")
        #expect(read.group("t.") == ["a": "A", "b": "B"])
        #expect(read("u.missing") == "u.missing")
        #expect(read.absent == ["u.missing"])
        #expect(read.read == ["t.a", "t.b", "u.c", "u.missing"])
    }

    @Test("no English, a file that is not an object of strings, or a file not named for a language: a located error")
    func refusals() throws {
        #expect(throws: MessageCatalogError.self) { try MessageCatalog.load(from: folder(["fr.json": "{}"])) }
        let notStrings = try folder(["en.json": #"{"a.count": 3}"#])
        #expect(throws: MessageCatalogError.malformed(file: notStrings.appendingPathComponent("en.json").path, reason: "a.count: not a string")) {
            try MessageCatalog.load(from: notStrings)
        }
        let broken = try folder(["en.json": #"{"a": "#])
        let error = #expect(throws: MessageCatalogError.self) { try MessageCatalog.load(from: broken) }
        #expect(error?.description.hasPrefix(broken.appendingPathComponent("en.json").path + ": not JSON") == true)
        let badName = try folder(["en.json": "{}", "French.json": "{}"])
        #expect(throws: MessageCatalogError.badFileName(badName.appendingPathComponent("French.json").path)) {
            try MessageCatalog.load(from: badName)
        }
    }

    @Test("the shipped languages are complete: every key English has, with the same placeholders")
    func shipped() throws {
        // Tests/ShelfTagDomainTests/this file → the checkout.
        let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let catalog = try MessageCatalog.load(from: checkout.appendingPathComponent("Templates/messages"))
        #expect(catalog.languages == ["en", "de", "es", "fr", "it", "nl"])
        #expect(catalog.problems.isEmpty, "\(catalog.problems)")
    }
}
