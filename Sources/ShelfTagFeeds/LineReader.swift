import Foundation

/// Reads a file line by line through a fixed buffer, so a file of any size streams in constant memory. A line longer
/// than `maximumLineLength` (no feed row can be) is skipped to its end, not kept: `lastLineWasCut` says so.
final class LineReader {
    /// Generous for any row: Merchant Center's longest attribute is 5,000 characters.
    static let maximumLineLength = 4 << 20
    private let file: UnsafeMutablePointer<FILE>
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0
    private var end = 0
    private var atEOF = false
    /// The 1-based number of the line last returned.
    private(set) var lineNumber = 0
    /// Whether the line last returned was longer than `maximumLineLength`: its bytes are only its end.
    private(set) var lastLineWasCut = false

    /// - Throws: `FeedError.cannotOpen` when the file cannot be opened for reading.
    init(path: String, bufferSize: Int = 1 << 20) throws(FeedError) {
        guard let file = fopen(path, "rb") else {
            throw FeedError.cannotOpen(path, reason: String(cString: strerror(errno)))
        }
        self.file = file
        capacity = bufferSize
        buffer = .allocate(capacity: bufferSize)
    }

    deinit {
        fclose(file)
        buffer.deallocate()
    }

    /// Calls `body` with the next line's bytes (without `\n` or `\r\n`); false at the end of the file.
    /// The bytes are valid only during the call.
    func nextLine<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result? {
        lastLineWasCut = false
        while true {
            if let newline = memchr(buffer + start, 0x0A, end - start) {
                let index = buffer.distance(to: newline.assumingMemoryBound(to: UInt8.self))
                let lineStart = start
                start = index + 1
                return try emit(from: lineStart, to: index, body)
            }
            if atEOF {
                guard start < end || lastLineWasCut else { return nil }
                let lineStart = start
                start = end
                return try emit(from: lineStart, to: end, body)
            }
            if start == 0 && end == capacity {
                if capacity < Self.maximumLineLength {
                    // A line longer than the buffer: grow it.
                    let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
                    bigger.update(from: buffer, count: end)
                    buffer.deallocate()
                    buffer = bigger
                    capacity *= 2
                } else {
                    lastLineWasCut = true
                    end = 0
                }
            }
            refill()
        }
    }

    private func emit<Result>(from lineStart: Int, to lineEnd: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        lineNumber += 1
        var last = lineEnd
        if last > lineStart, buffer[last - 1] == 0x0D { last -= 1 }
        return try body(UnsafeBufferPointer(start: buffer + lineStart, count: last - lineStart))
    }

    private func refill() {
        if start > 0 {
            memmove(buffer, buffer + start, end - start)
            end -= start
            start = 0
        }
        let count = fread(buffer + end, 1, capacity - end, file)
        end += count
        if count == 0 { atEOF = true }
    }
}
