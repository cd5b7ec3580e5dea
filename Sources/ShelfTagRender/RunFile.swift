import Foundation

/// What a worker hands the run's file for one unit.
enum RunFileOutput {
    case page(PDFPage)
    /// One or more `^XA … ^XZ` labels.
    case labels(String)
}

/// A run's one file (PDF or ZPL), written by one thread as units arrive in order, under a hidden name until it is
/// complete.
protocol RunFile: AnyObject, Sendable {
    /// The file's name in the run's folder.
    var name: String { get }
    /// Adds one unit's output; the page (PDF) it went to, from 1.
    func append(_ output: RunFileOutput) throws(RenderError) -> Int
    /// Completes the file and gives it its name.
    func finish() throws(RenderError)
    /// Removes what was written.
    func discard()
}

/// The run's PDF: cairo writes it page by page.
final class PDFRunFile: RunFile, @unchecked Sendable {
    let name: String
    private let folder: OutputFolder
    private let document: PDFDocument
    private var pages = 0

    init(folder: OutputFolder, name: String, dpi: Int, title: String) throws(RenderError) {
        self.folder = folder
        self.name = name
        document = try PDFDocument(path: folder.temporaryPath(for: name), dpi: dpi, title: title, created: Date())
    }

    func append(_ output: RunFileOutput) throws(RenderError) -> Int {
        guard case .page(let page) = output else { preconditionFailure("a PDF takes pages") }
        try document.add(page)
        pages += 1
        return pages
    }

    func finish() throws(RenderError) {
        try document.finish()
        try folder.publish(name)
    }

    func discard() { folder.discard(name) }
}

/// The run's ZPL file, each label also sent to a printer as it comes when there is one.
final class ZPLRunFile: RunFile, @unchecked Sendable {
    let name: String
    private let folder: OutputFolder
    private let file: FileHandle
    private let printer: PrinterConnection?

    init(folder: OutputFolder, name: String, printer: PrinterAddress?) throws(RenderError) {
        self.folder = folder
        self.name = name
        let path = folder.temporaryPath(for: name)
        guard FileManager.default.createFile(atPath: path, contents: nil), let file = FileHandle(forWritingAtPath: path) else {
            throw .cannotWrite(path: "\(folder.path)/\(name)", reason: String(cString: strerror(errno)))
        }
        self.file = file
        guard let printer else {
            self.printer = nil
            return
        }
        do throws(PrinterError) { self.printer = try PrinterConnection(to: printer) } catch {
            try? file.close()
            folder.discard(name)
            throw .printer(error)
        }
    }

    func append(_ output: RunFileOutput) throws(RenderError) -> Int {
        guard case .labels(let labels) = output else { preconditionFailure("a ZPL file takes labels") }
        let bytes = Data(labels.utf8)
        do { try file.write(contentsOf: bytes) } catch { throw .cannotWrite(path: "\(folder.path)/\(name)", reason: error.localizedDescription) }
        do { try printer?.send(bytes) } catch { throw .printer(error) }
        return 0
    }

    func finish() throws(RenderError) {
        do { try file.close() } catch { throw .cannotWrite(path: "\(folder.path)/\(name)", reason: error.localizedDescription) }
        printer?.close()
        try folder.publish(name)
    }

    func discard() {
        try? file.close()
        printer?.close()
        folder.discard(name)
    }
}

/// Units' output passed from the workers, finished in any order, to the one thread writing the run's file, in
/// order. A worker more than `window` units ahead of the writer waits, so memory stays bounded when the writer is the
/// slower (one cairo thread against every core drawing).
final class OrderedHandoff: @unchecked Sendable {
    private let condition = NSCondition()
    private var waiting: [Int: RunFileOutput?] = [:]
    private var next = 0
    private var isFinished = false
    private var isAbandoned = false
    private let window: Int

    init(window: Int) { self.window = max(1, window) }

    /// Hands over unit `index`'s output (nil: none of its tags could be drawn). False when the writer has stopped.
    func put(_ index: Int, _ output: RunFileOutput?) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while index >= next + window && !isAbandoned { condition.wait() }
        guard !isAbandoned else { return false }
        waiting[index] = .some(output)
        condition.broadcast()
        return true
    }

    /// The next unit in order, waiting for it; nil once the workers are done and every unit has been taken.
    func take() -> (index: Int, output: RunFileOutput?)? {
        condition.lock()
        defer { condition.unlock() }
        while waiting[next] == nil && !isFinished && !isAbandoned { condition.wait() }
        guard !isAbandoned, let output = waiting.removeValue(forKey: next) else { return nil }
        defer {
            next += 1
            condition.broadcast()
        }
        return (next, output)
    }

    /// The workers are done: what they handed over is all there is.
    func finish() {
        condition.lock()
        isFinished = true
        condition.broadcast()
        condition.unlock()
    }

    /// The writer or a worker stopped: the others stop too.
    func abandon() {
        condition.lock()
        isAbandoned = true
        condition.broadcast()
        condition.unlock()
    }
}
