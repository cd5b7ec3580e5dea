import AsyncHTTPClient
import Foundation
import NIOCore
import ShelfTagHTTPClient

/// A printer or a print server's queue, reached over IPP: `ipp://HOST[:631]/PATH` (CUPS names a queue
/// `/printers/NAME`; a network printer's IPP Everywhere queue is `/ipp/print`, taken when the path is left out), or
/// `ipps://` for the same over TLS.
public struct IPPPrinterAddress: Sendable, Equatable, CustomStringConvertible {
    /// The printer's URI as IPP names it (`printer-uri`), with its port.
    public let uri: String
    /// Where the requests go: the same place over HTTP (RFC 8010, 4.1).
    let httpURL: String

    public static let defaultPort = 631
    public static let defaultPath = "/ipp/print"

    /// - Throws: `IPPPrinterError.badAddress` for anything but `ipp://` or `ipps://` with a host, and no user,
    ///   query or fragment.
    public init(_ text: String) throws(IPPPrinterError) {
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), scheme == "ipp" || scheme == "ipps",
            let host = url.host, !host.isEmpty, url.user == nil, url.password == nil, url.query == nil, url.fragment == nil
        else { throw .badAddress(Self.withoutCredentials(text)) }
        let port = url.port ?? Self.defaultPort
        guard (1...65_535).contains(port) else { throw .badAddress(Self.withoutCredentials(text)) }
        let path = url.percentEncodedPath.isEmpty || url.percentEncodedPath == "/" ? Self.defaultPath : url.percentEncodedPath
        // An IPv6 literal keeps its brackets in a URI.
        let authority = "\(host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host):\(port)"
        uri = "\(scheme)://\(authority)\(path)"
        httpURL = "\(scheme == "ipps" ? "https" : "http")://\(authority)\(path)"
    }

    public var description: String { uri }

    /// `text` with a user and password before its host left out (`ipp://…@host/…`): an error repeats the address.
    private static func withoutCredentials(_ text: String) -> String {
        guard let start = text.range(of: "://"), let at = text[start.upperBound...].firstIndex(of: "@"),
            !text[start.upperBound..<at].contains("/")
        else { return text }
        return text[..<start.upperBound] + "…" + text[at...]
    }
}

/// What a run sends an IPP printer: its one PDF or ZPL file.
public enum IPPDocument: Sendable, Equatable {
    case pdf
    /// ZPL II, passed to the printer untouched: CUPS's raw format (a thermal printer on USB shared as a queue), or a
    /// printer's own ZPL type.
    case zpl

    /// The document formats that carry it, in the order they are asked for.
    var formats: [String] {
        switch self {
        // `application/octet-stream`: a printer that takes anything and sniffs it.
        case .pdf: ["application/pdf", "application/octet-stream"]
        case .zpl: ["application/vnd.cups-raw", "application/vnd.zebra-zpl"]
        }
    }

    var name: String {
        switch self {
        case .pdf: "PDF"
        case .zpl: "raw ZPL"
        }
    }

    /// The format to send it as, of those a printer lists (the first of its own when the list is empty); nil when
    /// none carries it.
    func format(among supported: [String]) -> String? {
        supported.isEmpty ? formats.first : formats.first(where: supported.contains)
    }
}

/// Why an IPP printer did not take a run's file.
public enum IPPPrinterError: Error, Equatable, CustomStringConvertible {
    case badAddress(String)
    case unreachable(IPPPrinterAddress, reason: String)
    /// It answered HTTP, not IPP: a status other than 200.
    case httpStatus(IPPPrinterAddress, code: Int)
    /// It answered IPP with an error status; `message` is its own words (`status-message`), when it gave some.
    case refused(IPPPrinterAddress, status: UInt16, message: String?)
    case notAcceptingJobs(IPPPrinterAddress, reasons: [String])
    /// It lists the document formats it takes, and none carries the run's file.
    case takesNot(IPPPrinterAddress, document: IPPDocument, formats: [String])
    case malformedAnswer(IPPPrinterAddress, reason: String)
    /// It took the job, then did not print it: canceled or aborted; `reasons` are its words and keywords.
    case jobEnded(IPPPrinterAddress, job: Int, state: String, reasons: [String])
    /// The job was not printed within the time waited for it.
    case stillPrinting(IPPPrinterAddress, job: Int, state: String, seconds: Int)

