import Foundation

/// A GS1 Digital Link URI with a GTIN as primary key, written uncompressed as tags print it:
/// `BASE/01/<GTIN-14>[/22/…][/10/…][/21/…]?s=<store>&t=<tag id>`.
public struct DigitalLink: Hashable, Sendable {
    /// Scheme, host and optional path stem, without a trailing slash: `https://s.example`.
    public let base: String
    public let gtin: GTIN
    /// Key qualifiers in their required order: 22 (consumer product variant), 10 (lot), 21 (serial).
    public let variant: String?
    public let lot: String?
    public let serial: String?
    /// Non-GS1 query keys, in order: ShelfTag's `s` (store code) and `t` (tag id).
    public let query: [(key: String, value: String)]

    public init(base: String, gtin: GTIN, variant: String? = nil, lot: String? = nil, serial: String? = nil, query: [(key: String, value: String)] = []) {
        self.base = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.gtin = gtin
        self.variant = variant
        self.lot = lot
        self.serial = serial
        self.query = query
    }

    /// The URI a shelf tag carries.
    public static func shelfTag(base: String, label: ShelfLabel) -> DigitalLink {
        DigitalLink(base: base, gtin: label.gtin, query: [("s", label.storeCode), ("t", label.tagID)])
    }

    /// The URI, GTIN in 14 digits, values percent-encoded outside `A-Za-z0-9-._~`.
    public var uri: String {
        var text = base + "/01/" + gtin.digits
        for (ai, value) in [("22", variant), ("10", lot), ("21", serial)] {
            if let value { text += "/\(ai)/" + Self.percentEncoded(value) }
        }
        for (index, item) in query.enumerated() {
            text += (index == 0 ? "?" : "&") + Self.percentEncoded(item.key) + "=" + Self.percentEncoded(item.value)
        }
        return text
    }

    public static func == (lhs: DigitalLink, rhs: DigitalLink) -> Bool { lhs.uri == rhs.uri }
    public func hash(into hasher: inout Hasher) { hasher.combine(uri) }

    /// Percent-encodes everything but RFC 3986's unreserved characters, in upper-case hex (GS1's rule).
    public static func percentEncoded(_ value: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(value.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                bytes.append(byte)
            default:
                bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
