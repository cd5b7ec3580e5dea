import ArgumentParser
import Foundation
import ShelfTagDomain
import ShelfTagFeeds
import ShelfTagPrinting
import ShelfTagRender
import ShelfTagStorage

struct RenderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render a store's shelf tags as PNG, PDF or ZPL that print at their true size.",
        usage: "shelftag render (--store <code> | --all-stores) [<options>]",
        discussion: """
            Each tag shows the product, the selling price, the unit price, a promotion's prior price and end date, \
            the barcode and a QR code with the tag's GS1 Digital Link. Without --template, products on promotion \
            get the 'promotion' template and the others 'standard'. Tags go to DIR/STORE/<gtin14>.png (or \
            DIR/STORE/sheets/ with --sheet) with a manifest, and into the print ledger unless --preview.
            --format pdf writes DIR/STORE/tags.pdf (sheets.pdf with --sheet) for office printers: a page per tag \
            (or sheet), vector bars and modules, searchable text. --format zpl writes DIR/STORE/tags.zpl for \
            Zebra-compatible thermal printers, a label per tag, and with --printer tcp://HOST sends each label as it is \
            rendered. With --printer ipp://HOST/PATH, the run's PDF (or ZPL) goes to an IPP printer or a CUPS queue \
            once it is complete, a PDF's pages at their true size (on the sheet's paper with --sheet); the ledger \
            records the tags once the printer has taken the job. --printer store sends them to the printer the \
            stores file names for the store: label_printer for ZPL, office_printer for PDF.
            --all-stores renders every store of the reference in turn (with --stale --printer store, a chain's \
            nightly run); a store that fails is said and the others go on.
            Templates are looked up in $SHELFTAG_TEMPLATES, ./Templates or the checkout's Templates folder.
            Exit status: 0 all rendered, 1 some products skipped or failed (listed), 2 bad arguments, template, store \
            or printer (with --all-stores: any store's).
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("The store whose tags to render.", valueName: "code"))
    var store: String?

    @Flag(name: .customLong("all-stores"), help: "Render every store's tags, store by store (instead of --store).")
    var allStores = false

    @Option(help: ArgumentHelp("A template name (Templates/tags/NAME.json) or path, for every tag.", valueName: "name|path"))
    var template: String?

    @Option(help: ArgumentHelp("Impose the tags on sheets with this layout (Templates/sheets/NAME.json) or path, e.g. a4.", valueName: "layout"))
    var sheet: String?

    @Option(name: .customLong("gtin"), help: ArgumentHelp("Only this product (repeatable).", valueName: "gtin"))
    var gtins: [String] = []

    @Flag(help: "Only tags whose printed price is no longer current, and products never printed in this store.")
    var stale = false

    @Flag(help: "Render without recording the tags in the print ledger.")
    var preview = false

    @Flag(
        name: .customLong("allow-hidden-promotions"),
        help: "Print promotions with a template that does not show their prior price or last day (refused by default).")
    var allowsHiddenPromotions = false

    @Option(
        help: ArgumentHelp(
            "The store's layout CSV (gtin,aisle[,position][,copies]), a row per spot: tags come out in aisle order, as many as each spot asks, and changes.csv says where each goes.",
            valueName: "file"))
    var layout: String?

    @Flag(help: "Refuse tags whose price breaks a parity rule (differs from the web shop, implausible discount) instead of warning.")
    var strict = false

    @Option(name: .customLong("out"), help: ArgumentHelp("The output directory.", valueName: "dir"))
    var directory = "tags"

    @Option(help: ArgumentHelp("Output: png (a file per tag or sheet), pdf or zpl (one file per run).", valueName: "format"))
    var format: TagFileFormat = .png

    @Option(help: ArgumentHelp("Printer resolution: 203, 300 or 600 dots per inch; QR modules and bars fall on its dots.", valueName: "dpi"))
    var dpi = 300

    @Flag(help: "1-bit PNG for thermal printers (default: 8-bit grey).")
    var bilevel = false

    @Flag(name: .customLong("zpl-graphic"), help: "ZPL: each tag as one image of its raster, for printers whose fonts lack a glyph.")
    var zplGraphic = false

    @Option(
        help: ArgumentHelp(
            "Also print: ZPL labels to a raw-socket printer as they are rendered (tcp://host[:9100]), or the run's PDF or ZPL to an IPP printer or CUPS queue (ipp://host[:631]/printers/NAME, ipps://…); 'store': the store's own printer from the stores file.",
            valueName: "url|store"))
    var printer: String?

    @Option(
        name: .customLong("wait"),
        help: ArgumentHelp(
            "With --printer ipp://: wait up to this many seconds for the printer to print the job; the tags are recorded only if it did.",
            valueName: "seconds"))
    var waitSeconds: Int?

    @Option(help: ArgumentHelp("QR error correction: L, M, Q or H.", valueName: "level"))
    var ecc: ErrorCorrection = .medium

    @OptionGroup var baseURL: BaseURLOption

    @Option(help: ArgumentHelp("Manifest format: csv or json.", valueName: "format"))
    var manifest: ManifestFormat = .csv

    @Option(help: ArgumentHelp("Print the prices in force at this ISO 8601 time (default now).", valueName: "time"))
    var at: String?

    @Option(help: ArgumentHelp("Threads drawing at once (default: every core).", valueName: "n"))
    var jobs: Int?

    func validate() throws {
        guard (store != nil) != allStores else { throw ValidationError("give --store CODE or --all-stores") }
        if allStores && layout != nil { throw ValidationError("--layout: a layout file is one store's: give --store with it") }
        guard RenderSettings.supportedResolutions.contains(dpi) else { throw ValidationError("--dpi: \(dpi) is not one of 203, 300, 600") }
        if format != .zpl && zplGraphic { throw ValidationError("--zpl-graphic needs --format zpl") }
        if format == .zpl && sheet != nil { throw ValidationError("--sheet: thermal labels are printed one by one; impose sheets in png or pdf") }
        if format != .png && bilevel { throw ValidationError("--bilevel: a PNG option (ZPL labels are 1-bit already)") }
        if printer == Self.storePrinter {
            // Which printer, and so whether --wait holds, is read from the reference when the run starts.
            guard format != .png else { throw ValidationError("--printer store: PNG is not sent to printers: add --format zpl or pdf") }
            if let waitSeconds, waitSeconds < 1 { throw ValidationError("--wait: must be at least 1 second") }
        } else if let printer {
            try checkWait(try Self.destination(printer, named: "--printer", format: format))
        } else if waitSeconds != nil {
            throw ValidationError("--wait: only an IPP printer says when it has printed (--printer ipp://…)")
        }
        if let jobs, jobs < 1 { throw ValidationError("--jobs: must be at least 1") }
        for gtin in gtins where (try? GTIN(gtin)) == nil { throw ValidationError("--gtin: '\(gtin)' is not a valid GTIN") }
        _ = try timeOption(at, name: "at")
        // Tags printed for a shelf must not point at this computer by default.
        if !preview && !baseURL.isGiven {
            throw ValidationError(
                "--base-url: a print run needs the resolver's public address (the QR codes hold it); give --base-url https://… or set "
                    + "$SHELFTAG_BASE_URL, or render with --preview")
        }
    }

    func run() async throws {
        if !preview && baseURL.isLocal {
            FileStream.standardError.write("warning: \(baseURL.value) is this machine or a private network: phones elsewhere cannot open these tags\n")
        }
        var request = PrintRequest(
            storeCode: store ?? "", template: template, sheet: sheet, gtins: gtins.isEmpty ? nil : try gtins.map { try GTIN($0) }, staleOnly: stale,
            preview: preview, baseURL: baseURL.value, directory: URL(fileURLWithPath: directory), manifestFormat: manifest,
            settings: RenderSettings(
                dpi: dpi, fileFormat: format, format: bilevel ? .bilevel : .grey, correction: ecc, zplGraphic: zplGraphic, printer: nil,
                workers: jobs ?? ProcessInfo.processInfo.activeProcessorCount),
            time: try timeOption(at, name: "at") ?? Date())
        request.waitForPrinting = waitSeconds
        request.allowsHiddenPromotions = allowsHiddenPromotions
        request.strict = strict
        if let layout { request.layout = try Self.readLayout(layout) }
        let library = TemplateLibrary.locate()
        let (outcome, report) = try await database.with { reference -> (RunOutcome, PrintReport?) in
            guard allStores else {
                do {
                    let report = try await render(request, reference: reference, library: library)
                    return (report.skipped.isEmpty ? .rendered : .skippedSome, report)
                } catch {
                    FileStream.standardError.write("\(error)\n")
                    return (.failed, nil)
                }
            }
            // Store by store: one that fails is said, and the others go on; a last line sums them up.
            var worst = RunOutcome.rendered
            var (rendered, skipped, failed) = (0, 0, [String]())
            let codes = try await reference.stores().map(\.code)
            for code in codes {
                request.storeCode = code
                do {
                    let report = try await render(request, reference: reference, library: library)
                    worst = max(worst, report.skipped.isEmpty ? .rendered : .skippedSome)
                    rendered += report.rendered.count
                    skipped += report.skipped.count
                } catch {
                    FileStream.standardError.write("\(code): \(error)\n")
                    worst = .failed
                    failed.append(code)
                }
            }
            print(
                "\(codes.count) \(codes.count == 1 ? "store" : "stores"): \(rendered) \(rendered == 1 ? "tag" : "tags") rendered, \(skipped) skipped"
                    + (failed.isEmpty ? "" : "; \(failed.count) failed: \(failed.joined(separator: ", "))"))
            return (worst, nil)
        }
        // The process ends here, with one store's report still held: freeing its tags one by one (their fields,
        // labels and strings) took 20 ms of a 10,000-tag run, for memory the exit returns anyway.
        withExtendedLifetime(report) {
            switch outcome {
            case .rendered: Self.exit(withError: nil)
            case .skippedSome: Self.exit(withError: ExitCode.rowsRejected)
            case .failed: Self.exit(withError: ExitCode.unusableInput)
            }
        }
    }

    /// How a run went, the worst last: a run of many stores ends with its worst.
    enum RunOutcome: Comparable {
        case rendered, skippedSome, failed
    }

    /// One store's run, and what it says on the terminal.
    /// - Throws: why the run could not be made (its printer, template or store), said by the caller.
    private func render(_ base: PrintRequest, reference: any ProductReference, library: TemplateLibrary) async throws -> PrintReport {
        var request = base
        let started = Date()
        let bar = ProgressBar(enabled: showsProgress)
        let report: PrintReport
        do {
            let destination = try await printerDestination(for: request.storeCode, in: reference)
            request.settings.printer = destination?.labelPrinter
            request.ippPrinter = destination?.ippPrinter
            report = try await PrintRun.run(request, reference: reference, library: library, progress: bar.update)
        } catch {
            bar.finish()
            throw error
        }
        bar.finish()
        // Among many stores' lines, each names its store.
        let store = allStores ? "\(report.store.code): " : ""
        for problem in report.wordingProblems { FileStream.standardError.write("\(store)warning: \(problem)\n") }
        for warning in report.priceWarnings { FileStream.standardError.write("\(store)warning: parity: \(warning)\n") }
        for skipped in report.skipped { FileStream.standardError.write("\(store)skipped \(skipped.gtin): \(skipped.reason)\n") }
        let seconds = String(format: "%.2f", Date().timeIntervalSince(started))
        let manifestNote =
            (report.manifest.map { ", manifest \($0.relativePath)" } ?? "")
            + (report.changes.map { ", \(report.changeCount) price \(report.changeCount == 1 ? "change" : "changes") in \($0.relativePath)" } ?? "")
        if let job = report.printJob {
            let unit = format == .zpl ? "label" : "page"
            print("sent \(job.pages) \(unit)\(job.pages == 1 ? "" : "s") to \(job.printer) as job \(job.id) (\(job.state))")
        }
        print(
            "\(report.store.code): \(report.rendered.count) \(report.rendered.count == 1 ? "tag" : "tags") rendered in \(directory)/\(report.store.code)\(manifestNote), "
                + "\(report.skipped.count) skipped, \(seconds) s\(preview ? " (preview: not recorded)" : "")")
        return report
    }
}

extension RenderCommand {
    /// Where --printer sends the run: a raw-socket label printer takes ZPL as it is drawn, an IPP printer the run's
    /// complete file.
    private enum PrinterDestination {
        case labels(PrinterAddress)
        case ipp(IPPPrinterAddress)

        var labelPrinter: PrinterAddress? { if case .labels(let address) = self { address } else { nil } }
        var ippPrinter: IPPPrinterAddress? { if case .ipp(let address) = self { address } else { nil } }
    }

    /// `--printer store`: the store's own printer, from the stores file.
    private static let storePrinter = "store"

    /// Where the run prints, if anywhere: --printer's address, or with `store` the store's printer for the format
    /// (its label printer for ZPL, its office printer for PDF), read from the reference.
    private func printerDestination(for store: String, in reference: any ProductReference) async throws -> PrinterDestination? {
        guard let printer else { return nil }
        guard printer == Self.storePrinter else { return try Self.destination(printer, named: "--printer", format: format) }
        // An unknown store is left to the print run, which says so in its words.
        guard let record = try await reference.store(code: store) else { return nil }
        let (column, address) = format == .zpl ? ("label_printer", record.labelPrinter) : ("office_printer", record.officePrinter)
        guard let address else { throw StorePrinterError(store: store, column: column) }
        let destination = try Self.destination(address, named: "--printer store: \(store)'s \(column)", format: format)
        try checkWait(destination)
        return destination
    }

    /// --wait holds only for an IPP printer, which says when it has printed.
    private func checkWait(_ destination: PrinterDestination) throws {
        guard let waitSeconds else { return }
        guard destination.ippPrinter != nil else { throw ValidationError("--wait: only an IPP printer says when it has printed (--printer ipp://…)") }
        guard waitSeconds > 0 else { throw ValidationError("--wait: must be at least 1 second") }
    }

    /// A printer address read by its scheme, and held to the format it takes; `named` says where the address came
    /// from in an error. The address is read before anything is said of it: an error then repeats it without a
    /// password.
    private static func destination(_ printer: String, named: String, format: TagFileFormat) throws -> PrinterDestination {
        let scheme = printer.prefix { $0 != ":" }.lowercased()
        switch scheme {
        case "tcp":
            let address: PrinterAddress
            do { address = try PrinterAddress(printer) } catch { throw ValidationError("\(named): \(error)") }
            guard format == .zpl else { throw ValidationError("\(named) tcp://\(address): a raw-socket printer takes ZPL: add --format zpl") }
            return .labels(address)
        case "ipp", "ipps":
            let address: IPPPrinterAddress
            do { address = try IPPPrinterAddress(printer) } catch { throw ValidationError("\(named): \(error)") }
            guard format != .png else { throw ValidationError("\(named) \(address): an IPP printer is sent the run's PDF or ZPL: add --format pdf or zpl") }
            return .ipp(address)
        default:
            let given = printer.contains("://") ? "\(scheme)://" : "a URL"
            throw ValidationError(
                "\(named): tcp://HOST[:9100] for ZPL labels, ipp://HOST[:631]/PATH (ipps://…) for the PDF or ZPL, or 'store' for the store's own; not \(given)")
        }
    }

    /// The layout file, every bad row said with its line; any one stops the run before it starts.
    static func readLayout(_ path: String) throws -> [GTIN: [ShelfSpot]] {
        var rejected = 0
        do {
            let spots = try StoreLayoutFile.read(path: path, displayName: path) { error in
                rejected += 1
                FileStream.standardError.write("\(error)\n")
            }
            guard rejected == 0 else {
                FileStream.standardError.write("--layout: \(rejected) rows rejected: nothing rendered\n")
                throw ExitCode.unusableInput
            }
            return spots
        } catch let error as FeedError {
            FileStream.standardError.write("--layout: \(error)\n")
            throw ExitCode.unusableInput
        }
    }
}

/// `--printer store` for a store whose record names no printer of the kind the format needs.
struct StorePrinterError: Error, CustomStringConvertible {
    let store: String
    let column: String

    var description: String { "--printer store: the stores file names no \(column) for \(store) (add the column and import it again)" }
}

extension ErrorCorrection: ExpressibleByArgument {}
extension TagFileFormat: ExpressibleByArgument {}
extension ManifestFormat: ExpressibleByArgument {}
