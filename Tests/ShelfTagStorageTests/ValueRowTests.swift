import GRDB
import ShelfTagTestSupport
import Testing

@testable import ShelfTagStorage

@Suite("Value rows: SQLite's read through its C API, PostgreSQL's unzipped from arrays")
struct ValueRowTests {
    @Test("text, integers, reals and NULL convert as GRDB converts them; a repeated name reads its first column; the statement stays usable")
    func readsLikeGRDB() throws {
        let queue = try DatabaseQueue()
        try queue.read { db in
            let statement = try db.cachedStatement(
                sql: "SELECT 'a' AS name, 7 AS count, 2.5 AS ratio, 3.0 AS whole, NULL AS missing, 'b' AS name, ? AS bound, 'Crète ☕' AS word")
            let rows = try ValueRow.fetchAll(statement, arguments: ["x"])
            #expect(rows.count == 1)
            let row = try #require(rows.first)
            #expect(row.text("name") == "a" && row.text(at: 5) == "b")
            #expect(row.integer("count") == 7 && row.real("count") == 7 && row.text("count") == nil)
            #expect(row.real("ratio") == 2.5 && row.integer("ratio") == nil)
            #expect(row.integer("whole") == 3)
            #expect(row.text("missing") == nil && row.integer("missing") == nil && row.real("missing") == nil)
            #expect(row.text("bound") == "x" && row.text("word") == "Crète ☕")
            #expect(row.text("absent") == nil && row.integer(at: 99) == nil)
            // The same statement again, with other arguments, then through GRDB: nothing left bound or stepped.
            #expect(try ValueRow.fetchAll(statement, arguments: ["y"]).first?.text("bound") == "y")
            #expect(try String.fetchOne(statement, arguments: ["z"]) == "a")
        }
        let many = try queue.read { db in
            try ValueRow.fetchAll(db.makeStatement(sql: "SELECT value FROM json_each('[1, 2, 3]') ORDER BY value DESC"), arguments: [])
        }
        #expect(many.map { $0.integer("value") } == [3, 2, 1])
    }

    @Test("PostgreSQL arrays unzip into rows: text, bigint, integer, double and NULL elements; an aggregate over no rows is none; other types are refused")
    func postgresArraysUnzip() async throws {
        try await withNewReference(.postgres) { reference in
            let postgres = try #require(reference as? PostgresProductReference)
            let logger = postgres.logger
            let rows = try await postgres.database { session in
                try await PostgresProductReference.rows(
                    session.query(
                        """
                        SELECT array_agg(t) AS v_t, array_agg(i) AS v_i, array_agg(r) AS v_r, array_agg(s) AS v_s,
                            (SELECT array_agg(x) FROM (SELECT 1 WHERE false) q(x)) AS e_x, array_agg(b) AS b_b, array_agg(t) FILTER (WHERE i > 0) AS w_t, array_agg(i) AS w_i
                        FROM (VALUES ('a', 1::bigint, 2.5::float8, 3::int4, true), (NULL, NULL, NULL, NULL, NULL), ('Crète ☕', -9, 3.0, -2, false))
                            v(t, i, r, s, b)
                        """, logger: logger))
            }
            let row = try #require(rows.first).columns
            let values = try ValueRow.unzipped(row, ArrayColumns(["t", "i", "r", "s"], prefix: "v_"))
            #expect(values.count == 3)
            #expect(values.map { $0.text("t") } == ["a", nil, "Crète ☕"])
            #expect(values.map { $0.integer("i") } == [1, nil, -9])
            #expect(values.map { $0.real("r") } == [2.5, nil, 3.0] && values[2].integer("r") == 3 && values[0].integer("r") == nil)
            #expect(values.map { $0.integer("s") } == [3, nil, -2])
            #expect(try ValueRow.unzipped(row, ArrayColumns(["x"], prefix: "e_")).isEmpty)
            #expect(throws: StorageError.self) { try ValueRow.unzipped(row, ArrayColumns(["b"], prefix: "b_")) }
            #expect(throws: StorageError.self) { try ValueRow.unzipped(row, ArrayColumns(["t", "i"], prefix: "w_")) }
            #expect(throws: StorageError.self) { try ValueRow.unzipped(row, ArrayColumns(["missing"], prefix: "v_")) }
        }
    }
}
