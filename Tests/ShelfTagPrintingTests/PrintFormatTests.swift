import Foundation
import ShelfTagDomain
import ShelfTagPrinting
import ShelfTagRender
import ShelfTagStorage
import ShelfTagTestSupport
import Testing

/// Two products of LYO02: one on promotion (80 × 50 mm), one standard (60 × 40 mm).
private let twoTemplates = [try! GTIN("3760001009491"), try! GTIN("3760001001983")]

/// A tag's pixels, black or white.
private func blackDots(_ file: String) throws -> (width: Int, height: Int, black: [Bool]) {
    let image = try #require(decodeGreyPNG(try Data(contentsOf: URL(fileURLWithPath: file))))
    return (image.width, image.height, image.pixels.map { $0 < 128 })
}

/// The rectangle of a template's element, in pixels at `dpi`.
private func elementRectangle(_ template: TagTemplate, _ name: String, dpi: Int) throws -> (x: Int, y: Int, width: Int, height: Int) {
    let placed = try #require(template.elements.first { $0.name == name })
    let frame: Frame
    switch placed.element {
    case .qrCode(let qr): frame = qr
    case .barcode(let barcode, _): frame = barcode
    default: throw FixtureError(reason: "element \(name) is not a code")
    }
    func pixels(_ millimetres: Double) -> Int { Int((millimetres * Double(dpi) / 25.4).rounded()) }
    return (pixels(frame.x), pixels(frame.y), pixels(frame.x + frame.width) - pixels(frame.x), pixels(frame.y + frame.height) - pixels(frame.y))
}

