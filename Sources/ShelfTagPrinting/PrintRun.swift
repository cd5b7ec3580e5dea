import Foundation
import ShelfTagDomain
import ShelfTagRender
import ShelfTagStorage

/// What a merchandiser asks `shelftag render` for.
public struct PrintRequest: Sendable {
    public var storeCode: String
    /// A template name or path for every tag; nil: promotions get `promotion`, the rest `standard`.
    public var template: String?
    /// A sheet layout name or path to impose tags on; nil: one PNG per tag.
    public var sheet: String?
    /// Only these products; nil: every product the store lists.
    public var gtins: [GTIN]?
    /// Only tags whose shown price is no longer current, and products never printed in the store.
    public var staleOnly: Bool
    /// Render without recording in the print ledger.
    public var preview: Bool
    /// Print a promotion with a template that does not show its prior price or last day (as a plain price).
    public var allowsHiddenPromotions = false
    /// Refuse a tag whose price breaks a parity rule (`PriceRules`) instead of printing it with a warning.
    public var strict = false
    /// Where the store's products sit (its layout file): tags come out in walking order, unplaced products last, and a
    /// product gets a tag for each of its spots' copies.
    public var layout: [GTIN: [ShelfSpot]]?
    public var baseURL: String
    public var directory: URL
    public var manifestFormat: ManifestFormat
    public var settings: RenderSettings
    /// An IPP printer or print server's queue the run's PDF or ZPL file is sent to once it is complete; the ledger
    /// records the tags only once the printer has taken the job.
    public var ippPrinter: IPPPrinterAddress?
    /// Seconds to wait for the IPP printer to print the job (state `completed`) before the ledger records the tags;
    /// nil: recorded once it takes the job. A job it cancels, aborts or has not printed in time is not recorded.
    public var waitForPrinting: Int?
    /// The time whose prices are printed.
    public var time: Date

    public init(
        storeCode: String, template: String? = nil, sheet: String? = nil, gtins: [GTIN]? = nil, staleOnly: Bool = false, preview: Bool = false,
        baseURL: String, directory: URL, manifestFormat: ManifestFormat = .csv, settings: RenderSettings = RenderSettings(), time: Date
    ) {
        self.storeCode = storeCode
        self.template = template
        self.sheet = sheet
        self.gtins = gtins
        self.staleOnly = staleOnly
        self.preview = preview
        self.baseURL = baseURL
        self.directory = directory
        self.manifestFormat = manifestFormat
        self.settings = settings
        self.time = time
    }
}

/// A tag printed though its price breaks a parity rule.
public struct PriceWarning: Sendable, Equatable, CustomStringConvertible {
    public let gtin: GTIN
    public let breach: PriceRuleBreach

    public var description: String { "\(gtin): \(breach)" }
}

/// A product that got no tag, and why.
public struct SkippedProduct: Sendable, Equatable {
    public let gtin: GTIN
    public let reason: String
}

/// What a print run did.
public struct PrintReport: Sendable {
    public let store: Store
    public let rendered: [RenderedTag]
    public let skipped: [SkippedProduct]
    public let failed: [FailedTag]
    /// The manifest's path, nil when nothing was rendered.
    public let manifest: URL?
    /// What the message files lack or get wrong (the tags used English there).
    public let wordingProblems: [MessageProblem]
    /// Tags printed with a price that breaks a parity rule (none with `strict`: those are skipped).
    public let priceWarnings: [PriceWarning]
    /// The run's price changes against the store's last printed tags (`changes.csv`), nil when none changed.
    public let changes: URL?
    public let changeCount: Int
    /// The job the IPP printer took, when the run was sent to one.
    public let printJob: PrintJob?
}

/// Why a print run stopped before writing anything (or, for `render`, part-way through writing).
public enum PrintRunError: Error, CustomStringConvertible {
    case unknownStore(String)
    case template(TemplateError)
    case messages(MessageCatalogError)
    case render(RenderError)
    case storage(any Error)
    case printer(IPPPrinterError)
    /// The printer refused the complete file, which stays at `file` (not recorded as printed).
    case notPrinted(IPPPrinterError, file: String)
    /// An IPP printer is sent the run's one file: PDF or ZPL.
    case printerTakesNoPNG(IPPPrinterAddress)

