import Foundation
import ShelfTagDomain

/// A bearer token as `shelftag token list` shows it: never the token, nor its whole hash.
public struct TokenRecord: Sendable, Equatable {
    /// The first `idLength` hex digits of its hash: what `token revoke` takes.
    public let id: String
    public let grant: TokenGrant
    public let createdAt: Date
    public let expiresAt: Date?
    public let revokedAt: Date?
    public let lastUsedAt: Date?

    public static let idLength = 12

    /// Whether the token lets a request in at `time`.
    public func isActive(at time: Date) -> Bool { revokedAt == nil && (expiresAt.map { $0 > time } ?? true) }
}

/// What `revokeToken` did.
public enum TokenRevocation: Sendable, Equatable {
    case revoked(TokenRecord)
    case alreadyRevoked(TokenRecord)
    case unknown
    /// The id is the start of this many tokens' ids: give more of it.
    case ambiguous(Int)
}

/// Token SQL both drivers run (`?` placeholders are numbered for each driver by `numbered`).
enum TokenSQL {
    static let columns = "token_hash, store_code, scopes, created_at, expires_at, revoked_at, last_used_at"

    /// A token's last use is stamped at most once a minute: a busy API costs one write a minute per token, not one a
    /// request.
    static let lastUseResolution: Int64 = 60

    static func record(_ row: some StoredRow) throws -> TokenRecord {
        func date(_ column: String) -> Date? { row.integer(column).map { Date(timeIntervalSince1970: TimeInterval($0)) } }
        return TokenRecord(
            id: String(try row.requiredText("token_hash", table: "api_token").prefix(TokenRecord.idLength)),
            grant: TokenGrant(storeCode: try row.requiredText("store_code", table: "api_token"), scopes: StoredRows.scopes(row.text("scopes") ?? "")),
            createdAt: try row.date("created_at", table: "api_token"), expiresAt: date("expires_at"), revokedAt: date("revoked_at"),
            lastUsedAt: date("last_used_at"))
    }

    /// Whether the token's last use should be stamped at `now`.
    static func needsStamp(_ record: TokenRecord, now: Int64) -> Bool {
        guard let last = record.lastUsedAt else { return true }
        return Int64(last.timeIntervalSince1970) <= now - lastUseResolution
    }

    /// A LIKE pattern for ids starting with `id` (hex digits only: callers check).
    static func idPattern(_ id: String) -> String { id.lowercased() + "%" }
}