    public var description: String {
        switch self {
        case .badAddress(let text):
            "printer '\(text)': not ipp://HOST[:PORT]/PATH or ipps://… (a CUPS queue: ipp://HOST:631/printers/NAME; a network printer: ipp://HOST/ipp/print)"
        case .unreachable(let printer, let reason): "printer \(printer): \(reason)"
        case .httpStatus(let printer, let code):
            switch code {
            case 401, 403: "printer \(printer): asks for a user name and password (HTTP \(code)); shelftag render cannot give one yet"
            case 400:
                "printer \(printer): answered HTTP 400 (a CUPS server refuses a name it does not know itself by: add it to its ServerAlias, or use its address)"
            case 404: "printer \(printer): no such printer or queue (HTTP 404)"
            case 426: "printer \(printer): asks for an encrypted connection (HTTP 426): use ipps://"
            default: "printer \(printer): answered HTTP \(code), not IPP"
            }
        case .refused(let printer, let status, let message):
            "printer \(printer): refused: \(status == 0x0406 ? "no such printer or queue" : IPP.statusName(status))"
                + (message.map { " (\($0))" } ?? "")
        case .notAcceptingJobs(let printer, let reasons):
            "printer \(printer): is not accepting jobs" + (reasons.isEmpty ? "" : " (\(reasons.joined(separator: ", ")))")
        case .takesNot(let printer, let document, let formats):
            "printer \(printer): does not take \(document.name) (it takes \(formats.joined(separator: ", ")))"
                + (document == .pdf
                    ? "; send the PDF through a print server such as CUPS" : "; send the labels to its raw port instead (tcp://HOST:9100)")
        case .malformedAnswer(let printer, let reason): "printer \(printer): an answer that is not IPP (\(reason))"
        case .jobEnded(let printer, let job, let state, let reasons):
            "printer \(printer): job \(job) \(state), not printed" + (reasons.isEmpty ? "" : " (\(reasons.joined(separator: ", ")))")
        case .stillPrinting(let printer, let job, let state, let seconds): "printer \(printer): job \(job) still \(state) after \(seconds) s"
        }
    }
}

/// A job the printer took.
public struct PrintJob: Sendable, Equatable {
    public let printer: IPPPrinterAddress
    public let id: Int
    /// `job-state` as RFC 8011 names it: pending, processing, completed…
    public let state: String
    /// How many pages (PDF) or labels (ZPL) the document holds.
    public let pages: Int
}

/// A printer or a print server's queue reached over IPP, for a run's PDF or ZPL: asked first whether it is there,
/// takes jobs and takes that document (`check`), so that a run fails before drawing anything; then sent the complete
/// file as one Print-Job.
public struct IPPPrinter: Sendable {
    public let address: IPPPrinterAddress
    public let document: IPPDocument

    static let connectTimeout = 10
    /// The longest silence: a printer reads the whole document before it answers, and may pause while its queue
    /// spools.
    static let answerTimeout = 60
    /// The whole exchange may take the silence allowed, plus a second per 256 KiB sent: a 50 MB run's PDF gets 260 s,
    /// enough for a printer on a slow network.
    static func deadline(sending bytes: Int) -> Int64 { Int64(answerTimeout + bytes / (256 << 10)) }

    public init(_ address: IPPPrinterAddress, document: IPPDocument) {
        self.address = address
        self.document = document
    }

    /// A printer that said it is there, takes jobs and takes the run's document, in the format it named.
    public struct Ready: Sendable {
        public let printer: IPPPrinter
        /// The `document-format` the file goes as.
        public let format: String

