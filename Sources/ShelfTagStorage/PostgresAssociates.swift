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
        await moveCatalogVersion(.everything)
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

    public func openSession(_ session: NewSession, code: String, secretHash: String) async throws -> Associate? {
        let logger = logger
        return try await database { connection in
            try await Self.rows(
                connection.query(
                    """
                    WITH opened AS (
                        INSERT INTO associate_session (token_hash, associate_code, secret_hash, csrf, created_at, expires_at)
                        SELECT \(session.tokenHash), code, secret_hash, \(session.csrf), \(Int64(session.createdAt.timeIntervalSince1970)),
                            \(Int64(session.expiresAt.timeIntervalSince1970))
                        FROM associate WHERE code = \(code) AND secret_hash = \(secretHash) RETURNING associate_code)
                    SELECT a.* FROM associate a JOIN opened o ON o.associate_code = a.code
                    """, logger: logger)
            ).first.map(StoredRows.associate)
        }
    }

    public func session(tokenHash: String, at time: Date) async throws -> (associate: Associate, csrf: String)? {
        let logger = logger
        return try await database { connection in
            guard
                let row = try await Self.rows(
                    connection.query(
                        """
                        SELECT a.*, s.csrf FROM associate_session s JOIN associate a ON a.code = s.associate_code AND a.secret_hash = s.secret_hash
                        WHERE s.token_hash = \(tokenHash) AND s.expires_at > \(Int64(time.timeIntervalSince1970))
                        """, logger: logger)
                ).first
            else { return nil }
            return (try StoredRows.associate(row), row.text("csrf") ?? "")
        }
    }

    public func closeSession(tokenHash: String) async throws {
        let logger = logger
        try await database { connection in
            try await connection.query("DELETE FROM associate_session WHERE token_hash = \(tokenHash)", logger: logger)
        }
    }

    public func searchProducts(words: [String], limit: Int) async throws -> [(gtin: GTIN, title: String)] {
        guard !words.isEmpty else { return [] }
        let logger = logger
        return try await database { connection in
            var bindings = PostgresBindings()
            for word in words { bindings.append(Schema.containsPattern(word)) }
            bindings.append(Int64(limit))
            // SQLite's LIKE folds the case of ASCII letters only, and it orders text byte by byte: so does `lower` under the
            // C collation, and the order here. (`translate` of the 26 letters cost 4.2 s over a million titles where
            // this costs 0.23 s, beyond a request's bound.)
            let fold = { (text: String) in "lower(\(text) COLLATE \"C\")" }
            let condition = (1...words.count).map { "\(fold("title")) LIKE \(fold("$\($0)")) ESCAPE '\\'" }.joined(separator: " AND ")
            let sql = "SELECT gtin, title FROM product WHERE \(condition) ORDER BY title COLLATE \"C\", gtin LIMIT $\(words.count + 1)"
            return try await Self.rows(connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)).map {
                (try StoredRows.gtin($0.text("gtin") ?? ""), $0.text("title") ?? "")
            }
        }
    }

    public func openHelpRequest(_ request: HelpRequest) async throws {
        let logger = logger
        try await database { connection in
            try await connection.query(
                """
                INSERT INTO help_request (id, store_code, gtin, tag_id, created_at)
                VALUES (\(request.id), \(request.storeCode), \(request.gtin.digits), \(request.tagID), \(Int64(request.createdAt.timeIntervalSince1970)))
                """, logger: logger)
        }
    }

    public func helpRequest(id: String) async throws -> HelpRequest? {
        let logger = logger
        return try await database { connection in
            try await Self.rows(connection.query("SELECT * FROM help_request WHERE id = \(id)", logger: logger)).first.map(StoredRows.helpRequest)
        }
    }

    public func openHelpRequests(store storeCode: String, at time: Date) async throws -> [HelpRequest] {
        let logger = logger
        let since = HelpRequest.openSince(time)
        return try await database { connection in
            try await Self.rows(
                connection.query(
                    "SELECT * FROM help_request WHERE store_code = \(storeCode) AND closed_at IS NULL AND created_at > \(since) ORDER BY created_at, id",
                    logger: logger)
            ).map(StoredRows.helpRequest)
        }
    }

    public func changeHelpRequest(id: String, store storeCode: String, taking associateCode: String?, at time: Date) async throws -> HelpRequest? {
        let logger = logger
        let now = Int64(time.timeIntervalSince1970)
        let since = HelpRequest.openSince(time)
        return try await database { connection in
            let query: PostgresQuery =
                if let associateCode {
                    """
                    UPDATE help_request SET taken_by = \(associateCode), taken_at = \(now)
                    WHERE id = \(id) AND store_code = \(storeCode) AND closed_at IS NULL AND taken_by IS NULL AND created_at > \(since) RETURNING *
                    """
                } else {
                    """
                    UPDATE help_request SET closed_at = \(now)
                    WHERE id = \(id) AND store_code = \(storeCode) AND closed_at IS NULL AND created_at > \(since) RETURNING *
                    """
                }
            return try await Self.rows(connection.query(query, logger: logger)).first.map(StoredRows.helpRequest)
        }
    }

    private func changeAssociate(_ query: PostgresQuery) async throws -> Bool {
        let logger = logger
        let changed = try await database { connection in try await !Self.rows(connection.query(query, logger: logger)).isEmpty }
        if changed { await moveCatalogVersion(.everything) }
        return changed
    }
}
