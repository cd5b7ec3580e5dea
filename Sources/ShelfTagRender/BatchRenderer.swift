import Foundation
import ShelfTagDomain

/// The files a run writes.
public enum TagFileFormat: String, Sendable, CaseIterable {
    /// A PNG per tag, or per sheet page, that prints at its true size.
    case png
    /// One PDF for the run: a page per tag, of the tag's size, or per sheet.
    case pdf
    /// One ZPL II file for the run: a label per tag, for thermal printers.
    case zpl
}

/// How tags are drawn and written.
public struct RenderSettings: Sendable {
    /// 203, 300 or 600: the printer's dots per inch, whose grid QR modules and bars fall on in every format.
    public var dpi: Int
    public var fileFormat: TagFileFormat
    /// A PNG's pixels: grey or 1-bit.
    public var format: PixelFormat
    public var correction: ErrorCorrection
    /// ZPL: each tag as one image of its raster rather than in the printer's fonts and barcode commands.
    public var zplGraphic: Bool
    /// ZPL: a raw-socket printer the labels are sent to as they are rendered.
    public var printer: PrinterAddress?
    /// Threads drawing at once; every core by default.
    public var workers: Int

    public static let supportedResolutions = [203, 300, 600]

    public init(
        dpi: Int = 300, fileFormat: TagFileFormat = .png, format: PixelFormat = .grey, correction: ErrorCorrection = .medium, zplGraphic: Bool = false,
        printer: PrinterAddress? = nil, workers: Int = ProcessInfo.processInfo.activeProcessorCount
    ) {
        self.dpi = dpi
        self.fileFormat = fileFormat
        self.format = format
        self.correction = correction
        self.zplGraphic = zplGraphic
        self.printer = printer
        self.workers = max(1, workers)
    }
}

/// One tag to draw, with the template it gets.
public struct TagJob: Sendable {
    public let content: TagContent
    public let template: TagTemplate
    /// Where the tag hangs, when the store's layout says.
    public let spot: ShelfSpot?
    /// Which of the product's tags in the run this is, from 1: a product at two spots, or with two tags at one, has
    /// more than one, each its own PNG (`<gtin14>-2.png`), page, label or place on a sheet.
    public let copy: Int

    public init(content: TagContent, template: TagTemplate, spot: ShelfSpot? = nil, copy: Int = 1) {
        self.content = content
        self.template = template
        self.spot = spot
        self.copy = copy
    }

    /// The tag's own PNG's name.
    var fileName: String {
        copy == 1 ? "\(content.label.gtin.digits).png" : "\(content.label.gtin.digits)-\(copy).png"
    }
}

/// A tag that was written: where, and how its QR code came out.
public struct RenderedTag: Sendable {
    public let content: TagContent
    public let template: String
    /// Where it hangs and which of its product's tags it is (`TagJob`).
    public let spot: ShelfSpot?
    public let copy: Int
    /// Path relative to the output directory: the tag's own PNG, the sheet it is on, or the run's PDF or ZPL file.
    public let file: String
    /// The tag's page (PDF) or label (ZPL) in `file`, from 1; nil for a PNG.
    public internal(set) var page: Int?
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
    case printer(PrinterError)