@Suite("Tags as PDF and ZPL")
struct PrintFormatTests {
    @Test("a PDF run: a page per tag at its true size, vector codes on the PNG's dots, embedded fonts, searchable text, metadata")
    func pdfPerTag() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let directory = try newDirectory()
        let report = try await PrintRun.run(
            request("LYO02", into: directory) {
                $0.gtins = twoTemplates
                $0.settings.fileFormat = .pdf
                $0.preview = true
            }, reference: reference, library: templates)
        #expect(report.rendered.map(\.file) == ["LYO02/tags.pdf", "LYO02/tags.pdf"])
        #expect(report.rendered.map(\.page) == [1, 2])
        let pdf = directory.appendingPathComponent("LYO02/tags.pdf").path
        let info = try await runTool("pdfinfo", ["-f", "1", "-l", "2", pdf]).output
        #expect(info.contains("Pages:           2"))
        #expect(info.contains("Title:           Shelf tags, store LYO02"))
        #expect(info.contains("Creator:         ShelfTag"))
        #expect(info.contains("CreationDate:"))
        for (index, tag) in report.rendered.enumerated() {
            // 60 × 40 mm is 170.08 × 113.39 pt; 80 × 50 mm is 226.77 × 141.73 pt.
            let size = tag.template == "promotion" ? "226.772 x 141.732 pts" : "170.079 x 113.386 pts"
            #expect(info.contains("Page    \(index + 1) size:  \(size)"), "\(info)")
        }
        // Text as text, in fonts carried by the file; no picture anywhere.
        let fonts = try await runTool("pdffonts", [pdf]).output.split(separator: "\n").dropFirst(2)
        #expect(!fonts.isEmpty)
        for font in fonts { #expect(font.contains("DejaVu") && font.contains(" yes yes yes "), "\(font)") }
        #expect(try await runTool("pdfimages", ["-list", pdf]).output.split(separator: "\n").count == 2)
        for tag in report.rendered {
            let page = try #require(tag.page)
            let text = try await runTool("pdftotext", ["-f", "\(page)", "-l", "\(page)", "-layout", pdf, "-"]).output
            // Words as a reader copies them, whatever the spaces and line breaks between them.
            let plain = { (text: String) in text.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
            for field in ["price", "name"] {
                let words = try #require(tag.content.fields[field])
                #expect(plain(text).contains(plain(words)), "page \(page): \(text)")
            }
        }
        // Printed at 300 dpi, each page reads as its tag does, and its codes are the PNG's, dot for dot.
        let png = try await PrintRun.run(
            request("LYO02", into: directory) {
                $0.gtins = twoTemplates
                $0.preview = true
            }, reference: reference, library: templates)
        _ = try await runTool("pdftoppm", ["-r", "300", "-gray", "-png", pdf, directory.appendingPathComponent("page").path])
        let pages = (1...2).map { directory.appendingPathComponent("page-\($0).png").path }
        let symbols = try await zbarSymbols(in: pages)
        for (tag, pngTag) in zip(report.rendered, png.rendered) {
            let page = pages[tag.page! - 1]
            #expect(symbols[page]?.contains("QR-Code:" + tag.content.uri) == true, "\(symbols)")
            #expect(symbols[page]?.count == 2)
            let fromPDF = try blackDots(page)
            let fromPNG = try blackDots(directory.appendingPathComponent(pngTag.file).path)
            let template = try template(tag.template)
            for element in ["qr", "barcode"] {
                var box = try elementRectangle(template, element, dpi: 300)
                // The bars, above the digits (text, whose edges two rasterisers shade differently).
                if element == "barcode" { box.height /= 2 }
                var differing = 0
                var black = 0
                for y in box.y..<(box.y + box.height) {
                    for x in box.x..<(box.x + box.width) {
                        if fromPDF.black[y * fromPDF.width + x] != fromPNG.black[y * fromPNG.width + x] { differing += 1 }
                        if fromPNG.black[y * fromPNG.width + x] { black += 1 }
                    }
                }
                #expect(black > 1000 && differing == 0, "\(tag.template) \(element): \(differing) dots differ")
            }
        }
    }

    @Test("a PDF of A4 sheets: every tag's QR code reads in its cell of the page")
    func pdfSheets() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let directory = try newDirectory()
        let report = try await PrintRun.run(
            request("PAR01", into: directory) {
                $0.template = "standard"
                $0.sheet = "a4"
                $0.settings.fileFormat = .pdf
                $0.preview = true
            }, reference: reference, library: templates)
        let pdf = directory.appendingPathComponent("PAR01/sheets.pdf").path
        let pageCount = (report.rendered.count + 20) / 21
        #expect(report.rendered.count > 21 && report.rendered.last?.page == pageCount)
        let info = try await runTool("pdfinfo", ["-f", "1", "-l", "\(pageCount)", pdf]).output
        #expect(info.contains("Pages:           \(pageCount)"))
        #expect(info.split(separator: "\n").filter { $0.contains("size:  595.276 x 841.89 pts") }.count == pageCount)
        let sheets = directory.appendingPathComponent("sheets")
        try FileManager.default.createDirectory(at: sheets, withIntermediateDirectories: true)
        _ = try await runTool("pdftoppm", ["-r", "300", "-gray", "-png", "-f", "1", "-l", "2", pdf, sheets.appendingPathComponent("sheet").path])
        let files = try FileManager.default.contentsOfDirectory(atPath: sheets.path).map { sheets.appendingPathComponent($0).path }.sorted()
        #expect(files.count == 2)
        // A phone frames one tag, not a page of 21: each tag's cell, with 3 mm of its neighbours round it, must read.
        let layout = try SheetLayout(contentsOf: templates.sheetLayoutURL("a4"))
        let standard = try template("standard")
        let (columns, rows) = layout.grid(for: standard)
        let left = (layout.width - Double(columns) * standard.width) / 2
        let top = (layout.height - Double(rows) * standard.height) / 2
        func pixels(_ millimetres: Double) -> Int { Int((millimetres * 300 / 25.4).rounded()) }
        var cells: [(file: String, uri: String)] = []
        for (pageIndex, file) in files.enumerated() {
            let page = try #require(decodeGreyPNG(try Data(contentsOf: URL(fileURLWithPath: file))))
            let onPage = report.rendered.filter { $0.page == pageIndex + 1 }
            #expect(onPage.count == columns * rows)
            for (index, tag) in onPage.enumerated() {
                let x0 = pixels(left + Double(index % columns) * standard.width - 3)
                let y0 = pixels(top + Double(index / columns) * standard.height - 3)
                let (width, height) = (pixels(standard.width + 6), pixels(standard.height + 6))
                var cell = Data("P5\n\(width) \(height)\n255\n".utf8)
                for y in y0..<(y0 + height) {
                    let start = y * page.width + x0
                    cell.append(contentsOf: page.pixels[start..<(start + width)])
                }
                let cellFile = sheets.appendingPathComponent("cell-\(pageIndex)-\(index).pgm").path
                try cell.write(to: URL(fileURLWithPath: cellFile))
                cells.append((cellFile, tag.content.uri))
            }
        }
        let symbols = try await zbarSymbols(in: cells.map(\.file))
        for cell in cells { #expect(symbols[cell.file]?.contains("QR-Code:" + cell.uri) == true, "\(cell.uri)") }
    }

    @Test("ZPL labels at each resolution: the printer's own QR, EAN and font commands, read back from a ZPL renderer", arguments: [203, 300])
    func zplNative(dpi: Int) async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let directory = try newDirectory()
        let report = try await PrintRun.run(
            request("LYO02", into: directory, dpi: dpi) {
                $0.gtins = twoTemplates
                $0.settings.fileFormat = .zpl
                $0.preview = true
            }, reference: reference, library: templates)
        #expect(report.rendered.map(\.page) == [1, 2])
        let zpl = try String(contentsOf: directory.appendingPathComponent("LYO02/tags.zpl"), encoding: .utf8)
        let labels = zpl.components(separatedBy: "^XZ\n").dropLast()
        #expect(labels.count == 2)
        for (label, tag) in zip(labels, report.rendered) {
            let size = tag.template == "promotion" ? (80.0, 50.0) : (60.0, 40.0)
            func dots(_ millimetres: Double) -> Int { Int((millimetres * Double(dpi) / 25.4).rounded()) }
            #expect(label.hasPrefix("^XA\n"))
            #expect(label.contains("^CI28\n^PW\(dots(size.0))\n^LL\(dots(size.1))\n"))
            let qr = try #require(tag.qrCode)
            #expect(label.contains("^BQN,2,\(qr.modulePixels),M^FH_^FDMA,\(tag.content.uri)^FS"))
            #expect(label.contains("^BEN,") && label.contains("^FD\(tag.content.label.gtin.digits.suffix(13).dropLast())^FS"))
            #expect(label.contains("^A0N,"))
        }
        let out = directory.appendingPathComponent("printed").path
        #expect(try await runTestScript("zpl_render.py", [directory.appendingPathComponent("LYO02/tags.zpl").path, "\(dpi)", out]).output == "2\n")
        let printed = (1...2).map { "\(out)/label-00\($0).png" }
        let symbols = try await zbarSymbols(in: printed)
        for (file, tag) in zip(printed, report.rendered) {
            #expect(symbols[file]?.contains("QR-Code:" + tag.content.uri) == true, "\(file): \(symbols[file] ?? [])")
            #expect(symbols[file]?.contains("EAN-13:" + tag.content.label.gtin.digits.suffix(13)) == true, "\(file): \(symbols[file] ?? [])")
        }
    }

