import Foundation
import ShelfTagDomain
import ShelfTagRender
import ShelfTagStorage
import ShelfTagTestSupport
import Testing

@testable import ShelfTagPrinting

/// Two products of LYO02: one on promotion (80 × 50 mm), one standard (60 × 40 mm).
private let twoTemplates = [try! GTIN("3760001009491"), try! GTIN("3760001001983")]

/// The bytes of one attribute as RFC 8010 (3.1.4) lays it out: value tag, name length, name, value length, value.
private func encodedAttribute(_ tag: UInt8, _ name: String, _ value: String) -> [UInt8] {
    func length(_ count: Int) -> [UInt8] { [UInt8(count >> 8), UInt8(count & 0xFF)] }
    return [tag] + length(name.utf8.count) + Array(name.utf8) + length(value.utf8.count) + Array(value.utf8)
}

private func contains(_ data: Data, _ bytes: [UInt8]) -> Bool { data.range(of: Data(bytes)) != nil }

/// A copy of the samples' database, whose print ledger a test may write.
private func writableSamples() async throws -> SQLiteProductReference {
    let copy = try newDatabasePath()
    try FileManager.default.copyItem(atPath: try await sampleDatabase(), toPath: copy)
    return try SQLiteProductReference(path: copy)
}

@Suite("Printers and CUPS queues over IPP")
struct IPPPrinterTests {
    @Test("--printer ipp://: a real CUPS queue takes the run's PDF byte for byte, at true size on the sheet's paper; the ledger records the tags")
    func cupsQueueTakesThePDF() async throws {
        try await withPrintServer([.init("shelf")]) { server in
            let reference = try await writableSamples()
            let directory = try newDirectory()
            let report = try await PrintRun.run(
                request("LYO02", into: directory) {
                    $0.gtins = twoTemplates
                    $0.sheet = "a4"
                    $0.settings.fileFormat = .pdf
                    $0.ippPrinter = try! IPPPrinterAddress(server.uri("shelf"))
                }, reference: reference, library: templates)
            let job = try #require(report.printJob)
            let pdf = try Data(contentsOf: directory.appendingPathComponent("LYO02/sheets.pdf"))
            #expect(try server.documents() == [pdf])
            #expect(job.printer.uri == server.uri("shelf") && job.id == 1)
            // One sheet per template: the promotion's and the standard tag's.
            let info = try await runTool("pdfinfo", [directory.appendingPathComponent("LYO02/sheets.pdf").path])
            #expect(info.output.contains("Pages:           2") && job.pages == 2, "\(info.output)")
            let stored = try await server.jobAttributes(job.id)
            #expect(contains(stored, encodedAttribute(0x44, "print-scaling", "none")), "pages at their true size")
            #expect(contains(stored, encodedAttribute(0x44, "media", "iso_a4_210x297mm")))
            #expect(contains(stored, encodedAttribute(0x49, "document-format", "application/pdf")))
            #expect(contains(stored, Array("Shelf tags, store LYO02".utf8)), "the job is named for the store")
            #expect(Set(try await reference.latestPrints(in: "LYO02").keys) == Set(twoTemplates))
        }
    }

