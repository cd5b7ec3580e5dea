import GRDB
import Testing

@testable import ShelfTagStorage

@Suite("SQLite rows read through the C API")
struct SQLiteRowTests {
    @Test("text, integers, reals and NULL convert as GRDB converts them; a repeated name reads its first column; the statement stays usable")
    func readsLikeGRDB() throws {
        let queue = try DatabaseQueue()
        try queue.read { db in
            let statement = try db.cachedStatement(
                sql: "SELECT 'a' AS name, 7 AS count, 2.5 AS ratio, 3.0 AS whole, NULL AS missing, 'b' AS name, ? AS bound, 'Crète ☕' AS word")
            let rows = try SQLiteRow.fetchAll(statement, arguments: ["x"])
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
            #expect(try SQLiteRow.fetchAll(statement, arguments: ["y"]).first?.text("bound") == "y")
            #expect(try String.fetchOne(statement, arguments: ["z"]) == "a")
        }
        let many = try queue.read { db in
            try SQLiteRow.fetchAll(db.makeStatement(sql: "SELECT value FROM json_each('[1, 2, 3]') ORDER BY value DESC"), arguments: [])
        }
        #expect(many.map { $0.integer("value") } == [3, 2, 1])
    }
}
