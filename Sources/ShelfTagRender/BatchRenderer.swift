import Foundation
import ShelfTagDomain

/// How tags are drawn and written.
public struct RenderSettings: Sendable {
    /// 203, 300 or 600.
    public var dpi: Int
    public var format: PixelFormat
    public var correction: ErrorCorrection
    /// Threads drawing at once; every core by default.
    public var workers: Int

    public static let supportedResolutions = [203, 300, 600]

    public init(dpi: Int = 300, format: PixelFormat = .grey, correction: ErrorCorrection = .medium, workers: Int = ProcessInfo.processInfo.activeProcessorCount)
    {
        self.dpi = dpi
        self.format = format
        self.correction = correction
        self.workers = max(1, workers)
    }
}

/// One tag to draw, with the template it gets.
public struct TagJob: Sendable {
    public let content: TagContent
    public let template: TagTemplate

    public init(content: TagContent, template: TagTemplate) {
        self.content = content
        self.template = template
    }
}

/// A tag that was written: where, and how its QR code came out.
public struct RenderedTag: Sendable {
    public let content: TagContent
    public let template: String
    /// Path relative to the output directory: the tag's own PNG or the sheet it is on.
    public let file: String
    public let qrCode: QRPlacement?
}

/// A tag that could not be drawn, and why.
public struct FailedTag: Sendable {
    public let content: TagContent
    public let reason: TagDrawingError
}

/// Why a batch stopped.
public enum RenderError: Error, CustomStringConvertible {
    case cannotWrite(path: String, reason: String)
    case encoding(PNGEncodingError)
    case font(FontError)

    public var description: String {
        switch self {
        case .cannotWrite(let path, let reason): "cannot write \(path): \(reason)"
        case .encoding(let error): error.description
        case .font(let error): error.description
        }
    }
}

/// Jobs passed from whoever reads them to the workers drawing them: a print run appends each tag's job as the shelf
/// streams in from the database, and the first tags are drawn while the rest load.
public final class TagJobFeed: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [TagJob] = []
    private var isFinished = false
    private var isCancelled = false

    /// An open feed: jobs come through `append` until `finish`.
    public init() {}

    /// A finished feed of `jobs`.
    public init(_ jobs: [TagJob]) {
        self.jobs = jobs
        isFinished = true
    }

    public func append(_ job: TagJob) {
        condition.lock()
        jobs.append(job)
        // Every waiter: each waits for its own index.
        condition.broadcast()
        condition.unlock()
    }

    /// No more jobs: the workers draw those appended, then stop.
    public func finish() {
        condition.lock()
        isFinished = true
        condition.broadcast()
        condition.unlock()
    }

    /// No more jobs, and none not yet taken gets drawn.
    public func cancel() {
        condition.lock()
        isCancelled = true
        isFinished = true
        condition.broadcast()
        condition.unlock()
    }

    /// The jobs appended so far.
    public var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count
    }

    /// The job at `index`, waiting until it is appended; nil when the feed finishes (or is cancelled) without it.
    func job(at index: Int) -> TagJob? {
        condition.lock()
        defer { condition.unlock() }
        while index >= jobs.count && !isFinished { condition.wait() }
        return index < jobs.count && !isCancelled ? jobs[index] : nil
    }

    /// Every job, once the feed is finished.
    func allJobs() -> [TagJob] {
        condition.lock()
        defer { condition.unlock() }
        while !isFinished { condition.wait() }
        return isCancelled ? [] : jobs
    }
}

/// Draws tags on every core and writes them (or the sheets they are imposed on) atomically.
public enum BatchRenderer {
    /// One output file: a single tag, or a sheet page of tags sharing a template.
    private struct Unit {
        /// The file's name in the run's folder.
        let name: String
        let jobs: Range<Int>
        let sheet: SheetLayout?
    }

