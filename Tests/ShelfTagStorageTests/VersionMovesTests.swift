import Foundation
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
                    await moves.afterWrite {
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
}
