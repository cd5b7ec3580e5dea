import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Streams an XML file through a SAX parser, turning a delegate's captured error back into a throw.
private func parseStreaming(path: String, displayName: String, delegate: StreamingDelegate & XMLParserDelegate) throws {
    // A file declared in another encoding reaches the parser as it is: libxml2 converts it to UTF-8 itself.
    let checked = try declaresUTF8(path: path, displayName: displayName) ? UTF8CheckedInputStream(path: path) : nil
    guard let stream = checked ?? InputStream(fileAtPath: path) else {
        throw FeedError.cannotOpen(displayName, reason: "cannot read")
    }
    let parser = XMLParser(stream: stream)
    parser.shouldProcessNamespaces = false
    parser.delegate = delegate
    delegate.parser = parser
    let finished = parser.parse()
    if let error = delegate.callbackError { throw error }
    if let line = checked?.invalidLine {
        let reason =
            checked?.refusal == .processingInstruction
            ? "a processing instruction (<?…?>): a feed has none but its XML declaration, <?xml version=\"1.0\" …?>, first"
            : "invalid UTF-8 (save the file as UTF-8)"
        throw FeedError.malformedXML(SourceLocation(file: displayName, line: line), reason: reason)
    }
    // libxml2 goes on after some errors (an undefined entity is dropped from the text): any error stops the import.
    if !finished || delegate.firstError != nil {
        let code = delegate.firstError?.code ?? (parser.parserError as NSError?)?.code ?? 0
        let line = delegate.firstError?.line ?? parser.lineNumber
        let reason =
            if code == undeclaredEntity, let name = delegate.undefinedEntity {
                "'&\(name);' is not an XML entity (XML has only &amp; &lt; &gt; &quot; &apos;; write other characters as they are, or as &#233;)"
            } else {
                describeXMLError(code)
            }
        throw FeedError.malformedXML(SourceLocation(file: displayName, line: max(line, 1)), reason: reason)
    }
}

/// Whether the file is to be read as UTF-8: unless its XML declaration names an encoding libxml2 converts to UTF-8
/// itself (Latin-1, Windows-1252, UTF-16). An encoding libxml2 does not know reaches the callbacks unconverted, so
/// it is checked as UTF-8 too (a fuzzed `encoding="UTFcode…"` made FoundationXML trap).
private func declaresUTF8(path: String, displayName: String) throws -> Bool {
    guard let file = FileHandle(forReadingAtPath: path) else { throw FeedError.cannotOpen(displayName, reason: "cannot read") }
    defer { try? file.close() }
    let head = String(decoding: (try? file.read(upToCount: 256)) ?? Data(), as: UTF8.self)
    guard head.hasPrefix("<?xml") || head.hasPrefix("\u{FEFF}<?xml"), let end = head.range(of: "?>") else { return true }
    let declaration = head[..<end.lowerBound].lowercased()
    guard let encoding = declaration.range(of: "encoding=") else { return true }
    let value = declaration[encoding.upperBound...].drop { $0 == "\"" || $0 == "'" }.prefix { $0 != "\"" && $0 != "'" }
    return !convertedByLibXML.contains(String(value))
}

/// Encodings libxml2 converts to UTF-8 before the parser's callbacks see a byte.
private let convertedByLibXML: Set<String> = ["iso-8859-1", "latin1", "iso-8859-15", "windows-1252", "cp1252", "utf-16", "utf-16le", "utf-16be"]

/// libxml2's XML_ERR_UNDECLARED_ENTITY.
private let undeclaredEntity = 26

/// libxml2's error numbers (XMLParser passes them through on Linux) as words.
private func describeXMLError(_ code: Int) -> String {
    switch code {
    case 1: "an internal error of the XML parser"
    case 4: "the document is empty"
    case 5: "extra content after the root element"
    case 9: "an invalid character"
    case 23, 26: "a bad entity reference (write & as &amp;)"
    case 38, 39, 40, 41, 42: "a malformed attribute"
    case 73, 77: "an unfinished tag or the document ends too early"
    case 76: "an end tag does not match its start tag"
    case 89: "entities that expand into themselves (an entity loop)"
    case 27: "an entity is used before it is declared"
    case 31: "the document is not in a supported encoding"
    case 32: "the encoding the document declares is not supported"
    case 64: "the XML declaration is malformed"
    case 65: "the XML declaration is not finished"
    case 68: "a name is expected (a stray '<' or '&' in text: write &lt; or &amp;)"
    case 2, 111: "a text node or attribute is longer than the XML parser allows"
    default: "the XML parser's error \(code)"
    }
}