        /// Sends the file at `path` as one job named `jobName`. A PDF's pages print at their true size
        /// (`print-scaling` none), on `media` when given (a PWG name such as `iso_a4_210x297mm`).
        /// - Throws: `IPPPrinterError`, or `.unreachable` when the file cannot be read.
        public func print(_ path: String, pages: Int, jobName: String, media: String?) async throws(IPPPrinterError) -> PrintJob {
            let address = printer.address
            let document: Data
            // Mapped, not read: the pages are the file's own, and a large run's file is not held in memory twice.
            do { document = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
                throw .unreachable(address, reason: "cannot read \(path): \(error.localizedDescription)")
            }
            var jobAttributes: [IPP.Attribute] = []
            if printer.document == .pdf {
                jobAttributes.append(IPP.Attribute("print-scaling", .text(.keyword, "none")))
                if let media { jobAttributes.append(IPP.Attribute("media", .text(.keyword, media))) }
            }
            let request = IPP.Request(
                operation: .printJob, requestID: 2,
                operationAttributes: [
                    IPP.Attribute("printer-uri", .text(.uri, address.uri)),
                    IPP.Attribute("requesting-user-name", .text(.nameWithoutLanguage, IPPPrinter.user)),
                    IPP.Attribute("job-name", .text(.nameWithoutLanguage, jobName)),
                    IPP.Attribute("document-name", .text(.nameWithoutLanguage, URL(fileURLWithPath: path).lastPathComponent)),
                    IPP.Attribute("document-format", .text(.mimeMediaType, format)),
                ],
                jobAttributes: jobAttributes)
            let answer = try await printer.send(request, document: document)
            guard let id = answer.attribute("job-id", in: .job)?.values.first?.integer else {
                throw .malformedAnswer(address, reason: "no job-id in its answer to Print-Job")
            }
            let state = answer.attribute("job-state", in: .job)?.values.first?.integer.map(IPPPrinter.jobStateName) ?? "pending"
            return PrintJob(printer: address, id: Int(id), state: state, pages: pages)
        }
    }

