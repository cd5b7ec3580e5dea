import Foundation
import GRDB
import ShelfTagDomain

/// What adding associates came to; all were added, or none.
public enum AssociateAdded: Sendable, Equatable {
    case added
    /// This public code is taken: draw another.
    case codeTaken(String)
    case unknownStore(String)
}

/// An associate to add, with the hash of their sign-in secret.
public struct NewAssociate: Sendable {
    public let associate: Associate
    public let secretHash: String

    public init(_ associate: Associate, secretHash: String) {
        self.associate = associate
        self.secretHash = secretHash
    }
}

/// Store associates: who they are, their sign-in secret (its hash only), and nothing else about them. Every change
/// moves the catalogue version, so resolvers sharing the reference drop what they cached of an associate at once (a
/// revoked secret stops working everywhere).
public protocol AssociateStore: Sendable {
    /// Adds associates in one transaction: all of them, or (for a taken code or an unknown store) none.
    /// - Throws: a storage error.
    func addAssociates(_ entries: [NewAssociate], at time: Date) async throws -> AssociateAdded

    /// One store's associates (every store's when nil), ordered by store and name.
    /// - Throws: a storage error.
    func associates(store storeCode: String?) async throws -> [Associate]

    /// - Throws: a storage error.
    func associate(code: String) async throws -> Associate?

    /// Removes an associate; reservations keep the credit. False when the code is unknown.
    /// - Throws: a storage error.
    func removeAssociate(code: String) async throws -> Bool

    /// Revokes an associate's sign-in secret; links still credit them. False when the code is unknown.
    /// - Throws: a storage error.
    func revokeAssociate(code: String) async throws -> Bool

    /// Opens a session when `secretHash` is the associate's current secret's.
    /// - Returns: the associate, or nil (unknown code, wrong or revoked secret).
    /// - Throws: a storage error.
    func openSession(_ session: NewSession, code: String, secretHash: String) async throws -> Associate?

    /// The associate a session belongs to and its anti-forgery token, while it is open, unexpired and its secret current.
    /// - Throws: a storage error.
    func session(tokenHash: String, at time: Date) async throws -> (associate: Associate, csrf: String)?

    /// - Throws: a storage error.
    func closeSession(tokenHash: String) async throws

    /// Products whose title holds every word (case-insensitive for unaccented letters; accents as typed), by title.
    /// - Throws: a storage error.
    func searchProducts(words: [String], limit: Int) async throws -> [(gtin: GTIN, title: String)]

    /// - Throws: a storage error.
    func openHelpRequest(_ request: HelpRequest) async throws

    /// - Throws: a storage error.
    func helpRequest(id: String) async throws -> HelpRequest?

    /// A store's help requests still open at `time` (not closed, not lapsed), oldest first.
    /// - Throws: a storage error.
    func openHelpRequests(store storeCode: String, at time: Date) async throws -> [HelpRequest]

    /// Records that an associate of the store takes an open request (`take`) or closes it (`close`).
    /// - Returns: the request after the change, nil when it is not the store's or not in a state for it (closed or
    ///   lapsed at `time`, or, to take it, taken already).
    /// - Throws: a storage error.
    func changeHelpRequest(id: String, store storeCode: String, taking associateCode: String?, at time: Date) async throws -> HelpRequest?
}

/// A session to open: the hash of its cookie, its anti-forgery token and its lifetime.
public struct NewSession: Sendable {
    public let tokenHash: String
    public let csrf: String
    public let createdAt: Date
    public let expiresAt: Date

