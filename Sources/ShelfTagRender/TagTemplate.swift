import Foundation
import Mustache

/// A rectangle on a tag, in millimetres from its top-left corner.
public struct Frame: Sendable, Equatable {
    public let x: Double
    public let y: Double
    public let width: Double
    public let height: Double
}

/// How a text box places its lines.
public enum HorizontalAlignment: String, Sendable { case left, center, right }
public enum VerticalAlignment: String, Sendable { case top, middle, bottom }

/// A text box's content: a Mustache template over the tag's fields.
public struct TextContent: Sendable {
    private let template: MustacheTemplate
    /// The field's name when the template is that field alone (`{{name}}`, as most text boxes are): it is looked up
    /// directly. Mustache's context lookups took 4% of a render.
    let loneField: String?

    /// - Throws: the Mustache parser's error.
    init(source: String) throws {
        // Tags are not HTML: no entity escaping of "&" in names.
        template = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + source)
        loneField = Self.loneField(in: source)
    }

    /// The text for a tag's fields, where a missing field is empty.
    func render(_ fields: [String: String]) -> String {
        if let loneField { return fields[loneField] ?? "" }
        return renderedByMustache(fields)
    }

    func renderedByMustache(_ fields: [String: String]) -> String { template.render(fields) }

    /// `name` for a source that is `{{name}}` (spaces allowed inside the braces) and nothing else; nil otherwise.
    private static func loneField(in source: String) -> String? {
        guard source.hasPrefix("{{"), source.hasSuffix("}}"), source.count > 4 else { return nil }
        let name = source.dropFirst(2).dropLast(2).trimmingCharacters(in: .whitespaces)
        let isIdentifier = !name.isEmpty && name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && CharacterSet.alphanumerics.contains($0)) }
        return isIdentifier ? name : nil
    }
}

/// A text box: content is a Mustache template over the tag's fields.
public struct TextElement: Sendable {
    public let frame: Frame
    public let content: TextContent
    public let fontPath: String
    /// Font size in points (1/72 inch).
    public let size: Double
    public let align: HorizontalAlignment
    public let verticalAlign: VerticalAlignment
    public let maxLines: Int
    public let wrap: Bool
    /// Shrinks the size (down to `minimumScale` of it) until the text fits, before truncating.
    public let shrinkToFit: Bool
    public let strikethrough: Bool
    static let minimumScale = 0.35
}

/// One drawable part of a tag.
public enum TagElement: Sendable {
    case text(TextElement)
    /// The Digital Link QR code, with the largest whole-pixel modules that fit the frame.
    case qrCode(Frame)
    /// The EAN-13 / EAN-8 / UPC-A barcode of the GTIN, human-readable digits in `digitsFontPath`.
    case barcode(Frame, digitsFontPath: String)
    /// A filled rectangle (lines are thin ones) or an outline `thickness` mm thick.
    case box(Frame, thickness: Double?)
}

/// An element and the fields that decide whether it is drawn.
public struct PlacedElement: Sendable {
    public let name: String
    public let element: TagElement
    /// Drawn only when this tag field is present (`onSale`, `priorPrice`…); nil: always.
    public let when: String?
    /// Drawn only when this tag field is absent (the scan label, where an eco-participation would go); nil: always.
    public let unless: String?

    /// Whether a tag with `fields` shows this element.
    public func isDrawn(with fields: [String: String]) -> Bool {
        if let when, (fields[when] ?? "").isEmpty { return false }
        if let unless, !(fields[unless] ?? "").isEmpty { return false }
        return true
    }
}

/// A declarative tag layout, loaded from a JSON file in `Templates/tags/` or given by path.
public struct TagTemplate: Sendable {
    public let name: String
    public let file: String
    /// Tag size in millimetres.
    public let width: Double
    public let height: Double
    public let elements: [PlacedElement]

    /// Of `fields`, those no element of this template draws: each is probed alone, every element's `when` met.
    public func hides(_ fields: [String]) -> [String] {
        let marker = "\u{1}"
        return fields.filter { field in
            var probe = Dictionary(elements.compactMap { $0.when }.map { ($0, "x") }, uniquingKeysWith: { first, _ in first })
            probe[field] = marker
            return !elements.contains { placed in
                guard case .text(let text) = placed.element else { return false }
                return text.content.render(probe).contains(marker)
            }
        }
    }
}

/// Why a template cannot be used; nothing is rendered when one is raised.
public struct TemplateError: Error, Equatable, CustomStringConvertible {
    public let file: String
    /// The element at fault (`#3 'price'`), or nil for the template as a whole.
    public let element: String?
    public let reason: String

    public var description: String {
        if let element { return "\(file): element \(element): \(reason)" }
        return "\(file): \(reason)"
    }
}

