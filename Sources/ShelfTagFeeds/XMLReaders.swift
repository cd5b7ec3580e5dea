import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Streams an XML file through a SAX parser, turning a delegate's captured error back into a throw.
private func parseStreaming(path: String, displayName: String, delegate: StreamingDelegate & XMLParserDelegate) throws {
    guard let stream = InputStream(fileAtPath: path) else {
        throw FeedError.cannotOpen(displayName, reason: "cannot read")
    }
    let parser = XMLParser(stream: stream)
    parser.shouldProcessNamespaces = false
    parser.delegate = delegate
    delegate.parser = parser
    let finished = parser.parse()
    if let error = delegate.callbackError { throw error }
    if !finished {
        let code = (parser.parserError as NSError?)?.code ?? 0
        let line = delegate.errorLine ?? parser.lineNumber
        throw FeedError.malformedXML(SourceLocation(file: displayName, line: max(line, 1)), reason: describeXMLError(code))
    }
}

/// libxml2's error numbers (XMLParser passes them through on Linux) as words.
private func describeXMLError(_ code: Int) -> String {
    switch code {
    case 4: "the document is empty"
    case 5: "extra content after the root element"
    case 9: "an invalid character"
    case 23, 26: "a bad entity reference (write & as &amp;)"
    case 38, 39, 40, 41, 42: "a malformed attribute"
    case 73, 77: "an unfinished tag or the document ends too early"
    case 76: "an end tag does not match its start tag"
    case 89: "entities that expand into themselves (an entity loop)"
    default: "libxml2 error \(code)"
    }
}

/// A SAX delegate that can stop the parse with an error thrown by a callback.
// Subclasses declare XMLParserDelegate themselves: on Linux a conformance on the base class
// would bind to the protocol's default methods and never call the subclass's.
class StreamingDelegate: NSObject {
    weak var parser: XMLParser?
    var callbackError: Error?
    /// The line libxml2 was on when it found the error (later reads move `lineNumber` on).
    var errorLine: Int?
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
            if depthInItem == 1 { text += string }
        }

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
            errorLine = errorLine ?? parser.lineNumber
        }

        func parser(_ parser: XMLParser, foundCDATA cdataBlock: Data) {
            if depthInItem == 1 { text += String(decoding: cdataBlock, as: UTF8.self) }
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

    private final class RecordDelegate: StreamingDelegate, XMLParserDelegate {
        let recordName: String
        let displayName: String
        let record: (XMLNode, Int) throws -> Void
        var stack: [XMLNode] = []
        var recordLine = 0

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
            let node = XMLNode(name: name, attributes: attributes)
            stack.last?.children.append(node)
            stack.append(node)
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            stack.last?.text += string
        }

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
            errorLine = errorLine ?? parser.lineNumber
        }

        func parser(_ parser: XMLParser, foundCDATA cdataBlock: Data) {
            stack.last?.text += String(decoding: cdataBlock, as: UTF8.self)
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
