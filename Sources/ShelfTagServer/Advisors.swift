import Foundation
import HTTPTypes
import Hummingbird
import ShelfTagDomain
import ShelfTagStorage

/// The associate a shopper's page shows as their advisor: the one whose link the page was opened from (`a=CODE`),
/// else the one whose code the phone remembers (a first-party cookie holding only that code). An unknown, removed or
/// malformed code is ignored, never an error. A remembered advisor is shown in their own store's pages (and pages
/// without a store).
struct Advisors: Sendable {
    static let cookieName = "shelftag_advisor"
    let reference: any ProductReference
    let configuration: ServerConfiguration
    private let directory = AdvisorDirectory()

    init(reference: any ProductReference, configuration: ServerConfiguration) {
        self.reference = reference
        self.configuration = configuration
    }

    /// The advisor for a page of `store` (nil: no store), and whether it came from the link (the cookie to set).
    /// - Parameter linkCode: the link's `a` value, from the query the caller has already parsed.
    func advisor(for request: Request, linkCode: String?, store: String?) async throws -> (associate: Associate, fromLink: Bool)? {
        if let code = linkCode.flatMap(Associate.normalizedCode), let associate = try await look(up: code) {
            return (associate, true)
        }
        guard let code = Self.rememberedCode(request), let associate = try await look(up: code) else { return nil }
        guard store == nil || store == associate.storeCode else { return nil }
        return (associate, false)
    }

    /// The associate to credit a reservation in `store` with: from the link or the cookie, and of that store.
    func credited(for request: Request, store: String) async throws -> Associate? {
        let linkCode = RawQuery(request)["a"]
        guard let advisor = try await advisor(for: request, linkCode: linkCode, store: store), advisor.associate.storeCode == store else { return nil }
        return advisor.associate
    }

    /// Whether `request` carries an advisor's code at all, from its link or remembered; most requests do not.
    static func carriesCode(_ request: Request, linkCode: String?) -> Bool { linkCode != nil || rememberedCode(request) != nil }

    static func rememberedCode(_ request: Request) -> String? {
        request.cookie(cookieName).flatMap(Associate.normalizedCode)
    }

    /// `Set-Cookie` remembering `associate` for the attribution window.
    func rememberCookie(_ associate: Associate) -> String {
        "\(Self.cookieName)=\(associate.code); Max-Age=\(configuration.attributionDays * 86_400); Path=/; SameSite=Lax; HttpOnly" + secure
    }

    /// `Set-Cookie` forgetting the advisor.
    var forgetCookie: String { "\(Self.cookieName)=; Max-Age=0; Path=/; SameSite=Lax; HttpOnly" + secure }

    private var secure: String { configuration.baseURL.hasPrefix("https:") ? "; Secure" : "" }

    private func look(up code: String) async throws -> Associate? {
        // Associates change with what every page shares, not with a product's price, stock or holds.
        let version = try reference.commonVersion()
        if let known = directory.entry(code, version: version) { return known.associate }
        let associate = try await reference.associate(code: code)
        directory.store(code, associate, version: version)
        return associate
    }
}

/// Associates looked up by code, unknown ones included, until the common catalogue version moves (every change to an
/// associate moves it, on every resolver of the reference).
final class AdvisorDirectory: @unchecked Sendable {
    struct Entry {
        let associate: Associate?
    }

    private let lock = NSLock()
    private var version = -1
    private var entries: [String: Entry] = [:]
    /// Codes guessed at random each cost an entry: past this many, start again.
    private static let capacity = 10_000

    func entry(_ code: String, version: Int) -> Entry? {
        lock.withLock { self.version == version ? entries[code] : nil }
    }

    func store(_ code: String, _ associate: Associate?, version: Int) {
        lock.withLock {
            if self.version != version || entries.count >= Self.capacity {
                entries.removeAll(keepingCapacity: true)
                self.version = version
            }
            entries[code] = Entry(associate: associate)
        }
    }
}