extension TagTemplate {
    /// Reads and checks a template file: JSON shape, fonts installed, Mustache syntax, every element inside the tag.
    /// - Throws: `TemplateError` naming the file, the element and the reason.
    public init(contentsOf url: URL) throws(TemplateError) {
        let file = url.path
        let object: [String: Any]
        do {
            let data = try Data(contentsOf: url)
            guard let parsed = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw TemplateError(file: file, element: nil, reason: "a template is a JSON object")
            }
            object = parsed
        } catch let error as TemplateError {
            throw error
        } catch let error as CocoaError where error.code == .fileReadNoSuchFile {
            throw TemplateError(file: file, element: nil, reason: "no such file")
        } catch {
            throw TemplateError(file: file, element: nil, reason: "not valid JSON: \(Self.jsonReason(error))")
        }
        var root = JSONFields(object, file: file, element: nil)
        let name = try root.string("name", default: url.deletingPathExtension().lastPathComponent)
        var size = try root.object("size")
        let width = try size.number("width", positive: true)
        let height = try size.number("height", positive: true)
        try size.rejectUnknownKeys()
        guard let list = root.raw("elements") as? [[String: Any]], !list.isEmpty else {
            throw TemplateError(file: file, element: nil, reason: "'elements' must be a non-empty list of objects")
        }
        try root.rejectUnknownKeys()
        var elements: [PlacedElement] = []
        for (index, item) in list.enumerated() {
            let label = "#\(index + 1)" + ((item["name"] as? String).map { " '\($0)'" } ?? "")
            var fields = JSONFields(item, file: file, element: label)
            let element = try Self.element(&fields, tagWidth: width, tagHeight: height)
            let when = try fields.optionalString("when")
            let unless = try fields.optionalString("unless")
            let elementName = try fields.string("name", default: "#\(index + 1)")
            try fields.rejectUnknownKeys()
            elements.append(PlacedElement(name: elementName, element: element, when: when, unless: unless))
        }
        self.init(name: name, file: file, width: width, height: height, elements: elements)
    }

    private static func element(_ fields: inout JSONFields, tagWidth: Double, tagHeight: Double) throws(TemplateError) -> TagElement {
        let type = try fields.string("type")
        switch type {
        case "text", "price", "unitPrice":
            let frame = try fields.frame(within: tagWidth, tagHeight)
            let defaultText = ["price": "{{price}}", "unitPrice": "{{unitPriceText}}"][type]
            let source = try fields.string("text", default: defaultText)
            let content: TextContent
            do {
                content = try TextContent(source: source)
            } catch {
                throw fields.error("'text' is not a valid Mustache template: \(error)")
            }
            var font = try fields.object("font")
            let family = try font.string("family", default: "DejaVu Sans")
            let weight = try font.choice("weight", default: FontWeight.regular)
            let pointSize = try font.number("size", positive: true)
            try font.rejectUnknownKeys()
            let path: String
            do throws(FontError) { path = try FontLocator.file(family: family, weight: weight) } catch { throw fields.error(error.description) }
            let isText = type == "text"
            return .text(
                TextElement(
                    frame: frame, content: content, fontPath: path, size: pointSize,
                    align: try fields.choice("align", default: HorizontalAlignment.left),
                    verticalAlign: try fields.choice("valign", default: isText ? VerticalAlignment.top : .bottom),
                    maxLines: try fields.integer("maxLines", default: isText ? 1 : 1, minimum: 1),
                    wrap: try fields.bool("wrap", default: isText), shrinkToFit: try fields.bool("shrinkToFit", default: !isText),
                    strikethrough: try fields.bool("strikethrough", default: false)))
        case "qr":
            return .qrCode(try fields.frame(within: tagWidth, tagHeight))
        case "barcode":
            let frame = try fields.frame(within: tagWidth, tagHeight)
            let family = try fields.string("digitsFont", default: "DejaVu Sans Mono")
            do throws(FontError) { return .barcode(frame, digitsFontPath: try FontLocator.file(family: family, weight: .regular)) } catch {
                throw fields.error(error.description)
            }
        case "box":
            let frame = try fields.frame(within: tagWidth, tagHeight)
            let fill = try fields.bool("fill", default: false)
            return .box(frame, thickness: fill ? nil : try fields.number("thickness", default: 0.3, positive: true))
        case "line":
            let from = try fields.point("from")
            let to = try fields.point("to")
            let thickness = try fields.number("thickness", default: 0.3, positive: true)
            guard from.x == to.x || from.y == to.y else { throw fields.error("lines must be horizontal or vertical") }
            let frame = Frame(
                x: min(from.x, to.x) - (from.x == to.x ? thickness / 2 : 0), y: min(from.y, to.y) - (from.y == to.y ? thickness / 2 : 0),
                width: from.x == to.x ? thickness : abs(to.x - from.x), height: from.y == to.y ? thickness : abs(to.y - from.y))
            try fields.check(frame, within: tagWidth, tagHeight)
            return .box(frame, thickness: nil)
        default:
            throw fields.error("unknown type '\(type)' (text, price, unitPrice, qr, barcode, box, line)")
        }
    }

    private static func jsonReason(_ error: Error) -> String {
        let info = (error as NSError).userInfo
        return (info[NSDebugDescriptionErrorKey] as? String) ?? "\(error)"
    }
}