    public var description: String {
        switch self {
        case .unknownStore(let code): "unknown store '\(code)' (import a stores file first, or see `shelftag products list`)"
        case .template(let error): error.description
        case .messages(let error): "messages: \(error)"
        case .render(let error): error.description
        case .storage(let error): "database: \(error)"
        case .printer(let error): error.description
        case .notPrinted(let error, let file): "\(error); the tags are in \(file), not recorded as printed"
        case .printerTakesNoPNG(let printer): "printer \(printer): an IPP printer is sent the run's PDF or ZPL file: render with --format pdf or zpl"
        }
    }
}

/// Selects, renders and records one store's tags.
public enum PrintRun {
    /// Runs a print request: templates are checked before anything is written.
    /// - Throws: `PrintRunError`.
    public static func run(
        _ request: PrintRequest, reference: any ProductReference, library: TemplateLibrary, progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }
    ) async throws(PrintRunError) -> PrintReport {
        let templates = try loadTemplates(request, library: library)
        let wording: TagWording
        do { wording = TagWording(catalog: try library.messages()) } catch { throw .messages(error) }
        let sheet = try request.sheet.map { name throws(PrintRunError) in try loadSheet(name, library: library, templates: templates) }
        // The printer first: one that is off, or takes no PDF, fails the run before anything is drawn.
        var printer: IPPPrinter.Ready?
        if let address = request.ippPrinter {
            let document: IPPDocument
            switch request.settings.fileFormat {
            case .pdf: document = .pdf
            case .zpl: document = .zpl
            case .png: throw .printerTakesNoPNG(address)
            }
            do { printer = try await IPPPrinter(address, document: document).check() } catch { throw .printer(error) }
        }
        // The store's last printed tags: what a stale-only run skips, and the old side of the run's price changes.
        let latest: [GTIN: PrintedTag]
        do { latest = try await reference.latestPrints(in: request.storeCode) } catch { throw .storage(error) }
        let printedAt = Date()
        // Whether each template shows what a promotion must: asked once, not per tag.
        let promotionFields = ["priorPrice", "promotionEnd"]
        let hiddenByTemplate = Dictionary(templates.all.map { ($0.name, $0.hides(promotionFields)) }, uniquingKeysWith: { first, _ in first })
        let requested = request.gtins.map(Set.init)
        // Tags are drawn while the shelf streams in: the workers start as soon as the store is found.
        let feed = TagJobFeed()
        let shelf = ShelfProgress()
        do {
            let found = try await reference.readShelf(
                of: request.storeCode,
                opening: { opened, _ in
                    shelf.store = opened
                    shelf.printedOn = DayText.format(printedAt, locale: opened.locale, timeZone: opened.timeZone, style: .short)
                    shelf.rendering = BackgroundRender {
                        () throws(RenderError) in
                        try BatchRenderer.render(
                            feed, templates: templates.all, settings: request.settings, sheet: sheet, directory: request.directory,
                            subdirectory: opened.code, title: documentTitle(opened, time: request.time), progress: { progress($0, feed.count) })
                    }
                },
                item: { item in
                    let gtin = item.product.gtin
                    if let requested {
                        guard requested.contains(gtin) else { return }
                        shelf.listed.insert(gtin)
                    }
                    let label = item.label(at: request.time)
                    if request.staleOnly, !StoreShelf.needsTag(label, lastPrinted: latest[gtin]) { return }
                    let template = templates.override ?? (label.isPromotion ? templates.promotion : templates.standard)
                    if !request.allowsHiddenPromotions, let missing = hiddenPromotion(label, template, hidden: hiddenByTemplate[template.name] ?? []) {
                        shelf.refused.append(SkippedProduct(gtin: gtin, reason: missing))
                        return
                    }
                    let (pricing, _) = item.listing.shelfPricing(webOffer: item.webOffer, webHistory: item.webHistory)
                    let breaches = PriceRules.check(shelf: pricing, web: item.webOffer.pricing, at: request.time)
                    if request.strict, !breaches.isEmpty {
                        let reasons = breaches.map(\.description).joined(separator: "; ")
                        shelf.refused.append(SkippedProduct(gtin: gtin, reason: "parity: \(reasons) (--strict)"))
                        return
                    }
                    shelf.priceWarnings += breaches.map { PriceWarning(gtin: gtin, breach: $0) }
                    let content = TagContent(item: item, label: label, baseURL: request.baseURL, wording: wording, printedOn: shelf.printedOn)
                    guard let layout = request.layout else {
                        feed.append(TagJob(content: content, template: template))
                        return
                    }
                    // A tag for each copy at each of the product's spots; an unplaced product gets one.
                    let spots = layout[gtin].map { $0.map { (spot: Optional($0), copies: $0.copies) } } ?? [(nil, 1)]
                    var copy = 0
                    for (spot, copies) in spots {
                        for _ in 0..<copies {
                            copy += 1
                            shelf.walk.append((spot, TagJob(content: content, template: template, spot: spot, copy: copy)))
                        }
                    }
                })
            guard found, shelf.store != nil else { throw PrintRunError.unknownStore(request.storeCode) }
            // In walking order: by spot, unplaced products last; the sort is stable, so GTIN order within a spot.
            for (_, job) in shelf.walk.enumerated().sorted(by: { Self.walks($0.element.spot, before: $1.element.spot, else: $0.offset < $1.offset) })
                .map(\.element)
            {
                feed.append(job)
            }
            feed.finish()
        } catch {
            // Files already written stay: each is whole, and the ledger records none of them.
            feed.cancel()
            _ = try? await shelf.rendering?.wait()
            if let error = error as? PrintRunError { throw error }
            throw .storage(error)
        }
        guard let store = shelf.store, let rendering = shelf.rendering else { throw .unknownStore(request.storeCode) }
        let outcome: (rendered: [RenderedTag], failed: [FailedTag])
        do { outcome = try await rendering.wait() } catch { throw .render(error) }
        // Requested products the store does not list: no price there.
        var skipped = (requested ?? []).subtracting(shelf.listed).sorted().map {
            SkippedProduct(gtin: $0, reason: "no price in store \(store.code): the store does not list it")
        }
        skipped += shelf.refused
        var manifest: URL?
        if !outcome.rendered.isEmpty {
            let url = request.directory.appendingPathComponent("\(store.code)/manifest.\(request.manifestFormat.rawValue)")
            do {
                try Manifest(rendered: outcome.rendered, skipped: skipped, dpi: request.settings.dpi).data(request.manifestFormat).write(
                    to: url, options: .atomic)
            } catch {
                throw .render(.cannotWrite(path: url.path, reason: error.localizedDescription))
            }
            manifest = url
        }
        let changes = PriceChanges(rendered: outcome.rendered, latest: latest)
        var changesFile: URL?
        if !changes.rows.isEmpty {
            let url = request.directory.appendingPathComponent("\(store.code)/changes.csv")
            do { try changes.csv.write(to: url, options: .atomic) } catch {
                throw .render(.cannotWrite(path: url.path, reason: error.localizedDescription))
            }
            changesFile = url
        }
        var printJob: PrintJob?
        if let printer, let file = outcome.rendered.first?.file {
            let pages = outcome.rendered.compactMap(\.page).max() ?? 0
            let path = request.directory.appendingPathComponent(file).path
            do {
                var job = try await printer.print(
                    path, pages: pages, jobName: documentTitle(store, time: request.time),
                    media: sheet.flatMap { IPPPrinter.media(width: $0.width, height: $0.height) })
                if let seconds = request.waitForPrinting { job = try await printer.printer.waitUntilPrinted(job, seconds: seconds) }
                printJob = job
            } catch {
                throw .notPrinted(error, file: path)
            }
        }
        if !request.preview {
            do {
                // A product's copies are the same tag: the ledger records it once.
                var recorded = Set<GTIN>()
                let printed = outcome.rendered.filter { recorded.insert($0.content.label.gtin).inserted }
                try await reference.recordPrints(printed.map { PrintedTag(label: $0.content.label, template: $0.template, printedAt: request.time) })
            } catch {
                throw .storage(error)
            }
        }
        var failedProducts = Set<GTIN>()
        skipped += outcome.failed.filter { failedProducts.insert($0.content.label.gtin).inserted }.map {
            SkippedProduct(gtin: $0.content.label.gtin, reason: $0.reason.description)
        }
        return PrintReport(
            store: store, rendered: outcome.rendered, skipped: skipped, failed: outcome.failed, manifest: manifest, wordingProblems: wording.catalog.problems,
            priceWarnings: shelf.priceWarnings, changes: changesFile, changeCount: changes.productCount, printJob: printJob)
    }

    /// A PDF's title and a print job's name: the store and the day whose prices it prints.
    private static func documentTitle(_ store: Store, time: Date) -> String {
        "Shelf tags, store \(store.code) (\(store.name)), \(DayText.format(time, locale: store.locale, timeZone: store.timeZone, style: .long))"
    }

    private struct Templates {
        let override: TagTemplate?
        let standard: TagTemplate
        let promotion: TagTemplate
        var all: [TagTemplate] { override.map { [$0] } ?? [standard, promotion] }
    }

    /// `a` before `b` in a walk of the store: placed before unplaced, then by spot; `tie` when equal.
    private static func walks(_ a: ShelfSpot?, before b: ShelfSpot?, else tie: Bool) -> Bool {
        switch (a, b) {
        case (let a?, let b?): a < b || (!(b < a) && tie)
        case (.some, nil): true
        case (nil, .some): false
        case (nil, nil): tie
        }
    }

    /// Why `template` cannot print `label`'s promotion as the law requires (its prior price, and its last day when it
    /// has one), or nil when it can or there is none; `hidden`: the promotion fields the template does not draw.
    private static func hiddenPromotion(_ label: ShelfLabel, _ template: TagTemplate, hidden templateHides: [String]) -> String? {
        var hidden: [String] = []
        if label.priorPrice != nil, templateHides.contains("priorPrice") { hidden.append("priorPrice") }
        if label.promotionEnd != nil, templateHides.contains("promotionEnd") { hidden.append("promotionEnd") }
        guard !hidden.isEmpty else { return nil }
        let names = ["priorPrice": "prior price", "promotionEnd": "last day"]
        return "template '\(template.name)' does not show this promotion's \(hidden.compactMap { names[$0] }.joined(separator: " and ")): "
            + "print it with a template that does (the default promotion template), or pass --allow-hidden-promotions"
    }

    private static func loadTemplates(_ request: PrintRequest, library: TemplateLibrary) throws(PrintRunError) -> Templates {
        do {
            if let name = request.template {
                let template = try TagTemplate(contentsOf: library.tagTemplateURL(name))
                return Templates(override: template, standard: template, promotion: template)
            }
            return Templates(
                override: nil, standard: try TagTemplate(contentsOf: library.tagTemplateURL("standard")),
                promotion: try TagTemplate(contentsOf: library.tagTemplateURL("promotion")))
        } catch {
            throw .template(error)
        }
    }

    private static func loadSheet(_ name: String, library: TemplateLibrary, templates: Templates) throws(PrintRunError) -> SheetLayout {
        do {
            let layout = try SheetLayout(contentsOf: library.sheetLayoutURL(name))
            for template in templates.all { try layout.check(template) }
            return layout
        } catch {
            throw .template(error)
        }
    }
}

