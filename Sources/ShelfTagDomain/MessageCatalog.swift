import Foundation

/// The words of every shopper page, error, work view and tag label, one file per language: `messages/<language>.json`
/// under the templates directory, a flat object of `"area.name": "text"`. English (`en.json`) is complete by
/// definition; another language that lacks a key, or writes a key's placeholders differently, falls back to English
/// for that key, and says so once, in `problems`, when the catalog loads. A retailer adds a language by adding a file.
public struct MessageCatalog: Sendable {
    public static let fallbackLanguage = "en"

    /// Every language with a file, English first, then by code.
    public let languages: [String]
    /// What a file lacks or gets wrong, found at load: reported at start-up, not per request.
    public let problems: [MessageProblem]
    /// Language → key → text, every language filled in from English where it falls back.
    private let texts: [String: [String: String]]

    /// The keys English defines, sorted.
    public var keys: [String] { texts[Self.fallbackLanguage].map { $0.keys.sorted() } ?? [] }

    /// Loads every `*.json` in `directory`.
    /// - Throws: `MessageCatalogError` when English is missing or a file is not a flat object of strings.
    public static func load(from directory: URL) throws(MessageCatalogError) -> MessageCatalog {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory.path) } catch {
            throw .unreadable(file: directory.path, reason: "no such directory")
        }
        var files: [String: [String: String]] = [:]
        for name in names where name.hasSuffix(".json") {
            let language = String(name.dropLast(5))
            guard Self.isLanguageCode(language) else { throw .badFileName(directory.appendingPathComponent(name).path) }
            files[language] = try read(directory.appendingPathComponent(name))
        }
        guard let english = files[fallbackLanguage] else { throw .noEnglish(directory: directory.path) }
        return MessageCatalog(english: english, others: files.filter { $0.key != fallbackLanguage }, directory: directory)
    }

    private init(english: [String: String], others: [String: [String: String]], directory: URL) {
        var texts = [Self.fallbackLanguage: english]
        var problems: [MessageProblem] = []
        for (language, own) in others.sorted(by: { $0.key < $1.key }) {
            let file = directory.appendingPathComponent("\(language).json").path
            var merged = english
            var missing: [String] = []
            for (key, text) in english {
                guard let translated = own[key] else {
                    missing.append(key)
                    continue
                }
                let expected = MessageTemplate.placeholders(in: text)
                let found = MessageTemplate.placeholders(in: translated)
                if expected == found {
                    merged[key] = translated
                } else {
                    problems.append(.placeholders(file: file, key: key, expected: expected, found: found))
                }
            }
            if !missing.isEmpty { problems.append(.missing(file: file, keys: missing.sorted())) }
            let unknown = own.keys.filter { english[$0] == nil }.sorted()
            if !unknown.isEmpty { problems.append(.unknown(file: file, keys: unknown)) }
            texts[language] = merged
        }
        self.texts = texts
        self.problems = problems
        languages = [Self.fallbackLanguage] + others.keys.sorted()
    }

    /// The language a locale writes (`fr-FR` → `fr`), English when no file has it.
    public func language(of locale: String) -> String {
        let primary = String(locale.prefix { $0 != "-" && $0 != "_" }).lowercased()
        return texts[primary] == nil ? Self.fallbackLanguage : primary
    }

    /// `key` in `language` (falling back to English); nil only when English lacks it.
    public func text(_ key: String, language: String) -> String? {
        (texts[language] ?? texts[Self.fallbackLanguage])?[key]
    }

    private static func read(_ url: URL) throws(MessageCatalogError) -> [String: String] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .unreadable(file: url.path, reason: "cannot read it") }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw .malformed(file: url.path, reason: "not JSON (\((error as NSError).userInfo[NSDebugDescriptionErrorKey] ?? error))")
        }
        guard let pairs = object as? [String: Any] else { throw .malformed(file: url.path, reason: "not a JSON object of \"key\": \"text\"") }
        var texts: [String: String] = [:]
        for (key, value) in pairs {
            guard let text = value as? String else { throw .malformed(file: url.path, reason: "\(key): not a string") }
            texts[key] = text
        }
        return texts
    }

    private static func isLanguageCode(_ name: String) -> Bool {
        (2...3).contains(name.count) && name.allSatisfy { $0.isASCII && $0.isLowercase }
    }
}