/// A SAX delegate that can stop the parse with an error thrown by a callback.
// Subclasses declare XMLParserDelegate themselves: on Linux a conformance on the base class
// would bind to the protocol's default methods and never call the subclass's.
class StreamingDelegate: NSObject {
    weak var parser: XMLParser?
    var callbackError: Error?
    /// The first error libxml2 reported and the line it was on then (later reads move `lineNumber` on).
    private(set) var firstError: (code: Int, line: Int)?
    /// The first entity reference libxml2 could not resolve.
    private(set) var undefinedEntity: String?
    /// The most text kept of one element: longer than any field may be, so a longer one is still rejected by its
    /// field's rule, and a 200 MB text node costs no more memory than this.
    static let maximumTextBytes = 64 * 1024
    /// How deep the parse is in the document: feeds are a handful of levels deep, a hostile one thousands.
    private var documentDepth = 0
    static let maximumDocumentDepth = 64

    /// Counts an element's start; past `maximumDocumentDepth` it stops the parse with a located error.
    /// - Returns: whether the element may be read.
    func enter(_ parser: XMLParser, file: String) -> Bool {
        documentDepth += 1
        guard documentDepth > Self.maximumDocumentDepth else { return true }
        let location = SourceLocation(file: file, line: parser.lineNumber)
        run { throw FeedError.malformedXML(location, reason: "elements nested more than \(Self.maximumDocumentDepth) levels deep") }
        return false
    }

    func leave() {
        documentDepth -= 1
    }

    /// Appends `string` to `text` while `text` is under `maximumTextBytes`.
    static func append(_ string: String, to text: inout String) {
        if text.utf8.count < maximumTextBytes { text += string }
    }

    func recordError(_ parser: XMLParser, _ error: Error) {
        if firstError == nil { firstError = ((error as NSError).code, parser.lineNumber) }
    }

    func recordEntity(_ name: String) {
        if undefinedEntity == nil { undefinedEntity = name }
    }

    func run(_ body: () throws -> Void) {
        guard callbackError == nil else { return }
        do { try body() } catch {
            callbackError = error
            parser?.abortParsing()
        }
    }

    /// `g:price` and `price` are the same attribute.
    static func localName(_ name: String) -> String {
        guard let colon = name.lastIndex(of: ":") else { return name }
        return String(name[name.index(after: colon)...])
    }
}

/// Reads RSS 2.0 `<item>` elements whose children are feed attributes, plain or `g:` prefixed.
struct RSSItemReader {
    let path: String
    let displayName: String

    /// Calls `item` with each item's values in the order of `columns`, and the line the item starts on.
    func read(columns: [String], item: @escaping ([String?], Int) throws -> Void) throws {
        let delegate = ItemDelegate(columns: columns, displayName: displayName, item: item)
        try parseStreaming(path: path, displayName: displayName, delegate: delegate)
    }

    private final class ItemDelegate: StreamingDelegate, XMLParserDelegate {
        let slots: [String: Int]
        let displayName: String
        let columnCount: Int
        let item: ([String?], Int) throws -> Void
        var values: [String?] = []
        var itemLine = 0
        var depthInItem = -1
        var text = ""

        init(columns: [String], displayName: String, item: @escaping ([String?], Int) throws -> Void) {
            slots = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, $0) })
            self.displayName = displayName
            columnCount = columns.count
            self.item = item
        }

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:])
        {
            guard enter(parser, file: displayName) else { return }
            if depthInItem < 0 {
                if Self.localName(elementName) == "item" {
                    depthInItem = 0
                    itemLine = parser.lineNumber
                    values = [String?](repeating: nil, count: columnCount)
                }
                return
            }
            depthInItem += 1
            text = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if depthInItem == 1 { Self.append(string, to: &text) }
        }

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
            recordError(parser, parseError)
        }

        func parser(_ parser: XMLParser, resolveExternalEntityName name: String, systemID: String?) -> Data? {
            recordEntity(name)
            return nil
        }

        func parser(_ parser: XMLParser, foundCDATA cdataBlock: Data) {
            if depthInItem == 1 { Self.append(String(decoding: cdataBlock.prefix(Self.maximumTextBytes), as: UTF8.self), to: &text) }
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
            leave()
            guard depthInItem >= 0 else { return }
            if depthInItem == 0 {
                depthInItem = -1
                let values = values
                let line = itemLine
                run { try item(values, line) }
                return
            }
            if depthInItem == 1, let slot = slots[Self.localName(elementName)], values[slot] == nil {
                values[slot] = text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            depthInItem -= 1
        }
    }
}

