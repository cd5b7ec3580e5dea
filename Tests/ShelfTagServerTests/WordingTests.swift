import Foundation
import Logging
import ShelfTagDomain
import ShelfTagRender
import ShelfTagStorage
import ShelfTagTestSupport
import Testing

@testable import ShelfTagServer

@Suite("Words from the message files")
struct WordingTests {
    @Test("every key of en.json is read by a page or a tag, and the pages ask for no key en.json lacks")
    func everyKeyUsed() throws {
        let catalog = try templates.messages()
        let read = MessageReader(catalog: catalog, language: MessageCatalog.fallbackLanguage)
        _ = LanguageWords(read)
        _ = read.group("tag.")
        #expect(read.absent.isEmpty, "\(read.absent)")
        let unused = Set(catalog.keys).subtracting(read.read).sorted()
        #expect(unused.isEmpty, "keys no code reads: \(unused)")
    }

    @Test("each shipped language: product page out of stock, reservation form, error page and work sign-in in its words, every placeholder filled")
    func everyLanguage() async throws {
        let catalog = try templates.messages()
        #expect(catalog.languages.count == 6)
        try await TestServer.with { server in
            for language in catalog.languages {
                let words = try #require(catalog.text("page.outOfStock", language: language))
                let pages = [
                    ("/products/03760001000634?s=PAR01", words),
                    ("/products/\(promotion)/reserve?s=PAR01", try #require(catalog.text("reservation.title", language: language))),
                    ("/01/03760001001984", try #require(catalog.text("error.title.400", language: language))),
                    ("/work/sign-in", try #require(catalog.text("work.signInTitle", language: language))),
                ]
                for (path, expected) in pages {
                    let page = try await server.request(path, accept: "text/html", headers: ["Accept-Language": language])
                    #expect(page.text.contains("<html lang=\"\(language)\""), "\(language) \(path)")
                    #expect(page.text.contains(Self.escaped(expected)), "\(language) \(path): \(expected)")
                    let unfilled = page.text.range(of: #"\{[A-Za-z]+\}"#, options: .regularExpression).map { String(page.text[$0]) }
                    #expect(unfilled == nil, "\(language) \(path): \(unfilled ?? "")")
                }
            }
        }
    }

    @Test("a language file missing keys is reported once at start-up and falls back to English; English missing a key stops the start")
    func startUpReport() async throws {
        let copy = try newDirectory().appendingPathComponent("Templates")
        try FileManager.default.copyItem(at: templates.directory, to: copy)
        let german = copy.appendingPathComponent("messages/de.json")
        var texts = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: german)) as? [String: String])
        texts["page.inStock"] = nil
        try JSONSerialization.data(withJSONObject: texts).write(to: german)
        var configuration = TestServer.configuration()
        configuration.templatesDirectory = copy
        let lines = LogLines()
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        _ = try await buildApplication(configuration: configuration, reference: reference, logger: Logger(label: "test") { _ in lines })
        #expect(lines.all == ["messages: \(german.path): 1 key(s) missing, English used: page.inStock"])

        let english = copy.appendingPathComponent("messages/en.json")
        texts = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: english)) as? [String: String])
        texts["reservation.submit"] = nil
        try JSONSerialization.data(withJSONObject: texts).write(to: english)
        await #expect(throws: ServerStartError.self) {
            _ = try await buildApplication(configuration: configuration, reference: reference, logger: Logger(label: "test") { _ in lines })
        }
    }

    /// As Mustache writes it into the page.
    static func escaped(_ text: String) -> String { text.replacingOccurrences(of: "'", with: "&#39;") }
}

/// The messages logged at warning level or above.
final class LogLines: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .warning

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lock.lock()
        lines.append(event.message.description)
        lock.unlock()
    }
}
