import Foundation
import ShelfTagDomain
import Testing

@testable import ShelfTagStorage

/// Moves begun and ended, counted from inside the moves.
private final class MoveCount: @unchecked Sendable {
    private let lock = NSLock()
    private var began = 0
    private var ended = 0
    var counts: (began: Int, ended: Int) { lock.withLock { (began, ended) } }
    func begin() { lock.withLock { began += 1 } }
    func end() { lock.withLock { ended += 1 } }
}

@Suite("Catalogue version moves")
struct VersionMovesTests {
    @Test("each writer returns once a move that began after it asked has ended; writers that ask during a move share the next one")
    func writersShareMoves() async {
        let moves = VersionMoves()
        let count = MoveCount()
        let writers = 200
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<writers {
                group.addTask {
                    let begunBefore = count.counts.began
                    await moves.afterWrite(.everything) { _ in
                        count.begin()
                        try? await Task.sleep(for: .milliseconds(2))
                        count.end()
                    }
                    // The moves run one at a time: the first to begin after the writer asked is number begunBefore + 1.
                    #expect(count.counts.ended >= begunBefore + 1)
                }
            }
        }
        let (began, ended) = count.counts
        #expect(began == ended)
        #expect(began >= 1 && began < writers, "moves: \(began)")
    }

    @Test("a shared move logs the products of every writer it serves")
    func sharedMovesLogEveryProduct() async {
        let moves = VersionMoves()
        let logged = Logged()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<50 {
                group.addTask {
                    await moves.afterWrite(.changed([String(format: "%014d", index)])) { change in
                        try? await Task.sleep(for: .milliseconds(2))
                        logged.add(change)
                    }
                }
            }
        }
        let (products, everything) = logged.totals
        #expect(products == Set((0..<50).map { String(format: "%014d", $0) }))
        #expect(!everything)
    }
}

/// What the moves logged, gathered from inside them.
private final class Logged: @unchecked Sendable {
    private let lock = NSLock()
    private var products = Set<String>()
    private var everything = false
    var totals: (Set<String>, Bool) { lock.withLock { (products, everything) } }

    func add(_ change: CatalogChange) {
        lock.withLock {
            switch change {
            case .everything: everything = true
            case .products(let gtins): products.formUnion(gtins)
            }
        }
    }
}

@Suite("Per-product catalogue versions")
struct ChangeVersionsTests {
    @Test("a product's version is its last change or the last change to everything, whichever is newer; past capacity, everything")
    func versionsPerProduct() {
        var versions = ChangeVersions(newest: 3, capacity: 3)
        #expect(versions.version(of: "A") == 3, "everything is as new as the start")
        versions.apply([(4, "A"), (5, "B")], after: 3, through: 6)
        #expect(versions.version(of: "A") == 4 && versions.version(of: "B") == 5 && versions.version(of: "C") == 3)
        #expect(versions.latest == 6, "a version with no row of its own still counts as seen")
        // The writer notes its own write before the log's reader sees it: the older number changes nothing.
        versions.apply(.product(try! GTIN("03760001001983")), at: 8)
        versions.apply([(8, "03760001001983")], after: 6, through: 8)
        #expect(versions.version(of: "03760001001983") == 8 && versions.version(of: "A") == 4)
        versions.apply(.everything, at: 9)
        #expect(versions.version(of: "A") == 9 && versions.version(of: "C") == 9)
        versions.apply(.changed(["D", "E", "F"]), at: 10)
        #expect(versions.version(of: "A") == 10, "six products, past a capacity of three, count as everything")
        // A span the log no longer holds whole, or a first reading, is a change to everything, whatever rows came.
        let far = 10 + CatalogChange.loggedVersions
        versions.apply([(far, "A")], after: 10, through: far)
        #expect(versions.version(of: "C") == Int(far))
        versions.apply([(far + 1, "A")], after: -1, through: far + 1)
        #expect(versions.version(of: "C") == Int(far + 1))
        versions.apply([(far + 2, "A")], after: far + 1, through: far + 2)
        #expect(versions.version(of: "C") == Int(far + 1) && versions.version(of: "A") == Int(far + 2), "a covered span: its rows only")
    }

    @Test("changes merge into one; more than the limit of products is everything")
    func changesMerge() {
        let some = CatalogChange.changed(["A"]).merged(with: .changed(["B"]))
        #expect(some == .products(["A", "B"]))
        #expect(some.merged(with: .everything) == .everything)
        let many = (0...CatalogChange.productLimit).map { String($0) }
        #expect(CatalogChange.changed(many) == .everything)
        #expect(CatalogChange.changed(many.dropLast()) != .everything)
        #expect(CatalogChange.everything.loggedGTINs == [nil])
    }
}