/// Reads one JSON object's fields, remembering which were used so unknown (misspelt) keys are reported.
struct JSONFields {
    private let values: [String: Any]
    private let file: String
    private let element: String?
    private let path: String
    private var used: Set<String> = []

    init(_ values: [String: Any], file: String, element: String?, path: String = "") {
        self.values = values
        self.file = file
        self.element = element
        self.path = path
    }

    /// JSONSerialization gives booleans as NSNumber too, of their own class.
    private static let booleanClass = ObjectIdentifier(type(of: NSNumber(value: true)))
    private static func isBoolean(_ number: NSNumber) -> Bool { ObjectIdentifier(type(of: number)) == booleanClass }

    func error(_ reason: String) -> TemplateError { TemplateError(file: file, element: element, reason: reason) }

    mutating func raw(_ key: String) -> Any? {
        used.insert(key)
        return values[key]
    }

    func rejectUnknownKeys() throws(TemplateError) {
        if let unknown = values.keys.sorted().first(where: { !used.contains($0) }) {
            throw error("unknown key '\(path)\(unknown)'")
        }
    }

    mutating func string(_ key: String, default fallback: String? = nil) throws(TemplateError) -> String {
        guard let value = raw(key) else {
            if let fallback { return fallback }
            throw error("'\(path)\(key)' is missing")
        }
        guard let text = value as? String else { throw error("'\(path)\(key)' must be a string") }
        return text
    }

    mutating func optionalString(_ key: String) throws(TemplateError) -> String? {
        guard raw(key) != nil else { return nil }
        return try string(key)
    }

    mutating func number(_ key: String, default fallback: Double? = nil, positive: Bool = false) throws(TemplateError) -> Double {
        guard let value = raw(key) else {
            if let fallback { return fallback }
            throw error("'\(path)\(key)' is missing")
        }
        guard let number = value as? NSNumber, !Self.isBoolean(number), number.doubleValue.isFinite else {
            throw error("'\(path)\(key)' must be a number")
        }
        if positive && number.doubleValue <= 0 { throw error("'\(path)\(key)' must be greater than zero") }
        return number.doubleValue
    }

    mutating func integer(_ key: String, default fallback: Int, minimum: Int) throws(TemplateError) -> Int {
        let value = try number(key, default: Double(fallback))
        guard value == value.rounded(), value >= Double(minimum) else { throw error("'\(path)\(key)' must be a whole number from \(minimum)") }
        return Int(value)
    }

    mutating func bool(_ key: String, default fallback: Bool) throws(TemplateError) -> Bool {
        guard let value = raw(key) else { return fallback }
        guard let number = value as? NSNumber, Self.isBoolean(number) else {
            throw error("'\(path)\(key)' must be true or false")
        }
        return number.boolValue
    }

    mutating func choice<Choice: RawRepresentable>(_ key: String, default fallback: Choice) throws(TemplateError) -> Choice
    where Choice.RawValue == String {
        guard raw(key) != nil else { return fallback }
        let text = try string(key)
        guard let value = Choice(rawValue: text) else { throw error("'\(path)\(key)' cannot be '\(text)'") }
        return value
    }

    mutating func object(_ key: String) throws(TemplateError) -> JSONFields {
        guard let value = raw(key) as? [String: Any] else { throw error("'\(path)\(key)' must be an object") }
        return JSONFields(value, file: file, element: element, path: path + key + ".")
    }

    mutating func point(_ key: String) throws(TemplateError) -> (x: Double, y: Double) {
        guard let pair = raw(key) as? [NSNumber], pair.count == 2 else { throw error("'\(path)\(key)' must be [x, y] in millimetres") }
        return (pair[0].doubleValue, pair[1].doubleValue)
    }

    mutating func frame(within width: Double, _ height: Double) throws(TemplateError) -> Frame {
        var fields = try object("frame")
        let frame = Frame(
            x: try fields.number("x"), y: try fields.number("y"), width: try fields.number("width", positive: true),
            height: try fields.number("height", positive: true))
        try fields.rejectUnknownKeys()
        try check(frame, within: width, height)
        return frame
    }

    func check(_ frame: Frame, within width: Double, _ height: Double) throws(TemplateError) {
        // A thousandth of a millimetre of slack for decimal arithmetic in the file.
        let slack = 0.001
        guard frame.x >= -slack, frame.y >= -slack, frame.x + frame.width <= width + slack, frame.y + frame.height <= height + slack else {
            throw error(
                "frame (x \(frame.x), y \(frame.y), \(frame.width) × \(frame.height) mm) lies outside the \(width) × \(height) mm tag")
        }
    }
}
