import Foundation

/// A UTF-8 file's bytes for the XML parser, checked as they pass (Unicode's well-formed sequences, table 3-7), and
/// with no processing instruction but the XML declaration. Either ends the stream with an error and its line:
/// FoundationXML traps on an element name that is not UTF-8 and reads a processing instruction's missing data as a C
/// string (`<?xml?>`, `<?x?>`: both crashes found by `make fuzz`), so the parser must never be handed either.
final class UTF8CheckedInputStream: InputStream {
    /// Why the stream stopped.
    enum Refusal: Equatable {
        case notUTF8
        case processingInstruction
    }

    private let file: FileHandle
    private var status: Stream.Status = .notOpen
    /// Continuation bytes still due in the current sequence, and the range the next one must fall in.
    private var due = 0
    private var nextRange: ClosedRange<UInt8> = 0x80...0xBF
    private var line = 1
    /// The line of the first byte refused, and why.
    private(set) var invalidLine: Int?
    private(set) var refusal: Refusal?
    /// Bytes read so far, the one before, where the document starts (after a byte-order mark) and the bytes of the
    /// XML declaration's target still to check.
    private var offset = 0
    private var previous: UInt8 = 0
    private var documentStart = 0
    private var declarationTarget: [UInt8]?

    init?(path: String) {
        guard let file = FileHandle(forReadingAtPath: path) else { return nil }
        self.file = file
        super.init(data: Data())
    }

    override func open() { status = .open }

    override func close() {
        try? file.close()
        status = .closed
    }

    override var streamStatus: Stream.Status { status }

    /// What the parser reports when a read fails (the base class traps: it has no error of its own to give).
    override var streamError: Error? {
        status == .error ? CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "invalid UTF-8"]) : nil
    }

    override var hasBytesAvailable: Bool { status == .open }

    override func read(_ buffer: UnsafeMutablePointer<UInt8>, maxLength length: Int) -> Int {
        guard invalidLine == nil else { return -1 }
        let chunk: Data
        do { chunk = try file.read(upToCount: length) ?? Data() } catch {
            status = .error
            return -1
        }
        if chunk.isEmpty {
            // A sequence cut short by the end of the file.
            if due > 0 {
                (invalidLine, refusal) = (line, .notUTF8)
                status = .error
                return -1
            }
            status = .atEnd
            return 0
        }
        for byte in chunk {
            let refused: Refusal? = accept(byte) ? checkProcessingInstruction(byte) : .notUTF8
            previous = byte
            offset += 1
            if let refused {
                (invalidLine, refusal) = (line, refused)
                status = .error
                return -1
            }
        }
        chunk.copyBytes(to: buffer, count: chunk.count)
        return chunk.count
    }

    /// A `<?` anywhere but at the document's start, or one there that is not `<?xml` and a space.
    private func checkProcessingInstruction(_ byte: UInt8) -> Refusal? {
        // A byte-order mark (EF BB BF) puts the document's start after it.
        if offset == 2 && previous == 0xBB && byte == 0xBF { documentStart = 3 }
        if var target = declarationTarget {
            target.append(byte)
            if target.count < 4 {
                declarationTarget = target
                return nil
            }
            declarationTarget = nil
            let isDeclaration = Array(target.prefix(3)) == Array("xml".utf8) && [0x20, 0x09, 0x0A, 0x0D].contains(target[3])
            return isDeclaration ? nil : .processingInstruction
        }
        guard previous == UInt8(ascii: "<"), byte == UInt8(ascii: "?") else { return nil }
        guard offset - 1 == documentStart else { return .processingInstruction }
        declarationTarget = []
        return nil
    }

    /// Whether `byte` continues well-formed UTF-8.
    private func accept(_ byte: UInt8) -> Bool {
        if due > 0 {
            guard nextRange.contains(byte) else { return false }
            due -= 1
            nextRange = 0x80...0xBF
            return true
        }
        switch byte {
        case 0x0A:
            line += 1
        case 0x00...0x7F:
            break
        case 0xC2...0xDF:
            due = 1
        case 0xE0:
            (due, nextRange) = (2, 0xA0...0xBF)
        case 0xE1...0xEC, 0xEE...0xEF:
            due = 2
        case 0xED:
            (due, nextRange) = (2, 0x80...0x9F)
        case 0xF0:
            (due, nextRange) = (3, 0x90...0xBF)
        case 0xF1...0xF3:
            due = 3
        case 0xF4:
            (due, nextRange) = (3, 0x80...0x8F)
        default:
            return false
        }
        return true
    }
}