    /// Waits until the printer has printed `job` (its state `completed`), asking twice a second, for at most `seconds`.
    /// - Throws: `IPPPrinterError.jobEnded` when it was canceled or aborted, `.stillPrinting` when time ran out.
    public func waitUntilPrinted(_ job: PrintJob, seconds: Int) async throws(IPPPrinterError) -> PrintJob {
        let request = IPP.Request(
            operation: .getJobAttributes, requestID: 3,
            operationAttributes: [
                IPP.Attribute("printer-uri", .text(.uri, address.uri)), IPP.Attribute("job-id", .integer(Int32(job.id))),
                IPP.Attribute("requesting-user-name", .text(.nameWithoutLanguage, Self.user)),
                IPP.Attribute(
                    "requested-attributes",
                    values: ["job-state", "job-state-message", "job-printer-state-message", "job-state-reasons"].map { .text(.keyword, $0) }),
            ])
        let until = ContinuousClock.now + .seconds(seconds)
        while true {
            let answer = try await send(request, document: nil)
            let state = answer.attribute("job-state", in: .job)?.values.first?.integer ?? 3
            let name = Self.jobStateName(state)
            switch state {
            case 9: return PrintJob(printer: address, id: job.id, state: name, pages: job.pages)
            case 7, 8:
                // Its words of the job, then of the printer as the job ended ("paper jam").
                let reasons = Self.said(in: answer, messages: ["job-state-message", "job-printer-state-message"], keywords: "job-state-reasons")
                throw .jobEnded(address, job: job.id, state: name, reasons: reasons)
            default:
                guard ContinuousClock.now < until else { throw .stillPrinting(address, job: job.id, state: name, seconds: seconds) }
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// Whether the printer is there, takes jobs, and takes the run's document.
    /// - Throws: `IPPPrinterError`.
    public func check() async throws(IPPPrinterError) -> Ready {
        let request = IPP.Request(
            operation: .getPrinterAttributes, requestID: 1,
            operationAttributes: [
                IPP.Attribute("printer-uri", .text(.uri, address.uri)), IPP.Attribute("requesting-user-name", .text(.nameWithoutLanguage, Self.user)),
                IPP.Attribute(
                    "requested-attributes",
                    values: [
                        "printer-is-accepting-jobs", "printer-state-message", "printer-state-reasons", "document-format-supported",
                    ].map {
                        .text(.keyword, $0)
                    }),
            ])
        let answer = try await send(request, document: nil)
        if answer.attribute("printer-is-accepting-jobs")?.values.first?.boolean == false {
            throw .notAcceptingJobs(address, reasons: Self.said(in: answer, messages: ["printer-state-message"], keywords: "printer-state-reasons"))
        }
        let formats = answer.attribute("document-format-supported")?.values.compactMap(\.text) ?? []
        guard let format = document.format(among: formats) else {
            throw .takesNot(address, document: document, formats: formats)
        }
        return Ready(printer: self, format: format)
    }

    /// What a printer said of a state in `answer`: its own words first (the `messages` attributes: "Out of paper"),
    /// then the state's keywords (`keywords`), leaving out the empty and `none`.
    private static func said(in answer: IPP.Response, messages: [String], keywords: String) -> [String] {
        let words = messages.flatMap { answer.attribute($0)?.values.compactMap(\.text) ?? [] }
        return words.filter { !$0.isEmpty } + (answer.attribute(keywords)?.values.compactMap(\.text).filter { $0 != "none" } ?? [])
    }

    /// The media names (PWG 5101.1) of the paper sizes sheets are made for, by their size in whole tenths of a mm.
    private static let mediaNames: [String: String] = [
        "2100x2970": "iso_a4_210x297mm", "1480x2100": "iso_a5_148x210mm", "2970x4200": "iso_a3_297x420mm", "2159x2794": "na_letter_8.5x11in",
        "2159x3556": "na_legal_8.5x14in",
    ]

    /// The media to ask for a sheet of `width` × `height` mm; nil for a size without a standard name (the printer's
    /// loaded paper is used).
    public static func media(width: Double, height: Double) -> String? {
        mediaNames["\(Int((width * 10).rounded()))x\(Int((height * 10).rounded()))"]
    }

    /// Who the job is for, as print queues list it.
    fileprivate static var user: String {
        let name = ProcessInfo.processInfo.userName
        return name.isEmpty ? "shelftag" : name
    }

    fileprivate static func jobStateName(_ state: Int32) -> String {
        switch state {
        case 3: "pending"
        case 4: "pending-held"
        case 5: "processing"
        case 6: "processing-stopped"
        case 7: "canceled"
        case 8: "aborted"
        case 9: "completed"
        default: "state \(state)"
        }
    }

    /// Posts one request (and its document) and reads the answer; an error status is thrown.
    fileprivate func send(_ request: IPP.Request, document: Data?) async throws(IPPPrinterError) -> IPP.Response {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(Int64(Self.connectTimeout)), read: .seconds(Int64(Self.answerTimeout))))
        // One connection to one printer: a refused one is said at once, not retried until the connect timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        do {
            let answer = try await post(request, document: document, with: client)
            try? await client.shutdown()
            return answer
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func post(_ request: IPP.Request, document: Data?, with client: HTTPClient) async throws(IPPPrinterError) -> IPP.Response {
        let message = RequestBytes(header: request.encoded(), document: document ?? Data())
        var post = HTTPClientRequest(url: address.httpURL)
        post.method = .POST
        post.headers.add(name: "Content-Type", value: "application/ipp")
        post.body = .stream(message, length: .known(Int64(message.count)))
        let bytes: ByteBuffer
        do {
            let response = try await client.execute(post, timeout: .seconds(Self.deadline(sending: message.count)))
            guard response.status.code == 200 else { throw IPPPrinterError.httpStatus(address, code: Int(response.status.code)) }
            bytes = try await response.body.collect(upTo: 1 << 20)
        } catch let error as IPPPrinterError {
            throw error
        } catch {
            throw .unreachable(address, reason: FailureReason.describe(error, connectTimeout: Self.connectTimeout, readTimeout: Self.answerTimeout))
        }
        let answer: IPP.Response
        do { answer = try IPP.Response(Array(bytes.readableBytesView)) } catch { throw .malformedAnswer(address, reason: error.reason) }
        guard answer.succeeded else {
            throw .refused(address, status: answer.status, message: answer.attribute("status-message", in: .operation)?.values.first?.text)
        }
        return answer
    }
}

/// A request's bytes as the client sends them: the IPP message, then its document a piece at a time, each copied
/// into a buffer only as the connection takes it.
private struct RequestBytes: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    let header: [UInt8]
    let document: Data

    static let pieceSize = 1 << 20

    var count: Int { header.count + document.count }

    struct AsyncIterator: AsyncIteratorProtocol {
        let bytes: RequestBytes
        /// Nil before the header is sent; then the document's offset.
        var offset: Int?

        mutating func next() async -> ByteBuffer? {
            guard let start = offset else {
                offset = 0
                return ByteBuffer(bytes: bytes.header)
            }
            guard start < bytes.document.count else { return nil }
            let end = Swift.min(start + RequestBytes.pieceSize, bytes.document.count)
            offset = end
            let base = bytes.document.startIndex
            return ByteBuffer(bytes: bytes.document[(base + start)..<(base + end)])
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(bytes: self, offset: nil) }
}