/// A parsed XML element subtree: enough structure for one `<review>`.
final class XMLNode {
    let name: String
    let attributes: [String: String]
    var text = ""
    var children: [XMLNode] = []

    init(name: String, attributes: [String: String]) {
        self.name = name
        self.attributes = attributes
    }

    func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }

    /// Follows a path of child names: `node["reviewer", "name"]`.
    subscript(_ path: String...) -> XMLNode? {
        var node: XMLNode? = self
        for name in path { node = node?.child(name) }
        return node
    }

    func all(_ path: String...) -> [XMLNode] {
        var nodes = [self]
        for name in path { nodes = nodes.flatMap { $0.children.filter { $0.name == name } } }
        return nodes
    }

    var trimmedText: String { text.trimmingCharacters(in: .whitespacesAndNewlines) }
}

/// Streams the elements named `recordName` as small trees, one at a time.
struct XMLRecordReader {
    let path: String
    let displayName: String
    let recordName: String

    func read(record: @escaping (XMLNode, Int) throws -> Void) throws {
        let delegate = RecordDelegate(recordName: recordName, displayName: displayName, record: record)
        try parseStreaming(path: path, displayName: displayName, delegate: delegate)
    }

    /// How deep a record's elements may nest.
    static let maximumDepth = 16
    /// How many elements one record may hold: a review has a few dozen, and the tree is kept until the record ends.
    static let maximumNodes = 10_000

    private final class RecordDelegate: StreamingDelegate, XMLParserDelegate {
        let recordName: String
        let displayName: String
        let record: (XMLNode, Int) throws -> Void
        var stack: [XMLNode] = []
        var recordLine = 0
        var nodesInRecord = 0

        init(recordName: String, displayName: String, record: @escaping (XMLNode, Int) throws -> Void) {
            self.recordName = recordName
            self.displayName = displayName
            self.record = record
        }

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:])
        {
            guard enter(parser, file: displayName) else { return }
            let name = Self.localName(elementName)
            if stack.isEmpty {
                guard name == recordName else { return }
                recordLine = parser.lineNumber
            }
            // A record is a few levels deep; a deeper one is hostile, and its tree must stay small to free.
            guard stack.count < XMLRecordReader.maximumDepth else {
                let location = SourceLocation(file: displayName, line: parser.lineNumber)
                run {
                    throw FeedError.malformedXML(
                        location, reason: "elements nested more than \(XMLRecordReader.maximumDepth) levels deep inside <\(recordName)>")
                }
                return
            }
            if stack.isEmpty { nodesInRecord = 0 }
            nodesInRecord += 1
            guard nodesInRecord <= XMLRecordReader.maximumNodes else {
                let location = SourceLocation(file: displayName, line: recordLine)
                run { throw FeedError.malformedXML(location, reason: "more than \(XMLRecordReader.maximumNodes) elements inside one <\(recordName)>") }
                return
            }
            let node = XMLNode(name: name, attributes: attributes)
            stack.last?.children.append(node)
            stack.append(node)
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if let node = stack.last { Self.append(string, to: &node.text) }
        }

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
            recordError(parser, parseError)
        }

        func parser(_ parser: XMLParser, resolveExternalEntityName name: String, systemID: String?) -> Data? {
            recordEntity(name)
            return nil
        }

        func parser(_ parser: XMLParser, foundCDATA cdataBlock: Data) {
            if let node = stack.last { Self.append(String(decoding: cdataBlock.prefix(Self.maximumTextBytes), as: UTF8.self), to: &node.text) }
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
            leave()
            guard let node = stack.popLast() else { return }
            if stack.isEmpty {
                let line = recordLine
                run { try record(node, line) }
            }
        }
    }
}
