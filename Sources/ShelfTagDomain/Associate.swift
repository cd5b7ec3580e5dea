import Foundation

/// A store associate: the seller a shopper can deal with again, in store or online. Belongs to one store.
public struct Associate: Sendable, Equatable {
    /// The short public code that appears in links (`a=CODE`).
    public let code: String
    public let storeCode: String
    public let name: String
    /// Languages spoken, as ISO 639 codes (`fr`, `en`), in the order given.
    public let languages: [String]
    /// False once the sign-in secret is revoked: links still credit the associate, sign-in is refused.
    public let canSignIn: Bool

    public init(code: String, storeCode: String, name: String, languages: [String], canSignIn: Bool = true) {
        self.code = code
        self.storeCode = storeCode
        self.name = name
        self.languages = languages
        self.canSignIn = canSignIn
    }

    /// The link an associate shares: a product's Digital Link carrying their code, or their own page.
    public func link(base: String, gtin: GTIN? = nil) -> String {
        guard let gtin else { return (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/associates/" + code }
        return DigitalLink(base: base, gtin: gtin, query: [("s", storeCode), ("a", code)]).uri
    }

    /// Checks what a person typed or a file holds for a new associate.
    /// - Throws: `AssociateError` naming the first bad field.
    public static func checked(storeCode: String, name: String, languages: String) throws(AssociateError) -> (name: String, languages: [String]) {
        do { try TextRule.identifier.check(storeCode) } catch { throw .field("store", error.description) }
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty else { throw .field("name", "is missing") }
        do { try TextRule.line(100).check(name) } catch { throw .field("name", error.description) }
        let codes = languages.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        for code in codes where !(2...3).contains(code.count) || !code.allSatisfy({ $0.isASCII && $0.isLetter }) {
            throw .field("languages", "'\(code)' is not an ISO 639 language code (fr, en, de…)")
        }
        guard codes.count <= 10 else { throw .field("languages", "more than 10 languages") }
        return (name, codes)
    }

    /// The characters of public codes: no 0/O, 1/I, so a code read aloud or from a screen is never mistaken.
    static let codeAlphabet = Array("23456789ABCDEFGHJKLMNPQRSTUVWXYZ")

    /// A new public code: 5 characters of `codeAlphabet` (33.5 million codes).
    public static func newCode() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<5).map { _ in codeAlphabet[Int.random(in: 0..<codeAlphabet.count, using: &generator)] })
    }

    /// Whether `text` has the shape of a public code (4 to 6 characters of the alphabet, any case): anything else in
    /// a link is ignored before the database is asked.
    public static func normalizedCode(_ text: String) -> String? {
        let upper = text.uppercased()
        guard (4...6).contains(upper.count), upper.allSatisfy({ codeAlphabet.contains($0) }) else { return nil }
        return upper
    }

    /// A new sign-in secret, shown once; only its hash (`SecretHash`) is stored.
    public static func newSecret() -> String {
        "sa_" + AccessToken.generate().dropFirst(3)
    }
}

/// Why an associate cannot be added.
public enum AssociateError: Error, Equatable, CustomStringConvertible {
    case field(String, String)

    public var description: String {
        switch self {
        case .field(let name, let reason): "\(name): \(reason)"
        }
    }
}

/// A shopper's call for help from a product page: the product and the tag scanned (so the shelf it stands on).
public struct HelpRequest: Sendable, Equatable {
    /// Random and long: the shopper's page polls it, nobody can guess another's.
    public let id: String
    public let storeCode: String
    public let gtin: GTIN
    public let tagID: String?
    public let createdAt: Date
    /// The associate who took it, and when.
    public let takenBy: String?
    public let takenAt: Date?
    public let closedAt: Date?

    public init(
        id: String, storeCode: String, gtin: GTIN, tagID: String?, createdAt: Date, takenBy: String? = nil, takenAt: Date? = nil, closedAt: Date? = nil
    ) {
        self.id = id
        self.storeCode = storeCode
        self.gtin = gtin
        self.tagID = tagID
        self.createdAt = createdAt
        self.takenBy = takenBy
        self.takenAt = takenAt
        self.closedAt = closedAt
    }

    /// How long a request stays open unless closed: the shopper who asked has long left the aisle by then, and a
    /// forgotten request should neither clutter the work view nor tell them forever that someone is coming.
    public static let lapsesAfter: TimeInterval = 3600

    /// open (nobody yet), taken (someone is coming), closed, or lapsed (nobody closed it within `lapsesAfter`). No job
    /// closes lapsed requests: they stop being open, as lapsed holds stop counting.
    public func state(at time: Date) -> String {
        if closedAt != nil { return "closed" }
        if time >= createdAt.addingTimeInterval(Self.lapsesAfter) { return "lapsed" }
        return takenBy != nil ? "taken" : "open"
    }

    public static func newID() -> String {
        String(AccessToken.generate().dropFirst(3).prefix(22))
    }
}
