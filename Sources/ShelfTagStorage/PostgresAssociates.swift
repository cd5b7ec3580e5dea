import Foundation
import PostgresNIO
import ShelfTagDomain

extension PostgresProductReference {
    public func addAssociates(_ entries: [NewAssociate], at time: Date) async throws -> AssociateAdded {
        let logger = logger
        do {
            try await transaction { connection in
                for entry in entries {
                    let associate = entry.associate
                    let languages = associate.languages.joined(separator: ",")
                    let row = try await Self.rows(
                        connection.query(
                            """
                            WITH inserted AS (
                                INSERT INTO associate (code, store_code, name, languages, secret_hash, created_at)
                                SELECT \(associate.code), code, \(associate.name), \(languages), \(entry.secretHash), \(Int64(time.timeIntervalSince1970))
                                FROM store WHERE code = \(associate.storeCode)
                                ON CONFLICT DO NOTHING RETURNING 1)
                            SELECT (SELECT count(*) FROM inserted) AS inserted, (SELECT count(*) FROM store WHERE code = \(associate.storeCode)) AS store
                            """, logger: logger)
                    ).first
                    guard row?.integer("store") == 1 else { throw Refusal(outcome: .unknownStore(associate.storeCode)) }
                    guard row?.integer("inserted") == 1 else { throw Refusal(outcome: .codeTaken(associate.code)) }
                }
            }
        } catch let refusal as Refusal {
            return refusal.outcome
        }
        await moveCatalogVersion()
        return .added
    }

    public func associates(store storeCode: String?) async throws -> [Associate] {
        let logger = logger
        return try await database { connection in
            try await Self.rows(
                connection.query(
                    "SELECT * FROM associate WHERE \(storeCode)::text IS NULL OR store_code = \(storeCode) ORDER BY store_code, name, code",
                    logger: logger)
            ).map(StoredRows.associate)
        }
    }

    public func associate(code: String) async throws -> Associate? {
        let logger = logger
        return try await database { connection in
            try await Self.rows(connection.query("SELECT * FROM associate WHERE code = \(code)", logger: logger)).first.map(StoredRows.associate)
        }
    }

    public func removeAssociate(code: String) async throws -> Bool {
        try await changeAssociate("DELETE FROM associate WHERE code = \(code) RETURNING 1")
    }

    public func revokeAssociate(code: String) async throws -> Bool {
        try await changeAssociate("UPDATE associate SET secret_hash = NULL WHERE code = \(code) RETURNING 1")
    }

    private func changeAssociate(_ query: PostgresQuery) async throws -> Bool {
        let logger = logger
        let changed = try await database { connection in try await !Self.rows(connection.query(query, logger: logger)).isEmpty }
        if changed { await moveCatalogVersion() }
        return changed
    }
}
