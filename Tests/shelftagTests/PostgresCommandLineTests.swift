import Foundation
import ShelfTagTestSupport
import Testing

@Suite("shelftag command line on PostgreSQL")
struct PostgresCommandLineTests {
    @Test("a PostgreSQL URL's password shows nowhere: not in --help, not in the error of a server that cannot be reached")
    func passwordNeverShown() async throws {
        let secret = "s3cret-Pa55"
        let help = try await CommandLine.run(["products", "list", "--help"], environment: ["SHELFTAG_DB": "postgresql://shop:\(secret)@db.example:5432/ref"])
        #expect(help.status == 0 && help.output.contains("postgresql://") && !help.output.contains(secret))
        // Nothing listens on port 9 of this machine.
        let unreachable = try await CommandLine.run(["products", "list", "--db", "postgresql://shop:\(secret)@127.0.0.1:9/ref?sslmode=disable"])
        #expect(unreachable.status == 2)
        let lines = unreachable.errors.split(separator: "\n")
        #expect(lines.count == 1, "one line: \(unreachable.errors)")
        #expect(unreachable.errors.contains("127.0.0.1:9") && unreachable.errors.contains("ref"))
        #expect(!unreachable.errors.contains(secret) && !unreachable.output.contains(secret))
        let malformed = try await CommandLine.run(["products", "list", "--db", "postgresql://:\(secret)@host/ref"])
        #expect(malformed.status == 2 && malformed.errors.contains("names no user") && !malformed.errors.contains(secret))
    }

    @Test("import, products, render and parity work on a real PostgreSQL reference as on SQLite")
    func commandsOnPostgres() async throws {
        let name = try await TestCluster.createDatabase()
        let url = try TestCluster.url(database: name)
        let sqlite = try CommandLine.temporaryDatabase()
        for db in [url, sqlite] {
            let loaded = try await CommandLine.importSamples(into: db)
            #expect(loaded.status == 0, "\(loaded.errors)")
        }
        let listed = try await CommandLine.run(["products", "list", "--db", url])
        #expect(listed.status == 0 && listed.output.split(separator: "\n").count == 212)
        #expect(listed.output == (try await CommandLine.run(["products", "list", "--db", sqlite])).output)
        let parity = ["parity", "--at", "2026-11-23T10:00Z", "--format", "json"]
        #expect(try await CommandLine.run(parity + ["--db", url]).output == (try await CommandLine.run(parity + ["--db", sqlite])).output)
        let token = try await CommandLine.run(["token", "create", "--db", url, "--store", "PAR01", "--scope", "stock"])
        #expect(token.status == 0 && token.output.hasPrefix("st_"))
        await TestCluster.drop(name)

        // The SQLite reference moved into an empty PostgreSQL one reads the same; a second move is refused.
        let target = try await TestCluster.createDatabase()
        let moved = try await CommandLine.run(["migrate", "--from", sqlite, "--to", try TestCluster.url(database: target)])
        #expect(moved.status == 0 && moved.output.contains("product\t212"), "\(moved.errors)")
        #expect(try await CommandLine.run(["products", "list", "--db", try TestCluster.url(database: target)]).output == listed.output)
        let again = try await CommandLine.run(["migrate", "--from", sqlite, "--to", try TestCluster.url(database: target)])
        #expect(again.status == 2 && again.errors.contains("nothing was copied") && again.errors.contains("empty database"))
        await TestCluster.drop(target)
    }
}