/// A batch render on another thread, while the caller feeds it.
private final class BackgroundRender: @unchecked Sendable {
    typealias Outcome = (rendered: [RenderedTag], failed: [FailedTag])
    private let finished = DispatchGroup()
    private var result: Result<Outcome, RenderError>?

    init(_ work: @escaping @Sendable () throws(RenderError) -> Outcome) {
        finished.enter()
        WorkerThreads.start("shelftag-render") {
            do throws(RenderError) { self.result = .success(try work()) } catch { self.result = .failure(error) }
            self.finished.leave()
        }
    }

    /// What the render gave, once it is over; the caller's thread is free meanwhile.
    func wait() async throws(RenderError) -> Outcome {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            finished.notify(queue: .global()) { done.resume() }
        }
        return try result!.get()
    }
}

/// What the shelf stream found, written by its callbacks (one at a time, on the database's thread) and read once it ends.
private final class ShelfProgress: @unchecked Sendable {
    var store: Store?
    var rendering: BackgroundRender?
    var listed = Set<GTIN>()
    /// Promotions the template cannot show as the law requires, and with `strict` prices breaking a parity rule:
    /// not printed.
    var refused: [SkippedProduct] = []
    var priceWarnings: [PriceWarning] = []
    /// The run's day as the store writes it, on every tag.
    var printedOn = ""
    /// With a layout: the tags before they are put in walking order.
    var walk: [(spot: ShelfSpot?, job: TagJob)] = []
}
