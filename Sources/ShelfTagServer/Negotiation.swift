import Foundation
import Hummingbird
import ShelfTagDomain

/// What a client asked for, by its `Accept` header.
enum ResponseFormat: Sendable, Equatable {
    case html, json, linkset

    var mediaType: String {
        switch self {
        case .html: "text/html"
        case .json: "application/json"
        case .linkset: "application/linkset+json"
        }
    }

    /// The format `request`'s client prefers among `offered`, from its `Accept` fields.
    static func preferred(by request: Request, offered: [ResponseFormat]) -> ResponseFormat {
        preferred(accept: request.headers.value(of: .accept), offered: offered)
    }

    /// The format the client prefers among `offered` (the first offered wins ties and a missing header).
    static func preferred(accept: String?, offered: [ResponseFormat]) -> ResponseFormat {
        guard let accept, !accept.isEmpty else { return offered[0] }
        // The headers machines send most (one media type, or anything), without parsing.
        if let exact = offered.first(where: { $0.mediaType == accept }) { return exact }
        if accept == "*/*" { return offered[0] }
        return AcceptHeader(accept).preferred(offered)
    }
}

/// A parsed `Accept` header: media ranges and their q-values (RFC 9110, 12.5.1).
struct AcceptHeader {
    private let ranges: [(type: Substring, quality: Double)]

    init(_ header: String) {
        // Over the bytes, a copy only for a range with capitals: a browser's header is parsed on every page.
        let space = UInt8(ascii: " ")
        ranges = header.utf8.split(separator: UInt8(ascii: ",")).map { part in
            let pieces = part.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false)
            let type = Substring(pieces[0].drop { $0 == space }.prefix { $0 != space })
            var quality = 1.0
            for parameter in pieces.dropFirst() {
                let trimmed = Substring(parameter.drop { $0 == space })
                if trimmed.hasPrefix("q="), let value = Double(trimmed.dropFirst(2).prefix { $0 != " " }) { quality = value }
            }
            let hasCapitals = type.utf8.contains { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }
            return (hasCapitals ? Substring(type.lowercased()) : type, quality)
        }
    }

    func quality(_ format: ResponseFormat) -> Double {
        let type = format.mediaType
        // The most specific range decides.
        if let exact = ranges.first(where: { $0.type == type }) { return exact.quality }
        // A browser's application/xhtml+xml counts as HTML.
        if format == .html, let xhtml = ranges.first(where: { $0.type == "application/xhtml+xml" }) { return xhtml.quality }
        if format == .html, let family = ranges.first(where: { $0.type == "text/*" }) { return family.quality }
        return ranges.first { $0.type == "*/*" }?.quality ?? 0
    }

    /// The ranges the client accepts (quality above 0), most preferred first; equal qualities keep their order.
    var ranked: [Substring] {
        ranges.enumerated().filter { $0.element.quality > 0 }.sorted { ($1.element.quality, $0.offset) < ($0.element.quality, $1.offset) }.map(\.element.type)
    }

    func preferred(_ offered: [ResponseFormat]) -> ResponseFormat {
        var best = offered[0]
        var bestQuality = -1.0
        for format in offered {
            let value = quality(format)
            if value > bestQuality {
                best = format
                bestQuality = value
            }
        }
        return bestQuality > 0 ? best : offered[0]
    }
}

/// The locale a page is written in: the client's preferred language among the message catalog's (`Wording.preferred`),
/// else the store's. Numbers and money keep the store's region: English in a French store writes `€3,49`, CLDR's
/// `en-FR` (a decimal comma, as the shelf shows).
enum PageLanguage {
    /// The locale a page uses: `preferred` in the store's region, or the store's own locale.
    static func locale(preferred: String?, storeLocale: String) -> String {
        let parts = storeLocale.split(separator: "-", maxSplits: 1)
        guard let preferred, parts.first.map(String.init) != preferred else { return storeLocale }
        return parts.count > 1 ? "\(preferred)-\(parts[1])" : preferred
    }
}

extension Request {
    /// Whether the client already holds the representation tagged `entityTag` (quoted): its `If-None-Match` lists
    /// that tag, weakly compared (`W/"x"` matches `"x"`), or is `*` (RFC 9110, 13.1.2).
    func holds(entityTag: String) -> Bool {
        guard let field = headers.value(of: .ifNoneMatch) else { return false }
        let wanted = entityTag.utf8.dropFirst().dropLast()
        var rest = Substring(field).utf8[...]
        while true {
            rest = rest.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: ",") }
            if rest.isEmpty { return false }
            if rest.first == UInt8(ascii: "*") { return true }
            if rest.starts(with: "W/".utf8) { rest = rest.dropFirst(2) }
            // A malformed member ends the list: nothing after it can be read reliably.
            guard rest.first == UInt8(ascii: "\"") else { return false }
            rest = rest.dropFirst()
            guard let close = rest.firstIndex(of: UInt8(ascii: "\"")) else { return false }
            if rest[..<close].elementsEqual(wanted) { return true }
            rest = rest[rest.index(after: close)...]
        }
    }
}

extension Request {
    /// Whether the client takes a gzipped body: its `Accept-Encoding` lists `gzip` (or `x-gzip`), else `*`, with a
    /// quality above 0 (RFC 9110, 12.5.3).
    var acceptsGzip: Bool {
        guard var field = headers.value(of: .acceptEncoding) else { return false }
        return field.withUTF8 { AcceptEncoding.takesGzip($0) }
    }
}

/// `Accept-Encoding`, read over its bytes with no allocation: every phone's browser sends it with every page.
enum AcceptEncoding {
    static func takesGzip(_ field: UnsafeBufferPointer<UInt8>) -> Bool {
        let (comma, semicolon, space, tab) = (UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: " "), UInt8(ascii: "\t"))
        var wildcard = false
        var index = 0
        while index < field.count {
            while index < field.count && (field[index] == space || field[index] == tab || field[index] == comma) { index += 1 }
            let start = index
            while index < field.count && field[index] != comma && field[index] != semicolon && field[index] != space && field[index] != tab { index += 1 }
            let coding = UnsafeBufferPointer(rebasing: field[start..<index])
            // Its parameters, up to the next member: only q matters, and only whether it is above 0.
            var accepted = true
            while index < field.count && field[index] != comma {
                if field[index] == semicolon {
                    index += 1
                    while index < field.count && (field[index] == space || field[index] == tab) { index += 1 }
                    if index + 1 < field.count && field[index] | 0x20 == UInt8(ascii: "q") && field[index + 1] == UInt8(ascii: "=") {
                        index += 2
                        accepted = false
                        while index < field.count && field[index] != comma && field[index] != semicolon {
                            if (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(field[index]) { accepted = true }
                            index += 1
                        }
                        continue
                    }
                }
                index += 1
            }
            if equalsIgnoringCase(coding, "gzip") || equalsIgnoringCase(coding, "x-gzip") { return accepted }
            if coding.count == 1 && coding[0] == UInt8(ascii: "*") { wildcard = accepted }
        }
        return wildcard
    }

    private static func equalsIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        for index in bytes.indices where bytes[index] | 0x20 != expected[index] | 0x20 { return false }
        return true
    }
}
