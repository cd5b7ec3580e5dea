import Foundation

/// What a text field of any input may hold (feeds, API bodies, forms): no control character (a line break only
/// where the field has lines), no bidirectional override, and at most a length counted in Unicode scalars after
/// NFC, so that a letter with 5,000 combining marks counts 5,001 and cannot slip under a 100-character limit,
/// while an accented letter typed either way counts one.
public struct TextRule: Sendable {
    public let maxLength: Int
    public let allowsLineBreaks: Bool

    public init(maxLength: Int, allowsLineBreaks: Bool = false) {
        self.maxLength = maxLength
        self.allowsLineBreaks = allowsLineBreaks
    }

    /// - Throws: `TextProblem` for the first thing wrong.
    public func check(_ text: String) throws(TextProblem) {
        // One pass over the text as it is; only text with a scalar that composition could change (U+0300 and up) is
        // counted again in NFC. Feeds run this on every field of every row; most fields are ASCII, checked by byte.
        var text = text
        switch text.withUTF8(asciiVerdict) {
        case .passed: return
        case .failed(let problem): throw problem
        case .notASCII: break
        }
        if try check(text.unicodeScalars, stopAtComposable: true) { return }
        _ = try check(text.precomposedStringWithCanonicalMapping.unicodeScalars, stopAtComposable: false)
    }

    private enum ASCIIVerdict {
        case passed
        case failed(TextProblem)
        case notASCII
    }

    /// The scalar check's verdict on ASCII text (the same problem first), or `notASCII`.
    private func asciiVerdict(_ bytes: UnsafeBufferPointer<UInt8>) -> ASCIIVerdict {
        var firstForbidden: Int?
        for (index, byte) in bytes.enumerated() {
            if byte >= 0x80 { return .notASCII }
            if firstForbidden == nil && (byte < 0x20 || byte == 0x7F) && Self.isForbidden(Unicode.Scalar(byte), allowsLineBreaks: allowsLineBreaks) {
                firstForbidden = index
            }
        }
        if let firstForbidden, firstForbidden < maxLength { return .failed(.forbiddenCharacter(UInt32(bytes[firstForbidden]))) }
        if bytes.count > maxLength { return .failed(.tooLong(max: maxLength)) }
        return .passed
    }

    /// - Returns: false when it stopped at a scalar NFC could change, true when the whole text passed.
    private func check(_ scalars: String.UnicodeScalarView, stopAtComposable: Bool) throws(TextProblem) -> Bool {
        var count = 0
        for scalar in scalars {
            if stopAtComposable && scalar.value >= 0x300 { return false }
            count += 1
            if count > maxLength { throw .tooLong(max: maxLength) }
            if Self.isForbidden(scalar, allowsLineBreaks: allowsLineBreaks) { throw .forbiddenCharacter(scalar.value) }
        }
        return true
    }

    static func isForbidden(_ scalar: Unicode.Scalar, allowsLineBreaks: Bool) -> Bool {
        switch scalar.value {
        case 0x0A: !allowsLineBreaks
        case 0x09: false
        case 0x00...0x1F, 0x7F...0x9F: true
        // Bidirectional embeddings, overrides and isolates: they reorder what a person reads.
        case 0x202A...0x202E, 0x2066...0x2069: true
        case 0x2028, 0x2029: !allowsLineBreaks
        default: false
        }
    }

    /// Whether `displayable` keeps `text` as it is: no character `isForbidden` with line breaks allowed. Read from the
    /// UTF-8 bytes, where those characters are U+0000–U+001F but tab and line feed, U+007F (one byte), U+0080–U+009F
    /// (C2 80–9F), U+202A–U+202E (E2 80 AA–AE) and U+2066–U+2069 (E2 81 A6–A9): `€`, `é` and a narrow no-break space
    /// pass undecoded (a page checks every value it shows).
    public static func isDisplayable(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            var index = 0
            while index < bytes.count {
                switch bytes[index] {
                case 0x09, 0x0A: break
                case 0x00...0x1F, 0x7F: return false
                case 0xC2 where index + 1 < bytes.count && (0x80...0x9F).contains(bytes[index + 1]): return false
                case 0xE2 where index + 2 < bytes.count:
                    let (second, third) = (bytes[index + 1], bytes[index + 2])
                    if second == 0x80 && (0xAA...0xAE).contains(third) || second == 0x81 && (0xA6...0xA9).contains(third) { return false }
                default: break
                }
                index += 1
            }
            return true
        }
    }

    /// `text` as one field of a line a person or a program reads (tab-separated lists, terminal output): a backslash,
    /// tab and line breaks become `\\`, `\t`, `\n`, `\r`, and every other character a field may not hold `\u{…}`, so a
    /// stored value (from before these rules, or written by other software) can neither split a record nor reorder
    /// what is read.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0 == "\\" || $0 == "\t" || isForbidden($0, allowsLineBreaks: false) }) else { return text }
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": escaped += "\\\\"
            case "\t": escaped += "\\t"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case _ where isForbidden(scalar, allowsLineBreaks: false): escaped += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// `text` without the characters no field may hold but line breaks and tabs: what a page shows of stored text
    /// (from before these rules, or written by other software), where a bidirectional override would reorder it.
    public static func displayable(_ text: String) -> String {
        guard !isDisplayable(text) else { return text }
        var kept = String.UnicodeScalarView()
        kept.append(contentsOf: text.unicodeScalars.lazy.filter { !isForbidden($0, allowsLineBreaks: true) })
        return String(kept)
    }

    /// What `escaped` does, for the help of commands that print stored text.
    public static let escapingNote = """
        Fields are separated by tabs. Inside a field, a backslash, tab or line break is written \\\\, \\t, \\n or \\r, and any \
        other control or bidirectional-override character \\u{hex}: one line is always one record.
        """

    /// Identifiers: store codes, feed ids, review ids.
    public static let identifier = TextRule(maxLength: 50)
    /// A name a person reads on one line: a title, a store's name, a shopper's name.
    public static func line(_ maxLength: Int) -> TextRule { TextRule(maxLength: maxLength) }
    /// Text with paragraphs: a description, a review.
    public static func paragraphs(_ maxLength: Int) -> TextRule { TextRule(maxLength: maxLength, allowsLineBreaks: true) }
}

/// Why a text field was refused.
public enum TextProblem: Error, Sendable, Equatable, CustomStringConvertible {
    case tooLong(max: Int)
    case forbiddenCharacter(UInt32)

    public var description: String {
        switch self {
        case .tooLong(let max): "longer than \(max) characters"
        case .forbiddenCharacter(let value):
            "holds the control character U+\(String(value, radix: 16, uppercase: true).leftPadded(to: 4)), which is not allowed"
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