    public var description: String {
        switch self {
        case .cannotWrite(let path, let reason): "cannot write \(path): \(reason)"
        case .printer(let error): error.description
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

/// Draws tags on every core and writes them: a PNG per tag or sheet, or one PDF or ZPL file for the run, each file
/// appearing only once complete.
public enum BatchRenderer {
    /// One page of output: a single tag, or a sheet page of tags sharing a template.
    private struct Unit {
        /// The unit's place in the run, from 0.
        let index: Int
        /// The PNG's name in the run's folder.
        let name: String
        let jobs: Range<Int>
        let sheet: SheetLayout?
    }

    /// A worker's tags and failures, each with its job's place in the run and its unit's.
    fileprivate typealias WorkerOutcome = (rendered: [(job: Int, unit: Int, tag: RenderedTag)], failed: [(Int, FailedTag)])

    /// Renders the feed's jobs into `directory/<subdirectory>/`: `<gtin14>.png` each (`<gtin14>-2.png` for a second
    /// tag of the product), drawn as they arrive, or, with a
    /// layout, `sheets/<template>-NNN.png` once the feed is finished; in PDF, `tags.pdf` (`sheets.pdf`) with a page
    /// each; in ZPL, `tags.zpl` with a label each, sent to the settings' printer too. `templates` are those the jobs
    /// use: their fonts are loaded up front. `title` names the PDF. Nothing is created when the feed finishes empty.
    /// An interrupted run leaves no half-written file (see `OutputFolder`).
    /// - Parameter progress: called from the workers with the number of tags done so far.
    /// - Throws: `RenderError` when a font cannot be read, a file cannot be written or the printer fails.
    public static func render(
        _ feed: TagJobFeed, templates: [TagTemplate], settings: RenderSettings, sheet: SheetLayout?, directory: URL, subdirectory: String,
        title: String = "Shelf tags", progress: @escaping @Sendable (Int) -> Void = { _ in }
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
        let relativeFolder = sheet == nil || settings.fileFormat != .png ? subdirectory : "\(subdirectory)/sheets"
        let folder = try OutputFolder(path: "\(directory.path)/\(relativeFolder)")
        let runFile: RunFile?
        switch settings.fileFormat {
        case .png: runFile = nil
        case .pdf: runFile = try PDFRunFile(folder: folder, name: sheet == nil ? "tags.pdf" : "sheets.pdf", dpi: settings.dpi, title: title)
        case .zpl: runFile = try ZPLRunFile(folder: folder, name: "tags.zpl", printer: settings.printer)
        }
        let handoff = OrderedHandoff(window: 4 * settings.workers)
        let writer = WriterOutcome()
        if let runFile {
            // A thread of its own, not Dispatch's (see `WorkerThreads`): it waits for units most of the time.
            WorkerThreads.start("shelftag-run-file") {
                do throws(RenderError) {
                    while let next = handoff.take() {
                        guard let output = next.output else { continue }
                        writer.pages[next.index] = try runFile.append(output)
                    }
                    try runFile.finish()
                } catch {
                    writer.error = error
                    handoff.abandon()
                    runFile.discard()
                }
                writer.done.signal()
            }
        } else {
            writer.done.signal()
        }
        let runFileName = runFile.map { "\(relativeFolder)/\($0.name)" }
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
            return Unit(index: index, name: job.fileName, jobs: index..<(index + 1), sheet: nil)
        }
        WorkerThreads.run(settings.workers) { worker in
            do {
                let drawer = try TagDrawer(dpi: settings.dpi, correction: settings.correction, templates: templates)
                var outcome: WorkerOutcome = ([], [])
                while let unit = nextUnit() {
                    let file = runFileName ?? "\(relativeFolder)/\(unit.name)"
                    var drawn = DrawnUnit()
                    for index in unit.jobs {
                        // Taken already: a unit's jobs are in the feed.
                        guard let job = jobs.job(at: index) else { break }
                        do throws(TagDrawingError) {
                            let qr = try drawn.add(job, drawer: drawer, settings: settings)
                            outcome.rendered.append(
                                (
                                    index, unit.index,
                                    RenderedTag(
                                        content: job.content, template: job.template.name, spot: job.spot, copy: job.copy, file: file, qrCode: qr)
                                ))
                        } catch {
                            outcome.failed.append((index, FailedTag(content: job.content, reason: error)))
                        }
                    }
                    progress(done.add(unit.jobs.count))
                    if runFile != nil {
                        if !handoff.put(unit.index, drawn.output(sheet: unit.sheet, drawer: drawer)) { break }
                    } else if let image = drawn.image(sheet: unit.sheet, drawer: drawer) {
                        try write(image, to: folder, name: unit.name, settings: settings)
                    }
                }
                results.set(worker, .success(outcome))
            } catch {
                // The writer waits for this worker's unit no more.
                handoff.abandon()
                switch error {
                case let error as RenderError: results.set(worker, .failure(error))
                case let error as FontError: results.set(worker, .failure(.font(error)))
                default: results.set(worker, .failure(.cannotWrite(path: directory.path, reason: "\(error)")))
                }
            }
        }
        handoff.finish()
        writer.done.wait()
        var rendered: [(job: Int, unit: Int, tag: RenderedTag)] = []
        var failed: [(Int, FailedTag)] = []
        for result in results.values {
            switch result {
            case .success(let part):
                rendered += part.rendered
                failed += part.failed
            case .failure(let error):
                runFile?.discard()
                throw error
            case nil: break
            }
        }
        if let error = writer.error { throw error }
        // The flush waits on the disk; ordering the results meanwhile waits on nothing.
        let flushed = DispatchGroup()
        DispatchQueue.global().async(group: flushed) { folder.flushToDisk() }
        // Workers interleave; the manifest follows the order the jobs were drawn in.
        rendered.sort { $0.job < $1.job }
        failed.sort { $0.0 < $1.0 }
        var tags = rendered.map(\.tag)
        if runFile != nil {
            // A page per unit, a label per tag.
            var labels = 0
            for (index, entry) in rendered.enumerated() {
                labels += 1
                tags[index].page = settings.fileFormat == .zpl ? labels : writer.pages[entry.unit]
            }
        }
        let outcome = (tags, failed.map(\.1))
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
            units.append(Unit(index: units.count, name: "\(template.name)-\(number).png", jobs: start..<end, sheet: sheet))
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

/// What a worker drew of one unit, in the run's format.
private struct DrawnUnit {
    var rasters: [Raster] = []
    var drawings: [TagDrawing] = []
    var labels = ""
    var template: TagTemplate?

    /// Draws one tag.
    mutating func add(_ job: TagJob, drawer: TagDrawer, settings: RenderSettings) throws(TagDrawingError) -> QRPlacement? {
        template = job.template
        switch settings.fileFormat {
        case .png:
            let (raster, qr) = try drawer.draw(job.template, job.content)
            rasters.append(raster)
            return qr
        case .pdf:
            var drawing = TagDrawing()
            let qr = try drawer.draw(job.template, job.content, on: &drawing)
            drawings.append(drawing)
            return qr
        case .zpl:
            let comment = "ShelfTag \(job.content.label.gtin.digits) tag \(job.content.label.tagID)"
            if settings.zplGraphic {
                let (raster, qr) = try drawer.draw(job.template, job.content)
                labels += ZPLLabel.graphic(raster, correction: settings.correction, comment: comment)
                return qr
            }
            var label = ZPLLabel(
                width: drawer.pixels(job.template.width), height: drawer.pixels(job.template.height), correction: settings.correction, comment: comment)
            let qr = try drawer.draw(job.template, job.content, on: &label)
            labels += label.finished
            return qr
        }
    }

    /// The PNG: the tag, or the sheet page; nil when no tag could be drawn.
    func image(sheet: SheetLayout?, drawer: TagDrawer) -> Raster? {
        guard !rasters.isEmpty, let template else { return nil }
        return sheet.map { SheetComposer(layout: $0, template: template, drawer: drawer).compose(rasters) } ?? rasters[0]
    }

    /// What the run's file gets: a PDF page, or labels; nil when no tag could be drawn.
    func output(sheet: SheetLayout?, drawer: TagDrawer) -> RunFileOutput? {
        guard let template else { return nil }
        if !labels.isEmpty { return .labels(labels) }
        guard let drawing = drawings.first else { return nil }
        if let sheet { return .page(SheetComposer(layout: sheet, template: template, drawer: drawer).page(drawings)) }
        let (width, height) = (drawer.pixels(template.width), drawer.pixels(template.height))
        return .page(
            PDFPage(
                widthMillimetres: template.width, heightMillimetres: template.height,
                tags: [.init(drawing: drawing, x: 0, y: 0, width: width, height: height)], cutMarks: []))
    }
}

/// The writer thread's results: the page each unit went to, or why it stopped.
private final class WriterOutcome: @unchecked Sendable {
    var pages: [Int: Int] = [:]
    var error: RenderError?
    /// Signalled once the file is complete or abandoned.
    let done = DispatchSemaphore(value: 0)
}

/// Threads of their own for work that runs long or waits: not Dispatch's pool, whose threads Swift's cooperative pool
/// and the database's queues share. When those are busy, libdispatch on Linux adds a thread only at its
/// once-a-second check: `concurrentPerform` left every run waiting 1 s for its second worker.
public enum WorkerThreads {
    /// Runs `body` once per worker, the first on the caller's thread, each other on a thread of its own; returns
    /// when all are done.
    public static func run(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let done = DispatchGroup()
        for worker in 1..<max(1, count) {
            done.enter()
            let thread = Thread {
                body(worker)
                done.leave()
            }
            thread.name = "shelftag-worker-\(worker)"
            thread.start()
        }
        body(0)
        done.wait()
    }

    /// Starts `body` on a thread of its own.
    public static func start(_ name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = name
        thread.start()
    }
}

/// Each worker's outcome, in its own slot.
private final class WorkerResults: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [Result<BatchRenderer.WorkerOutcome, RenderError>?]

    init(count: Int) { values = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: Result<BatchRenderer.WorkerOutcome, RenderError>) {
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