    /// Renders the feed's jobs into `directory/<subdirectory>/`: `<gtin14>.png` each, drawn as they arrive, or, with a
    /// layout, `sheets/<template>-NNN.png` once the feed is finished. `templates` are those the jobs use: their fonts
    /// are loaded up front. Nothing is created when the feed finishes empty. Each file appears only once complete (see
    /// `OutputFolder`), so an interrupted run leaves no half-written file.
    /// - Parameter progress: called from the workers with the number of tags done so far.
    /// - Throws: `RenderError` when a font cannot be read or a file cannot be written.
    public static func render(
        _ feed: TagJobFeed, templates: [TagTemplate], settings: RenderSettings, sheet: SheetLayout?, directory: URL, subdirectory: String,
        progress: @escaping @Sendable (Int) -> Void = { _ in }
    ) throws(RenderError) -> (rendered: [RenderedTag], failed: [FailedTag]) {
        guard feed.job(at: 0) != nil else { return ([], []) }
        // Tags are drawn in the feed's order as it fills; sheets group the jobs by template, so they wait for all of them.
        let jobs: TagJobFeed
        let units: [Unit]?
        if let sheet {
            let ordered = feed.allJobs().enumerated().sorted { ($0.element.template.name, $0.offset) < ($1.element.template.name, $1.offset) }
            jobs = TagJobFeed(ordered.map(\.element))
            units = plan(ordered.map(\.element), sheet: sheet)
        } else {
            jobs = feed
            units = nil
        }
        // Strings, not URLs: appending a component to a file URL costs a `stat`, 10,000 of them here.
        let relativeFolder = sheet == nil ? subdirectory : "\(subdirectory)/sheets"
        let folder = try OutputFolder(path: "\(directory.path)/\(relativeFolder)")
        let results = WorkerResults(count: settings.workers)
        let done = Counter()
        // Units are handed out one at a time rather than split up front: a worker that falls behind (a busier core,
        // longer names) does not keep the others waiting at the end (130 ms of a 1.5 s run when split in halves).
        let taken = Counter()
        /// The next unit to draw, nil when there are no more.
        @Sendable func nextUnit() -> Unit? {
            let index = taken.add(1) - 1
            if let units { return index < units.count ? units[index] : nil }
            guard let job = jobs.job(at: index) else { return nil }
            return Unit(name: "\(job.content.label.gtin.digits).png", jobs: index..<(index + 1), sheet: nil)
        }
        DispatchQueue.concurrentPerform(iterations: settings.workers) { worker in
            do {
                let drawer = try TagDrawer(dpi: settings.dpi, correction: settings.correction, templates: templates)
                var rendered: [(Int, RenderedTag)] = []
                var failed: [(Int, FailedTag)] = []
                while let unit = nextUnit() {
                    let file = "\(relativeFolder)/\(unit.name)"
                    var rasters: [Raster] = []
                    var template: TagTemplate?
                    for index in unit.jobs {
                        // Taken already: a unit's jobs are in the feed.
                        guard let job = jobs.job(at: index) else { break }
                        template = job.template
                        do throws(TagDrawingError) {
                            let (raster, qr) = try drawer.draw(job.template, job.content)
                            rasters.append(raster)
                            rendered.append((index, RenderedTag(content: job.content, template: job.template.name, file: file, qrCode: qr)))
                        } catch {
                            failed.append((index, FailedTag(content: job.content, reason: error)))
                        }
                    }
                    progress(done.add(unit.jobs.count))
                    guard !rasters.isEmpty, let template else { continue }
                    let image = unit.sheet.map { SheetComposer(layout: $0, template: template, drawer: drawer).compose(rasters) } ?? rasters[0]
                    try write(image, to: folder, name: unit.name, settings: settings)
                }
                results.set(worker, .success((rendered, failed)))
            } catch let error as RenderError {
                results.set(worker, .failure(error))
            } catch let error as FontError {
                results.set(worker, .failure(.font(error)))
            } catch {
                results.set(worker, .failure(.cannotWrite(path: directory.path, reason: "\(error)")))
            }
        }
        var rendered: [(Int, RenderedTag)] = []
        var failed: [(Int, FailedTag)] = []
        for result in results.values {
            switch result {
            case .success(let part):
                rendered += part.0
                failed += part.1
            case .failure(let error): throw error
            case nil: break
            }
        }
        // The flush waits on the disk; ordering the results meanwhile waits on nothing.
        let flushed = DispatchGroup()
        DispatchQueue.global().async(group: flushed) { folder.flushToDisk() }
        // Workers interleave; the manifest follows the order the jobs were drawn in.
        rendered.sort { $0.0 < $1.0 }
        failed.sort { $0.0 < $1.0 }
        let outcome = (rendered.map(\.1), failed.map(\.1))
        flushed.wait()
        return outcome
    }

    /// Sheet pages: as many tags on each as the layout holds, a template's tags together.
    private static func plan(_ jobs: [TagJob], sheet: SheetLayout) -> [Unit] {
        var units: [Unit] = []
        var start = 0
        var pages: [String: Int] = [:]
        while start < jobs.count {
            let template = jobs[start].template
            let (columns, rows) = sheet.grid(for: template)
            var end = start
            while end < jobs.count && end - start < columns * rows && jobs[end].template.file == template.file { end += 1 }
            let page = pages[template.name, default: 0] + 1
            pages[template.name] = page
            let number = String(repeating: "0", count: max(0, 3 - String(page).count)) + String(page)
            units.append(Unit(name: "\(template.name)-\(number).png", jobs: start..<end, sheet: sheet))
            start = end
        }
        return units
    }

    private static func write(_ raster: Raster, to folder: OutputFolder, name: String, settings: RenderSettings) throws(RenderError) {
        let data: Data
        do { data = try PNGEncoder.encode(raster, dpi: settings.dpi, format: settings.format) } catch { throw .encoding(error) }
        try folder.write(data, name: name)
    }
}

/// Each worker's outcome, in its own slot.
private final class WorkerResults: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [Result<([(Int, RenderedTag)], [(Int, FailedTag)]), RenderError>?]

    init(count: Int) { values = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: Result<([(Int, RenderedTag)], [(Int, FailedTag)]), RenderError>) {
        lock.lock()
        values[index] = value
        lock.unlock()
    }
}

/// A count shared by the workers.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func add(_ amount: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += amount
        return value
    }
}