    @Test("a queue that takes no jobs, an unknown queue or name, an untrusted certificate, no server: the run stops before drawing, says why, records nothing")
    func refusingPrinters() async throws {
        let reference = try await writableSamples()
        let before = try await reference.latestPrints(in: "LYO02")
        func attempt(_ uri: String) async throws -> String {
            let directory = try newDirectory()
            do {
                _ = try await PrintRun.run(
                    request("LYO02", into: directory) {
                        $0.gtins = twoTemplates
                        $0.settings.fileFormat = .pdf
                        $0.ippPrinter = try! IPPPrinterAddress(uri)
                    }, reference: reference, library: templates)
                Issue.record("\(uri) must fail the run")
            } catch {
                let drawn = (try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("LYO02").path)) ?? []
                #expect(drawn.isEmpty, "\(uri): \(drawn)")
                return "\(error)"
            }
            return ""
        }
        var gone = ""
        try await withPrintServer([.init("shelf"), .init("closed", accepting: false, message: "Out of paper")]) { server in
            #expect(try await attempt(server.uri("closed")) == "printer \(server.uri("closed")): is not accepting jobs (Out of paper)")
            let unknown = try await attempt(server.uri("nope"))
            #expect(unknown.hasPrefix("printer \(server.uri("nope")): refused: no such printer or queue"), "\(unknown)")
            // 127.1 is 127.0.0.1, by a name CUPS does not know itself by.
            let alias = server.uri("shelf").replacingOccurrences(of: "127.0.0.1", with: "127.1")
            #expect(try await attempt(alias).hasPrefix("printer \(alias): answered HTTP 400 (a CUPS server refuses a name it does not know"))
            // Over TLS, a print server's own certificate is not one this machine trusts.
            let tls = server.uri("shelf").replacingOccurrences(of: "ipp://", with: "ipps://")
            #expect(
                try await attempt(tls)
                    == "printer \(tls): its TLS certificate is not trusted here (self-signed, or signed by an authority this machine does not trust)")
            #expect(try server.documents().isEmpty)
            gone = server.uri("shelf")
        }
        #expect(try await attempt(gone) == "printer \(gone): connection refused")
        #expect(try await reference.latestPrints(in: "LYO02") == before)
    }

    @Test("--format zpl --printer ipp://: a CUPS raw queue (a thermal printer shared by a PC) takes the labels byte for byte")
    func cupsRawQueueTakesZPL() async throws {
        try await withPrintServer([.init("zebra")]) { server in
            let reference = try await writableSamples()
            let directory = try newDirectory()
            let report = try await PrintRun.run(
                request("LYO02", into: directory, dpi: 203) {
                    $0.gtins = twoTemplates
                    $0.settings.fileFormat = .zpl
                    $0.ippPrinter = try! IPPPrinterAddress(server.uri("zebra"))
                }, reference: reference, library: templates)
            let job = try #require(report.printJob)
            #expect(job.pages == 2, "a label per tag")
            #expect(try server.documents() == [try Data(contentsOf: directory.appendingPathComponent("LYO02/tags.zpl"))])
            let stored = try await server.jobAttributes(job.id)
            #expect(contains(stored, encodedAttribute(0x49, "document-format", "application/vnd.cups-raw")), "passed to the printer unfiltered")
            #expect(!contains(stored, Array("print-scaling".utf8)), "labels are not scaled: nothing to ask")
        }
    }

    @Test("the document format: the first the printer lists of those that carry the file; none is an error that says what it takes")
    func documentFormats() {
        let cups = ["application/octet-stream", "application/pdf", "application/vnd.cups-raw", "image/pwg-raster"]
        #expect(IPPDocument.pdf.format(among: cups) == "application/pdf")
        #expect(IPPDocument.zpl.format(among: cups) == "application/vnd.cups-raw")
        #expect(IPPDocument.pdf.format(among: ["application/octet-stream", "image/urf"]) == "application/octet-stream")
        #expect(IPPDocument.pdf.format(among: []) == "application/pdf")
        let airPrint = ["image/urf", "image/pwg-raster", "image/jpeg"]
        #expect(IPPDocument.pdf.format(among: airPrint) == nil && IPPDocument.zpl.format(among: airPrint) == nil)
        let printer = try! IPPPrinterAddress("ipp://10.0.0.9/ipp/print")
        #expect(
            "\(IPPPrinterError.takesNot(printer, document: .pdf, formats: airPrint))"
                == "printer ipp://10.0.0.9:631/ipp/print: does not take PDF (it takes image/urf, image/pwg-raster, image/jpeg); "
                + "send the PDF through a print server such as CUPS")
        #expect(
            "\(IPPPrinterError.takesNot(printer, document: .zpl, formats: airPrint))".hasSuffix("send the labels to its raw port instead (tcp://HOST:9100)"))
    }

    @Test("waiting for the printer: a printed job is recorded; an aborted one or one still pending is not, and says why")
    func waitingForPrinting() async throws {
        let queues: [PrintServer.Queue] = [.init("shelf"), .init("broken", broken: true), .init("jammed", stopped: true)]
        try await withPrintServer(queues) { server in
            let reference = try await writableSamples()
            func run(_ queue: String, _ gtin: GTIN, wait: Int) async throws -> PrintReport {
                try await PrintRun.run(
                    request("LYO02", into: try newDirectory()) {
                        $0.gtins = [gtin]
                        $0.settings.fileFormat = .pdf
                        $0.ippPrinter = try! IPPPrinterAddress(server.uri(queue))
                        $0.waitForPrinting = wait
                    }, reference: reference, library: templates)
            }
            let printed = try await run("shelf", twoTemplates[0], wait: 20)
            #expect(printed.printJob?.state == "completed")
            let recorded = try await reference.latestPrints(in: "LYO02")
            #expect(Set(recorded.keys) == [twoTemplates[0]])
            for (queue, wait, expected) in [("broken", 20, "aborted, not printed (paper jam"), ("jammed", 1, "still pending after 1 s")] {
                let error = await #expect(throws: PrintRunError.self) { _ = try await run(queue, twoTemplates[1], wait: wait) }
                let message = error.map { "\($0)" } ?? ""
                #expect(message.hasPrefix("printer \(server.uri(queue)): job ") && message.contains(expected), "\(message)")
                #expect(message.contains("not recorded as printed"), "\(message)")
            }
            #expect(try await reference.latestPrints(in: "LYO02") == recorded)
        }
    }

    @Test("a printer that refuses the finished PDF: the PDF stays, the error says where, the ledger records nothing")
    func jobRefusedAfterRendering() async throws {
        // A stopped queue keeps its one allowed active job pending: the next Print-Job is refused, though the
        // queue says it accepts jobs when the run starts.
        try await withPrintServer([.init("jammed", stopped: true)], maxJobs: 1) { server in
            let reference = try await writableSamples()
            func run(_ gtin: GTIN, into directory: URL) async throws -> PrintReport {
                try await PrintRun.run(
                    request("LYO02", into: directory) {
                        $0.gtins = [gtin]
                        $0.settings.fileFormat = .pdf
                        $0.ippPrinter = try! IPPPrinterAddress(server.uri("jammed"))
                    }, reference: reference, library: templates)
            }
            let first = try await run(twoTemplates[0], into: try newDirectory())
            #expect(first.printJob?.state == "pending", "a stopped queue holds the job")
            let recorded = try await reference.latestPrints(in: "LYO02")
            let directory = try newDirectory()
            let pdf = directory.appendingPathComponent("LYO02/tags.pdf").path
            let error = await #expect(throws: PrintRunError.self) { _ = try await run(twoTemplates[1], into: directory) }
            let message = error.map { "\($0)" } ?? ""
            #expect(message.hasPrefix("printer \(server.uri("jammed")): refused: "), "\(message)")
            #expect(message.hasSuffix("; the tags are in \(pdf), not recorded as printed"), "\(message)")
            #expect(FileManager.default.fileExists(atPath: pdf))
            #expect(try await reference.latestPrints(in: "LYO02") == recorded)
            #expect(try server.documents().count == 1)
        }
    }

    @Test("an office printer is sent the run's PDF: another format is refused before anything is drawn")
    func ippPrinterNeedsPDF() async throws {
        let reference = try SQLiteProductReference(path: try await sampleDatabase())
        let printer = try IPPPrinterAddress("ipp://127.0.0.1:9/printers/shelf")
        let directory = try newDirectory()
        let error = await #expect(throws: PrintRunError.self) {
            _ = try await PrintRun.run(
                request("LYO02", into: directory) {
                    $0.preview = true
                    $0.ippPrinter = printer
                }, reference: reference, library: templates)
        }
        #expect(error.map { "\($0)" } == "printer \(printer): an IPP printer is sent the run's PDF or ZPL file: render with --format pdf or zpl")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("LYO02").path))
    }

    @Test("printer addresses: ipp:// and ipps://, port 631 and /ipp/print by default; no user, query or other scheme")
    func addresses() throws {
        let cups = try IPPPrinterAddress("ipp://print.store.example/printers/Office")
        #expect(cups.uri == "ipp://print.store.example:631/printers/Office" && cups.httpURL == "http://print.store.example:631/printers/Office")
        let printer = try IPPPrinterAddress("IPPS://10.0.0.9:8631")
        #expect(printer.uri == "ipps://10.0.0.9:8631/ipp/print" && printer.httpURL == "https://10.0.0.9:8631/ipp/print")
        #expect(try IPPPrinterAddress("ipp://[fe80::1]/ipp/print").httpURL == "http://[fe80::1]:631/ipp/print")
        for bad in ["print.store.example", "http://h/ipp/print", "tcp://h:9100", "ipp://", "ipp://h/p?x=1", "ipp://h:70000/p"] {
            #expect(throws: IPPPrinterError.badAddress(bad)) { try IPPPrinterAddress(bad) }
        }
        // Refused without repeating its password.
        #expect(throws: IPPPrinterError.badAddress("ipp://…@h/ipp/print")) { try IPPPrinterAddress("ipp://me:secret@h/ipp/print") }
    }

    @Test("a sheet's paper by its PWG media name; a size without one is left to the printer")
    func mediaNames() {
        #expect(IPPPrinter.media(width: 210, height: 297) == "iso_a4_210x297mm")
        #expect(IPPPrinter.media(width: 215.9, height: 279.4) == "na_letter_8.5x11in")
        #expect(IPPPrinter.media(width: 100, height: 150) == nil)
    }

    @Test("IPP messages: a request laid out as RFC 8010 says; an answer read group by group, multi-valued; a cut answer refused")
    func messages() throws {
        let request = IPP.Request(
            operation: .getPrinterAttributes, requestID: 7,
            operationAttributes: [
                IPP.Attribute("printer-uri", .text(.uri, "ipp://h:631/p")),
                IPP.Attribute("requested-attributes", .text(.keyword, "a"), .text(.keyword, "bc")),
            ])
        let expected: [UInt8] =
            [0x01, 0x01, 0x00, 0x0B, 0x00, 0x00, 0x00, 0x07, 0x01]
            + encodedAttribute(0x47, "attributes-charset", "utf-8") + encodedAttribute(0x48, "attributes-natural-language", "en")
            + encodedAttribute(0x45, "printer-uri", "ipp://h:631/p") + encodedAttribute(0x44, "requested-attributes", "a")
            // A further value: an empty name.
            + [0x44, 0x00, 0x00, 0x00, 0x02] + Array("bc".utf8) + [0x03]
        #expect(request.encoded() == expected)

        let answer: [UInt8] =
            [0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x01]
            + encodedAttribute(0x47, "attributes-charset", "utf-8") + encodedAttribute(0x41, "status-message", "successful-ok")
            + [0x02, 0x21, 0x00, 0x06] + Array("job-id".utf8) + [0x00, 0x04, 0x00, 0x00, 0x01, 0x02]
            + [0x23, 0x00, 0x09] + Array("job-state".utf8) + [0x00, 0x04, 0x00, 0x00, 0x00, 0x05]
            + [0x04] + encodedAttribute(0x49, "document-format-supported", "image/urf") + [0x49, 0x00, 0x00, 0x00, 0x0F]
            + Array("application/pdf".utf8) + [0x22, 0x00, 0x19] + Array("printer-is-accepting-jobs".utf8) + [0x00, 0x01, 0x00, 0x03]
        let read = try IPP.Response(answer)
        #expect(read.succeeded && read.requestID == 7)
        #expect(read.groups.map(\.tag) == [0x01, 0x02, 0x04])
        #expect(read.attribute("job-id", in: .job)?.values.first?.integer == 258)
        #expect(read.attribute("job-state")?.values.first?.integer == 5)
        #expect(read.attribute("job-id", in: .printer) == nil)
        #expect(read.attribute("document-format-supported")?.values.compactMap(\.text) == ["image/urf", "application/pdf"])
        #expect(read.attribute("printer-is-accepting-jobs")?.values.first?.boolean == false)
        for length in 0..<answer.count {
            #expect(throws: IPP.MalformedMessage.self, "cut at \(length)") { try IPP.Response(Array(answer.prefix(length))) }
        }
    }
}
