import Foundation
import ShelfTagDomain
import ShelfTagRender
import ShelfTagStorage
import ShelfTagTestSupport
import Testing

/// The instant the tags are priced at.
private let batchTime = try! time("2026-11-23T10:00Z")

@Suite("The batch renderer")
struct BatchRendererTests {
    @Test("tags are drawn while the feed is still open, in the feed's order; a feed cancelled empty writes nothing")
    func streamedFeed() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let shelf = try #require(try await reference.shelf(of: "PAR01"))
        let standard = try template("standard")
        let wording = try tagWording()
        let jobs = shelf.items.prefix(6).map { item in
            TagJob(
                content: TagContent(
                    item: item, label: item.label(at: batchTime), baseURL: "https://s.shelftag.example", wording: wording, printedOn: "23/11/2026"),
                template: standard)
        }
        let directory = try newDirectory()
        let feed = TagJobFeed()
        let firstDrawn = DispatchSemaphore(value: 0)
        let outcome = Locked<Result<[RenderedTag], RenderError>?>(nil)
        let finished = DispatchGroup()
        DispatchQueue.global().async(group: finished) {
            do throws(RenderError) {
                let result = try BatchRenderer.render(
                    feed, templates: [standard], settings: RenderSettings(workers: 2), sheet: nil, directory: directory, subdirectory: "PAR01",
                    progress: { if $0 == 1 { firstDrawn.signal() } })
                outcome.value = .success(result.rendered)
            } catch {
                outcome.value = .failure(error)
            }
        }
        feed.append(jobs[0])
        // A render that waited for the whole feed would draw nothing yet.
        #expect(firstDrawn.wait(timeout: .now() + 30) == .success)
        for job in jobs.dropFirst() { feed.append(job) }
        feed.finish()
        finished.wait()
        let rendered = try #require(try outcome.value?.get())
        #expect(rendered.map(\.content.label.gtin) == jobs.map(\.content.label.gtin))
        for job in jobs { #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("PAR01/\(job.content.label.gtin.digits).png").path)) }

        let cancelled = TagJobFeed()
        cancelled.cancel()
        let empty = try BatchRenderer.render(
            cancelled, templates: [standard], settings: RenderSettings(), sheet: nil, directory: directory, subdirectory: "EMPTY")
        #expect(empty.rendered.isEmpty && empty.failed.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("EMPTY").path))
    }
}

/// A value shared between threads.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) { stored = value }

    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
