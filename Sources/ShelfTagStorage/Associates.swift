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
                try Self.bumpCatalogVersion(db)
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

    private func changeAssociate(_ sql: String, code: String) async throws -> Bool {
        try await writing { db in
            try db.execute(sql: sql, arguments: [code])
            guard db.changesCount == 1 else { return false }
            try Self.bumpCatalogVersion(db)
            return true
        }
    }
}

/// Thrown inside a transaction to roll it back with an outcome to report.
struct Refusal: Error {
    let outcome: AssociateAdded
}