    public init(tokenHash: String, csrf: String, createdAt: Date, expiresAt: Date) {
        self.tokenHash = tokenHash
        self.csrf = csrf
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

extension SQLiteProductReference {
    public func addAssociates(_ entries: [NewAssociate], at time: Date) async throws -> AssociateAdded {
        do {
            return try await writing { db in
                for entry in entries {
                    let associate = entry.associate
                    guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM store WHERE code = ?)", arguments: [associate.storeCode]) == true else {
                        throw Refusal(outcome: .unknownStore(associate.storeCode))
                    }
                    try db.execute(
                        sql: "INSERT OR IGNORE INTO associate (code, store_code, name, languages, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                        arguments: [
                            associate.code, associate.storeCode, associate.name, associate.languages.joined(separator: ","), entry.secretHash,
                            Int64(time.timeIntervalSince1970),
                        ])
                    guard db.changesCount == 1 else { throw Refusal(outcome: .codeTaken(associate.code)) }
                }
                try Self.bumpCatalogVersion(db, .everything)
                return .added
            }
        } catch let refusal as Refusal {
            return refusal.outcome
        }
    }

    public func associates(store storeCode: String?) async throws -> [Associate] {
        try await reading { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM associate WHERE ?1 IS NULL OR store_code = ?1 ORDER BY store_code, name, code", arguments: [storeCode]
            ).map(StoredRows.associate)
        }
    }

    public func associate(code: String) async throws -> Associate? {
        try await reading { db in try Row.fetchOne(db, sql: "SELECT * FROM associate WHERE code = ?", arguments: [code]).map(StoredRows.associate) }
    }

    public func removeAssociate(code: String) async throws -> Bool {
        try await changeAssociate("DELETE FROM associate WHERE code = ?", code: code)
    }

    public func revokeAssociate(code: String) async throws -> Bool {
        try await changeAssociate("UPDATE associate SET secret_hash = NULL WHERE code = ?", code: code)
    }

    public func openSession(_ session: NewSession, code: String, secretHash: String) async throws -> Associate? {
        try await writing { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM associate WHERE code = ? AND secret_hash = ?", arguments: [code, secretHash])
            else { return nil }
            try db.execute(
                sql: """
                    INSERT INTO associate_session (token_hash, associate_code, secret_hash, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    session.tokenHash, code, secretHash, session.csrf, Int64(session.createdAt.timeIntervalSince1970),
                    Int64(session.expiresAt.timeIntervalSince1970),
                ])
            return try StoredRows.associate(row)
        }
    }

    public func session(tokenHash: String, at time: Date) async throws -> (associate: Associate, csrf: String)? {
        try await reading { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT a.*, s.csrf FROM associate_session s JOIN associate a ON a.code = s.associate_code AND a.secret_hash = s.secret_hash
                        WHERE s.token_hash = ? AND s.expires_at > ?
                        """, arguments: [tokenHash, Int64(time.timeIntervalSince1970)])
            else { return nil }
            return (try StoredRows.associate(row), row["csrf"])
        }
    }

    public func closeSession(tokenHash: String) async throws {
        try await writing { db in try db.execute(sql: "DELETE FROM associate_session WHERE token_hash = ?", arguments: [tokenHash]) }
    }

    public func searchProducts(words: [String], limit: Int) async throws -> [(gtin: GTIN, title: String)] {
        guard !words.isEmpty else { return [] }
        return try await reading { db in
            let condition = words.map { _ in "title LIKE ? ESCAPE '\\'" }.joined(separator: " AND ")
            let rows = try Row.fetchAll(
                db, sql: "SELECT gtin, title FROM product WHERE \(condition) ORDER BY title, gtin LIMIT ?",
                arguments: StatementArguments(words.map(Schema.containsPattern) + [limit]))
            return try rows.map { (try StoredRows.gtin($0["gtin"]), $0["title"]) }
        }
    }

    public func openHelpRequest(_ request: HelpRequest) async throws {
        try await writing { db in
            try db.execute(
                sql: "INSERT INTO help_request (id, store_code, gtin, tag_id, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [request.id, request.storeCode, request.gtin.digits, request.tagID, Int64(request.createdAt.timeIntervalSince1970)])
        }
    }

    public func helpRequest(id: String) async throws -> HelpRequest? {
        try await reading { db in try Row.fetchOne(db, sql: "SELECT * FROM help_request WHERE id = ?", arguments: [id]).map(StoredRows.helpRequest) }
    }

    public func openHelpRequests(store storeCode: String, at time: Date) async throws -> [HelpRequest] {
        try await reading { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM help_request WHERE store_code = ? AND closed_at IS NULL AND created_at > ? ORDER BY created_at, id",
                arguments: [storeCode, HelpRequest.openSince(time)]
            ).map(StoredRows.helpRequest)
        }
    }

    public func changeHelpRequest(id: String, store storeCode: String, taking associateCode: String?, at time: Date) async throws -> HelpRequest? {
        try await writing { db in
            let now = Int64(time.timeIntervalSince1970)
            if let associateCode {
                try db.execute(
                    sql: """
                        UPDATE help_request SET taken_by = ?, taken_at = ?
                        WHERE id = ? AND store_code = ? AND closed_at IS NULL AND taken_by IS NULL AND created_at > ?
                        """,
                    arguments: [associateCode, now, id, storeCode, HelpRequest.openSince(time)])
            } else {
                try db.execute(
                    sql: "UPDATE help_request SET closed_at = ? WHERE id = ? AND store_code = ? AND closed_at IS NULL AND created_at > ?",
                    arguments: [now, id, storeCode, HelpRequest.openSince(time)])
            }
            guard db.changesCount == 1 else { return nil }
            return try Row.fetchOne(db, sql: "SELECT * FROM help_request WHERE id = ?", arguments: [id]).map(StoredRows.helpRequest)
        }
    }

    private func changeAssociate(_ sql: String, code: String) async throws -> Bool {
        try await writing { db in
            try db.execute(sql: sql, arguments: [code])
            guard db.changesCount == 1 else { return false }
            try Self.bumpCatalogVersion(db, .everything)
            return true
        }
    }
}

/// Thrown inside a transaction to roll it back with an outcome to report.
struct Refusal: Error {
    let outcome: AssociateAdded
}

extension HelpRequest {
    /// Unix seconds after which a request made is still open at `time` (one made at or before it has lapsed).
    static func openSince(_ time: Date) -> Int64 { Int64(time.addingTimeInterval(-lapsesAfter).timeIntervalSince1970) }
}