/// What a language's file lacks or gets wrong; the key falls back to English.
public enum MessageProblem: Sendable, Equatable, CustomStringConvertible {
    case missing(file: String, keys: [String])
    case unknown(file: String, keys: [String])
    case placeholders(file: String, key: String, expected: [String], found: [String])

    public var description: String {
        switch self {
        case .missing(let file, let keys): "\(file): \(keys.count) key(s) missing, English used: \(keys.joined(separator: ", "))"
        case .unknown(let file, let keys): "\(file): \(keys.count) key(s) English does not have, ignored: \(keys.joined(separator: ", "))"
        case .placeholders(let file, let key, let expected, let found):
            "\(file): \(key): placeholders \(found.map { "{\($0)}" }.joined(separator: " ")) instead of "
                + "\(expected.map { "{\($0)}" }.joined(separator: " ")), English used"
        }
    }
}

/// Why the messages cannot be loaded at all.
public enum MessageCatalogError: Error, Equatable, CustomStringConvertible {
    case noEnglish(directory: String)
    case unreadable(file: String, reason: String)
    case malformed(file: String, reason: String)
    case badFileName(String)

    public var description: String {
        switch self {
        case .noEnglish(let directory): "\(directory)/en.json is missing: English is every other language's fallback"
        case .unreadable(let file, let reason): "\(file): \(reason)"
        case .malformed(let file, let reason): "\(file): \(reason)"
        case .badFileName(let file): "\(file): a message file is named for its language code, like fr.json or de.json"
        }
    }
}

/// A message with named placeholders, `"Held {hours} h"`: a translation may put them in any order.
public enum MessageTemplate {
    /// The placeholder names in `text`, sorted: `{radius}` → `radius`.
    public static func placeholders(in text: String) -> [String] {
        var names: [String] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: "}") else { break }
            let name = after[..<close]
            if !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber }) { names.append(String(name)) }
            rest = after[after.index(after: close)...]
        }
        return names.sorted()
    }

    /// `text` with each `{name}` replaced by its value; an unknown `{name}` stays as it is. One pass: a tag's unit
    /// price is filled once per tag, on the thread that feeds the drawing workers.
    public static func fill(_ text: String, _ values: [String: String]) -> String {
        var filled = ""
        filled.reserveCapacity(text.utf8.count + 16)
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            filled += rest[..<open]
            let after = rest[rest.index(after: open)...]
            if let close = after.firstIndex(of: "}"), let value = values[String(after[..<close])] {
                filled += value
                rest = after[after.index(after: close)...]
            } else {
                filled += "{"
                rest = after
            }
        }
        filled += rest
        return filled
    }
}

/// Reads one language's words out of a catalog while a page's or tag's wording is built, once at start-up: a key
/// English lacks is a mismatch between code and `en.json`, collected in `absent` for the caller to refuse to start.
public final class MessageReader {
    public let catalog: MessageCatalog
    public let language: String
    public private(set) var absent: [String] = []
    /// Every key read so far: what the code uses, to find keys no code reads.
    public private(set) var read: Set<String> = []

    public init(catalog: MessageCatalog, language: String) {
        self.catalog = catalog
        self.language = language
    }

    public func callAsFunction(_ key: String) -> String {
        read.insert(key)
        if let text = catalog.text(key, language: language) { return text }
        absent.append(key)
        return key
    }

    /// Every key under `prefix` (`"work.table."`), by the rest of its name.
    public func group(_ prefix: String) -> [String: String] {
        var group: [String: String] = [:]
        for key in catalog.keys where key.hasPrefix(prefix) { group[String(key.dropFirst(prefix.count))] = self(key) }
        return group
    }
}
