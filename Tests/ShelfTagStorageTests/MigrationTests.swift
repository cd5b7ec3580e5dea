import Foundation
import ShelfTagDomain
import ShelfTagStorage
import ShelfTagTestSupport
import Testing

@Suite("Moving a SQLite reference into PostgreSQL")
struct MigrationTests {
    @Test("every table moves as it is: both read back the same, new rows follow the copied ids, and a second copy into it is refused")
    func movesEverything() async throws {
        let sqlite = try SQLiteProductReference(path: try await sampleDatabase())
        // Rows in every table: prints, scans, a token, reservations.
        let shelf = try #require(try await sqlite.shelf(of: "PAR01"))
        let printedAt = try time("2026-11-21T06:00Z")
        try await sqlite.recordPrints(shelf.items.prefix(20).map { PrintedTag(label: $0.label(at: printedAt), template: "standard", printedAt: printedAt) })
        try await sqlite.recordScans([Scan(time: now, storeCode: "PAR01", gtin: coffee, tagID: nil, stale: true, format: .html)])
        try await sqlite.saveToken(hash: "hash-1", grant: TokenGrant(storeCode: "PAR01", scopes: [.stock]), createdAt: now, expiresAt: nil)
        try await setStock(sqlite, 10)
        #expect(try await sqlite.claim(key: "key-1", fingerprint: "f", at: now, abandonedAfter: 60) == .started)
        let lea = Associate(code: "LEA23", storeCode: "PAR01", name: "Léa", languages: ["fr"])
        #expect(try await sqlite.addAssociates([NewAssociate(lea, secretHash: "secret-1")], at: now) == .added)
        var credited = try request(quantity: 2)
        credited.associateCode = "LEA23"
        let held = try await sqlite.hold(credited, at: now, until: now.addingTimeInterval(3600), key: "key-1")
        try await sqlite.recordClickOut(store: "PAR01", gtin: coffee, associateCode: "LEA23", at: now)
        let session = NewSession(tokenHash: "session-1", csrf: "csrf-1", createdAt: now, expiresAt: now.addingTimeInterval(3600))
        #expect(try await sqlite.openSession(session, code: "LEA23", secretHash: "secret-1") == lea)
        let help = HelpRequest(id: "help-1", storeCode: "PAR01", gtin: coffee, tagID: nil, createdAt: now)
        try await sqlite.openHelpRequest(help)

        let name = try await TestCluster.createDatabase()
        guard case .postgres(let location) = try ReferenceLocation(try TestCluster.url(database: name)) else { throw TestCluster.Missing() }
        try await PostgresProductReference.with(location) { postgres in
            let migrated = try await TestCluster.schemaDefinitions(database: name)
            let report = try await ReferenceMigration.copy(from: sqlite, to: postgres)
            #expect(try await TestCluster.schemaDefinitions(database: name) == migrated, "the constraints and indexes dropped for the copy are back")
            #expect(
                report.rows.map(\.table) == [
                    "store", "product", "store_offer", "review", "price_history", "print_ledger", "scan", "api_token", "reservation", "idempotency_key",
                    "associate", "clickout", "associate_session", "help_request",
                ])
            #expect(report.rows.allSatisfy { $0.count > 0 })
            #expect(try await readings(of: postgres) == readings(of: sqlite))
            #expect(try await postgres.reservations(store: "PAR01", closedSince: nil) == sqlite.reservations(store: "PAR01", closedSince: nil))
            #expect(try await postgres.claim(key: "key-1", fingerprint: "f", at: now, abandonedAfter: 60) == .completed(held))
            #expect(try await postgres.grant(forTokenHash: "hash-1", at: Date()) == TokenGrant(storeCode: "PAR01", scopes: [.stock]))
            #expect(try await postgres.associate(code: "LEA23") == lea)
            #expect(try await postgres.session(tokenHash: "session-1", at: now)?.csrf == "csrf-1")
            #expect(try await postgres.helpRequest(id: "help-1") == help)
            #expect(try await postgres.associateFigures(store: nil, since: nil) == sqlite.associateFigures(store: nil, since: nil))
            let scans = try await postgres.scanCounts(store: nil, since: nil)
            #expect(scans.map(\.scans) == (try await sqlite.scanCounts(store: nil, since: nil)).map(\.scans))
            // Ids drawn after the copy follow the copied ones.
            try await postgres.recordPrints(shelf.items.suffix(5).map { PrintedTag(label: $0.label(at: now), template: "standard", printedAt: now) })
            #expect(try await postgres.latestPrints(in: "PAR01").count == 25)
            await #expect(throws: MigrationError.self) { try await ReferenceMigration.copy(from: sqlite, to: postgres) }
        }
        await TestCluster.drop(name)
    }
}