    @Test("--zpl-graphic: each label prints the PNG's raster, dot for dot")
    func zplGraphic() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let directory = try newDirectory()
        let report = try await PrintRun.run(
            request("LYO02", into: directory, dpi: 203) {
                $0.gtins = twoTemplates
                $0.settings.fileFormat = .zpl
                $0.settings.zplGraphic = true
                $0.preview = true
            }, reference: reference, library: templates)
        let png = try await PrintRun.run(
            request("LYO02", into: directory, dpi: 203) {
                $0.gtins = twoTemplates
                $0.preview = true
            }, reference: reference, library: templates)
        let zpl = directory.appendingPathComponent("LYO02/tags.zpl").path
        #expect(try String(contentsOfFile: zpl, encoding: .utf8).components(separatedBy: "^GFA,").count == 3)
        let out = directory.appendingPathComponent("printed").path
        _ = try await runTestScript("zpl_render.py", [zpl, "203", out])
        for (index, (tag, pngTag)) in zip(report.rendered, png.rendered).enumerated() {
            let printed = try blackDots("\(out)/label-00\(index + 1).png")
            let expected = try blackDots(directory.appendingPathComponent(pngTag.file).path)
            #expect(printed.width == expected.width && printed.height == expected.height)
            #expect(printed.black == expected.black, "\(tag.content.label.gtin): the printed label differs from the PNG")
            #expect(expected.black.contains(true))
        }
    }

    @Test("--printer: the labels reach a raw-socket printer byte for byte; a printer that refuses is named and nothing is recorded")
    func rawSocketPrinter() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let directory = try newDirectory()
        let printer = try FakeLabelPrinter()
        let report = try await PrintRun.run(
            request("LYO02", into: directory, dpi: 203) {
                $0.gtins = twoTemplates
                $0.settings.fileFormat = .zpl
                $0.settings.printer = try! PrinterAddress("tcp://127.0.0.1:\(printer.port)")
            }, reference: reference, library: templates)
        #expect(report.rendered.count == 2)
        let received = try await offThePool { printer.received() }
        #expect(received == (try Data(contentsOf: directory.appendingPathComponent("LYO02/tags.zpl"))))
        #expect(!received.isEmpty)

        // Nothing listens on the port once the fake printer is gone.
        let gone = printer.port
        printer.close()
        let before = try await reference.latestPrints(in: "LYO02")
        let failedDirectory = try newDirectory()
        do {
            _ = try await PrintRun.run(
                request("LYO02", into: failedDirectory, dpi: 203) {
                    $0.gtins = twoTemplates
                    $0.settings.fileFormat = .zpl
                    $0.settings.printer = try! PrinterAddress("tcp://127.0.0.1:\(gone)")
                    $0.time = printTime.addingTimeInterval(60)
                }, reference: reference, library: templates)
            Issue.record("a refused connection must fail the run")
        } catch {
            #expect("\(error)".contains("printer 127.0.0.1:\(gone): Connection refused"), "\(error)")
        }
        #expect(try await reference.latestPrints(in: "LYO02") == before)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: failedDirectory.appendingPathComponent("LYO02").path)) ?? []
        #expect(left.isEmpty, "\(left)")
    }

    @Test("printer addresses: tcp://host[:port] only")
    func printerAddresses() throws {
        #expect(try PrinterAddress("tcp://zebra-7.store.example") == PrinterAddress("tcp://zebra-7.store.example:9100"))
        #expect(try PrinterAddress("tcp://10.0.0.7:6101").port == 6101)
        for bad in ["10.0.0.7", "http://10.0.0.7", "tcp://", "tcp://host:99999", "tcp://host/queue"] {
            #expect(throws: PrinterError.badAddress(bad)) { try PrinterAddress(bad) }
        }
    }

    @Test("a PDF run goes into the print ledger like a PNG run: --stale then finds nothing to print")
    func pdfRunIsRecorded() async throws {
        let path = try await sampleDatabase()
        let copy = try newDatabasePath()
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        let reference = try SQLiteProductReference(path: copy)
        let directory = try newDirectory()
        let first = try await PrintRun.run(
            request("BDX03", into: directory) { $0.settings.fileFormat = .pdf }, reference: reference, library: templates)
        #expect(first.rendered.count > 10)
        let again = try await PrintRun.run(
            request("BDX03", into: directory) {
                $0.settings.fileFormat = .pdf
                $0.staleOnly = true
            }, reference: reference, library: templates)
        #expect(again.rendered.isEmpty)
    }
}

private struct FixtureError: Error {
    let reason: String
}

/// A raw-socket label printer on 127.0.0.1: keeps what one client sends until it hangs up.
private final class FakeLabelPrinter: @unchecked Sendable {
    let port: Int
    private var listener: Int32
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        guard bound, listen(listener, 1) == 0 else { throw FixtureError(reason: "cannot listen on 127.0.0.1") }
        port = Int(UInt16(bigEndian: address.sin_port))
        self.listener = listener
        DispatchQueue.global().async {
            let client = accept(listener, nil, nil)
            var buffer = [UInt8](repeating: 0, count: 65536)
            while client >= 0 {
                let count = read(client, &buffer, buffer.count)
                if count <= 0 { break }
                self.data.append(contentsOf: buffer[..<count])
            }
            if client >= 0 { Foundation.close(client) }
            self.done.signal()
        }
    }

    /// What the client sent, once it has hung up.
    func received() -> Data {
        done.wait()
        return data
    }

    func close() {
        Foundation.close(listener)
        listener = -1
    }
}
